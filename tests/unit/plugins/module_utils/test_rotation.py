# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions of a CA rotation (module_utils/rotation.py) and its filters."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.xprotect.encryption.plugins.filter.rotation import FilterModule
from ansible_collections.xprotect.encryption.plugins.module_utils import pki, rotation

OLD, NEW = "A" * 40, "B" * 40
NOW = datetime.datetime(2027, 1, 1, tzinfo=datetime.timezone.utc)


@pytest.fixture(scope="module")
def cas():
    old = pki.create_ca("Rotation Test CA", key_size=3072, days=3650, now=NOW - datetime.timedelta(days=9))
    new = pki.create_ca("Rotation Test CA", key_size=3072, days=3650, now=NOW - datetime.timedelta(days=1))
    return old, new


def test_a_valid_other_ca_may_replace_the_old_one(cas):
    old, new = cas
    assert rotation.new_ca_problem(old.cert, new.cert, NOW, 365) is None


def test_the_same_ca_is_refused_naming_the_variable(cas):
    old = cas[0]
    problem = rotation.new_ca_problem(old.cert, old.cert, NOW, 365)
    assert problem.startswith("xprotect_ca_new_path:") and "the new CA is the site's CA" in problem


def test_a_renewal_of_the_old_ca_same_key_is_not_a_rotation(cas):
    old = cas[0]
    renewed = pki.renew_ca(old, 3650, NOW).cert
    assert "same key" in rotation.new_ca_problem(old.cert, renewed, NOW, 365)


def test_expired_not_yet_valid_and_too_short_new_cas_are_refused(cas):
    old, new = cas
    assert "expired on" in rotation.new_ca_problem(old.cert, new.cert, NOW + datetime.timedelta(days=4000), 1)
    assert "not valid before" in rotation.new_ca_problem(old.cert, new.cert, NOW - datetime.timedelta(days=30), 1)
    short = rotation.new_ca_problem(old.cert, new.cert, NOW, 5000)
    assert "less than xprotect_ca_rotation_min_days (5000)" in short


def test_phase_rotate_promote_finish():
    assert rotation.phase(OLD, None, None, False, "/p") == rotation.ROTATE
    assert rotation.phase(OLD, NEW, {"old": OLD, "new": NEW, "step": "issued"}, False, "/p") == rotation.ROTATE
    # Killed between the two renames of the promotion: the site folder is gone, the new one holds the old.
    assert rotation.phase(None, NEW, {"old": OLD, "new": NEW, "step": "promoted"}, True, "/p") == rotation.PROMOTE
    # Promoted: the site folder holds the new CA and its record; the new folder is gone.
    assert rotation.phase(NEW, None, {"old": OLD, "new": NEW, "step": "complete"}, False, "/p") == rotation.FINISH
    assert rotation.phase(NEW, None, {"old": OLD, "new": NEW, "step": "promoted"}, False, "/p") == rotation.FINISH


def test_a_site_folder_without_a_ca_is_refused_naming_it():
    with pytest.raises(rotation.RotationError) as e:
        rotation.phase(None, NEW, None, False, "/srv/pki")
    assert e.value.option == "xprotect_ca_path" and "/srv/pki holds no CA" in str(e.value)


def test_promotion_keeps_other_files_and_moves_the_old_folder_inside_the_new_one():
    steps = rotation.promotion_steps("/s/pki/", "/s/pki-new", OLD, ["ca.crt", "ca.key", ".lock", "passphrase", "x.tmp"])
    assert steps == [
        ("copy", "/s/pki/passphrase", "/s/pki-new/passphrase"),
        ("rename", "/s/pki", f"/s/pki-new/ca-retired-{OLD}"),
        ("rename", "/s/pki-new", "/s/pki"),
    ]


