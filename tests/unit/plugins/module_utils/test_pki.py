# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pki.py: names, loading, the CA (create, renew, load, import), helpers. Cross-checked with openssl."""

from __future__ import annotations

import datetime
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ansible_collections.xprotect.encryption.plugins.module_utils import pki

# Built from parts so that no test file carries a PEM key header (the repository is checked
# for committed private keys; these are markers and garbage, not keys).
PEM_KEY_LABEL = b"PRIVATE" + b" KEY"
PEM_KEY_HEADER = b"BEGIN " + PEM_KEY_LABEL

PASS = b"correct horse battery"


def _key_pem(key, passphrase=None):
    enc = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def _ext(cert, cls):
    return cert.extensions.get_extension_for_class(cls)


# ---- fingerprints and summaries -------------------------------------------------------------


def test_thumbprint_and_sha256_match_openssl(site_ca, tmp_path, run_openssl):
    path = tmp_path / "ca.crt"
    path.write_text(site_ca.cert_pem)
    sha1 = run_openssl("x509", "-in", str(path), "-noout", "-fingerprint", "-sha1").stdout.decode()
    sha256 = run_openssl("x509", "-in", str(path), "-noout", "-fingerprint", "-sha256").stdout.decode()
    assert pki.thumbprint(site_ca.cert) == sha1.split("=", 1)[1].strip().replace(":", "")
    assert pki.fingerprint_sha256(site_ca.cert) == sha256.split("=", 1)[1].strip().replace(":", "")
    assert site_ca.thumbprint == pki.thumbprint(site_ca.cert)
    assert re.fullmatch(r"[0-9A-F]{40}", site_ca.thumbprint)


def test_cert_summary(server_cert, site_ca):
    s = pki.cert_summary(server_cert)
    assert s["subject"] == "CN=rs01.vms.example.com"
    assert s["issuer"] == "CN=Test Site CA"
    assert s["thumbprint"] == pki.thumbprint(server_cert)
    assert s["sha256"] == pki.fingerprint_sha256(server_cert)
    assert s["dns_names"] == ["rs01.vms.example.com", "rs01"]
    assert s["ip_addresses"] == []
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", s["not_after"])
    assert int(s["serial"], 16) == server_cert.serial_number
    assert pki.cert_summary(site_ca.cert)["dns_names"] == []


def test_time_helpers():
    naive = datetime.datetime(2030, 1, 2, 3, 4, 5, 999)
    aware = pki.utcnow(naive)
    assert aware.tzinfo is not None and aware.microsecond == 0
    assert pki.iso_z(naive) == "2030-01-02T03:04:05Z"
    cet = datetime.timezone(datetime.timedelta(hours=1))
    assert pki.iso_z(datetime.datetime(2030, 1, 2, 4, 4, 5, tzinfo=cet)) == "2030-01-02T03:04:05Z"
    assert pki.utcnow().tzinfo == datetime.timezone.utc


def test_days_left(server_cert):
    end = pki.not_after(server_cert)
    assert pki.days_left(server_cert, end - datetime.timedelta(days=10, hours=1)) == 10
    assert pki.days_left(server_cert, end + datetime.timedelta(hours=1)) == -1


# ---- loading --------------------------------------------------------------------------------


def test_load_certificate_pem_and_der(server_cert):
    pem = server_cert.public_bytes(serialization.Encoding.PEM)
    der = server_cert.public_bytes(serialization.Encoding.DER)
    assert pki.load_certificate(pem) == server_cert
    assert pki.load_certificate(der) == server_cert
    assert pki.load_certificate(pem.decode()) == server_cert


