# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""reissue.py: every reason to re-issue, in order, and the choice of the current certificate."""

from __future__ import annotations

import dataclasses
import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from ansible_collections.xprotect.encryption.plugins.module_utils import pki, reissue
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab.winformats import build_csr

FQDN = "rs01.vms.example.com"
NAMES = [FQDN, "rs01"]
DAY = datetime.timedelta(days=1)


def der(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def test_keep_a_good_certificate(server_cert, site_ca, now):
    d = reissue.decide(der(server_cert), True, NAMES, site_ca.cert, now, 30)
    assert d == reissue.Decision("keep", (), pki.days_left(server_cert, now))
    assert d.action == reissue.KEEP and not d.needs_issue and d.days_left >= 729


def test_missing(site_ca, now):
    for nothing in (None, b""):
        d = reissue.decide(nothing, False, NAMES, site_ca.cert, now, 30)
        assert d == reissue.Decision("issue", ("no certificate",), None) and d.needs_issue


def test_unreadable(site_ca, now):
    d = reissue.decide(b"\x30\x03garbage", True, NAMES, site_ca.cert, now, 30)
    assert d.action == "issue" and d.reasons[0].startswith("certificate cannot be read")


def test_expiring_boundary(server_cert, site_ca):
    end = pki.not_after(server_cert)
    keep = reissue.decide(der(server_cert), True, NAMES, site_ca.cert, end - 30 * DAY, 30)
    assert keep.action == "keep" and keep.days_left == 30
    soon = reissue.decide(der(server_cert), True, NAMES, site_ca.cert, end - 12 * DAY - datetime.timedelta(hours=1), 30)
    assert soon.reasons == ("certificate expires in 12 days (renew_before 30)",)


def test_expired_and_not_yet_valid(server_cert, site_ca):
    end = pki.not_after(server_cert)
    expired = reissue.decide(der(server_cert), True, NAMES, site_ca.cert, end + DAY, 30)
    assert expired.reasons == (f"certificate expired on {pki.iso_z(end)}",) and expired.days_left == -1
    early = reissue.decide(der(server_cert), True, NAMES, site_ca.cert, pki.not_before(server_cert) - DAY, 30)
    assert early.reasons[0].startswith("certificate is not valid before")


def test_not_issued_by_this_ca(server_key, site_ca, other_ca, foreign_ca, cert_factory, now):  # noqa: PLR0917
    lookalike = cert_factory(other_ca, server_key.public_key())  # same issuer name, other key
    d = reissue.decide(der(lookalike), True, NAMES, site_ca.cert, now, 30)
    assert d.reasons == (
        f"certificate names CN=Test Site CA as its issuer but its signature does not verify with this CA "
        f"({site_ca.thumbprint})",
    )
    foreign = cert_factory(foreign_ca, server_key.public_key())
    d = reissue.decide(der(foreign), True, NAMES, site_ca.cert, now, 30)
    assert d.reasons == (
        f"certificate is not issued by this CA (CN=Test Site CA, {site_ca.thumbprint}) but by CN=Someone Else CA",
    )
    # Without a CA to compare with, the issuer is not judged.
    assert reissue.decide(der(foreign), True, NAMES, None, now, 30).action == "keep"


def test_missing_names_say_which(server_cert, site_ca, now):
    d = reissue.decide(der(server_cert), True, [*NAMES, "video.vms.example.com", "10.0.0.5"], site_ca.cert, now, 30)
    assert d.reasons == (
        "names missing: video.vms.example.com, 10.0.0.5 (certificate has: rs01.vms.example.com, rs01)",
    )
    one = reissue.decide(der(server_cert), True, [*NAMES, "Video.vms.example.com."], site_ca.cert, now, 30)
    assert one.reasons == ("name missing: video.vms.example.com (certificate has: rs01.vms.example.com, rs01)",)


def test_ip_and_wildcard_and_cn_only_coverage(site_ca, server_key, cert_factory, now):
    with_ip = cert_factory(site_ca, server_key.public_key(), ips=["10.0.0.5"])
    assert reissue.decide(der(with_ip), True, [*NAMES, "10.0.0.5"], site_ca.cert, now, 30).action == "keep"
    wildcard = cert_factory(site_ca, server_key.public_key(), dns=["*.vms.example.com", "rs01"])
    assert reissue.decide(der(wildcard), True, NAMES, site_ca.cert, now, 30).action == "keep"
    assert reissue.missing_names(wildcard, ["a.b.vms.example.com", "vms.example.com"]) == [
        "a.b.vms.example.com",
        "vms.example.com",
    ]
    cn_only = cert_factory(site_ca, server_key.public_key(), san=False)
    assert reissue.missing_names(cn_only, NAMES) == ["rs01"]
    assert reissue.names_of(cn_only) == ([FQDN], [])


def test_ip_common_name(site_ca, server_key, cert_factory, now):
    cert = cert_factory(site_ca, server_key.public_key(), cn="10.0.0.5")
    d = reissue.decide(der(cert), True, NAMES, site_ca.cert, now, 30)
    assert d.reasons == ("common name is an IP address; it must be the host's DNS name",)


def test_weak_and_non_rsa_keys(site_ca, weak_key, ec_key, cert_factory, now):
    weak = cert_factory(site_ca, weak_key.public_key())
    assert reissue.decide(der(weak), True, NAMES, site_ca.cert, now, 30).reasons == (
        "RSA key is 1024 bits (minimum 2048)",
    )
    ec = cert_factory(site_ca, ec_key.public_key())
    [reason] = reissue.decide(der(ec), True, NAMES, site_ca.cert, now, 30).reasons
    assert reason.startswith("key is") and reason.endswith("not RSA")


def test_min_key_bits_is_configurable(server_cert, site_ca, now):
    d = reissue.decide(der(server_cert), True, NAMES, site_ca.cert, now, 30, min_key_bits=3072)
    assert d.reasons == ("RSA key is 2048 bits (minimum 3072)",)


def test_usage_reasons(site_ca, server_key, cert_factory, now):
    cases = [
        ({"eku": None}, "no extended key usage serverAuth"),
        ({"eku": (ExtendedKeyUsageOID.CLIENT_AUTH,)}, "extended key usage lacks serverAuth (has: clientAuth)"),
        ({"ku": "signature_only"}, "key usage lacks keyEncipherment"),
        ({"ca_flag": True}, "certificate is a CA certificate (CA:TRUE); a server certificate must be CA:FALSE"),
    ]
    for kwargs, reason in cases:
        cert = cert_factory(site_ca, server_key.public_key(), **kwargs)
        assert reissue.decide(der(cert), True, NAMES, site_ca.cert, now, 30).reasons == (reason,), kwargs
    no_ku = cert_factory(site_ca, server_key.public_key(), ku=None)
    assert reissue.decide(der(no_ku), True, NAMES, site_ca.cert, now, 30).action == "keep"


def test_sha1_signature(site_ca, other_ca, foreign_ca, server_key, tmp_path, run_openssl):  # noqa: PLR0917
    # cryptography no longer signs with SHA-1; the openssl CLI still does, as old CAs did.
    (tmp_path / "ca.crt").write_text(site_ca.cert_pem)
    (tmp_path / "ca.key").write_bytes(pki.serialize_ca_key(site_ca, None))
    (tmp_path / "req.csr").write_bytes(build_csr(server_key, FQDN, ["rs01"]).public_bytes(serialization.Encoding.PEM))
    (tmp_path / "ext.cnf").write_text(
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        f"extendedKeyUsage=serverAuth\nsubjectAltName=DNS:{FQDN},DNS:rs01\n"
    )
    out = run_openssl(
        "x509",
        "-req",
        "-sha1",
        "-days",
        "30",
        "-in",
        str(tmp_path / "req.csr"),
        "-CA",
        str(tmp_path / "ca.crt"),
        "-CAkey",
        str(tmp_path / "ca.key"),
        "-set_serial",
        "7",
        "-extfile",
        str(tmp_path / "ext.cnf"),
        "-outform",
        "DER",
    )
    assert out.returncode == 0, out.stderr
    # openssl starts the certificate at the current second: "now" is taken after it, or a second
    # that ticks over during the call makes the certificate not yet valid.
    now = pki.utcnow()
    d = reissue.decide(out.stdout, True, NAMES, site_ca.cert, now, 10)
    assert d.reasons == ("certificate is signed with SHA1 (weak); SHA-256 is expected",)
    # The by-hand check of a SHA-1 signature still tells a look-alike CA from the real one.
    sha1_cert = pki.load_certificate(out.stdout)
    assert pki.verify_issued_by(sha1_cert, site_ca.cert)
    assert not pki.verify_issued_by(sha1_cert, other_ca.cert)
    assert not pki.verify_issued_by(sha1_cert, foreign_ca.cert)


def test_without_basic_constraints(site_ca, server_key, cert_factory, now):
    cert = cert_factory(site_ca, server_key.public_key(), basic=False)
    assert reissue.decide(der(cert), True, NAMES, site_ca.cert, now, 30).action == "keep"
    assert reissue.pick_current([entry(cert)], NAMES, site_ca.cert).der == der(cert)


def test_no_private_key(server_cert, site_ca, now):
    d = reissue.decide(der(server_cert), False, NAMES, site_ca.cert, now, 30)
    assert d.reasons == (reissue.REASON_NO_KEY,) and d.action == "issue"


def test_every_reason_in_a_fixed_order(foreign_ca, site_ca, weak_key, cert_factory, now):
    cert = cert_factory(
        foreign_ca,
        weak_key.public_key(),
        cn="10.0.0.9",
        dns=["other.example.com"],
        eku=(ExtendedKeyUsageOID.CLIENT_AUTH,),
        ca_flag=True,
        not_after=now + 5 * DAY,
    )
    d = reissue.decide(der(cert), False, NAMES, site_ca.cert, now, 30)
    prefixes = [
        "certificate expires in",
        "certificate is not issued by this CA",
        "names missing: rs01.vms.example.com, rs01",
        "common name is an IP address",
        "RSA key is 1024 bits",
        "extended key usage lacks serverAuth",
        "certificate is a CA certificate",
        "the host does not hold",
    ]
    assert len(d.reasons) == len(prefixes)
    for reason, prefix in zip(d.reasons, prefixes):
        assert reason.startswith(prefix)
    assert reissue.decide(der(cert), False, NAMES, site_ca.cert, now, 30) == d  # deterministic


# ---- pick_current ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Entry:
    der: bytes
    has_private_key: bool
    not_after: datetime.datetime
    thumbprint: str


def entry(cert, key=True) -> Entry:
    return Entry(der(cert), key, pki.not_after(cert), pki.thumbprint(cert))


@pytest.fixture(scope="module")
def store(site_ca, foreign_ca, server_key, cert_factory):
    now = pki.utcnow()
    return {
        "old": cert_factory(site_ca, server_key.public_key(), not_after=now + 100 * DAY),
        "new": cert_factory(site_ca, server_key.public_key(), not_after=now + 700 * DAY),
        "newest_no_key": cert_factory(site_ca, server_key.public_key(), not_after=now + 800 * DAY),
        "foreign": cert_factory(foreign_ca, server_key.public_key(), not_after=now + 900 * DAY),
        "short_only": cert_factory(site_ca, server_key.public_key(), dns=["rs01"], not_after=now + 900 * DAY),
        "other_host": cert_factory(site_ca, server_key.public_key(), cn="rs02.x", dns=["rs02.x"]),
        "ca": site_ca.cert,
    }


def test_pick_current_prefers_this_ca_with_key_latest(store, site_ca):
    entries = [entry(store[k], key=(k != "newest_no_key")) for k in ("old", "foreign", "newest_no_key", "new", "ca")]
    assert reissue.pick_current(entries, NAMES, site_ca.cert).thumbprint == pki.thumbprint(store["new"])
    # Among certificates without a key, the latest still wins.
    nokey = [entry(store["old"], key=False), entry(store["newest_no_key"], key=False)]
    assert reissue.pick_current(nokey, NAMES, site_ca.cert).thumbprint == pki.thumbprint(store["newest_no_key"])


def test_pick_current_falls_back_to_names(store, site_ca):
    entries = [entry(store["short_only"]), entry(store["foreign"]), entry(store["other_host"])]
    # Nothing from this CA covers every name: the foreign one covers both names, short_only one.
    assert reissue.pick_current(entries, NAMES, site_ca.cert).thumbprint == pki.thumbprint(store["foreign"])
    assert reissue.pick_current(entries, NAMES, None).thumbprint == pki.thumbprint(store["foreign"])
    assert reissue.pick_current([entry(store["short_only"])], NAMES, site_ca.cert).thumbprint == pki.thumbprint(
        store["short_only"]
    )


def test_pick_current_none(store, site_ca):
    garbage = Entry(b"garbage", True, pki.utcnow(), "00")
    assert reissue.pick_current([entry(store["other_host"]), entry(store["ca"]), garbage], NAMES, site_ca.cert) is None
    assert reissue.pick_current([], NAMES, site_ca.cert) is None


def _self_signed(key, name=FQDN):
    builder = pki.self_signed_builder(key.public_key(), pki.cn_name(name), pki.utcnow(), 30)
    return builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False).sign(
        key, hashes.SHA256()
    )


