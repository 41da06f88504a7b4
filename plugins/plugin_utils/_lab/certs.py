# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificate helpers of the lab: how Windows names, lists and trusts a certificate.

Everything here is pure (no files): the model keeps PEM text and key files, and asks these
functions what Windows would show (``win_certificate_info``) or decide (chain trust). What is
not Windows-specific (thumbprint, PEM and DER, names, validity dates, keys, builders) comes
from the PKI core, ``pki.py``.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
from typing import Iterable, List, Optional, Sequence, Tuple

from ansible_collections.xprotect.encryption.plugins.module_utils import _dns, pki
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import winformats

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - the import sanity test runs without it
    HAS_CRYPTOGRAPHY = False

UTC = datetime.timezone.utc


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(UTC)


@functools.lru_cache(maxsize=4096)
def load_pem(pem: str) -> x509.Certificate:
    """Parse one PEM certificate (cached: the same text is parsed once per process)."""
    return x509.load_pem_x509_certificate(pem.encode("ascii"))


def load_any(data: bytes) -> List[x509.Certificate]:
    """Every certificate in a PEM bundle, or the one DER certificate. ValueError on garbage."""
    if b"-----BEGIN" in data:
        certs = x509.load_pem_x509_certificates(data)
        if not certs:
            raise ValueError("no certificate in the file")
        return list(certs)
    return [x509.load_der_x509_certificate(data)]


def dotnet_name(name: x509.Name) -> str:
    """The name as .NET's ``X509Certificate2.Subject`` prints it: most specific first, ', ' joined."""
    return ", ".join(rdn.rfc4514_string() for rdn in reversed(name.rdns))


def common_name(cert: x509.Certificate) -> str:
    """The first CN of the subject, or "" (Windows' simple name)."""
    return next(iter(pki.common_names(cert.subject)), "")


def windows_dns_names(cert: x509.Certificate) -> Tuple[str, ...]:
    """``dns_names`` as win_certificate_info builds it: the simple name, then every SAN DNS name."""
    return tuple([common_name(cert), *pki.san_dns_names(cert)])


def names(cert: x509.Certificate) -> List[str]:
    """Lower-case names a TLS client would accept: SAN DNS names, else the CN."""
    sans = pki.san_dns_names(cert)
    return [n.lower() for n in (sans or [common_name(cert)]) if n]


def covers(cert: x509.Certificate, host: str) -> bool:
    """Does the certificate name ``host`` (exact or a one-label wildcard)?"""
    return any(_dns.dns_name_matches(name, host) for name in names(cert))


def valid_at(cert: x509.Certificate, now: datetime.datetime) -> bool:
    return pki.not_before(cert) <= now <= pki.not_after(cert)


