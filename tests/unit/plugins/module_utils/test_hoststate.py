"""Pure host decisions: roles, key readers, group state from readings, changes to make."""

from __future__ import annotations

import collections

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import hoststate

Svc = collections.namedtuple("Svc", "name display_name username")


def test_roles_from_groups_follow_the_inventory_contract():
    groups = ["xprotect_recording_servers", "xprotect_management_servers", "other"]
    assert hoststate.roles_from_groups(groups) == ["management", "recording"]
    assert hoststate.roles_from_groups([]) == []


def test_explicit_roles_win_and_are_checked():
    assert hoststate.roles_from_groups(["xprotect_clients"], ["mobile", "event"]) == ["mobile", "event"]
    with pytest.raises(ValueError, match="xprotect_roles: bogus is not a role"):
        hoststate.roles_from_groups([], ["bogus"])


def test_key_readers_come_from_the_installed_milestone_services():
    services = [
        Svc("MilestoneRecordingServerService", "Milestone XProtect Recording Server", "NT AUTHORITY\\NetworkService"),
        Svc("MilestoneFailoverServerService", "Milestone XProtect Failover Server", "CORP\\svc-fo"),
        Svc("MilestoneMobileServerService", "Milestone XProtect Mobile Server", "CORP\\svc-mobile"),
        Svc("MilestoneManagementServer", "Milestone XProtect Management Server", "CORP\\svc-ms"),
        Svc("MilestoneEventServerService", "Milestone XProtect Event Server", "LocalSystem"),
        Svc("Spooler", "Print Spooler (mobile server lookalike)", "CORP\\nobody"),
    ]
    accounts = hoststate.key_reader_accounts(services, extra=["CORP\\svc-fo", "CORP\\lpr"])
    assert accounts == ["NT AUTHORITY\\NETWORK SERVICE", "CORP\\svc-fo", "CORP\\svc-mobile", "CORP\\lpr"]


def test_a_localised_system_account_gets_no_grant():
    # win_service_info results of a German and a French host (tests/unit/test_data/windows_modules).
    services = [
        Svc("Milestone XProtect Recording Server", "Recording Server", "NT-AUTORITÄT\\NETZWERKDIENST"),
        Svc("Milestone XProtect Event Server", "Milestone XProtect Event Server", "NT-AUTORITÄT\\SYSTEM"),
        Svc("Milestone XProtect Mobile Server", "Milestone XProtect Mobile Server", "AUTORITE NT\\Système"),
    ]
    assert hoststate.key_reader_accounts(services) == ["NT AUTHORITY\\NETWORK SERVICE"]


def test_the_event_servers_account_reads_the_key():
    services = [
        Svc("MilestoneEventServerService", "Milestone XProtect Event Server", "CORP\\svc-event"),
        Svc("MilestoneManagementServer", "Milestone XProtect Management Server", "CORP\\svc-ms"),
    ]
    assert hoststate.key_reader_accounts(services) == ["CORP\\svc-event"]


def test_plan_group_changes_orders_and_compares_case_insensitively():
    current = {"server": "aa" * 20, "streaming": None, "mobile": "BB" * 20}
    desired = {"server": "AA" * 20, "streaming": "AA" * 20, "mobile": None}
    assert hoststate.plan_group_changes(current, desired) == [
        ("streaming", "enable", "AA" * 20),
        ("mobile", "disable", None),
    ]
    assert hoststate.plan_group_changes(desired, desired) == []


def test_event_group_goes_first_then_server():
    changes = hoststate.plan_group_changes({}, {"streaming": "T", "server": "T", "event": "T"})
    assert [c[0] for c in changes] == ["event", "server", "streaming"]


def test_group_state_from_readings_per_role():
    bindings = [
        {"port": 9001, "thumbprint": "ab" * 20},
        {"port": 9000, "thumbprint": "CD" * 20},
        {"port": 8082, "thumbprint": "EF" * 20},
    ]
    rs = hoststate.group_state_from_readings(
        ["recording"], ["server", "streaming"], bindings, {"recording": {"webapi_port": 9001}}, "12" * 20
    )
    assert rs == {"server": "AB" * 20, "streaming": "12" * 20}
    ms = hoststate.group_state_from_readings(
        ["management"], ["server"], bindings, {"management": {"webapi_port": 9000}}
    )
    assert ms == {"server": "CD" * 20}
    mob = hoststate.group_state_from_readings(["mobile"], ["mobile"], bindings, {})
    assert mob == {"mobile": "EF" * 20}
    off = hoststate.group_state_from_readings(["recording"], ["server", "streaming"], [], {}, None)
    assert off == {"server": None, "streaming": None}
    ev = hoststate.group_state_from_readings(["event"], ["event"], [], {"event": {"certificate_enabled": True}})
    assert ev == {"event": hoststate.ENABLED_UNKNOWN_THUMBPRINT}
    with pytest.raises(ValueError):
        hoststate.group_state_from_readings([], ["nope"], [], {})


ANY4 = "0.0.0.0"  # noqa: S104 - an address in a binding, nothing is bound


