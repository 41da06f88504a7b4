"""The AD CS mode end to end on a lab site whose enterprise CA wants a CA manager's approval.

First run: every server's request waits; the preflight gate stops the run before any switch and
says which servers wait. The lab's CA manager approves; the second run fetches the certificates
(no second request), switches and converges; the third changes nothing.
"""

from __future__ import annotations

import json

import pytest
import yaml

from ansible_collections.xprotect.encryption.plugins.module_utils import pki

from .rollout_helpers import changed_hosts, events, fault, hosts_in, lab, playbook

pytestmark = pytest.mark.integration

CONFIG = "ca01.lab.xprotect.test\\LAB Enterprise Root CA"
SIZE = dict(recording_servers=1, failover_servers=0, mobile_servers=0, event_servers=0, clients=0)
SWITCHES = {"encryption_enabled", "encryption_disabled"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    path = tmp_path_factory.mktemp("adcs") / "site"
    lab(path, settings={"adcs_enterprise_ca": True, "adcs_pending_approval": True}, **SIZE)
    yield path
    lab(path, state="absent")


def _lab_api(site):
    return yaml.safe_load((site / "inventory.yml").read_text())["all"]["vars"]["xprotect_inventory_api"]


def adcs_vars(site, template="XProtectServer"):
    return {
        "xprotect_certificates_key_source": "adcs",
        "xprotect_certificates_adcs_config": CONFIG,
        "xprotect_certificates_adcs_template": template,
        "xprotect_ca_cert_content": (site / "adcs" / "ca.crt").read_text(),
        # Once encrypted, the management server's REST API (the inventory check) answers with a
        # certificate of the enterprise CA: its root, not the lab's controller CA, verifies it.
        "xprotect_inventory_api": dict(_lab_api(site), ca_path=str(site / "adcs" / "ca.crt")),
    }


def test_a_pending_approval_stops_before_any_switch_then_converges_once_approved(site):
    servers = hosts_in(site, "xprotect_management_servers") + hosts_in(site, "xprotect_recording_servers")
    first = playbook("site.yml", site, check=False, extra=adcs_vars(site))
    out = first.stdout
    assert first.returncode != 0 and "Traceback" not in out + first.stderr
    assert f"Waiting for a CA manager's approval: {', '.join(servers)}" in out
    assert out.count("certificate: request ") == len(servers), "the gate's table says why each server waits"
    # The certificate task's warning (stderr) names the request and the CA of each server.
    assert first.stderr.count("waits for a CA manager's approval at ca01.lab.xprotect.test") == len(servers)
    assert not [e for e in events(site) if e["event"] in SWITCHES], "nothing is switched while a server waits"
    requests = json.loads((site / "adcs" / "requests.json").read_text())["requests"]
    assert sorted(r["host"] for r in requests.values()) == sorted(servers)

    for host in servers:
        fault(site, host, "adcs_approve")
    second = playbook("site.yml", site, extra=adcs_vars(site))
    assert "Traceback" not in second.stdout
    requests = json.loads((site / "adcs" / "requests.json").read_text())["requests"]
    assert len(requests) == len(servers), "the waiting requests were fetched, none sent again"
    assert {r["status"] for r in requests.values()} == {"issued"}
    enabled = {e["host"] for e in events(site) if e["event"] == "encryption_enabled"}
    assert set(servers) <= enabled
    root = pki.load_certificate((site / "adcs" / "ca.crt").read_bytes())
    for host in servers:
        state = json.loads((site / "hosts" / host / "state.json").read_text())
        mine = [pki.load_certificate(e["pem"].encode()) for e in state["stores"]["My"]]
        assert any(pki.verify_issued_by(c, root) for c in mine), f"{host} serves a certificate of the enterprise CA"

    third = playbook("site.yml", site, extra=adcs_vars(site))
    assert changed_hosts(third.stdout) == set()
