# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pki.py: CSR checks, server certificate signing, batch signing, PFX. Cross-checked with openssl."""

from __future__ import annotations

import datetime
import ipaddress
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.xprotect.encryption.plugins.module_utils import pki
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab.winformats import build_csr

FQDN = "rs01.vms.example.com"
NAMES = [FQDN, "rs01"]
PASS = b"pfx pass phrase"


def _pem(obj) -> bytes:
    return obj.public_bytes(serialization.Encoding.PEM)


def _csr(key, cn=FQDN, dns=(), ips=(), others=()):
    entries = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips] + list(others)
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    )
    if entries:
        builder = builder.add_extension(x509.SubjectAlternativeName(entries), critical=False)
    return builder.sign(key, hashes.SHA256())


def _tampered(csr) -> bytes:
    """The same CSR with one bit of its signature flipped: the signature no longer verifies."""
    der = bytearray(csr.public_bytes(serialization.Encoding.DER))
    der[-10] ^= 0x01
    return bytes(der)


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return str(path)


# ---- check_csr ----------------------------------------------------------------------------------


def test_check_csr_accepts_own_names(server_key):
    csr = _csr(server_key, dns=NAMES)
    assert pki.check_csr(_pem(csr), NAMES, host=FQDN) == csr
    assert pki.check_csr(csr.public_bytes(serialization.Encoding.DER), NAMES) == csr
    assert pki.check_csr(csr, ["RS01.VMS.EXAMPLE.COM", "RS01"]) is csr  # case-insensitive


def test_check_csr_reads_certreq_header(server_key):
    # certreq on Windows writes "NEW CERTIFICATE REQUEST" and CRLF line ends.
    pem = _pem(_csr(server_key, dns=NAMES)).decode()
    pem = pem.replace("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST").replace("\n", "\r\n")
    assert pki.check_csr(pem.encode(), NAMES).subject.rfc4514_string() == f"CN={FQDN}"


def test_check_csr_bad_signature(server_key):
    with pytest.raises(pki.PkiError) as e:
        pki.check_csr(_tampered(_csr(server_key, dns=NAMES)), NAMES, host=FQDN)
    assert e.value.option == "csr"
    assert f"CSR from {FQDN} has a bad signature" in str(e.value) and "Refusing to sign" in str(e.value)


def test_check_csr_weak_key(weak_key):
    with pytest.raises(pki.PkiError) as e:
        pki.check_csr(_pem(_csr(weak_key, dns=NAMES)), NAMES, host=FQDN)
    assert e.value.option == "csr" and "1024-bit" in str(e.value) and "at least 2048" in str(e.value)


def test_check_csr_min_bits_configurable(server_key):
    with pytest.raises(pki.PkiError, match="at least 3072"):
        pki.check_csr(_pem(_csr(server_key)), NAMES, min_bits=3072)


def test_check_csr_ec_key(ec_key):
    with pytest.raises(pki.PkiError) as e:
        pki.check_csr(_pem(_csr(ec_key)), NAMES)
    assert "RSA" in str(e.value) and e.value.option == "csr"


def test_check_csr_refuses_another_hosts_name(server_key):
    csr = _csr(server_key, dns=[FQDN, "mgmt.vms.example.com"])
    with pytest.raises(pki.PkiError) as e:
        pki.check_csr(_pem(csr), NAMES, host=FQDN)
    msg = str(e.value)
    assert msg.startswith(f"csr: the CSR from {FQDN} asks for mgmt.vms.example.com, which is not one of its names")
    assert "(rs01.vms.example.com, rs01)" in msg and "Refusing to sign" in msg
    assert e.value.option == "csr"


def test_check_csr_refuses_foreign_cn(server_key):
    with pytest.raises(pki.PkiError, match="asks for mgmt.vms.example.com"):
        pki.check_csr(_pem(_csr(server_key, cn="mgmt.vms.example.com", dns=[FQDN])), NAMES, host=FQDN)


