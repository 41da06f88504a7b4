# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""server_certificate with the user's own certificate (pfx_path, or cert_path + key_path) from a
foreign CA, against a scripted host: checked against the host's Root and intermediate stores
before anything is written; imported once (intermediates to CA, the leaf and
key to My); recognised and kept on the next run; every bad file refused with a message that
names the host and the option, and the host's stores unchanged."""

from __future__ import annotations

import copy
import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.xprotect.encryption.plugins.module_utils import pki

from .conftest import FQDN, Host, ServiceInfo, entry

NAMES = pki.host_names(FQDN)
UTC = datetime.timezone.utc
MOBILE = ServiceInfo(
    "Milestone XProtect Mobile Server",
    "Milestone XProtect Mobile Server",
    "NT AUTHORITY\\NetworkService",
    '"C:\\Program Files\\Milestone\\XProtect Mobile Server\\VideoOS.MobileServer.Service.exe"',
    "started",
)


def _build(issuer: pki.CA, public_key, cn, *, dns=(), ca=False, eku=True, start=None, end=None):
    now = datetime.datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(issuer.cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start or now - datetime.timedelta(days=1))
        .not_valid_after(end or now + datetime.timedelta(days=400))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if dns:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]), critical=False)
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    elif eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    else:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return builder.sign(issuer.key, hashes.SHA256())


@pytest.fixture(scope="module")
def corp():
    """A foreign PKI: a root (trusted on the host, as Group Policy would) and an issuing CA."""
    root_key = pki.generate_key(3072)
    now = datetime.datetime.now(UTC)
    root = pki.CA(  # no pathlen:0, unlike the site CA: it signs an issuing CA
        cert=pki.self_signed_builder(root_key.public_key(), pki.cn_name("Corp Root CA"), now, 3650)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(root_key, hashes.SHA256()),
        key=root_key,
    )
    key = pki.generate_key(2048)
    issuing = pki.CA(cert=_build(root, key.public_key(), "Corp Issuing CA", ca=True), key=key)
    return root, issuing


@pytest.fixture(scope="module")
def leaf_key():
    return pki.generate_key(2048)


@pytest.fixture(scope="module")
def good(corp, leaf_key):
    return _build(corp[1], leaf_key.public_key(), FQDN, dns=NAMES)


def pfx_file(tmp_path, key, cert, chain=(), name="host.pfx", password=b"pfx-pass"):
    path = tmp_path / name
    path.write_bytes(pki.write_pfx(key, cert, list(chain), password, FQDN))
    return str(path)


def args(site_ca_dir, path, **extra):
    return dict(
        {"ca": {"path": str(site_ca_dir)}, "key_source": "pfx", "pfx_path": path, "pfx_passphrase": "pfx-pass"},
        **extra,
    )


def host_trusting(corp, **kw):
    return Host(stores={"My": [], "Root": [entry(corp[0].cert)], "CA": []}, **kw)


def test_a_pfx_from_a_foreign_ca_is_imported_once_then_kept(run_action, ca_dir, corp, good, leaf_key, tmp_path):
    path = pfx_file(tmp_path, leaf_key, good, [corp[1].cert, corp[0].cert])
    host = host_trusting(corp)
    result = run_action("server_certificate", args(ca_dir, path), host)
    assert result.get("failed") is not True, result.get("msg")
    assert result["changed"] is True and result["thumbprint"] == pki.thumbprint(good)
    assert [store for _path, store in host.imported] == ["CA", "My"]
    assert [e.thumbprint for e in host.stores["CA"]] == [pki.thumbprint(corp[1].cert)]
    assert [e.thumbprint for e in host.stores["My"]] == [pki.thumbprint(good)]  # no root, no intermediate in My
    assert result["chain"]["anchor"] == "the host's Root store" and result["supplied"] is True
    assert [c["thumbprint"] for c in result["chain"]["certificates"]] == [
        pki.thumbprint(corp[1].cert),
        pki.thumbprint(corp[0].cert),
    ]
    assert len(host.deleted) == 2  # both files gone from the host
    again = run_action("server_certificate", args(ca_dir, path), host)
    assert again["changed"] is False and again["reasons"] == [] and again["thumbprint"] == pki.thumbprint(good)
    assert len(host.imported) == 2  # nothing imported again
    assert host.call_log[-3:] == ["list_certificates"] * 3  # My, Root, CA