@pytest.mark.parametrize("data", [b"", b"garbage", b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"])
def test_load_certificate_garbage_names_option(data):
    with pytest.raises(pki.PkiError) as e:
        pki.load_certificate(data, option="ca_cert_path")
    assert e.value.option == "ca_cert_path"
    assert "ca_cert_path" in str(e.value) and "PEM or DER" in str(e.value)


def test_read_input_file(tmp_path):
    f = tmp_path / "a"
    f.write_bytes(b"x")
    assert pki.read_input_file(str(f), "opt") == b"x"
    for path, words in (
        (tmp_path / "missing", "does not exist"),
        (tmp_path, "is a folder"),
        (f / "under-a-file", "cannot read"),
    ):
        with pytest.raises(pki.PkiError) as e:
            pki.read_input_file(str(path), "ca_cert_path")
        assert e.value.option == "ca_cert_path" and words in str(e.value)


def test_is_key_encrypted(server_key):
    assert pki.is_key_encrypted(_key_pem(server_key, PASS))
    assert not pki.is_key_encrypted(_key_pem(server_key))
    der_enc = server_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(PASS)
    )
    der_plain = server_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert pki.is_key_encrypted(der_enc)
    assert not pki.is_key_encrypted(der_plain)
    assert not pki.is_key_encrypted(b"garbage")


def test_load_private_key_variants(server_key):
    der = server_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    for data, secret in ((_key_pem(server_key, PASS), PASS), (_key_pem(server_key), None), (der, None)):
        key = pki.load_private_key(data, secret, "k", "p")
        assert key.private_numbers() == server_key.private_numbers()
    # A passphrase given for a plain key is not an error: the key is simply not encrypted.
    assert pki.load_private_key(_key_pem(server_key), PASS, "k", "p").key_size == 2048


# ---- names ----------------------------------------------------------------------------------


def test_validate_hostname_normalises():
    assert pki.validate_hostname(" RS01.Vms.Example.COM. ") == "rs01.vms.example.com"
    assert pki.validate_hostname("a-b.c1") == "a-b.c1"
    assert pki.validate_hostname("x" * 63 + ".example.com").startswith("x" * 63)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("10.0.0.1", "IP address"),
        ("fe80::1", "IP address"),
        ("999.1.1.1", "IP address"),
        ("rs_01.example.com", "invalid characters"),
        ("rs 01.example.com", "invalid characters"),
        ("*.example.com", "invalid characters"),
        ("-rs01.example.com", "invalid characters"),
        ("rs01-.example.com", "invalid characters"),
        ("rs01..example.com", "empty label"),
        ("x" * 64 + ".example.com", "longer than 63"),
        (".".join(["abcdefghi"] * 26), "longer than 253"),
        ("", "required"),
        ("   ", "required"),
    ],
)
def test_validate_hostname_refuses(name, words):
    with pytest.raises(pki.PkiError) as e:
        pki.validate_hostname(name, option="fqdn")
    assert e.value.option == "fqdn"
    assert "fqdn" in str(e.value) and words in str(e.value)


def test_validate_hostname_not_a_string():
    with pytest.raises(pki.PkiError):
        pki.validate_hostname(None)  # type: ignore[arg-type]


def test_validate_ip():
    assert pki.validate_ip(" 10.0.0.1 ") == "10.0.0.1"
    assert pki.validate_ip("FE80:0::1") == "fe80::1"
    with pytest.raises(pki.PkiError) as e:
        pki.validate_ip("rs01")
    assert e.value.option == "ip_addresses"


def test_host_names():
    assert pki.host_names("RS01.vms.example.com", ["Video.example.com", "rs01", "video.example.com"]) == [
        "rs01.vms.example.com",
        "rs01",
        "video.example.com",
    ]
    assert pki.host_names("standalone") == ["standalone"]
    with pytest.raises(pki.PkiError) as e:
        pki.host_names("rs01.example.com", ["bad_alias"])
    assert e.value.option == "dns_names"


# ---- CA creation ----------------------------------------------------------------------------