def test_check_csr_ip_entries(server_key):
    csr = _pem(_csr(server_key, dns=NAMES, ips=["10.0.0.5"]))
    with pytest.raises(pki.PkiError, match="asks for 10.0.0.5"):
        pki.check_csr(csr, NAMES)
    assert pki.check_csr(csr, [*NAMES, "10.0.0.5"])
    # An IP in the CN is only accepted when configured, and never as a DNS name.
    ip_cn = _pem(_csr(server_key, cn="10.0.0.5"))
    with pytest.raises(pki.PkiError):
        pki.check_csr(ip_cn, NAMES)
    assert pki.check_csr(ip_cn, [*NAMES, "10.0.0.5"])


def test_check_csr_refuses_other_name_types(server_key):
    csr = _csr(server_key, dns=NAMES, others=[x509.RFC822Name("admin@example.com")])
    with pytest.raises(pki.PkiError) as e:
        pki.check_csr(_pem(csr), NAMES, host=FQDN)
    assert "RFC822Name" in str(e.value) and e.value.option == "csr"


def test_check_csr_garbage():
    with pytest.raises(pki.PkiError) as e:
        pki.check_csr(b"-----BEGIN CERTIFICATE REQUEST-----\nxx\n-----END CERTIFICATE REQUEST-----", NAMES)
    assert e.value.option == "csr" and "not a PEM or DER" in str(e.value)


def test_check_csr_without_names_is_fine(server_key):
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).sign(server_key, hashes.SHA256())
    assert pki.check_csr(_pem(csr), NAMES)


# ---- signing ------------------------------------------------------------------------------------


