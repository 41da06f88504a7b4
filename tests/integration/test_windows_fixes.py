"""What a real Windows host would show and the lab models: the PFX import, leftover requests with
their key containers, the event server's key access, and the raw record of a first-contact audit.

One site: a PFX rollout on the recording server, the event server's certificate and switch, a
leftover certreq request cleaned up with its key, the raw audit of every host. Each test sets up
what it needs, so the tests do not depend on their order.
"""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import _certreq, pki
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import model
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab.adapter import LabAdapter

from .rollout_helpers import events, lab, playbook
from .test_host_plugins import adhoc, adhoc_local, ca_args

pytestmark = pytest.mark.integration

MS = "mgmt01.lab.xprotect.test"
RS = "rs001.lab.xprotect.test"
EV = "ev01.lab.xprotect.test"
EVENT_ACCOUNT = "LAB\\svc-event"


def _make_site(path):
    lab(
        path,
        recording_servers=1,
        failover_servers=0,
        mobile_servers=0,
        event_servers=1,
        clients=0,
        settings={"service_accounts": {"event": EVENT_ACCOUNT}},
    )
    folder = path.parent / "pki"
    assert adhoc_local(["ca", {"path": str(folder), "passphrase": (folder / "passphrase").read_text().strip()}])[
        "changed"
    ]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    path = tmp_path_factory.mktemp("winfixes") / "site"
    _make_site(path)
    yield path
    lab(path, state="absent")


@pytest.fixture
def own_site(tmp_path):
    """A site of the test's own, for a test that needs a host nobody has touched."""
    path = tmp_path / "site"
    _make_site(path)
    yield path
    lab(path, state="absent")


def test_01_a_pfx_rollout_leaves_no_ca_certificate_in_my(site):
    # A recording server with no certificate yet, whatever another test gave it.
    for entry in LabAdapter(str(site), RS).list_certificates("My"):
        LabAdapter(str(site), RS).remove_certificate(entry.thumbprint, "My")
    adhoc(site, RS, "trusted_ca", {"ca_cert_path": ca_args(site)["ca_cert_path"]})
    res = adhoc(site, RS, "server_certificate", dict(ca_args(site), key_source="pfx"))
    assert res["changed"] and not res.get("failed"), res
    my = LabAdapter(str(site), RS).list_certificates("My")
    assert [e.thumbprint for e in my] == [res["thumbprint"]]
    assert not [e for e in my if pki.is_ca_certificate(pki.load_certificate(e.der))]
    # The CA is where it belongs, and xprotect_info lists only the server certificate.
    info = adhoc(site, RS, "xprotect_info", {"ca_cert_path": ca_args(site)["ca_cert_path"]})["xprotect"]
    assert info["ca"]["trusted"] is True
    assert [c["thumbprint"] for c in info["certificates"]] == [res["thumbprint"]]
    assert info["other_certificates"] == []


def test_02_the_event_servers_account_reads_the_key_and_its_group_switches(own_site):
    site = own_site
    adhoc(site, EV, "trusted_ca", {"ca_cert_path": ca_args(site)["ca_cert_path"]})
    cert = adhoc(site, EV, "server_certificate", ca_args(site))
    assert cert["changed"] and EVENT_ACCOUNT in cert["key_readers"], cert
    granted = [e for e in events(site) if e["event"] == "key_access_granted" and e["host"] == EV]
    assert EVENT_ACCOUNT in {e["account"] for e in granted}
    # Server Configurator (the lab's) refuses a certificate whose key the service cannot read.
    res = adhoc(site, EV, "encryption", {"thumbprint": cert["thumbprint"]})
    assert res["changed"] and not res.get("failed"), res
    assert res["thumbprints"]["event"]


