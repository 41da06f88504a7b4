# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checks of a brought certificate (module_utils/byo.py), pure: reading the files, the chain to
the host's roots or the site CA (cross-checked with openssl verify), the rules of the re-issue
policy, the mobile server's client trust, and what the host lacks."""

from __future__ import annotations

import dataclasses
import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.xprotect.encryption.plugins.module_utils import byo, pki

UTC = datetime.timezone.utc
FQDN = "rs01.vms.example.com"  # as in conftest.py
NAMES = [FQDN, "rs01"]


def _ca_cert(issuer: pki.CA, key, cn, *, start=None, end=None, ca=True):
    now = datetime.datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start or now - datetime.timedelta(days=1))
        .not_valid_after(end or now + datetime.timedelta(days=900))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(issuer.key, hashes.SHA256())
    )


@pytest.fixture(scope="module")
def pkis():
    root_key = pki.generate_key(3072)
    now = datetime.datetime.now(UTC)
    root = pki.CA(
        cert=pki.self_signed_builder(root_key.public_key(), pki.cn_name("Corp Root"), now, 3650)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(root_key, hashes.SHA256()),
        key=root_key,
    )
    key = pki.generate_key(2048)
    issuing = pki.CA(cert=_ca_cert(root, key, "Corp Issuing"), key=key)
    leaf_key = pki.generate_key(2048)
    leaf = pki.issue_certificate(issuing, leaf_key.public_key(), FQDN, NAMES)
    return root, issuing, leaf_key, leaf


def material(leaf, key, others=(), option="pfx_path"):
    return byo.Material(option, "/files/host.pfx", leaf, key, tuple(others))


def check(m, *, roots=(), intermediates=(), site_ca=None, **kw):
    return byo.check(m, NAMES, list(intermediates), list(roots), site_ca, pki.utcnow(), 30, **kw)