def test_sign_csr_content_and_openssl_cross_check(site_ca, server_key, tmp_path, run_openssl, now):
    names = pki.host_names(FQDN, ["video.vms.example.com"])
    cert = pki.sign_csr(site_ca, _pem(_csr(server_key, dns=names)), FQDN, names, ["10.0.0.5"], now=now)
    assert cert.subject.rfc4514_string() == f"CN={FQDN}"
    assert cert.issuer == site_ca.cert.subject
    assert cert.signature_hash_algorithm.name == "sha256"
    assert pki.not_after(cert) == now + datetime.timedelta(days=730)
    assert pki.not_before(cert) == max(now - pki.CLOCK_SKEW, pki.not_before(site_ca.cert))
    assert 64 < cert.serial_number.bit_length() <= 159
    assert pki.cert_has_private_key_match(cert, server_key)
    ext = cert.extensions
    assert ext.get_extension_for_class(x509.BasicConstraints).critical
    assert not ext.get_extension_for_class(x509.BasicConstraints).value.ca
    ku = ext.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and ku.value.key_encipherment and not ku.value.key_cert_sign
    assert list(ext.get_extension_for_class(x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH]
    aki = ext.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ca_ski = site_ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ca_ski.digest
    ca_file = _write(tmp_path, "ca.crt", site_ca.cert_pem)
    srv_file = _write(tmp_path, "srv.crt", _pem(cert))
    verify = run_openssl("verify", "-CAfile", ca_file, "-purpose", "sslserver", srv_file)
    assert verify.returncode == 0, verify.stderr
    text = run_openssl("x509", "-in", srv_file, "-noout", "-text").stdout.decode()
    assert re.search(r"Key Usage: critical\s+Digital Signature, Key Encipherment", text)
    assert re.search(r"Extended Key Usage:\s+TLS Web Server Authentication", text)
    assert re.search(r"Basic Constraints: critical\s+CA:FALSE", text)
    assert "DNS:rs01.vms.example.com, DNS:rs01, DNS:video.vms.example.com, IP Address:10.0.0.5" in text
    assert "Subject Key Identifier" in text and "Authority Key Identifier" in text
    assert f"Subject: CN = {FQDN}" in text
    host = run_openssl("x509", "-in", srv_file, "-noout", "-checkhost", "video.vms.example.com").stdout.decode()
    assert "does match certificate" in host


def test_sign_csr_uses_configured_names_not_requested(site_ca, server_key):
    # A CSR asking for a subset gets every configured name, and the FQDN is always in the SAN.
    cert = pki.sign_csr(site_ca, _csr(server_key, dns=["rs01"]), FQDN, ["rs01"])
    assert pki.san_names(cert) == ([FQDN, "rs01"], [])


def test_sign_csr_refuses_foreign_names(site_ca, server_key):
    with pytest.raises(pki.PkiError) as e:
        pki.sign_csr(site_ca, _pem(_csr(server_key, dns=["mgmt.vms.example.com"])), FQDN, NAMES)
    assert "mgmt.vms.example.com" in str(e.value) and FQDN in str(e.value)


def test_serials_are_random(site_ca, server_key):
    serials = {pki.issue_certificate(site_ca, server_key.public_key(), FQDN, NAMES).serial_number for _n in range(5)}
    assert len(serials) == 5


def test_ip_as_cn_refused(site_ca, server_key):
    with pytest.raises(pki.PkiError) as e:
        pki.issue_certificate(site_ca, server_key.public_key(), "10.0.0.5", [])
    assert e.value.option == "fqdn" and "IP address" in str(e.value)


def test_invalid_alias_and_ip_refused(site_ca, server_key):
    with pytest.raises(pki.PkiError) as e:
        pki.issue_certificate(site_ca, server_key.public_key(), FQDN, ["bad name"])
    assert e.value.option == "dns_names"
    with pytest.raises(pki.PkiError) as e:
        pki.issue_certificate(site_ca, server_key.public_key(), FQDN, NAMES, ["10.0.0.300"])
    assert e.value.option == "ip_addresses"


def test_validity_past_the_ca_is_refused_unless_clamped(server_key, now):
    short_ca = pki.create_ca("Short CA", key_size=3072, days=100, now=now)
    with pytest.raises(pki.PkiError) as e:
        pki.issue_certificate(short_ca, server_key.public_key(), FQDN, NAMES, days=730, now=now)
    assert e.value.option == "validity_days"
    assert "validity_days 100 or less" in str(e.value) or "validity_days 99 or less" in str(e.value)
    cert = pki.issue_certificate(short_ca, server_key.public_key(), FQDN, NAMES, days=730, now=now, clamp_to_ca=True)
    assert pki.not_after(cert) == pki.not_after(short_ca.cert)
    inside = pki.issue_certificate(short_ca, server_key.public_key(), FQDN, NAMES, days=50, now=now)
    assert pki.not_after(inside) == now + datetime.timedelta(days=50)
    start, end = pki.certificate_validity(short_ca, 730, now, clamp_to_ca=True)
    assert end == pki.not_after(short_ca.cert) and start < now


def test_expired_ca_cannot_sign(site_ca, server_key):
    later = pki.not_after(site_ca.cert) + datetime.timedelta(days=1)
    with pytest.raises(pki.PkiError) as e:
        pki.issue_certificate(site_ca, server_key.public_key(), FQDN, NAMES, now=later, clamp_to_ca=True)
    assert "expired" in str(e.value) and e.value.option == "ca_cert_path"


def test_days_must_be_positive(site_ca, server_key):
    with pytest.raises(pki.PkiError) as e:
        pki.issue_certificate(site_ca, server_key.public_key(), FQDN, NAMES, days=0)
    assert e.value.option == "validity_days"


def test_explicit_dates_for_the_lab(site_ca, server_key, now):
    start = now - datetime.timedelta(days=30)
    end = now - datetime.timedelta(days=1)
    cert = pki.issue_certificate(site_ca, server_key.public_key(), FQDN, NAMES, not_before=start, not_after=end)
    assert (pki.not_before(cert), pki.not_after(cert)) == (start, end)
    soon = now + datetime.timedelta(days=2)
    only_end = pki.issue_certificate(site_ca, server_key.public_key(), FQDN, NAMES, not_after=soon, now=now)
    assert pki.not_before(only_end) == now - pki.CLOCK_SKEW
    with pytest.raises(pki.PkiError) as e:
        pki.issue_certificate(site_ca, server_key.public_key(), FQDN, NAMES, not_before=end, not_after=start)
    assert e.value.option == "not_after"


# ---- batch signing ------------------------------------------------------------------------------


def _requests(n, key, prefix="rs"):
    reqs = []
    for i in range(n):
        fqdn = f"{prefix}{i:03d}.vms.example.com"
        names = tuple(pki.host_names(fqdn))
        reqs.append(pki.SignRequest(fqdn, _pem(build_csr(key, fqdn)), fqdn, names))
    return reqs


@pytest.mark.parametrize("count", [3, 40])  # below and above the threading threshold
def test_sign_csrs_one_bad_does_not_stop_the_others(site_ca, server_key, weak_key, count):
    reqs = _requests(count, server_key)
    bad_names = pki.SignRequest("rs900", _pem(build_csr(server_key, "mgmt.vms.example.com")), "rs900.x", ("rs900.x",))
    weak = pki.SignRequest("rs901", _pem(build_csr(weak_key, "rs901.x")), "rs901.x", ("rs901.x",))
    garbage = pki.SignRequest("rs902", b"garbage", "rs902.x", ("rs902.x",))
    bad_fqdn = pki.SignRequest("rs903", reqs[0].csr, "bad_name", ())
    batch = [bad_names, *reqs[:1], weak, *reqs[1:], garbage, bad_fqdn]
    results = pki.sign_csrs(site_ca, batch)
    assert [r.host for r in results] == [r.host for r in batch]
    by_host = {r.host: r for r in results}
    assert "rs900" in by_host["rs900"].error and "mgmt.vms.example.com" in by_host["rs900"].error
    assert "1024-bit" in by_host["rs901"].error
    assert "not a PEM or DER" in by_host["rs902"].error
    assert "invalid characters" in by_host["rs903"].error
    good = [r for r in results if r.error is None]
    assert len(good) == count
    for r in good:
        assert pki.common_names(r.certificate.subject) == [r.host]
        assert pki.verify_issued_by(r.certificate, site_ca.cert)


def test_sign_csrs_single_worker_and_clamp(server_key, now):
    short_ca = pki.create_ca("Short CA", key_size=3072, days=10, now=now)
    reqs = _requests(40, server_key)
    refused = pki.sign_csrs(short_ca, reqs[:2], now=now)
    assert all(r.certificate is None and "validity_days" in r.error for r in refused)
    clamped = pki.sign_csrs(short_ca, reqs, now=now, clamp_to_ca=True, workers=1)
    assert all(pki.not_after(r.certificate) == pki.not_after(short_ca.cert) for r in clamped)


def test_sign_csrs_reports_unexpected_value_errors(site_ca, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr(pki, "check_csr", broken)
    [result] = pki.sign_csrs(site_ca, [pki.SignRequest("h1", b"x", "h1.example.com", ("h1.example.com",))])
    assert result.certificate is None and result.error == "h1: cannot sign: boom"


# ---- keys and PFX -------------------------------------------------------------------------------


def test_generate_key():
    assert pki.generate_key().key_size == 2048
    for bits in (1024, 1536, 32768, "2048"):
        with pytest.raises(pki.PkiError) as e:
            pki.generate_key(bits)  # type: ignore[arg-type]
        assert e.value.option == "key_size"


def test_pfx_3des_default_is_server_2016_compatible(site_ca, server_key, server_cert, tmp_path, run_openssl):
    pfx = pki.write_pfx(server_key, server_cert, [site_ca.cert], PASS, FQDN)
    path = _write(tmp_path, "srv.pfx", pfx)
    info = run_openssl("pkcs12", "-in", path, "-info", "-noout", "-passin", "pass:" + PASS.decode())
    assert info.returncode == 0, info.stderr
    err = info.stderr.decode()
    assert "MAC: sha1" in err
    assert "Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC" in err
    assert "PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC" in err
    dump = run_openssl("pkcs12", "-in", path, "-nodes", "-passin", "pass:" + PASS.decode()).stdout.decode()
    assert f"friendlyName: {FQDN}" in dump
    assert dump.count("BEGIN CERTIFICATE") == 2
    wrong = run_openssl("pkcs12", "-in", path, "-info", "-noout", "-passin", "pass:wrong")
    assert wrong.returncode != 0
    key, cert, others = pki.read_pfx(pfx, PASS)
    assert cert == server_cert and others == [site_ca.cert]
    assert pki.cert_has_private_key_match(cert, key)


def test_pfx_aes256_on_request(server_key, server_cert, tmp_path, run_openssl):
    pfx = pki.write_pfx(server_key, server_cert, [], PASS, FQDN, encryption="aes256")
    path = _write(tmp_path, "srv.pfx", pfx)
    info = run_openssl("pkcs12", "-in", path, "-info", "-noout", "-passin", "pass:" + PASS.decode())
    err = info.stderr.decode()
    assert info.returncode == 0 and "MAC: sha256" in err and "AES-256-CBC" in err
    assert "TripleDES" not in err
    assert pki.read_pfx(pfx, PASS)[2] == []


def test_pfx_refusals(server_key, second_key, server_cert):
    with pytest.raises(pki.PkiError) as e:
        pki.write_pfx(server_key, server_cert, [], b"", FQDN)
    assert e.value.option == "pfx_passphrase"
    with pytest.raises(pki.PkiError) as e:
        pki.write_pfx(server_key, server_cert, [], PASS, FQDN, encryption="rc2")
    assert e.value.option == "pfx_encryption"
    with pytest.raises(pki.PkiError, match="does not belong"):
        pki.write_pfx(second_key, server_cert, [], PASS, FQDN)


def test_read_pfx_wrong_passphrase_and_garbage(server_key, server_cert):
    pfx = pki.write_pfx(server_key, server_cert, [], PASS, FQDN)
    with pytest.raises(pki.PkiError) as e:
        pki.read_pfx(pfx, b"wrong")
    assert e.value.option == "pfx_passphrase" and "wrong passphrase" in str(e.value)
    with pytest.raises(pki.PkiError) as e:
        pki.read_pfx(b"not a pfx", PASS, pfx_option="import_pfx_path")
    assert e.value.option == "import_pfx_path"


def test_verify_issued_by_checks_the_signature(site_ca, other_ca, foreign_ca, server_cert):
    assert pki.verify_issued_by(server_cert, site_ca.cert)
    assert not pki.verify_issued_by(server_cert, other_ca.cert)  # same name, other key
    assert not pki.verify_issued_by(server_cert, foreign_ca.cert)
    assert pki.is_self_signed(site_ca.cert) and not pki.is_self_signed(server_cert)


def test_cert_has_private_key_match(server_cert, server_key, second_key):
    assert pki.cert_has_private_key_match(server_cert, server_key)
    assert not pki.cert_has_private_key_match(server_cert, second_key)
    assert not pki.cert_has_private_key_match(server_cert, None)


def test_a_ca_not_valid_yet_does_not_sign():
    now = datetime.datetime.now(datetime.timezone.utc)
    early = pki.create_ca("Early CA", key_size=3072, now=now + datetime.timedelta(days=2))
    key = pki.generate_key()
    with pytest.raises(pki.PkiError) as e:
        pki.issue_certificate(early, key.public_key(), "rs01.example.com", [], now=now)
    assert e.value.option == "ca_cert_path" and "not valid until" in str(e.value)
    assert pki.iso_z(pki.not_before(early.cert)) in str(e.value)
    # From its first day it signs.
    later = pki.not_before(early.cert) + datetime.timedelta(minutes=1)
    assert pki.issue_certificate(early, key.public_key(), "rs01.example.com", [], now=later)