def test_03_a_leftover_request_goes_with_its_key_container(site):
    adhoc(site, RS, "trusted_ca", {"ca_cert_path": ca_args(site)["ca_cert_path"]})  # certreq -accept needs it
    host = LabAdapter(str(site), RS)
    temp = "C:\\Windows\\Temp"
    host.write_file(temp + "\\left.inf", _certreq.certreq_inf(RS, pki.host_names(RS), key_length=2048))
    assert host.run(["certreq.exe", "-new", "-machine", "-q", "-f", temp + "\\left.inf", temp + "\\left.csr"]).rc == 0
    (left,) = host.list_certificates("REQUEST")
    # A new alias makes the next run issue a certificate, through certreq.
    res = adhoc(site, RS, "server_certificate", dict(ca_args(site), dns_names=["rs001-alias.lab.xprotect.test"]))
    assert res["changed"] and not res.get("failed"), res
    assert res["removed_requests"] == [left.thumbprint]
    assert host.list_certificates("REQUEST") == []
    site_model = model.Site(str(site))
    assert left.thumbprint not in model.orphan_keys(site_model, RS, site_model.read_state(RS))
    removed = [e for e in events(site) if e["event"] == "request_removed" and e["host"] == RS]
    assert removed[-1]["thumbprint"] == left.thumbprint and removed[-1]["key_deleted"] is True


def test_04_the_raw_audit_keeps_what_the_parsers_read_and_no_secret(site, tmp_path):
    # The management server encrypted, so that its registry shows a binding.
    adhoc(site, MS, "trusted_ca", {"ca_cert_path": ca_args(site)["ca_cert_path"]})
    ms_cert = adhoc(site, MS, "server_certificate", ca_args(site))
    assert adhoc(site, MS, "encryption", {"thumbprint": ms_cert["thumbprint"]})["changed"]
    raw = tmp_path / "raw"
    proc = playbook("audit.yml", site, extra={"xprotect_audit_raw": True, "xprotect_audit_raw_dir": str(raw)})
    assert "Audit | raw record" in proc.stdout
    files = sorted(p.name for p in raw.iterdir())
    assert files == sorted(f"{h}.json" for h in (MS, RS, EV))
    for name in files:
        path = raw / name
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        text = path.read_text()
        assert "PRIVATE KEY" not in text
        doc = json.loads(text)
        assert doc["host"] == name[:-5] and doc["format"] == 1
        methods = {c["method"] for t in doc["tasks"] for c in t["calls"]}
        assert {"list_certificates", "list_services"} <= methods
        assert all(t["check_mode"] for t in doc["tasks"])
    ms = json.loads((raw / f"{MS}.json").read_text())
    # HTTP.sys bindings are read from the registry first (SslBindingInfo\\<ip:port>, SslCertHash).
    bindings = [
        c["result"]
        for t in ms["tasks"]
        for c in t["calls"]
        if c["method"] == "read_registry" and "SslBindingInfo" in c["arguments"]["key"]
    ]
    hashes = [bytes(r["value"]).hex().upper() for r in bindings if r.get("exists") and r.get("type") == "REG_BINARY"]
    assert ms_cert["thumbprint"] in hashes, bindings
    rs = json.loads((raw / f"{RS}.json").read_text())
    runs = [c for t in rs["tasks"] for c in t["calls"] if c["method"] == "run"]
    assert any(c["method"] == "read_registry" for t in rs["tasks"] for c in t["calls"])
    listing = [c for c in runs if "/listcertificategroups" in c["arguments"]["argv"]]
    assert listing and "Found 'Server certificate' group with ID = " in listing[0]["result"]["stdout"]
    stores = {c["arguments"]["store"] for t in rs["tasks"] for c in t["calls"] if c["method"] == "list_certificates"}
    assert {"My", "Root"} <= stores
    # A second audit starts each host's file afresh.
    tasks = len(rs["tasks"])
    playbook("audit.yml", site, extra={"xprotect_audit_raw": True, "xprotect_audit_raw_dir": str(raw)})
    assert len(json.loads((raw / f"{RS}.json").read_text())["tasks"]) == tasks
