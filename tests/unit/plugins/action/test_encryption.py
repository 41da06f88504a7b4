# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The encryption action against a scripted management server: its Server certificate group is
read from ServerConfig.xml and the registry binding on the web API port, switched with Server
Configurator, and read back."""

from __future__ import annotations

from .conftest import BINDING_9000, EXE, MS_CONFIG, SERVER_CONFIG, Host, RunResult, bound, ok

TP = "0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C"
OLD = "AB" * 20
GUID = "84430eb7-847c-422d-aa00-7915cd0d7a65"
KNOWN = {"path": EXE, "version": "24.2.0.1", "group_ids": {"server": GUID}}
ARGS = {"thumbprint": TP.lower(), "configurator": KNOWN, "settle_interval": 0.01}
ENABLE = [EXE, "/quiet", "/enableencryption", f"/certificategroup={GUID}", f"/thumbprint={TP}"]


def management_server(thumbprint=None):
    registry = {BINDING_9000: bound(thumbprint)} if thumbprint else {}
    return Host(files={MS_CONFIG: SERVER_CONFIG}, registry=registry)


def server_configurator(host, thumbprint, rc=0):
    """Server Configurator as it binds the certificate (or, with another code, does nothing)."""

    def run(argv):
        if rc == 0:
            host.registry[BINDING_9000] = bound(thumbprint)
        return RunResult(rc, "", "")

    return run


def test_a_host_in_the_state_asked_costs_two_reads_and_changes_nothing(run_action):
    host = management_server(TP)
    result = run_action("encryption", ARGS, host)
    assert result["changed"] is False and result["reasons"] == []
    assert result["thumbprints"] == {"server": TP} and result["roles"] == ["management"]
    assert host.call_log == ["read_file", "read_registry"] and result["round_trips"] == 2
    assert host.argvs == []


def test_a_group_bound_to_another_certificate_is_switched_and_read_back(run_action):
    host = management_server(OLD)
    host.runs = [server_configurator(host, TP)]
    result = run_action("encryption", ARGS, host)
    assert result["changed"] is True
    assert result["reasons"] == [f"encryption on with {OLD} for group Server certificate, wanted {TP}"]
    assert host.argvs == [ENABLE]
    assert result["applied"] == [{"group": "Server certificate", "action": "enable", "exit_codes": [0]}]
    assert result["looked_up"] == []  # the preflight's configurator covered path, version and group ID
    assert result["thumbprints"] == {"server": TP}
    assert host.call_log == ["read_file", "read_registry", "run", "read_file", "read_registry"]


def test_check_mode_reports_the_change_with_a_diff_and_runs_nothing(run_action):
    host = management_server(OLD)
    result = run_action("encryption", ARGS, host, check=True, diff=True)
    assert result["changed"] is True and host.argvs == []
    assert result["diff"]["before"] == {"Server certificate": f"enabled ({OLD})"}
    assert result["diff"]["after"] == {"Server certificate": f"enabled ({TP})"}
    assert result["diff"]["after_header"] == result["reasons"][0]


def test_a_reading_given_by_the_role_is_not_read_again(run_action):
    host = management_server(TP)
    readings = [{"Server certificate": None}, {"server": TP.lower()}]  # the preflight's, then the last switch's
    result = run_action("encryption", dict(ARGS, readings=readings), host, check=True)
    assert result["changed"] is False and result["reused"] == ["Server certificate"]
    assert host.call_log == []


def test_a_refused_switch_fails_with_the_explanation_and_claims_nothing(run_action):
    host = management_server(None)
    host.runs = [ok(""), server_configurator(host, TP, rc=-4)]  # netsh finds no binding; another instance runs
    result = run_action("encryption", ARGS, host)
    assert result["failed"] is True and result["changed"] is False and result["applied"] == []
    assert "-4" in result["msg"] and "stop_stale_configurator" in result["msg"]
    assert host.argvs[-1] == ENABLE


def test_a_switch_the_host_does_not_show_afterwards_fails_and_says_so(run_action):
    host = management_server(OLD)
    host.runs = [RunResult(0, "", "")]  # exit 0, but the binding stays the old one
    result = run_action("encryption", dict(ARGS, settle_timeout=0), host)
    assert result["failed"] is True and result["changed"] is True
    assert result["msg"].startswith("ms01.example.com: ") and result["thumbprints"] == {"server": OLD}


def test_without_runas_nothing_runs_and_the_message_says_what_to_set(run_action):
    host = management_server(OLD)
    result = run_action("encryption", ARGS, host, runas=False)
    assert result["failed"] is True and "become is off" in result["msg"] and host.argvs == []


def test_disabling_runs_the_disable_switch(run_action):
    host = management_server(TP)
    disable = [EXE, "/quiet", "/disableencryption", f"/certificategroup={GUID}"]

    def off(argv):
        del host.registry[BINDING_9000]
        return RunResult(0, "", "")

    host.runs = [off, ok("")]  # then netsh, asked when the registry shows no binding
    result = run_action("encryption", {"state": "disabled", "configurator": KNOWN}, host)
    assert result["changed"] is True and host.argvs[0] == disable and result["thumbprints"] == {"server": None}


def test_no_thumbprint_is_skipped_in_check_mode_and_fails_otherwise(run_action):
    skipped = run_action("encryption", {}, management_server(TP), check=True)
    assert skipped["skipped"] is True and skipped["round_trips"] == 0
    failed = run_action("encryption", {}, management_server(TP))
    assert failed["failed"] is True and "thumbprint is required" in failed["msg"]


def test_a_bad_option_fails_before_the_host_naming_it(run_action):
    host = management_server(TP)
    result = run_action("encryption", dict(ARGS, retries=-1), host)
    assert result["failed"] is True and result["option"] == "retries" and host.call_log == []
