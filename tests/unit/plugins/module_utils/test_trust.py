# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The trust decision: what Root must gain and lose, and why, from what it holds."""

from __future__ import annotations

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import trust

CA, OLD, OLDER, OTHER = "A" * 40, "B" * 40, "C" * 40, "D" * 40


def test_a_root_that_holds_the_ca_and_no_retired_one_needs_nothing():
    plan = trust.decide([CA, OTHER], CA, retired=[OLD])
    assert (plan.add, plan.remove, plan.reasons, plan.changed) == (False, [], [], False)
    assert plan.before == plan.after == {"root_contains_ca": True, "retired_present": []}


def test_a_missing_ca_is_added():
    plan = trust.decide([OTHER], CA)
    assert plan.add and plan.remove == [] and plan.reasons == ["CA missing from Root"]
    assert plan.before["root_contains_ca"] is False and plan.after["root_contains_ca"] is True


def test_retired_cas_in_root_go_each_with_its_reason_and_others_stay():
    plan = trust.decide([CA, OLD, OLDER, OTHER], CA, retired=[OLDER, OLD, OLD, "E" * 40])
    assert not plan.add
    assert plan.remove == [OLDER, OLD]  # in the order given, once each; one not in Root is no change
    assert plan.reasons == [f"retired CA {OLDER} still in Root", f"retired CA {OLD} still in Root"]
    assert plan.before["retired_present"] == [OLD, OLDER] and plan.after["retired_present"] == []


def test_the_ca_named_to_be_trusted_wins_over_a_retired_list_that_still_carries_it():
    plan = trust.decide([CA], CA, retired=[CA])
    assert not plan.changed and plan.remove == []


@pytest.mark.parametrize(("root", "changed"), [([CA, OTHER], True), ([OTHER], False)])
def test_state_absent_removes_the_ca_only_when_it_is_there(root, changed):
    plan = trust.decide(root, CA, present=False)
    assert plan.changed is changed and not plan.add
    assert plan.remove == ([CA] if changed else [])
    assert plan.reasons == (["CA to be removed from Root"] if changed else [])
    assert plan.after["root_contains_ca"] is False


def test_absent_with_retired_removes_both():
    plan = trust.decide([CA, OLD], CA, present=False, retired=[OLD])
    assert plan.remove == [OLD, CA]
    assert plan.reasons == [f"retired CA {OLD} still in Root", "CA to be removed from Root"]
