"""The site report's document (module_utils/site_report.py), validated against its JSON Schema."""

from __future__ import annotations

import jsonschema
import pytest
from site_report_data import CA, PROBES, SCHEMA, TP, _hv, _probe, _report, _site

from ansible_collections.xprotect.encryption.plugins.module_utils import settings, site_report


def test_the_document_validates_against_its_schema_and_has_a_version():
    report = _report()
    jsonschema.validate(report, SCHEMA)
    assert report["schema_version"] == SCHEMA["properties"]["schema_version"]["const"] == 1
    assert report["site"]["management_server"] == "ms"
    assert report["site"]["ca"]["expiry_date"] == "2036-01-01"


def test_a_document_missing_a_part_does_not_validate():
    report = _report()
    del report["servers"][0]["connected"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(report, SCHEMA)


def test_per_server_certificate_endpoints_and_key_access():
    servers = {s["host"]: s for s in _report()["servers"]}
    rs1 = servers["rs1"]
    assert rs1["certificate"]["thumbprint"] == TP["rs1"]
    assert rs1["certificate"]["issuer"] == "CN=Site CA"
    assert rs1["certificate"]["expiry_date"] == "2027-07-06"
    assert rs1["endpoints"][0]["protocol"] == "TLSv1.3" and rs1["endpoints"][0]["chain_verified"] is True
    assert rs1["key_access"] == {"readers": ["NETWORK SERVICE"], "ok": True}
    assert servers["mob"]["state"] == "encrypted"  # 8082 TLS, 8081 plain: the encrypted service counts


def test_connected_comes_from_the_probes_of_both_ends_without_a_status():
    probes = [p for p in PROBES if p["label"] != "rs1"] + [_probe("rs1", 7563, tls=False)]
    servers = {s["host"]: s for s in _report(probes=probes)["servers"]}
    assert servers["rs1"]["state"] == "plain"
    assert servers["rs1"]["connected"] == {"value": False, "source": "probe"}
    assert servers["rs1"]["edge"] == "broken"
    assert servers["rs2"]["connected"] == {"value": True, "source": "probe"}
    assert servers["ms"]["connected"] == {"value": None, "source": None}


def test_connected_comes_from_the_status_when_there_is_one_never_from_the_settings():
    # The settings say encrypted and the probe agrees; the status says the link is down: it wins.
    status = {"hosts": {"rs1": {"connected": False}, "cl1": {"video": {"rs1": False, "rs2": True}}}}
    report = _report(status=status)
    servers = {s["host"]: s for s in report["servers"]}
    assert servers["rs1"]["connected"] == {"value": False, "source": "status"}
    assert report["summary"]["disconnected"] == ["rs1"]
    assert {c["host"]: c["video"] for c in report["clients"]}["cl1"] == {"rs1": False, "rs2": True}


def test_unreachable_and_untrusted_endpoints():
    assert site_report.measured_state([]) == "unknown"
    probes = [site_report._probe_summary(_probe("rs1", 7563, reachable=False))]
    assert site_report.measured_state(probes) == "unreachable"
    probes = [site_report._probe_summary(_probe("rs1", 7563, verified=False))]
    assert site_report.measured_state(probes) == "broken"


def test_clients_trusted_missing_or_unreachable():
    report = _report()
    clients = {c["host"]: c for c in report["clients"]}
    assert clients["cl1"]["ca_trusted"] is True
    assert clients["cl2"]["ca_trusted"] is False
    assert clients["cl3"]["unreachable"] is True and clients["cl3"]["ca_trusted"] is None
    assert {"host": "cl3", "reason": "CA trust: timed out"} in report["unchecked"]
    assert report["summary"]["clients_without_ca"] == ["cl2"]


def test_expiry_watch_warns_then_fails_and_says_which():
    assert site_report.expiry_verdict(31, 30, 14) == "ok"
    assert site_report.expiry_verdict(30, 30, 14) == "warn"
    assert site_report.expiry_verdict(14, 30, 14) == "fail"
    assert site_report.expiry_verdict(-3, 30, 14) == "fail"
    assert site_report.expiry_verdict(None, 30, 14) is None
    watch = _report()["expiry_watch"]
    assert watch["verdict"] == "fail"
    assert [i["host"] for i in watch["fail"]] == ["rs2"]
    assert [i["host"] for i in watch["warn"]] == ["fo1"]
    assert "rs2 on 2026-06-11" in watch["message"] and "fo1 on 2026-06-21" in watch["message"]
    assert "renew.yml" in watch["message"]


def test_expiry_watch_counts_the_ca():
    ca = dict(CA, not_after="2026-06-20T00:00:00Z")
    hv = _site(rs2=_hv(["xprotect_recording_servers"], host="rs2"), fo1=_hv(["xprotect_failover_servers"], host="fo1"))
    watch = _report(hv=hv, ca=ca)["expiry_watch"]
    assert watch["verdict"] == "warn" and [i["host"] for i in watch["warn"]] == ["CA"]


def test_renewal_is_listed_old_to_new():
    renewed = {
        "changed": True,
        "thumbprint": TP["new"],
        "not_after": "2028-06-01T00:00:00Z",
        "names": ["rs1"],
        "reasons": ["certificate expires in 10 days (renew_before 30)"],
        "previous": {"thumbprint": TP["rs1"], "not_after": "2026-06-11T00:00:00Z"},
    }
    hv = _site()
    hv["rs1"]["xprotect_certificate"] = renewed
    hv["rs2"]["xprotect_certificate"] = dict(renewed, changed=False)
    hv["ms"]["xprotect_encryption"] = {"changed": True, "reasons": ["Server certificate: disabled -> enabled"]}
    report = _report(hv=hv)
    jsonschema.validate(report, SCHEMA)
    changes = {(c["host"], c["what"]): c for c in report["changes"]}
    assert set(changes) == {("rs1", "renewed"), ("ms", "encryption")}
    rs1 = changes[("rs1", "renewed")]
    assert (rs1["old_thumbprint"], rs1["new_thumbprint"]) == (TP["rs1"], TP["new"])
    assert report["summary"]["renewed"] == [rs1]
    lines = site_report.console_lines(report, {"json": "/r/report.json"})
    assert any(
        f"Renewed rs1: {TP['rs1']} (expiry 2026-06-11) -> {TP['new']} (expiry 2028-06-01)" == line for line in lines
    )


def test_drift_and_unchecked_hosts():
    hv = _site()
    hv["rs2"]["state"] = {"failed": True, "msg": "Server Configurator exited -4\nmore"}
    drift = [{"host": "rs1", "drift": "encryption: Server certificate disabled", "checked": True}]
    report = _report(hv=hv, drift=drift)
    jsonschema.validate(report, SCHEMA)
    assert report["summary"]["drift_hosts"] == ["rs1"]
    assert {"host": "rs2", "reason": "encryption: Server Configurator exited -4"} in report["unchecked"]


def test_console_lines_say_dates_the_ca_and_the_clients():
    lines = site_report.console_lines(_report(), {"json": "/r/report.json", "html": "/r/report.html"})
    assert lines[0].startswith("CA CN=Site CA " + "9" * 40 + ": expires 2036-01-01")
    assert any(line.startswith("rs2 ") and "2026-06-11" in line and "fail" in line for line in lines)
    assert any(line.startswith("Clients: 1 trust the CA; without the CA: cl2") for line in lines)
    assert lines[-2:] == ["Report: /r/report.json", "Report: /r/report.html"]


def test_no_ca_yet_is_said_not_failed():
    report = _report(ca=None)
    jsonschema.validate(report, SCHEMA)
    assert site_report.console_lines(report, {})[0] == "CA: not read in this run"


@pytest.mark.parametrize(
    ("env", "sources", "expected"),
    [
        ({"AWX_ISOLATED_DATA_DIR": "/runner/artifacts/7"}, ["/inv/hosts.yml"], "/runner/artifacts/7"),
        ({"AWX_PRIVATE_DATA_DIR": "/runner"}, ["/inv/hosts.yml"], "/runner/artifacts"),
        ({}, ["/inv/hosts.yml"], "/inv/xprotect-report"),
        ({}, ["a,b,"], "/pb/xprotect-report"),
    ],
)
def test_default_folder(env, sources, expected):
    assert site_report.default_dir(env, sources, "/pb") == expected


def test_fail_days_above_warn_days_is_a_settings_problem_naming_both():
    found = settings.problems("audit", {"xprotect_expiry_warn_days": 10, "xprotect_expiry_fail_days": 20})
    assert any("xprotect_expiry_fail_days=20" in p and "xprotect_expiry_warn_days=10" in p for p in found)
    assert not settings.problems("audit", {"xprotect_expiry_warn_days": 30, "xprotect_expiry_fail_days": 14})


def test_a_dotted_name_reads_one_key_of_a_registered_result():
    # The rollout's preflight registers its three reads as one result (xprotect.encryption.preflight).
    readers = {"key_readers": ["NETWORK SERVICE"], "reasons": []}
    hv = {
        "rs1": {"xprotect_pf": {"certificate": readers, "trust": {}}, "xprotect_final_cert": {"thumbprint": "AA"}},
        "rs2": {"xprotect_pf": {"unreachable": True, "msg": "gone"}},
        "rs3": {"xprotect_pf": "not a result"},
    }
    keys = {"certificate": "xprotect_final_cert", "key_access": ["xprotect_pf.certificate"]}
    records = {r["host"]: r for r in site_report.host_records(list(hv), hv, keys)}
    assert records["rs1"]["key_access"] == {"readers": ["NETWORK SERVICE"], "reasons": []}
    assert records["rs1"]["certificate"] == {"thumbprint": "AA"}
    assert records["rs2"]["key_access"] == {} and records["rs3"]["key_access"] == {}
