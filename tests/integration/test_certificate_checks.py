"""Certificates checked where they are used, and the continuity of the CA, on lab sites.

Each test has a site of its own: the CA folder deleted after a rollout, a PFX for the wrong
host, a renewal watched through the lab's event log, a certificate that expires within
renew_before.
"""

from __future__ import annotations

import json
import re

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import pki

from .rollout_helpers import events, hosts_in, lab, playbook, status

pytestmark = pytest.mark.integration

SIZE = dict(recording_servers=2, failover_servers=1, mobile_servers=1, event_servers=0, clients=1)
# What changes a host, in the lab's event log (reads and probes log nothing).
CHANGES = {
    "ca_trusted",
    "ca_removed",
    "certificate_requested",
    "certificate_installed",
    "certificate_removed",
    "certificate_renewed",
    "key_access_granted",
    "encryption_enabled",
    "encryption_disabled",
}


@pytest.fixture
def site(tmp_path):
    path = tmp_path / "site"
    lab(path, **SIZE)
    yield path
    lab(path, state="absent")


def _pki(site):
    return site.parent / "pki"


def _changes(evts):
    return [e for e in evts if e["event"] in CHANGES]


def test_a_missing_ca_folder_stops_before_any_host_changes(site):
    playbook("site.yml", site)
    old = pki.load_certificate((_pki(site) / "ca.crt").read_bytes())
    (_pki(site) / "ca.crt").unlink()
    (_pki(site) / "ca.key").unlink()
    before = len(events(site))

    proc = playbook("site.yml", site, check=False)

    assert proc.returncode != 0
    assert _changes(events(site)[before:]) == []
    assert not (_pki(site) / "ca.crt").exists() and not (_pki(site) / "ca.key").exists()
    out = proc.stdout
    assert "Stopped in: Phase 0 check: stop before a new CA replaces the one the site trusts" in out
    assert f"CN=XProtect VMS Root CA (thumbprint {pki.thumbprint(old)})" in out
    assert f"Restore ca.crt and ca.key of that CA into {_pki(site)}" in out
    assert "xprotect_ca_allow_new: true" in out
    assert "Traceback" not in out + proc.stderr

    # Replacing the CA on purpose gets past the check: a new CA, trusted by every host.
    proc = playbook("stage.yml", site, extra={"xprotect_ca_allow_new": True})
    new = pki.load_certificate((_pki(site) / "ca.crt").read_bytes())
    assert pki.thumbprint(new) != pki.thumbprint(old)
    trusted = {e["host"] for e in events(site)[before:] if e["event"] == "ca_trusted"}
    assert trusted >= set(hosts_in(site, "xprotect_recording_servers") + hosts_in(site, "xprotect_clients"))


def test_a_pfx_for_the_wrong_host_is_refused_before_any_switch(site):
    # The case of the issue: before, the management server was bound to it and every recording
    # server disconnected; re-running imported it again.
    passphrase = (_pki(site) / "passphrase").read_bytes().strip()
    ca = pki.create_ca(key_size=3072)
    (_pki(site) / "ca.key").write_bytes(pki.serialize_ca_key(ca, passphrase))
    (_pki(site) / "ca.crt").write_text(ca.cert_pem)
    ms = hosts_in(site, "xprotect_management_servers")[0]
    rs = hosts_in(site, "xprotect_recording_servers")[0]
    key = pki.generate_key(2048)
    wrong = pki.issue_certificate(ca, key.public_key(), rs, pki.host_names(rs))
    pfx = site.parent / "mgmt.pfx"
    pfx.write_bytes(pki.write_pfx(key, wrong, [ca.cert], b"pfx-pass", rs))
    (site / "host_vars").mkdir()
    (site / "host_vars" / f"{ms}.yml").write_text(
        json.dumps(
            {
                "xprotect_certificates_key_source": "pfx",
                "xprotect_certificates_pfx_path": str(pfx),
                "xprotect_certificates_pfx_passphrase": "pfx-pass",
            }
        )
    )
    for _run in range(2):
        proc = playbook("site.yml", site, check=False)
        assert proc.returncode != 0
        evts = events(site)
        assert [e for e in evts if e["event"] == "encryption_enabled"] == []
        assert [e for e in evts if e["event"] == "certificate_installed" and e["host"] == ms] == []
        assert f"pfx_path: {pfx} cannot serve {ms}: names missing: {ms}" in proc.stdout
        assert "Nothing was imported." in proc.stdout
        assert "Preflight failed on " + ms in proc.stdout
    for rs_host in hosts_in(site, "xprotect_recording_servers"):
        assert status(site)[rs_host]["connected"] is True


def test_a_renewal_never_interrupts_video(site):
    playbook("site.yml", site)
    before = len(events(site))
    # renew_before longer than any validity: every server certificate is renewed now.
    playbook("renew.yml", site, extra={"xprotect_renew_before": 10000})
    evts = events(site)[before:]
    servers = hosts_in(site, "xprotect_recording_servers") + hosts_in(site, "xprotect_failover_servers")
    renewed = {e["host"] for e in evts if e["event"] == "certificate_renewed"}
    assert renewed >= set(servers)
    assert [e for e in evts if e["event"] == "video_changed" and e["video"] is False] == []
    assert [e for e in evts if e["event"] == "connectivity_changed" and e.get("connected") is False] == []
    for host in servers:
        mine = [e for e in evts if e["host"] == host]
        kinds = [e["event"] for e in mine]
        granted = [e for e in mine if e["event"] == "key_access_granted"]
        assert granted and all(e["store"] == "REQUEST" for e in granted), host
        assert kinds.index("key_access_granted") < kinds.index("certificate_installed"), host
    st = status(site)
    for client in hosts_in(site, "xprotect_clients"):
        assert all(st[client]["video"].values()), client


def test_the_preflight_refuses_a_certificate_expiring_within_renew_before(site):
    # Certificates are issued for 730 days; with renew_before 800 each one is due at once. The
    # preflight's check reports it although it runs with changed_when: false.
    proc = playbook("site.yml", site, check=False, extra={"xprotect_renew_before": 800})
    assert proc.returncode != 0
    assert [e for e in events(site) if e["event"] == "encryption_enabled"] == []
    ms = hosts_in(site, "xprotect_management_servers")[0]
    assert "Preflight failed on " + ms in proc.stdout
    # Whole days left, rounded down, from times in whole seconds (as certificates carry them): 730
    # when the preflight reads the certificate within the second phase 1 issued it, 729 after.
    assert re.search(r"certificate: certificate expires in 7(29|30) days \(renew_before 800\)", proc.stdout)