def test_pem_certificate_and_encrypted_key_with_the_intermediate_on_the_host(
    run_action, ca_dir, corp, good, leaf_key, tmp_path
):
    cert_path, key_path = tmp_path / "host.pem", tmp_path / "host.key"
    cert_path.write_text(pki.cert_pem(good))
    key_path.write_bytes(pki.private_key_pem(leaf_key, b"key-pass"))
    host = host_trusting(corp)
    host.stores["CA"] = [entry(corp[1].cert)]
    pem_args = {
        "ca": {"path": str(ca_dir)},
        "key_source": "pfx",
        "cert_path": str(cert_path),
        "key_path": str(key_path),
        "key_passphrase": "key-pass",
    }
    check = run_action("server_certificate", pem_args, host, check=True)
    assert check["changed"] is True and check["msg"].startswith("Would import the supplied certificate")
    assert host.imported == []
    result = run_action("server_certificate", pem_args, host)
    assert result["changed"] is True and [s for _p, s in host.imported] == ["My"]
    assert run_action("server_certificate", pem_args, host)["changed"] is False


def _refused(result, host, before, option):
    assert result.get("failed") is True, result
    assert FQDN in result["msg"] and option in result["msg"], result["msg"]
    assert host.imported == [] and host.written == {} and host.stores == before
    return result["msg"]


def _case(name, corp, leaf_key, good, tmp_path, second_key):
    """(file arguments, text in the message) of each bad file."""
    now = datetime.datetime.now(UTC)
    chain = (corp[1].cert,)

    def pfx(cert, key=leaf_key, extra=chain, password=b"pfx-pass"):
        return {"pfx_path": pfx_file(tmp_path, key, cert, extra, f"{name}.pfx", password)}

    if name == "wrong names":
        return pfx(
            _build(corp[1], leaf_key.public_key(), "other.example.com", dns=["other.example.com"])
        ), "names missing"
    if name == "expired":
        cert = _build(corp[1], leaf_key.public_key(), FQDN, dns=NAMES, start=now - datetime.timedelta(days=30),
                      end=now - datetime.timedelta(days=1))  # fmt: skip
        return pfx(cert), "expired on"
    if name == "expires within renew_before":
        cert = _build(corp[1], leaf_key.public_key(), FQDN, dns=NAMES, end=now + datetime.timedelta(days=10))
        return pfx(cert), "renew_before 30"
    if name == "not yet valid":
        cert = _build(corp[1], leaf_key.public_key(), FQDN, dns=NAMES, start=now + datetime.timedelta(days=2))
        return pfx(cert), "not valid before"
    if name == "self-signed":
        me = pki.CA(cert=_build_self(leaf_key), key=leaf_key)
        return pfx(me.cert, extra=()), "self-signed"
    if name == "no serverAuth":
        return pfx(_build(corp[1], leaf_key.public_key(), FQDN, dns=NAMES, eku=False)), "lacks serverAuth"
    if name == "wrong password":
        return dict(pfx(good), pfx_passphrase="not-it"), "pfx_passphrase"
    if name == "missing chain":
        return pfx(good, extra=()), "missing chain: the issuer CN=Corp Issuing CA"
    if name == "untrusted root":
        stranger = pki.create_ca("Stranger Root", key_size=3072)
        cert = _build(stranger, leaf_key.public_key(), FQDN, dns=NAMES)
        return pfx(cert, extra=[stranger.cert]), "a root the host does not trust"
    if name == "key too small":
        return dict(pfx(good), key_length=3072), "RSA key is 2048 bits (minimum 3072)"
    if name == "key not matching":
        cert_path, key_path = tmp_path / "m.pem", tmp_path / "m.key"
        cert_path.write_text(pki.cert_pem(good) + pki.cert_pem(corp[1].cert))
        key_path.write_bytes(pki.private_key_pem(second_key))
        return {"cert_path": str(cert_path), "key_path": str(key_path)}, "does not belong to the certificate"
    if name == "pfx without key":
        enc = serialization.BestAvailableEncryption(b"pfx-pass")
        path = tmp_path / "nokey.pfx"
        path.write_bytes(pkcs12.serialize_key_and_certificates(b"x", None, good, chain, enc))
        return {"pfx_path": str(path)}, "holds no private key"
    if name == "corrupt pfx":
        path = tmp_path / "corrupt.pfx"
        path.write_bytes(b"\x30\x82garbage" * 10)
        return {"pfx_path": str(path)}, "pfx_passphrase"
    if name == "corrupt pem":
        cert_path, key_path = tmp_path / "c.pem", tmp_path / "c.key"
        cert_path.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
        key_path.write_bytes(pki.private_key_pem(leaf_key))
        return {"cert_path": str(cert_path), "key_path": str(key_path)}, "not a PEM or DER certificate"
    raise AssertionError(name)


