"""Gate and table logic behind the playbooks."""

from __future__ import annotations

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import report

HV = {
    "ms.example.com": {"group_names": ["xprotect_management_servers"], "ansible_host": "127.1.0.1"},
    "rs1.example.com": {
        "group_names": ["xprotect_recording_servers"],
        "ansible_host": "127.1.0.2",
        "xprotect_port_offset": 10000,
        "xprotect_certificate": {"thumbprint": "AA" * 20},
    },
    "combo.example.com": {"group_names": ["xprotect_management_servers", "xprotect_recording_servers"]},
    "mob.example.com": {"group_names": ["xprotect_mobile_servers"], "xprotect_mobile_encryption": False},
    "custom.example.com": {
        "group_names": ["xprotect_recording_servers"],
        "xprotect_tls_endpoints": [{"port": 17563}],
    },
    "cl.example.com": {"group_names": ["xprotect_clients"]},
}


def test_tls_endpoints_follow_roles_offsets_and_overrides():
    eps = report.tls_endpoints(list(HV), HV)
    by_host = {}
    for ep in eps:
        by_host.setdefault(ep["label"], []).append(ep["port"])
    assert by_host["ms.example.com"] == [443]
    assert by_host["rs1.example.com"] == [17563, 19001]
    assert by_host["combo.example.com"] == [7563, 9001, 443]
    assert "mob.example.com" not in by_host  # deliberately left on HTTP
    assert by_host["custom.example.com"] == [17563]
    assert "cl.example.com" not in by_host
    plain = report.tls_endpoints(["ms.example.com", "mob.example.com"], HV, tls=False)
    assert [e["port"] for e in plain] == [80, 8081]


def _probe(**kw):
    base = {"label": "rs1.example.com", "host": "127.1.0.2", "port": 17563}
    base.update(kw)
    return base


def test_probe_problems_name_each_failure():
    good = _probe(reachable=True, tls=True, verified=True, thumbprint="aa" * 20)
    assert report.probe_problems([good], HV) == []
    problems = report.probe_problems(
        [
            _probe(reachable=False, error="connection refused"),
            _probe(reachable=True, tls=False),
            _probe(reachable=True, tls=True, verified=False, verify_error="unknown CA", thumbprint="AA" * 20),
            _probe(reachable=True, tls=True, verified=True, thumbprint="BB" * 20),
        ],
        HV,
    )
    assert "unreachable (connection refused)" in problems[0]
    assert "plain text" in problems[1]
    assert "not trusted (unknown CA)" in problems[2]
    assert "serves " + "BB" * 20 in problems[3]
    assert report.probe_problems([_probe(reachable=True, tls=True)], HV, expect_tls=False)[0].endswith(
        "still serves TLS"
    )
    assert report.probe_problems([_probe(reachable=True, tls=False)], HV, expect_tls=False) == []


def test_preflight_findings_do_not_depend_on_changed():
    # The preflight registers its check-mode results with changed_when: false; a certificate
    # that would be re-issued (wrong names, another CA, no serverAuth, expiring) is still found.
    reasons = [
        "names missing: rs01.site.local, rs01 (certificate has: mgmt01.site.local)",
        "extended key usage lacks serverAuth (has: clientAuth)",
        "certificate expires in 12 days (renew_before 30)",
    ]
    cert = {"changed": False, "reasons": reasons, "msg": "Would issue a new certificate: ..."}
    trust = {"changed": False, "reasons": ["CA missing from Root"]}
    assert report.preflight_findings(cert, trust, None) == [f"certificate: {r}" for r in reasons] + [
        "trust: CA missing from Root"
    ]
    assert report.preflight_findings({"changed": False, "reasons": []}, {"changed": False}, None) == []
    gate = report.preflight_gate(
        {"rs01": {"xprotect_preflight": report.preflight_findings(cert, {}, None)}}, ["rs01"], []
    )
    assert gate["ok"] is False and gate["blocking"] == ["rs01"] and "names missing" in gate["table"]