def test_the_record_only_goes_forward_and_keeps_its_start():
    rec = rotation.record_update(None, "issued", OLD, NEW, NOW)
    assert rec["step"] == "issued" and rec["started"] == "2027-01-01T00:00:00Z" and rec["clients_pending"] == []
    later = NOW + datetime.timedelta(hours=1)
    assert rotation.record_update(rec, "trusted", OLD, NEW, later)["step"] == "issued"
    done = rotation.record_update(rec, "complete", OLD, NEW, later, clients_pending=["ws02", "ws01", "ws02"])
    assert done["step"] == "complete" and done["clients_pending"] == ["ws01", "ws02"]
    assert done["started"] == rec["started"]
    # A record of another rotation does not carry over.
    other = rotation.record_update(done, "started", NEW, "C" * 40, later)
    assert other["step"] == "started" and other["clients_pending"] == [] and other["old"] == NEW
    with pytest.raises(ValueError, match="step"):
        rotation.record_update(None, "halfway", OLD, NEW, NOW)


def test_clients_to_clean_are_those_without_a_clean_result():
    results = {"ws01": {"changed": True}, "ws02": {"unreachable": True}, "ws03": {"failed": True, "msg": "x"}}
    assert rotation.clients_to_clean(["ws01", "ws02", "ws03", "ws04"], results) == ["ws02", "ws03", "ws04"]


def _hostvars():
    ok = {"changed": False}
    return {
        "ms": {"old": ok, "new": ok},
        "rs1": {"old": ok, "new": {"failed": True}},
        "ws1": {"old": ok, "new": ok},
        "ws2": {"old": {"unreachable": True}, "new": {"unreachable": True}},
    }


def test_trust_gate_blocks_servers_and_defers_offline_clients_only_when_allowed():
    gate = rotation.trust_gate(_hostvars(), ["ms", "rs1"], ["ws1", "ws2"], ["old", "new"], "reachable")
    assert gate["blocking"] == ["rs1"] and gate["deferred"] == ["ws2"] and not gate["ok"]
    assert "rs1 do not trust both" in gate["message"]
    strict = rotation.trust_gate(_hostvars(), ["ms"], ["ws1", "ws2"], ["old", "new"], "all")
    assert strict["blocking"] == ["ws2"] and "xprotect_clients_must_trust=reachable" in strict["message"]
    fine = rotation.trust_gate(_hostvars(), ["ms"], ["ws1"], ["old", "new"])
    assert fine == {"ok": True, "blocking": [], "deferred": [], "message": ""}
    with pytest.raises(ValueError):
        rotation.trust_gate({}, [], [], ["old"], "some")


def test_verify_gate_needs_every_endpoint_new_and_none_old():
    new_ok = [{"label": "ms", "port": 443, "verified": True}, {"label": "rs1", "port": 7563, "verified": True}]
    old_no = [{"label": "ms", "port": 443, "verified": False}, {"label": "rs1", "port": 7563, "verified": False}]
    assert rotation.verify_gate(new_ok, old_no)["ok"]
    bad_new = [dict(new_ok[0]), {"label": "rs1", "port": 7563, "verified": False, "verify_error": "untrusted"}]
    verdict = rotation.verify_gate(bad_new, [dict(old_no[0]), {"label": "rs1", "port": 7563, "verified": True}])
    assert not verdict["ok"]
    assert verdict["not_new"] == ["rs1:7563 (untrusted)"] and verdict["still_old"] == ["rs1:7563"]
    assert "stops before retiring it" in verdict["message"]


def test_the_filters_hand_over_to_module_utils():
    filters = FilterModule().filters()
    assert filters["rotation_clients_to_clean"](["ws1", "ws2"], {"ws1": {"r": {"changed": True}}}, "r") == ["ws2"]
    assert filters["rotation_verify_gate"](None, None)["ok"]
    assert filters["rotation_trust_gate"]({}, [], [], ["k"])["ok"]


def test_a_rotation_away_from_the_site_ca_is_in_progress_until_promoted():
    for step in ("started", "trusted", "issued", "switched", "verified", "retired"):
        assert rotation.in_progress({"old": OLD, "new": NEW, "step": step}, OLD, False), step
    assert not rotation.in_progress({"old": OLD, "new": NEW, "step": "promoted"}, OLD, False)
    # rotate_ca.yml's own switch runs against the new CA: not stopped.
    assert not rotation.in_progress({"old": OLD, "new": NEW, "step": "issued"}, NEW, False)
    assert not rotation.in_progress(None, OLD, False)
    assert rotation.in_progress(None, None, True)