def test_create_ca_default_is_4096_with_the_right_extensions(tmp_path, run_openssl):
    ca = pki.create_ca()
    cert = ca.cert
    assert ca.key.key_size == 4096
    assert cert.subject.rfc4514_string() == "CN=XProtect VMS Root CA"
    assert cert.issuer == cert.subject
    bc = _ext(cert, x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 0
    ku = _ext(cert, x509.KeyUsage)
    assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign and not ku.value.digital_signature
    ski = _ext(cert, x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(ca.key.public_key())
    assert cert.signature_hash_algorithm.name == "sha256"
    life = pki.not_after(cert) - pki.not_before(cert)
    assert life == datetime.timedelta(days=3650) + pki.CLOCK_SKEW
    assert cert.serial_number.bit_length() > 100
    path = tmp_path / "ca.crt"
    path.write_text(ca.cert_pem)
    text = run_openssl("x509", "-in", str(path), "-noout", "-text").stdout.decode()
    assert re.search(r"Basic Constraints: critical\s+CA:TRUE, pathlen:0", text)
    assert re.search(r"Key Usage: critical\s+Certificate Sign, CRL Sign", text)
    assert "Public-Key: (4096 bit)" in text and "Subject Key Identifier" in text
    assert run_openssl("verify", "-CAfile", str(path), str(path)).returncode == 0


def test_create_ca_options(now):
    ca = pki.create_ca("Site B CA", key_size=3072, days=100, now=now)
    assert ca.key.key_size == 3072
    assert pki.common_names(ca.cert.subject) == ["Site B CA"]
    assert pki.not_after(ca.cert) == now + datetime.timedelta(days=100)


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"key_size": 2048}, "key_size"),
        ({"key_size": 8192}, "key_size"),
        ({"common_name": ""}, "common_name"),
        ({"common_name": "x" * 65}, "common_name"),
        ({"days": 0}, "validity_days"),
    ],
)
def test_create_ca_refuses(kwargs, option):
    with pytest.raises(pki.PkiError) as e:
        pki.create_ca(**kwargs)
    assert e.value.option == option and option in str(e.value)


def test_renew_ca_keeps_key_subject_and_ski(site_ca, server_cert, tmp_path, run_openssl, now):
    renewed = pki.renew_ca(site_ca, days=5000, now=now)
    assert renewed.key is site_ca.key
    assert renewed.cert.subject == site_ca.cert.subject
    assert _ext(renewed.cert, x509.SubjectKeyIdentifier).value == _ext(site_ca.cert, x509.SubjectKeyIdentifier).value
    assert renewed.cert.serial_number != site_ca.cert.serial_number
    assert pki.not_after(renewed.cert) == now + datetime.timedelta(days=5000)
    assert renewed.thumbprint != site_ca.thumbprint
    # A server certificate signed before the renewal validates against the renewed CA.
    assert pki.verify_issued_by(server_cert, renewed.cert)
    (tmp_path / "new.crt").write_text(renewed.cert_pem)
    (tmp_path / "srv.crt").write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    out = run_openssl("verify", "-CAfile", str(tmp_path / "new.crt"), str(tmp_path / "srv.crt"))
    assert out.returncode == 0, out.stderr


def test_renew_ca_refuses_non_root(site_ca, now):
    intermediate_key = rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Issuing CA")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(site_ca.cert.subject)
        .public_key(intermediate_key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=10))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(site_ca.key, pki.hashes.SHA256())
    )
    sub = pki.CA(cert=cert, key=intermediate_key)
    with pytest.raises(pki.PkiError) as e:
        pki.renew_ca(sub)
    assert e.value.option == "renew_before" and "issuing CA" in str(e.value)
    with pytest.raises(pki.PkiError) as e:
        pki.renew_ca(site_ca, days=0)
    assert e.value.option == "validity_days"
    # An imported intermediate CA still loads (it is a CA) and signs.
    assert pki.load_ca(pki.cert_pem(cert).encode(), _key_pem(intermediate_key), None).cert == cert