def test_preflight_findings_collects_every_missing_piece():
    cert = {"changed": True, "reasons": ["private key not readable by NT AUTHORITY\\NETWORK SERVICE"]}
    trust = {"changed": True, "reasons": ["CA missing from Root"]}
    info = {"xprotect": {"server_configurator": {"path": "C:\\x.exe", "version": "20.1", "usable": False}}}
    found = report.preflight_findings(cert, trust, info)
    assert found == [
        "certificate: private key not readable by NT AUTHORITY\\NETWORK SERVICE",
        "trust: CA missing from Root",
        "Server Configurator: version 20.1 is older than 20.3",
    ]
    assert report.preflight_findings(
        {"unreachable": True, "msg": "down"}, {"unreachable": True, "msg": "down"}, None
    ) == ["host unreachable: down"]
    assert report.preflight_findings({"skipped": True}, {"changed": False}, {"skipped": True}) == []
    assert report.preflight_findings(
        {}, {"failed": True, "msg": "boom"}, {"xprotect": {"server_configurator": {}}}
    ) == [
        "trust: boom",
        "Server Configurator: not found (no Milestone XProtect service)",
    ]
    missing = {"xprotect": {"server_configurator": {"path": "C:\\x.exe", "version": None}}}
    assert report.preflight_findings(None, None, missing) == ["Server Configurator: missing at C:\\x.exe"]
    listing = {
        "xprotect": {
            "server_configurator": {
                "path": "C:\\x.exe",
                "version": "24.2",
                "usable": False,
                "error": "rs01: Server Configurator lists no 'Server certificate' group",
            }
        }
    }
    assert report.preflight_findings(None, None, listing) == [
        "Server Configurator: rs01: Server Configurator lists no 'Server certificate' group"
    ]


def test_preflight_finds_the_override_mode_the_switch_would_refuse():
    evidence = "C:\\RecorderConfig.xml, line 4, shows the override mode: '<OverrideLocalManagementServer>true'"
    sc = {"path": "C:\\x.exe", "version": "24.2", "usable": True}
    found = report.preflight_findings(None, None, {"xprotect": {"server_configurator": sc, "override": evidence}})
    assert len(found) == 1
    assert evidence in found[0] and "GUI" in found[0] and "xprotect_override_markers" in found[0]
    # A usable Server Configurator and no override: nothing to report.
    assert report.preflight_findings(None, None, {"xprotect": {"server_configurator": sc, "override": None}}) == []


def test_preflight_gate_blocks_servers_and_defers_offline_clients_when_asked():
    hv = {
        "ms": {"xprotect_preflight": []},
        "rs": {"xprotect_preflight": ["trust: CA missing from Root"]},
        "cl1": {"xprotect_preflight": ["host unreachable: timed out"]},
        "cl2": {},
    }
    gate = report.preflight_gate(hv, ["ms", "rs"], ["cl1", "cl2"], "all")
    assert gate["ok"] is False and gate["blocking"] == ["rs", "cl1", "cl2"]
    assert "CA missing from Root" in gate["table"]
    gate = report.preflight_gate(hv, ["ms"], ["cl1", "cl2"], "reachable")
    assert gate["ok"] is True and gate["deferred"] == ["cl1", "cl2"]
    assert (
        report.preflight_gate({"ms": {"xprotect_preflight": []}}, ["ms"], [], "all")["table"] == "every host is ready"
    )
    with pytest.raises(ValueError):
        report.preflight_gate(hv, [], [], "some")


def test_table_aligns_columns():
    text = report.table([{"a": "x", "b": 1}, {"a": "long", "b": None}], ["a", "b"])
    assert text.splitlines() == ["a     b", "----  -", "x     1", "long"]


def test_summary_rows_connected_follows_the_management_server():
    on = {"groups": {"Server certificate": "enabled (AA)", "Streaming media certificate": "enabled (AA)"}}
    off = {"groups": {"Server certificate": "disabled"}}
    hv = {
        "ms": {
            "group_names": ["xprotect_management_servers"],
            "xprotect_final_state": {"groups": {"Server certificate": "enabled (AA)"}},
        },
        "rs1": {
            "group_names": ["xprotect_recording_servers"],
            "xprotect_final_state": on,
            "xprotect_final_cert": {"thumbprint": "AA", "days_left": 729},
        },
        "rs2": {"group_names": ["xprotect_recording_servers"], "xprotect_final_state": off},
    }
    rows = {r["host"]: r for r in report.summary_rows(["ms", "rs1", "rs2"], hv)}
    assert rows["rs1"]["connected"] == "yes" and rows["rs1"]["days to expiry"] == 729
    assert rows["rs1"]["groups encrypted"] == "Server certificate, Streaming media certificate"
    assert rows["rs2"]["connected"] == "NO" and rows["rs2"]["groups encrypted"] == "none"
    assert rows["ms"]["connected"] == "-" and rows["ms"]["thumbprint"] == "-"


def test_drift_rows_one_per_difference():
    hv = {
        "rs1": {
            "xprotect_audit_trust": {"changed": True, "reasons": ["CA missing from Root"]},
            "xprotect_audit_encryption": {"changed": False, "reasons": []},
        },
        "rs2": {"xprotect_audit_trust": {"changed": False}},
    }
    rows = report.drift_rows(["rs1", "rs2"], hv, ["xprotect_audit_trust", "xprotect_audit_encryption"])
    assert rows == [{"host": "rs1", "drift": "trust: CA missing from Root", "checked": True}]