def _build_self(key):
    now = datetime.datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, FQDN)])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=400))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in NAMES]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )


BAD = [
    "wrong names",
    "expired",
    "expires within renew_before",
    "not yet valid",
    "self-signed",
    "no serverAuth",
    "wrong password",
    "missing chain",
    "untrusted root",
    "key too small",
    "key not matching",
    "pfx without key",
    "corrupt pfx",
    "corrupt pem",
]


@pytest.mark.parametrize("name", BAD)
def test_a_bad_file_is_refused_naming_host_and_option_and_nothing_changes(
    run_action, ca_dir, corp, good, leaf_key, tmp_path, name
):
    second = pki.generate_key(2048) if name == "key not matching" else None
    files, expected = _case(name, corp, leaf_key, good, tmp_path, second)
    given = dict({"ca": {"path": str(ca_dir)}, "key_source": "pfx", "pfx_passphrase": "pfx-pass"}, **files)
    option = "pfx_path" if "pfx_path" in files else "cert_path"
    for check in (True, False):
        host = host_trusting(corp)
        before = copy.deepcopy(host.stores)
        msg = _refused(run_action("server_certificate", given, host, check=check), host, before, option)
        assert expected in msg, msg


def test_a_mobile_server_refuses_a_root_its_clients_are_not_known_to_trust(
    run_action, ca_dir, corp, good, leaf_key, tmp_path
):
    path = pfx_file(tmp_path, leaf_key, good, [corp[1].cert])
    host = host_trusting(corp, services=[MOBILE])
    before = copy.deepcopy(host.stores)
    mobile = {"group_names": ["xprotect_mobile_servers"]}
    msg = _refused(run_action("server_certificate", args(ca_dir, path), host, **mobile), host, before, "pfx_path")
    assert "mobile server" in msg and "client_trusted_roots" in msg
    named = args(ca_dir, path, client_trusted_roots=[pki.thumbprint(corp[0].cert).lower()])
    result = run_action("server_certificate", named, host, **mobile)
    assert result["changed"] is True and result["thumbprint"] == pki.thumbprint(good)


def test_a_mobile_server_takes_a_brought_certificate_of_the_site_ca(run_action, ca_dir, site_ca, leaf_key, tmp_path):
    cert = pki.issue_certificate(site_ca, leaf_key.public_key(), FQDN, NAMES)
    path = pfx_file(tmp_path, leaf_key, cert, [site_ca.cert])
    host = Host(stores={"My": [], "Root": []}, services=[MOBILE])
    result = run_action("server_certificate", args(ca_dir, path), host, group_names=["xprotect_mobile_servers"])
    assert result["changed"] is True and result["chain"]["anchor"] == "the site CA"
    assert [s for _p, s in host.imported] == ["My"]  # the site CA is Root's business (trust role), not imported


def test_pfx_and_pem_together_or_a_certificate_without_its_key_are_refused(run_action, ca_dir, tmp_path):
    both = {"ca": {"path": str(ca_dir)}, "key_source": "pfx", "pfx_path": "/a.pfx", "cert_path": "/a.pem",
            "key_path": "/a.key"}  # fmt: skip
    result = run_action("server_certificate", both, Host())
    assert result["failed"] is True and "pfx_path" in result["msg"] and "cert_path" in result["msg"]
    alone = {"ca": {"path": str(ca_dir)}, "key_source": "pfx", "cert_path": "/a.pem"}
    result = run_action("server_certificate", alone, Host())
    assert result["failed"] is True and "key_path" in result["msg"]
    host_source = {"ca": {"path": str(ca_dir)}, "cert_path": "/a.pem", "key_path": "/a.key"}
    result = run_action("server_certificate", host_source, Host())
    assert result["failed"] is True and "cert_path" in result["msg"] and "key_source: pfx" in result["msg"]