def test_the_chain_goes_through_the_files_intermediate_to_a_root_of_the_host(pkis, tmp_path, run_openssl):
    root, issuing, key, leaf = pkis
    verdict = check(material(leaf, key, [issuing.cert, root.cert]), roots=[root.cert])
    assert verdict.problems == ()
    assert [pki.thumbprint(c) for c in verdict.chain] == [pki.thumbprint(issuing.cert), pki.thumbprint(root.cert)]
    assert verdict.anchor_source == byo.HOST_ROOT and verdict.to_import == (issuing.cert,)
    # openssl, an independent implementation, agrees on the chain we built.
    (tmp_path / "root.pem").write_text(pki.cert_pem(root.cert))
    (tmp_path / "chain.pem").write_text(pki.cert_pem(issuing.cert))
    (tmp_path / "leaf.pem").write_text(pki.cert_pem(leaf))
    proc = run_openssl(
        "verify", "-purpose", "sslserver", "-CAfile", str(tmp_path / "root.pem"),
        "-untrusted", str(tmp_path / "chain.pem"), str(tmp_path / "leaf.pem"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    # and refuses it without the intermediate, as we do.
    assert run_openssl("verify", "-CAfile", str(tmp_path / "root.pem"), str(tmp_path / "leaf.pem")).returncode != 0
    assert "missing chain" in check(material(leaf, key), roots=[root.cert]).problems[0]


def test_an_intermediate_already_on_the_host_is_used_and_not_imported_again(pkis):
    root, issuing, key, leaf = pkis
    verdict = check(material(leaf, key), roots=[root.cert], intermediates=[issuing.cert])
    assert verdict.problems == () and verdict.to_import == ()


def test_the_site_ca_is_an_anchor_without_being_in_root_yet(site_ca, server_key, server_cert):
    verdict = check(material(server_cert, server_key, [site_ca.cert]), site_ca=site_ca.cert)
    assert verdict.problems == () and verdict.anchor_source == byo.SITE_CA and verdict.to_import == ()


def test_a_root_that_comes_only_in_the_file_is_no_anchor(pkis):
    root, issuing, key, leaf = pkis
    (problem,) = check(material(leaf, key, [issuing.cert, root.cert])).problems
    assert f"its chain ends at CN=Corp Root ({pki.thumbprint(root.cert)}), a root the host does not trust" in problem


def test_a_forged_intermediate_of_the_same_name_does_not_link(pkis):
    root, _issuing, key, leaf = pkis
    impostor_key = pki.generate_key(2048)
    impostor = _ca_cert(root, impostor_key, "Corp Issuing")  # same name, another key: the signature fails
    (problem,) = check(material(leaf, key, [impostor]), roots=[root.cert]).problems
    assert problem.startswith("missing chain: the issuer CN=Corp Issuing of CN=" + FQDN)


def test_an_expired_intermediate_or_root_is_named(pkis):
    root, issuing, key, leaf = pkis
    past = datetime.datetime.now(UTC) - datetime.timedelta(days=400)
    old = dataclasses.replace(
        issuing, cert=_ca_cert(root, issuing.key, "Corp Issuing", start=past, end=past + datetime.timedelta(days=10))
    )
    problems = check(material(leaf, key, [old.cert]), roots=[root.cert]).problems
    assert problems == (
        f"the intermediate CA CN=Corp Issuing is not valid now (valid until {pki.iso_z(pki.not_after(old.cert))})",
    )


def test_a_root_with_pathlen_0_signs_no_intermediate(site_ca, pkis):
    _root, issuing, key, leaf = pkis
    under_site = _ca_cert(site_ca, issuing.key, "Corp Issuing")  # the site CA is made with pathlen:0
    problems = check(material(leaf, key, [under_site]), site_ca=site_ca.cert).problems
    assert problems == ("CN=Test Site CA allows 0 intermediate CA(s) below it (pathLenConstraint) and the chain has 1",)


def test_a_chain_link_that_is_not_a_ca_is_named(pkis):
    root, issuing, key, leaf = pkis
    not_ca = _ca_cert(root, issuing.key, "Corp Issuing", ca=False)
    problems = check(material(leaf, key, [not_ca]), roots=[root.cert]).problems
    assert problems == ("the chain certificate CN=Corp Issuing is not a CA certificate (CA:TRUE)",)


def test_every_rule_of_the_policy_applies_and_all_problems_are_listed(pkis, second_key):
    root, issuing, _key, _leaf = pkis
    now = datetime.datetime.now(UTC)
    bad = pki.issue_certificate(
        issuing, second_key.public_key(), "other.example.com", ["other.example.com"],
        not_before=now - datetime.timedelta(days=10), not_after=now + datetime.timedelta(days=5),
    )  # fmt: skip
    problems = check(material(bad, second_key, [issuing.cert]), roots=[root.cert], key_length=4096).problems
    assert problems[0].startswith("certificate expires in") and problems[0].endswith("days (renew_before 30)")
    assert any(p.startswith("names missing: " + FQDN) for p in problems)
    assert "RSA key is 2048 bits (minimum 4096)" in problems


def test_the_file_alone_shows_a_missing_or_foreign_key(pkis, second_key):
    _root, _issuing, key, leaf = pkis
    assert byo.file_problems(material(leaf, None)) == ["the PFX holds no private key"]
    assert byo.file_problems(material(leaf, None, option="cert_path")) == ["the file holds no private key"]
    assert byo.file_problems(material(leaf, second_key)) == ["the private key does not belong to the certificate"]
    assert byo.file_problems(material(leaf, key)) == []


def test_a_mobile_server_needs_a_root_its_clients_trust(pkis, site_ca, server_key, server_cert):
    root, issuing, key, leaf = pkis
    m = material(leaf, key, [issuing.cert])
    (problem,) = check(m, roots=[root.cert], mobile=True).problems
    assert "mobile server" in problem and "client_trusted_roots" in problem
    named = [pki.thumbprint(root.cert).lower()]
    assert check(m, roots=[root.cert], mobile=True, client_trusted_roots=named).problems == ()
    ours = material(server_cert, server_key)
    assert check(ours, roots=[site_ca.cert], site_ca=site_ca.cert, mobile=True).problems == ()


def test_pem_files_the_key_picks_its_certificate_whatever_the_order(pkis, tmp_path):
    root, issuing, key, leaf = pkis
    cert_path, key_path = tmp_path / "full.pem", tmp_path / "host.key"
    cert_path.write_text(pki.cert_pem(issuing.cert) + pki.cert_pem(leaf))  # chain first, leaf last
    key_path.write_bytes(pki.private_key_pem(key, b"pw"))
    m = byo.read_material(
        {"cert_path": str(cert_path), "key_path": str(key_path), "key_passphrase": "pw", "pfx_path": None}
    )
    assert m.option == "cert_path" and pki.thumbprint(m.cert) == pki.thumbprint(leaf)
    assert [pki.thumbprint(c) for c in m.others] == [pki.thumbprint(issuing.cert)]
    with pytest.raises(pki.PkiError, match="key_passphrase: wrong passphrase") as info:
        byo.read_material({"cert_path": str(cert_path), "key_path": str(key_path), "key_passphrase": "no"})
    assert info.value.option == "key_passphrase"


def test_installed_needs_the_same_thumbprint_with_its_key(pkis):
    from types import SimpleNamespace

    _root, _issuing, _key, leaf = pkis
    with_key = SimpleNamespace(thumbprint=pki.thumbprint(leaf).lower(), has_private_key=True)
    without = SimpleNamespace(thumbprint=pki.thumbprint(leaf), has_private_key=False)
    assert byo.installed([without, with_key], leaf) is with_key
    assert byo.installed([without], leaf) is None


def test_a_self_signed_leaf_is_refused_at_once(second_key):
    now = datetime.datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, FQDN)])
    own = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(second_key.public_key())
        .serial_number(1).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=300))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(second_key, hashes.SHA256())
    )  # fmt: skip
    verdict = check(material(own, second_key), roots=[own])  # even when the host trusts it
    assert verdict.problems == ("the certificate is self-signed; it must be issued by a CA the clients trust",)