def test_management_never_reads_a_foreign_443_binding():
    # A customer's own IIS site on 443 (SNI or all addresses) is not the Server certificate group.
    bindings = [
        {"ipport": f"{ANY4}:443", "address": ANY4, "port": 443, "thumbprint": "FF" * 20},
        {
            "hostnameport": "intranet.contoso.local:443",
            "address": "intranet.contoso.local",
            "port": 443,
            "thumbprint": "EE" * 20,
        },
    ]
    reasons = {}
    state = hoststate.group_state_from_readings(
        ["management"], ["server"], bindings, {"management": {"webapi_port": 9000}}, reasons=reasons
    )
    assert state == {"server": None}
    assert "0.0.0.0:9000" in reasons["server"] and "0.0.0.0:443" in reasons["server"]
    # The binding the configuration names is read, on its own port.
    bindings.append({"ipport": f"{ANY4}:9100", "address": ANY4, "port": 9100, "thumbprint": "ab" * 20})
    state = hoststate.group_state_from_readings(
        ["management"], ["server"], bindings, {"management": {"webapi_port": 9100}}
    )
    assert state == {"server": "AB" * 20}


def test_binding_ipports_come_from_the_configuration():
    configs = {
        "management": {"webapi_port": 9100},
        "recording": {"webapi_port": 9101},
        "mobile": {"https_netsh_ipport": "10.0.0.5:8443"},
    }
    assert hoststate.binding_ipports(["management", "recording"], ["server"], configs) == {"server": "0.0.0.0:9100"}
    assert hoststate.binding_ipports(["recording"], ["server", "streaming"], configs) == {"server": "0.0.0.0:9101"}
    assert hoststate.binding_ipports(["mobile"], ["mobile"], configs) == {"mobile": "10.0.0.5:8443"}
    assert hoststate.binding_ipports(["mobile"], ["mobile"], {}) == {"mobile": "0.0.0.0:8082"}


def test_unknown_state_is_reported_and_never_switched():
    current = {"server": "AA" * 20, "streaming": hoststate.UNKNOWN_STATE}
    desired = {"server": "AA" * 20, "streaming": "AA" * 20}
    assert hoststate.plan_group_changes(current, desired) == []
    assert hoststate.plan_group_changes(current, {"server": None, "streaming": None}) == [("server", "disable", None)]
    assert hoststate.describe_group_state(hoststate.UNKNOWN_STATE) == "unknown"
    assert hoststate.describe_group_state(None) == "disabled"


def test_reconcile_unknown_only_touches_enabled_unknown():
    cur = {"event": hoststate.ENABLED_UNKNOWN_THUMBPRINT, "server": None}
    assert hoststate.reconcile_unknown(cur, {"event": "T1", "server": "T1"}) == {"event": "T1", "server": None}
    assert hoststate.describe_group_state(None) == "disabled"
    assert hoststate.describe_group_state("X") == "enabled (X)"


def test_known_group_states_takes_keys_and_names_later_readings_winning():
    tp = "6a 3f" + "0" * 36
    preflight = {"Server certificate": "AA" * 20, "Streaming media certificate": None}
    switched = {"server": tp}
    assert hoststate.known_group_states(preflight, switched) == {"server": "6A3F" + "0" * 36, "streaming": None}
    # The earlier reading alone; the names in any case.
    assert hoststate.known_group_states({"server CERTIFICATE": "aa" * 20}, None) == {"server": "AA" * 20}


def test_known_group_states_ignores_what_it_cannot_take():
    # Not a mapping (an unset or odd variable), an unknown group, a value that is not a thumbprint or null:
    # each of those groups is read on the host instead.
    assert hoststate.known_group_states(None, "text", ["server"]) == {}
    assert hoststate.known_group_states({"Audio group": "AA" * 20, "server": {"x": 1}, "streaming": 3}) == {}
    # An empty string is "off", as the readings write it.
    assert hoststate.known_group_states({"mobile": ""}) == {"mobile": None}


# ---------------------------------------------------------------- judging Server Configurator runs by the read-back
_TP = "AB" * 20


@pytest.mark.parametrize("code", [20, 100, 100000, 300000])
def test_a_code_of_a_local_change_with_the_change_read_back_is_a_warning(code):
    warnings, problems = hoststate.read_back_outcome(
        "mgmt01", [("server", "Server certificate", code)], {"server": _TP}, {"server": _TP}
    )
    assert problems == []
    assert len(warnings) == 1 and f"exited {code}" in warnings[0] and "shows the change" in warnings[0]
    assert "register" in warnings[0].lower()  # what is left to do: running the task again changes nothing


@pytest.mark.parametrize("code", [20, 100])
def test_a_code_of_a_local_change_without_the_change_read_back_is_a_problem(code):
    warnings, problems = hoststate.read_back_outcome(
        "mgmt01", [("server", "Server certificate", code)], {"server": None}, {"server": _TP}
    )
    assert warnings == []
    assert len(problems) == 1 and f"exited {code}" in problems[0] and "was not applied" in problems[0]
    assert "(disabled)" in problems[0] and "runas" in problems[0]


def test_exit_0_is_judged_by_the_read_back_too():
    assert hoststate.read_back_outcome(
        "h", [("server", "Server certificate", 0)], {"server": _TP}, {"server": _TP}
    ) == (
        [],
        [],
    )
    _w, problems = hoststate.read_back_outcome(
        "h", [("server", "Server certificate", 0)], {"server": None}, {"server": _TP}
    )
    assert problems and "state read back is not what was asked" in problems[0]


def test_a_group_not_run_but_found_wrong_is_a_problem():
    _w, problems = hoststate.read_back_outcome(
        "h",
        [("server", "Server certificate", 0)],
        {"server": _TP, "streaming": None},
        {"server": _TP, "streaming": _TP},
    )
    assert problems == ["group 'Streaming media certificate' is disabled, not what was asked."]


def test_earlier_readings_are_normalised_by_the_one_normaliser():
    known = hoststate.known_group_states({"Server certificate": "\u200eab cd " + "AB" * 18, "streaming": None})
    assert known == {"server": "ABCD" + "AB" * 18, "streaming": None}
