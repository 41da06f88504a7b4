# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sentences of the failure summary (the callback's shapes are in plugin_utils)."""

from __future__ import annotations

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import run_summary as rs


@pytest.mark.parametrize(
    "play, phase",
    [
        ("Phase 3a: event servers, before the management server", "event_before"),
        ("Phase 3: the management server", "management"),
        ("Phase 4: all recording servers, in parallel", "recording"),
        ("Phase 6b: event servers, after the mobile servers", "event_after"),
        ("Phase 6: mobile servers", "mobile"),
        ("Phases 0-2: CA, staging and the preflight gate", None),
        ("Renew phase 2: every endpoint serves the new certificate", "renew"),
        ("Rollback step 3: encryption off on xprotect_failover_servers", "rollback"),
        ("Audit: drift summary", "audit"),
        ("Trust the site CA on the clients", "trust_clients"),
        ("Create a lab site", None),
        (None, None),
    ],
)
def test_phase_of_reads_the_play_names(play, phase):
    assert rs.phase_of(play) == phase


def test_re_running_is_called_safe_only_before_the_first_switch_and_after_the_last():
    safe_before = rs.advice(["stage", "stage"], "stage")
    assert "switched no encryption setting" in safe_before and "re-run the same command" in safe_before
    for phase in ("management", "recording", "failover"):
        text = rs.advice(["stage", "event_before", "management", "recording", "failover"][: 3 + 1], phase)
        assert "rollback.yml" in text and "as soon as possible" in text
    assert "disconnected" in rs.advice(["stage", "event_before", "management"], "management")
    assert "mobile servers that did not switch" in rs.advice(["stage", "management", "recording", "mobile"], "mobile")


def test_a_validation_play_of_unknown_name_before_phase_0_changed_nothing():
    for playbook in ("/x/playbooks/site.yml", "rollback.yml", "renew.yml"):
        assert rs.advice([None], None, playbook=playbook).startswith("This run changed nothing yet.")
    assert "The audit changed nothing" in rs.advice([None], None, playbook="playbooks/audit.yml")
    # a playbook this summary does not know: no claim about what it changed
    assert rs.advice([None], None, playbook="mine.yml") == "Read the errors above before running it again."


def test_check_mode_changed_nothing():
    assert "nothing was changed" in rs.advice(["stage", "management", "recording"], "recording", check_mode=True)


def test_reason_prefers_msg_then_failed_items_then_module_output():
    assert rs.reason({"msg": "clear"}) == "clear"
    assert rs.reason({"module_stderr": "Traceback...\nboom", "msg": ""}) == "Traceback..."
    assert rs.reason({"msg": "One or more items failed", "results": [{"failed": True, "msg": "b"}]}) == "b"
    assert rs.reason({"msg": "One or more items failed", "results": ["odd"]}) == "One or more items failed"
    assert rs.reason(None) == ""


def test_message_text_is_one_bounded_line():
    assert rs.message_text("\n\n  first  \nsecond") == "first"
    assert len(rs.message_text("x" * 5000)) == 600
    assert rs.message_text({"b": 1, "a": [2]}) == '{"a": [2], "b": 1}'


def test_a_stopped_rotation_says_it_resumes_with_the_same_command():
    assert rs.phase_of("Rotation step 2: preflight gate") == "rotation"
    text = rs.advice(["rotation", "stage", "management"], "management", playbook="playbooks/rotate_ca.yml")
    assert "run playbooks/rotate_ca.yml again" in text and "Both CAs stay trusted" in text
    assert "rotate_ca.yml again" in rs.advice([None], None, playbook="rotate_ca.yml")