_KEYS = ["xprotect_audit_certificate", "xprotect_audit_trust", "xprotect_audit_encryption"]


def test_a_failed_check_is_a_could_not_check_row_never_no_drift():
    # What ignore_errors registers for a module that failed: failed stays true.
    hv = {
        "rs1": {
            "xprotect_audit_certificate": {"failed": True, "msg": "ca_cert_path: /x/ca.crt does not exist. Check it."},
            "xprotect_audit_trust": {"failed": True, "msg": ["list", "message"]},
            "xprotect_audit_encryption": {"skipped": True},
        }
    }
    rows = report.drift_rows(["rs1"], hv, _KEYS)
    assert rows == [
        {
            "host": "rs1",
            "drift": "could not check: certificate: ca_cert_path: /x/ca.crt does not exist. Check it.",
            "checked": False,
        },
        {"host": "rs1", "drift": "could not check: trust: list; message", "checked": False},
    ]
    verdict = report.audit_verdict(rows, ["rs1"])
    assert not verdict["ok"] and verdict["unchecked_hosts"] == ["rs1"] and verdict["drift_hosts"] == []
    assert "No drift" not in verdict["summary"] and "could not be checked (rs1)" in verdict["summary"]
    assert "could not check rs1" in verdict["fail_msg"]
    # without the unchecked setting the run passes, but the summary still says what was not checked
    relaxed = report.audit_verdict(rows, ["rs1"], fail_on_drift=True, fail_on_unchecked=False)
    assert relaxed["ok"] and "could not be checked" in relaxed["summary"]


def test_an_unreachable_host_is_one_row_of_its_own():
    down = {"unreachable": True, "msg": "host does not answer", "changed": False}
    hv = {"rs1": {k: dict(down) for k in _KEYS}, "rs2": {"xprotect_audit_trust": {"changed": False}}}
    rows = report.drift_rows(["rs1", "rs2"], hv, _KEYS)
    assert rows == [
        {"host": "rs1", "drift": "could not check: host unreachable: host does not answer", "checked": False}
    ]


def test_a_host_with_no_result_at_all_was_not_checked():
    rows = report.drift_rows(["rs1"], {"rs1": {"group_names": ["xprotect_recording_servers"]}}, _KEYS)
    assert rows == [{"host": "rs1", "drift": "could not check: no check ran on this host", "checked": False}]


def test_a_change_without_a_reason_is_still_drift():
    rows = report.drift_rows(["rs1"], {"rs1": {"xprotect_audit_trust": {"changed": True}}}, _KEYS)
    assert rows == [{"host": "rs1", "drift": "trust: differs (the check gave no reason)", "checked": True}]


def test_audit_verdict_no_drift_only_when_every_host_was_checked():
    ok = report.audit_verdict([], ["rs1", "rs2"], fail_on_drift=True)
    assert ok["ok"] and ok["summary"].startswith("No drift: every one of the 2 hosts")
    nothing = report.audit_verdict([], [])
    assert not nothing["ok"] and "Nothing was audited" in nothing["summary"]
    assert nothing["fail_msg"].startswith("The audit read no host") and "--limit" in nothing["fail_msg"]
    assert report.audit_verdict([], [], fail_on_unchecked=False)["ok"]


def test_audit_verdict_drift_fails_only_when_asked():
    rows = [{"host": "rs2", "drift": "encryption: encryption off for group 'Server certificate'", "checked": True}]
    quiet = report.audit_verdict(rows, ["rs1", "rs2"])
    assert quiet["ok"] and quiet["drift_hosts"] == ["rs2"] and "drift on 1 of 2 hosts (rs2)" in quiet["summary"]
    strict = report.audit_verdict(rows, ["rs1", "rs2"], fail_on_drift=True)
    assert not strict["ok"] and strict["fail_msg"].startswith("Drift on rs2. Run playbooks/site.yml")


