# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_ca_chain.py: the chain of an intermediate site CA, ordered and checked link by link; every
bad chain refused with the option and the certificate at fault; ``openssl verify`` agrees."""

from __future__ import annotations

import datetime
import subprocess

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import _ca_chain, pki
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import certs

NOW = pki.utcnow()
OPT = "import_chain_path"


def intermediate(issuer: pki.CA, name: str, **kw) -> pki.CA:
    key = pki.generate_key(3072)
    return pki.CA(cert=certs.issue_ca_certificate(issuer, key.public_key(), name, NOW, **kw), key=key)


@pytest.fixture(scope="module")
def root():
    return certs.enterprise_root("Enterprise Root", NOW)


@pytest.fixture(scope="module")
def site(root):
    return intermediate(root, "XProtect Site CA")


def test_a_root_ca_has_no_chain(root):
    assert _ca_chain.build_chain(root.cert, [], NOW, OPT) == []
    assert _ca_chain.root_of(root.cert, []) is root.cert


def test_two_levels_in_any_order_and_openssl_agrees(root, tmp_path):
    policy = intermediate(root, "Enterprise Policy CA", path_length=1)
    site = intermediate(policy, "XProtect Site CA")
    other = pki.create_ca("Unrelated Root", key_size=3072, now=NOW)
    chain = _ca_chain.build_chain(site.cert, [root.cert, other.cert, policy.cert], NOW, OPT)
    assert chain == [policy.cert, root.cert]
    assert _ca_chain.root_of(site.cert, chain) == root.cert
    leaf_key = pki.generate_key()
    leaf = pki.issue_certificate(site, leaf_key.public_key(), "rs01.example.com", ["rs01"], days=30)
    (tmp_path / "root.pem").write_text(pki.cert_pem(root.cert))
    (tmp_path / "untrusted.pem").write_bytes(site.cert_pem.encode() + _ca_chain.bundle_pem(chain[:-1]))
    (tmp_path / "leaf.pem").write_text(pki.cert_pem(leaf))
    ok = subprocess.run(
        ["openssl", "verify", "-CAfile", "root.pem", "-untrusted", "untrusted.pem", "leaf.pem"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0 and "leaf.pem: OK" in ok.stdout, ok.stderr
    # Trusting the intermediate alone is not enough for openssl either: trust goes to the root.
    alone = subprocess.run(
        ["openssl", "verify", "-CAfile", "untrusted.pem", "leaf.pem"], cwd=tmp_path, capture_output=True, check=False
    )
    assert alone.returncode != 0


def _refusal(site_cert, chain, said):
    with pytest.raises(pki.PkiError) as e:
        _ca_chain.build_chain(site_cert, chain, NOW, OPT)
    assert e.value.option == OPT and said in str(e.value), str(e.value)
    return str(e.value)


def test_chain_missing(site):
    msg = _refusal(site.cert, [], "is not self-signed")
    assert "CN=Enterprise Root" in msg and "import_chain_path" in msg


def test_chain_not_linking(site):
    other = pki.create_ca("Unrelated Root", key_size=3072, now=NOW)
    _refusal(site.cert, [other.cert], "does not link")
    # Same name, other key: the signature decides, not the name.
    impostor = pki.create_ca("Enterprise Root", key_size=3072, now=NOW)
    _refusal(site.cert, [impostor.cert], "does not link")


def test_chain_ending_below_a_root(root):
    policy = intermediate(root, "Policy CA", path_length=1)
    site = intermediate(policy, "Site CA")
    _refusal(site.cert, [policy.cert], "no certificate in it signed CN=Policy CA")


def test_root_expired(site):
    old = certs.enterprise_root("Old Root", NOW - datetime.timedelta(days=40), days=30)
    under = intermediate(old, "Site CA", not_before=NOW - datetime.timedelta(days=39), days=365)
    msg = _refusal(under.cert, [old.cert], "expired on")
    assert "root" in msg and pki.iso_z(pki.not_after(old.cert)) in msg


def test_issuer_not_a_ca_or_not_allowed_to_sign(root):
    not_ca = intermediate(root, "Not A CA", ca=False)
    below = intermediate(not_ca, "Site CA")
    _refusal(below.cert, [not_ca.cert, root.cert], "is not a CA certificate")
    no_sign = intermediate(root, "No keyCertSign", key_cert_sign=False, path_length=1)
    below = intermediate(no_sign, "Site CA")
    _refusal(below.cert, [no_sign.cert, root.cert], "keyCertSign")


def test_path_length_too_short(root):
    policy = intermediate(root, "Policy CA", path_length=0)
    site = intermediate(policy, "Site CA")
    _refusal(site.cert, [policy.cert, root.cert], "pathLenConstraint")


def test_issuer_not_yet_valid(root):
    future = intermediate(root, "Future Policy CA", path_length=1, not_before=NOW + datetime.timedelta(days=3))
    site = intermediate(future, "Site CA")
    _refusal(site.cert, [future.cert, root.cert], "is not valid until")


def test_bundle_reading():
    with pytest.raises(pki.PkiError) as e:
        _ca_chain.load_bundle(b"not a certificate", OPT)
    assert e.value.option == OPT and "no certificate found" in str(e.value)
