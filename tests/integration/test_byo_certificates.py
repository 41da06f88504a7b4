"""Bring your own certificate, end to end on a lab site: the mobile server gets a PFX from a
foreign CA, as public CAs issue them: the leaf signed by an issuing CA whose certificate comes in
the PFX, under a root trusted on the host beforehand (as Group Policy would) and named as trusted
by the clients. The rollout binds it, the server sends the chain, a TLS handshake verifies with
the foreign root alone (openssl agrees), and a second run imports nothing. A bad PFX stops the run with the host and the
option named, and nothing of it reaches the host.

One small site for the file (module scope); the refusal test runs before nothing and after
nothing in particular: it checks only that its own run changed no store.
"""

from __future__ import annotations

import datetime
import json
import socket
import ssl
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from ansible_collections.xprotect.encryption.plugins.module_utils import pki
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import certs

from .rollout_helpers import BIN, events, inventory, lab, playbook, recap, run

pytestmark = pytest.mark.integration

SIZE = dict(recording_servers=1, failover_servers=0, mobile_servers=1, event_servers=0, clients=0)
UTC = datetime.timezone.utc
MOBILE_TLS_PORT = 8082


def _foreign_root() -> pki.CA:
    key = pki.generate_key(3072)
    now = datetime.datetime.now(UTC)
    cert = (
        pki.self_signed_builder(key.public_key(), pki.cn_name("Corp Public Root"), now, 3650)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return pki.CA(cert=cert, key=key)


@pytest.fixture(scope="module")
def byo_site(tmp_path_factory):
    base = tmp_path_factory.mktemp("byo")
    site = base / "site"
    lab(site, **SIZE)
    try:
        inv = inventory(site)
        mobile = sorted(inv["xprotect_mobile_servers"]["hosts"])[0]
        hostvars = inv["_meta"]["hostvars"][mobile]
        root = _foreign_root()
        root_file = base / "corp-root.crt"
        root_file.write_text(root.cert_pem)
        key = pki.generate_key(2048)
        fqdn = hostvars.get("xprotect_fqdn") or mobile
        issuing_key = pki.generate_key(3072)
        now = datetime.datetime.now(UTC)
        issuing = pki.CA(
            cert=certs.issue_ca_certificate(root, issuing_key.public_key(), "Corp Issuing CA", now),
            key=issuing_key,
        )
        leaf = pki.issue_certificate(issuing, key.public_key(), fqdn, pki.host_names(fqdn), days=400)
        pfx = base / "mobile.pfx"
        # The chain as a public CA delivers it: the issuing CA and the root (the root is left out
        # on import: it must already be trusted on the host).
        pfx.write_bytes(pki.write_pfx(key, leaf, [issuing.cert, root.cert], b"pfx-pass", fqdn))
        # The company's root, trusted on the mobile server before the rollout (Group Policy's job).
        run([str(BIN / "ansible"), "-i", str(site / "inventory.yml"), mobile, "-m", "xprotect.encryption.trusted_ca",
             "-a", json.dumps({"ca_cert_path": str(root_file)})])  # fmt: skip
        (site / "host_vars").mkdir(exist_ok=True)
        mobile_vars = {
            "xprotect_certificates_key_source": "pfx",
            "xprotect_certificates_pfx_path": str(pfx),
            "xprotect_certificates_pfx_passphrase": "pfx-pass",
            "xprotect_certificates_client_trusted_roots": [pki.thumbprint(root.cert)],
        }
        (site / "host_vars" / f"{mobile}.yml").write_text(json.dumps(mobile_vars))
        extra = {"xprotect_tls_extra_roots": [root.cert_pem]}
        first = playbook("site.yml", site, check=False, extra=extra)
        (base / "first-run.log").write_text(first.stdout)
        assert first.returncode == 0, f"the rollout failed; its output is in {base / 'first-run.log'}"
        yield {
            "site": site, "base": base, "mobile": mobile, "fqdn": fqdn, "hostvars": hostvars,
            "mobile_vars": mobile_vars, "root": root, "root_file": root_file, "leaf": leaf, "extra": extra,
            "issuing": issuing,
            "first": first,
        }  # fmt: skip
    finally:
        lab(site, state="absent")


def _served_chain(address: str, port: int, server_name: str, root_file) -> bytes:
    """A real handshake that trusts the foreign root only, with host name checking."""
    ctx = ssl.create_default_context(cafile=str(root_file))
    with socket.create_connection((address, port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_name) as tls:
            return tls.getpeercert(binary_form=True)


def test_the_mobile_server_serves_the_brought_certificate_verified_by_the_foreign_root(byo_site):
    s = byo_site
    installed = [e for e in events(s["site"]) if e["event"] == "certificate_installed" and e["host"] == s["mobile"]]
    assert installed, "the brought certificate was not installed"
    address = s["hostvars"].get("ansible_host") or s["mobile"]
    port = MOBILE_TLS_PORT + int(s["hostvars"].get("xprotect_port_offset") or 0)
    der = _served_chain(address, port, s["fqdn"], s["root_file"])
    served = pki.load_certificate(der)
    assert pki.thumbprint(served) == pki.thumbprint(s["leaf"])
    # openssl cross-checks the chain: the served certificate, through the issuing CA, to the
    # foreign root alone.
    leaf_file = s["base"] / "served.pem"
    leaf_file.write_text(pki.cert_pem(served))
    issuing_file = s["base"] / "issuing.pem"
    issuing_file.write_text(pki.cert_pem(s["issuing"].cert))
    proc = subprocess.run(
        ["openssl", "verify", "-purpose", "sslserver", "-CAfile", str(s["root_file"]),
         "-untrusted", str(issuing_file), str(leaf_file)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0 and ": OK" in proc.stdout, proc.stdout + proc.stderr


def test_a_second_run_recognises_the_certificate_and_imports_nothing(byo_site):
    s = byo_site
    before = len(events(s["site"]))
    proc = playbook("site.yml", s["site"], extra=s["extra"])
    mine = [e for e in events(s["site"])[before:] if e["host"] == s["mobile"]]
    assert [e for e in mine if e["event"].startswith("certificate_")] == [], mine
    assert "Would import" not in proc.stdout
    assert recap(proc.stdout)[s["mobile"]]["changed"] == 0  # the certificate task reports ok, as every other


def test_a_bad_pfx_is_refused_naming_host_and_option_and_nothing_reaches_the_host(byo_site):
    s = byo_site
    key = pki.generate_key(2048)
    other = pki.issue_certificate(s["root"], key.public_key(), "elsewhere.example.com", ["elsewhere.example.com"])
    bad = s["base"] / "bad.pfx"
    bad.write_bytes(pki.write_pfx(key, other, [], b"pfx-pass", "elsewhere"))
    host_vars = s["site"] / "host_vars" / f"{s['mobile']}.yml"
    before = len(events(s["site"]))
    try:
        host_vars.write_text(json.dumps(dict(s["mobile_vars"], xprotect_certificates_pfx_path=str(bad))))
        proc = playbook("site.yml", s["site"], check=False, extra=s["extra"])
    finally:
        host_vars.write_text(json.dumps(s["mobile_vars"]))
    assert proc.returncode != 0
    assert f"pfx_path: {bad} cannot serve {s['fqdn']}: names missing: {s['fqdn']}" in proc.stdout
    assert "Nothing was imported." in proc.stdout and "Traceback" not in proc.stdout + proc.stderr
    changes = [e for e in events(s["site"])[before:] if e["event"].startswith(("certificate_", "encryption_"))]
    assert changes == []