def test_ca_and_self_signed_certificates_are_never_server_certificates(site_ca, server_key, cert_factory):
    assert pki.not_a_server_certificate(site_ca.cert) == "CA certificate (basicConstraints CA=true)"
    intermediate = cert_factory(site_ca, server_key.public_key(), cn="Issuing CA", ca_flag=True, ku="ca")
    assert pki.not_a_server_certificate(intermediate).startswith("CA certificate")
    assert pki.not_a_server_certificate(_self_signed(server_key)) == "self-signed"
    assert pki.not_a_server_certificate(cert_factory(site_ca, server_key.public_key())) is None


def test_pick_current_never_takes_a_ca_or_self_signed_certificate(site_ca, server_key, cert_factory):
    class E:
        def __init__(self, cert):
            self.der, self.thumbprint, self.has_private_key = pki.cert_der(cert), pki.thumbprint(cert), True

    self_signed = _self_signed(server_key)
    assert pki.is_self_signed(self_signed)
    assert reissue.pick_current([E(self_signed), E(site_ca.cert)], [FQDN], site_ca.cert) is None


def test_split_import_chain_leaves_out_roots_and_keeps_intermediates(site_ca, server_key, cert_factory):
    intermediate = cert_factory(site_ca, server_key.public_key(), cn="Issuing CA", ca_flag=True, ku="ca")
    kept, dropped = pki.split_import_chain([intermediate, site_ca.cert])
    assert kept == [intermediate] and dropped == [site_ca.cert]
