"""An intermediate site CA on a lab site (issue 17, item 4): the collection's CA is signed by an
enterprise root; site.yml imports it with its chain, every host trusts the root (Root) and holds
the intermediate (CA), servers serve their chain, and the site encrypts with video and
connections intact. One small site, rolled out once for the whole file."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import pki
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import certs

from .rollout_helpers import events, hosts_in, lab_site, playbook, recap, status

pytestmark = pytest.mark.integration

SIZE = dict(recording_servers=1, failover_servers=0, mobile_servers=0, event_servers=0, clients=1)
IMPORT_PASS = "the enterprise PKI team's passphrase"  # noqa: S105 - a test value


@pytest.fixture(scope="module")
def rolled_out(tmp_path_factory):
    base = tmp_path_factory.mktemp("intermediate")
    now = pki.utcnow()
    root = certs.enterprise_root("Enterprise Root CA", now)
    key = pki.generate_key(3072)
    site_ca = pki.CA(cert=certs.issue_ca_certificate(root, key.public_key(), "XProtect Site CA", now), key=key)
    handover = base / "handover"
    handover.mkdir()
    (handover / "site-ca.crt").write_text(site_ca.cert_pem)
    (handover / "site-ca.key").write_bytes(pki.serialize_ca_key(site_ca, IMPORT_PASS.encode()))
    (handover / "root.pem").write_text(root.cert_pem)
    extra = {
        "xprotect_ca_import_cert_path": str(handover / "site-ca.crt"),
        "xprotect_ca_import_key_path": str(handover / "site-ca.key"),
        "xprotect_ca_import_chain_path": str(handover / "root.pem"),
        "xprotect_ca_import_passphrase": IMPORT_PASS,
        # A CA that is not created here replaces nothing the site trusts (the lab site is new).
        "xprotect_ca_allow_new": True,
    }
    with lab_site(base / "site", **SIZE) as site:
        first = playbook("site.yml", site, extra=extra)
        second = playbook("site.yml", site, extra=extra)
        yield {"site": site, "root": root, "ca": site_ca, "first": first, "second": second, "base": base}


def _state(site, host):
    return json.loads((site / "hosts" / host / "state.json").read_text())


def _thumbprints(state, store):
    return {e["thumbprint"] for e in state.get("stores", {}).get(store, [])}


def test_every_host_trusts_the_root_and_holds_the_intermediate(rolled_out):
    site, root, ca = rolled_out["site"], rolled_out["root"], rolled_out["ca"]
    assert (site.parent / "pki" / "ca.crt").read_text() == ca.cert_pem + root.cert_pem
    everyone = {e["host"] for e in events(site) if e["event"] == "ca_trusted"}
    assert everyone, "nothing was trusted"
    for host in everyone:
        state = _state(site, host)
        assert root.thumbprint in _thumbprints(state, "Root"), host
        assert ca.thumbprint not in _thumbprints(state, "Root"), f"{host}: the intermediate went to Root"
        assert ca.thumbprint in _thumbprints(state, "CA"), host


def test_the_site_encrypts_and_keeps_video_and_connections(rolled_out):
    site = rolled_out["site"]
    hosts = status(site)
    rs = hosts_in(site, "xprotect_recording_servers")
    assert all(hosts[h]["encryption"]["Server certificate"]["enabled"] for h in rs), hosts
    assert all(hosts[h]["connected"] for h in rs)
    for client in hosts_in(site, "xprotect_clients"):
        assert hosts[client]["video"] and all(hosts[client]["video"].values()), hosts[client]
    # The second run changes nothing.
    assert all(v["changed"] == 0 for v in recap(rolled_out["second"].stdout).values()), rolled_out["second"].stdout


def test_servers_send_their_chain_and_openssl_verifies_it_to_the_root(rolled_out):
    site, root, ca, base = rolled_out["site"], rolled_out["root"], rolled_out["ca"], rolled_out["base"]
    rs = hosts_in(site, "xprotect_recording_servers")[0]
    entry = status(site)[rs]
    endpoint = next(e for e in entry["endpoints"] if e["tls"] and e["handshake"])
    # A TLS client that trusts the root only: the handshake succeeds only if the server sends
    # the intermediate (as SChannel does from LocalMachine\CA).
    ctx = ssl.create_default_context(cadata=root.cert_pem)
    ctx.check_hostname = False
    with socket.create_connection((entry["address"], endpoint["port"]), timeout=10) as raw:
        with ctx.wrap_socket(raw) as tls:
            leaf_der = tls.getpeercert(binary_form=True)
    leaf = pki.load_certificate(leaf_der)
    assert pki.verify_issued_by(leaf, ca.cert) and pki.thumbprint(leaf) == endpoint["thumbprint"]
    for name, pem in (("root.pem", root.cert_pem), ("intermediate.pem", ca.cert_pem), ("leaf.pem", pki.cert_pem(leaf))):
        (base / name).write_text(pem)
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", "root.pem", "-untrusted", "intermediate.pem", "leaf.pem"],
        cwd=base,
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0 and "leaf.pem: OK" in verify.stdout, verify.stdout + verify.stderr