def test_ca_renewal_reasons(site_ca):
    end = pki.not_after(site_ca.cert)
    assert pki.ca_renewal_reasons(site_ca.cert, end - datetime.timedelta(days=400), 365) == []
    assert pki.ca_renewal_reasons(site_ca.cert, end - datetime.timedelta(days=100, hours=1), 365) == [
        "CA certificate expires in 100 days (renew_before 365)"
    ]
    assert pki.ca_renewal_reasons(site_ca.cert, end + datetime.timedelta(seconds=1), 0)[0].startswith(
        "CA certificate expired on"
    )


# ---- loading a CA -----------------------------------------------------------------------------


def test_load_ca_roundtrip(site_ca):
    key = pki.serialize_ca_key(site_ca, PASS)
    assert b"ENCRYPTED PRIVATE KEY" in key
    ca = pki.load_ca(site_ca.cert_pem.encode(), key, PASS)
    assert ca.cert == site_ca.cert
    assert ca.key.private_numbers() == site_ca.key.private_numbers()
    plain = pki.serialize_ca_key(site_ca, None)
    assert PEM_KEY_HEADER in plain
    assert pki.load_ca(site_ca.cert_pem, plain, None).thumbprint == site_ca.thumbprint


def test_serialized_ca_key_opens_with_openssl(site_ca, tmp_path, run_openssl):
    path = tmp_path / "ca.key"
    path.write_bytes(pki.serialize_ca_key(site_ca, PASS))
    assert run_openssl("pkey", "-in", str(path), "-noout", "-passin", "pass:wrong").returncode != 0
    out = run_openssl("pkey", "-in", str(path), "-pubout", "-passin", "pass:" + PASS.decode())
    assert out.returncode == 0
    assert out.stdout == site_ca.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_load_ca_wrong_passphrase(site_ca):
    with pytest.raises(pki.PkiError) as e:
        pki.load_ca(site_ca.cert_pem, pki.serialize_ca_key(site_ca, PASS), b"wrong")
    assert e.value.option == "ca_passphrase" and "wrong passphrase" in str(e.value)


def test_load_ca_missing_passphrase(site_ca):
    with pytest.raises(pki.PkiError) as e:
        pki.load_ca(site_ca.cert_pem, pki.serialize_ca_key(site_ca, PASS), None)
    assert e.value.option == "ca_passphrase" and "encrypted" in str(e.value)


def test_load_ca_key_mismatch(site_ca, other_ca):
    with pytest.raises(pki.PkiError) as e:
        pki.load_ca(site_ca.cert_pem, pki.serialize_ca_key(other_ca, None), None)
    assert e.value.option == "ca_key_path" and "does not belong" in str(e.value)


def test_load_ca_non_ca_certificate(server_cert, server_key):
    with pytest.raises(pki.PkiError) as e:
        pki.load_ca(pki.cert_pem(server_cert), _key_pem(server_key), None)
    assert e.value.option == "ca_cert_path" and "CA:TRUE" in str(e.value)


def test_load_ca_without_key_cert_sign(site_ca, server_key, cert_factory):
    cert = cert_factory(site_ca, server_key.public_key(), cn="Fake CA", ca_flag=True, ku="signature_only")
    with pytest.raises(pki.PkiError) as e:
        pki.load_ca(pki.cert_pem(cert), _key_pem(server_key), None)
    assert e.value.option == "ca_cert_path" and "keyCertSign" in str(e.value)


def test_certificate_without_basic_constraints_is_no_ca(site_ca, server_key, cert_factory):
    cert = cert_factory(site_ca, server_key.public_key(), basic=False, ku="ca")
    with pytest.raises(pki.PkiError, match="CA:TRUE"):
        pki.check_ca_certificate(cert)


def test_ca_without_ski_still_signs_and_renews(server_key, cert_factory):
    key = rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Old Style CA")])
    now = pki.utcnow()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(3)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=100))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, pki.hashes.SHA256())
    )
    bare = pki.CA(cert=cert, key=key)
    issued = pki.issue_certificate(bare, server_key.public_key(), "rs01.example.com", [], days=10)
    aki = issued.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == x509.SubjectKeyIdentifier.from_public_key(key.public_key()).digest
    renewed = pki.renew_ca(bare, days=200)
    assert pki.verify_issued_by(issued, renewed.cert)