@functools.lru_cache(maxsize=4096)
def _issued_by_pem(cert_pem: str, issuer_pem: str) -> bool:
    cert, issuer = load_pem(cert_pem), load_pem(issuer_pem)
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except Exception:  # noqa: BLE001 - InvalidSignature, ValueError, TypeError all mean "no"
        return False
    return True


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Issuer name matches and the signature verifies (not just the name)."""
    return _issued_by_pem(pki.cert_pem(cert), pki.cert_pem(issuer))


def find_issuer(cert_pem: str, root_pems: Iterable[str]) -> Optional[str]:
    """The PEM of the root in ``root_pems`` that signed ``cert_pem``, or None."""
    for root in root_pems:
        if _issued_by_pem(cert_pem, root):
            return root
    return None


def chain_path(cert_pem: str, root_pems: Sequence[str], intermediate_pems: Sequence[str] = ()) -> List[str]:
    """The PEMs from ``cert_pem`` up to a root of ``root_pems`` (both included), through
    ``intermediate_pems``; ``[]`` when no root is reached. Signatures only, no dates."""
    path, current = [cert_pem], cert_pem
    for _depth in range(8):
        root = find_issuer(current, root_pems)
        if root is not None:
            return path + ([root] if root != current else [])
        nxt = next(
            (i for i in intermediate_pems if i not in path and is_ca(load_pem(i)) and _issued_by_pem(current, i)),
            None,
        )
        if nxt is None:
            return []
        path.append(nxt)
        current = nxt
    return []


def find_root(cert_pem: str, root_pems: Sequence[str], intermediate_pems: Sequence[str] = ()) -> Optional[str]:
    """The root of ``root_pems`` that ``cert_pem`` chains to (through ``intermediate_pems``), or None."""
    path = chain_path(cert_pem, root_pems, intermediate_pems)
    return path[-1] if path else None


def chain_trusted(
    cert_pem: str, root_pems: Sequence[str], now: datetime.datetime, intermediate_pems: Sequence[str] = ()
) -> bool:
    """Windows chain trust: a valid root in Root is reached from the certificate, every link in date.

    ``intermediate_pems`` are the CA certificates the chain may pass through (the host's
    ``CA`` store, and what the TLS peer sent): each must be a CA and in date.
    """
    path = chain_path(cert_pem, root_pems, intermediate_pems)
    return bool(path) and all(valid_at(load_pem(p), now) for p in path)


def enterprise_root(
    common_name: str, now: datetime.datetime, days: int = 3650, path_length: Optional[int] = None
) -> pki.CA:
    """A self-signed enterprise root (no path length limit by default): the top of an intermediate lab."""
    key = pki.generate_key(3072)
    name = pki.cn_name(common_name)
    cert = (
        pki.self_signed_builder(key.public_key(), name, now, days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(pki.key_usage(key_cert_sign=True, crl_sign=True, digital_signature=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return pki.CA(cert=cert, key=key)


def issue_ca_certificate(  # noqa: PLR0917 - lab helper, positional by design
    issuer: pki.CA,
    public_key,
    common_name: str,
    now: datetime.datetime,
    days: int = 1825,
    path_length: Optional[int] = 0,
    *,
    ca: bool = True,
    key_cert_sign: bool = True,
    not_before: Optional[datetime.datetime] = None,
) -> x509.Certificate:
    """A CA certificate signed by ``issuer``: what an enterprise root gives the site CA (an
    intermediate). ``ca`` / ``key_cert_sign`` / ``path_length`` / ``not_before`` make the broken ones
    the tests need."""
    start = not_before or now - pki.CLOCK_SKEW
    builder = (
        x509.CertificateBuilder()
        .subject_name(pki.cn_name(common_name))
        .issuer_name(issuer.cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True)
        .add_extension(pki.key_usage(key_cert_sign=key_cert_sign, crl_sign=True, digital_signature=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.cert.public_key()), critical=False)
    )
    return builder.sign(issuer.key, hashes.SHA256())


def spki_sha256(public_key) -> str:
    """How a pending request's key is found again when its certificate comes back."""
    return hashlib.sha256(pki.public_key_der(public_key)).hexdigest()


def generate_key(bits: int):
    """The key certreq -new makes: any size certreq takes (weak ones too, so tests can ask for them)."""
    return winformats.generate_key(bits)


def _pem_block(label: str, der: bytes) -> str:
    """PEM the way certreq writes it: 64-character lines, CRLF line ends."""
    b64 = base64.b64encode(der).decode("ascii")
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return "\r\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----", ""])


def make_csr(key, subject_cn: str, dns_names: Sequence[str], key_usage: int = 0xA0, eku: Sequence[str] = ()) -> str:
    """A PKCS#10 request as certreq writes it (``NEW CERTIFICATE REQUEST``), SHA-256 signed."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(pki.cn_name(subject_cn))
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False
        )
    if key_usage:
        builder = builder.add_extension(key_usage_extension(key_usage), critical=True)
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage([x509.ObjectIdentifier(o) for o in eku]), critical=False)
    csr = builder.sign(key, hashes.SHA256())
    return _pem_block("NEW CERTIFICATE REQUEST", csr.public_bytes(serialization.Encoding.DER))


def key_usage_extension(bits: int) -> x509.KeyUsage:
    """CERT_*_KEY_USAGE bits of a certreq INF (0x80 digitalSignature ... 0x01 decipherOnly)."""
    return pki.key_usage(
        digital_signature=bool(bits & 0x80),
        content_commitment=bool(bits & 0x40),
        key_encipherment=bool(bits & 0x20),
        data_encipherment=bool(bits & 0x10),
        key_agreement=bool(bits & 0x08),
        key_cert_sign=bool(bits & 0x04),
        crl_sign=bool(bits & 0x02),
    )


def self_signed(key, subject_cn: str, days: int = 3650, ca: bool = False, now: Optional[datetime.datetime] = None):
    """A self-signed certificate: the placeholder Windows keeps in REQUEST, or a stand-in root."""
    builder = pki.self_signed_builder(key.public_key(), pki.cn_name(subject_cn), now or utcnow(), days).add_extension(
        x509.BasicConstraints(ca=ca, path_length=None), critical=True
    )
    if not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return builder.sign(key, hashes.SHA256())


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def serial_hex(cert: x509.Certificate) -> str:
    return format(cert.serial_number, "x")