def test_probe_gate_names_the_hosts_whose_endpoints_failed():
    good = _probe(reachable=True, tls=True, verified=True, thumbprint="AA" * 20)
    bad = _probe(label="ms.example.com", host="127.1.0.1", port=443, reachable=False, error="refused")
    assert report.probe_gate([good], HV) == {"ok": True, "hosts": [], "problems": [], "msg": ""}
    gate = report.probe_gate([good, bad, dict(bad, port=80)], HV)
    assert not gate["ok"] and gate["hosts"] == ["ms.example.com"] and len(gate["problems"]) == 2
    assert gate["msg"].startswith("TLS gate: the endpoints of ms.example.com do not serve")
    assert "rs1.example.com" not in gate["msg"]
    # The probe waited for both ports (one label): the message says so, naming the host once.
    settle = {"expect": "tls", "rounds": 61, "seconds": 60.2, "pending": ["ms.example.com", "ms.example.com"]}
    waited = report.probe_gate([good, bad, dict(bad, port=80)], HV, settle=settle)
    assert waited["msg"] == gate["msg"] + (
        ". Probed again for 60 s (xprotect_verify_settle_timeout), ms.example.com still did not answer as expected."
    )
    assert report.probe_gate([good], HV, settle=settle)["msg"] == ""


def test_reach_endpoints_are_the_gates_ports_and_their_plain_twins_once_each():
    eps = report.reach_endpoints(list(HV), HV)
    by_host = {}
    for ep in eps:
        by_host.setdefault(ep["label"], []).append(ep["port"])
    assert by_host["ms.example.com"] == [443, 80]
    assert by_host["rs1.example.com"] == [17563, 19001]  # the same ports before and after
    assert sorted(by_host["combo.example.com"]) == [80, 443, 7563, 9001]
    assert by_host["mob.example.com"] == [8081]  # left on HTTP: only the plain port
    assert "custom.example.com" not in by_host  # its own endpoints may open only once encrypted
    assert "cl.example.com" not in by_host
    rs1 = [ep for ep in eps if ep["label"] == "rs1.example.com"]
    assert all(ep["host"] == "127.1.0.2" and ep["server_name"] == "rs1.example.com" for ep in rs1)


def _reach(label, port, reachable, error=None):
    return {"label": label, "port": port, "reachable": reachable, "error": error}


def test_a_service_reached_on_neither_port_blocks_the_gate():
    servers = ["ms.example.com", "rs1.example.com"]
    hv = {h: dict(HV[h], xprotect_preflight=[]) for h in servers}
    probes = [
        _reach("ms.example.com", 443, False, "connection refused"),  # not encrypted yet: 443 closed
        _reach("ms.example.com", 80, True),
        _reach("rs1.example.com", 17563, True),
        _reach("rs1.example.com", 19001, False, "timed out"),
    ]
    gate = report.preflight_gate(hv, servers, [], "all", probes)
    assert gate["ok"] is False and gate["blocking"] == ["rs1.example.com"]
    assert "controller cannot reach the recording web api on port 19001 (19001: timed out)" in gate["table"]
    assert "ms.example.com" not in gate["table"]
    # Neither of the management server's ports: blocked too, both named.
    probes[1] = _reach("ms.example.com", 80, False, "connection refused")
    found = report.unreachable_endpoints(servers, hv, probes)
    assert found["ms.example.com"] == [
        "controller cannot reach the management https on port 80 or 443 (80: connection refused; 443: connection "
        "refused); the gate after its switch makes a TLS handshake there from the controller"
    ]
    # Without probes, or with every port answering, nothing is added.
    assert report.preflight_gate(hv, servers, [], "all")["ok"] is True
    answering = [dict(p, reachable=True) for p in probes]
    assert report.preflight_gate(hv, servers, [], "all", answering)["ok"] is True


def test_an_offline_host_is_not_listed_twice():
    hv = {"rs1.example.com": dict(HV["rs1.example.com"], xprotect_preflight=["host unreachable: down"])}
    probes = [_reach("rs1.example.com", 17563, False, "refused"), _reach("rs1.example.com", 19001, False, "refused")]
    gate = report.preflight_gate(hv, ["rs1.example.com"], [], "all", probes)
    assert gate["blocking"] == ["rs1.example.com"] and "cannot reach" not in gate["table"]


def test_an_unreadable_encryption_state_is_a_finding():
    sc = {"path": "C:\\x.exe", "version": "24.2", "usable": True}
    info = {"xprotect": {"server_configurator": sc, "encryption_error": "rs01: the image server did not answer"}}
    assert report.preflight_findings(None, None, info) == ["encryption state: rs01: the image server did not answer"]


def test_audit_verdict_refuses_a_setting_that_is_not_a_boolean():
    # Jinja's bool filter would turn "maybe" into false and switch the safety off
    with pytest.raises(ValueError, match="xprotect_audit_fail_on_unchecked='maybe' is not a boolean"):
        report.audit_verdict([], ["rs1"], False, "maybe")
    with pytest.raises(ValueError, match="xprotect_audit_fail_on_drift=2"):
        report.audit_verdict([], ["rs1"], 2)
    assert report.audit_verdict([], [], "yes", "False")["ok"]