def test_load_ca_weak_or_ec_ca(site_ca, weak_key, ec_key, cert_factory):
    cert = cert_factory(site_ca, weak_key.public_key(), cn="Weak CA", ca_flag=True, ku=None)
    # no keyUsage at all is refused before the key size is looked at
    with pytest.raises(pki.PkiError, match="keyCertSign"):
        pki.check_ca_certificate(cert)
    builder_ku = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
    for key, words in ((weak_key, "1024 bits"), (ec_key, "RSA CA")):
        c = (
            x509.CertificateBuilder()
            .subject_name(site_ca.cert.subject)
            .issuer_name(site_ca.cert.subject)
            .public_key(key.public_key())
            .serial_number(7)
            .not_valid_before(pki.utcnow())
            .not_valid_after(pki.utcnow() + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(builder_ku, critical=True)
            .sign(site_ca.key, pki.hashes.SHA256())
        )
        with pytest.raises(pki.PkiError) as e:
            pki.check_ca_certificate(c, "cert_content")
        assert e.value.option == "cert_content" and words in str(e.value)


def test_load_ca_ec_key_refused(site_ca, ec_key):
    ec_pem = ec_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(pki.PkiError) as e:
        pki.load_ca(site_ca.cert_pem, ec_pem, None)
    assert e.value.option == "ca_key_path" and "RSA" in str(e.value)


@pytest.mark.parametrize("which", ["cert", "key"])
def test_load_ca_garbage(site_ca, which):
    cert, key = site_ca.cert_pem.encode(), pki.serialize_ca_key(site_ca, None)
    if which == "cert":
        cert = b"-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n"
    else:
        key = b"-----" + PEM_KEY_HEADER + b"-----\ngarbage\n-----END " + PEM_KEY_LABEL + b"-----\n"
    with pytest.raises(pki.PkiError) as e:
        pki.load_ca(cert, key, None, option_prefix="")
    assert e.value.option == f"{which}_path"
    assert f"{which}_path" in str(e.value)


def test_load_ca_explicit_option_names(site_ca):
    with pytest.raises(pki.PkiError) as e:
        pki.load_ca(
            site_ca.cert_pem,
            pki.serialize_ca_key(site_ca, PASS),
            b"nope",
            cert_option="cert_content",
            key_option="key_content",
            phrase_option="passphrase",
        )
    assert e.value.option == "passphrase"


def test_load_ca_pfx(site_ca, server_cert, server_key):
    pfx = pki.write_pfx(site_ca.key, site_ca.cert, [], PASS, "CA")
    assert pki.load_ca_pfx(pfx, PASS).thumbprint == site_ca.thumbprint
    with pytest.raises(pki.PkiError) as e:
        pki.load_ca_pfx(pfx, b"wrong")
    assert e.value.option == "import_passphrase"
    server_pfx = pki.write_pfx(server_key, server_cert, [site_ca.cert], PASS, "srv")
    with pytest.raises(pki.PkiError) as e:
        pki.load_ca_pfx(server_pfx, PASS)
    assert e.value.option == "import_pfx_path" and "CA:TRUE" in str(e.value)
    cert_only = pki.pkcs12.serialize_key_and_certificates(
        b"x", None, None, [site_ca.cert], serialization.BestAvailableEncryption(PASS)
    )
    with pytest.raises(pki.PkiError) as e:
        pki.load_ca_pfx(cert_only, PASS)
    assert e.value.option == "import_pfx_path" and "private key" in str(e.value)


def test_pki_error_carries_option():
    e = pki.PkiError("boom", "opt")
    assert str(e) == "boom" and e.option == "opt" and e.message == "boom"
    assert pki.PkiError("x").option is None
