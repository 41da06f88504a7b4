# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The encryption switch's pure decisions: desired state, reused readings, the result's reasons,
notes and warnings, and the messages when a switch cannot run or did not take."""

from __future__ import annotations

from ansible_collections.xprotect.encryption.plugins.module_utils import hoststate, switch

TP, OLD = "A" * 40, "B" * 40


def test_desired_state_is_the_thumbprint_when_enabled_and_off_when_disabled():
    assert switch.desired_state(["server", "streaming"], "enabled", TP) == {"server": TP, "streaming": TP}
    assert switch.desired_state(["server"], "disabled", TP) == {"server": None}


def test_later_readings_win_and_only_the_groups_asked_for_are_reused():
    preflight = {"Server certificate": None, "Streaming media certificate": OLD.lower()}
    last = {"server": TP}
    assert switch.reused_state(["server", "streaming"], [preflight, last]) == {"server": TP, "streaming": OLD}
    assert switch.reused_state(["server"], [preflight]) == {"server": None}
    assert switch.reused_state(["mobile"], [preflight, last]) == {}
    assert switch.reused_state(["server"], []) == {}


def test_the_report_says_what_differs_per_group_and_what_was_reused():
    current, desired = {"server": OLD, "streaming": None}, {"server": TP, "streaming": TP}
    changes = hoststate.plan_group_changes(current, desired)
    result = switch.report(
        "rs01", ["recording"], ["server", "streaming"], current, desired, changes=changes, notes={}, reused=["server"]
    )
    assert result["changed"] is True
    assert result["reasons"] == [
        f"encryption on with {OLD} for group Server certificate, wanted {TP}",
        f"encryption off for group Streaming media certificate, wanted {TP}",
    ]
    assert result["reused"] == ["Server certificate"]
    assert result["thumbprints"] == current and "warnings" not in result and "notes" not in result


def test_an_unknown_group_is_reported_with_its_note_and_not_switched():
    current = {"server": TP, "streaming": hoststate.UNKNOWN_STATE}
    desired = {"server": TP, "streaming": TP}
    changes = hoststate.plan_group_changes(current, desired)
    notes = {"streaming": "the image server does not answer"}
    result = switch.report(
        "fo01", ["failover"], ["server", "streaming"], current, desired, changes=changes, notes=notes
    )
    assert result["changed"] is False and result["reasons"] == []
    assert result["notes"] == {"Streaming media certificate": "the image server does not answer"}
    assert result["warnings"] == [
        "fo01: the state of group Streaming media certificate cannot be read (the image server does not answer); "
        "it is not switched. Check it in the Server Configurator GUI on the host."
    ]


def test_a_mobile_server_left_on_plain_http_is_warned_about():
    result = switch.report("mob01", ["mobile"], ["mobile"], {"mobile": None}, {"mobile": None}, changes=[], notes={})
    assert any("Push-to-talk" in w for w in result["warnings"])
    on = switch.report("mob01", ["mobile"], ["mobile"], {"mobile": TP}, {"mobile": TP}, changes=[], notes={})
    assert "warnings" not in on


def test_the_become_message_says_what_is_set_and_what_to_set():
    assert "become is off" in switch.wrong_become("ms01", None)
    msg = switch.wrong_become("ms01", "ansible.builtin.sudo")
    assert "become is ansible.builtin.sudo" in msg and "become_method: ansible.builtin.runas" in msg


def test_a_switch_that_did_not_take_points_a_recording_server_at_the_management_server():
    assert "check the management server first" in switch.not_taken("rs01", ["recording"], ["group X is off."])
    assert switch.not_taken("ms01", ["management", "recording"], ["group X is off."]) == "ms01: group X is off."
