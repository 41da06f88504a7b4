# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PKI core: the site CA, CSR checks, server certificate signing, PFX files.

Pure functions on ``cryptography`` objects; no host I/O. Every refusal is a :class:`PkiError`
whose ``option`` names the module option at fault and whose text says what to do.

Facts this module depends on (confidence from xprotect-facts.md):

- Windows shows and takes the SHA-1 of the DER certificate as uppercase hex [H].
- Server certificate: RSA >= 2048, SHA-256, KU digitalSignature + keyEncipherment, EKU
  serverAuth, CA:FALSE, CN = FQDN, SAN = FQDN + short name + aliases [L] (lab-tested values of a
  third-party tool, kept because they are also what any TLS client expects).
- Never an IP address in the CN: it breaks identity-provider registration [L].
- CA: RSA 4096, keyCertSign + cRLSign, CA:TRUE [L].
- Windows Server 2016 rejects AES-256 PFX files; PBE-SHA1-3DES with a SHA-1 MAC works [H].
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime
import ipaddress
import os
import re
from typing import Any, Optional, Sequence

from ansible_collections.xprotect.encryption.plugins.module_utils import _pkcs8
from ansible_collections.xprotect.encryption.plugins.module_utils._text import is_ip
from ansible_collections.xprotect.encryption.plugins.module_utils.validate import ArgumentError

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError as _e:  # pragma: no cover - exercised by ansible-test sanity's import test
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = _e

CA_COMMON_NAME = "XProtect VMS Root CA"
CA_KEY_SIZES = (3072, 4096)
CA_DAYS = 3650
SERVER_DAYS = 730
MIN_RSA_BITS = 2048
# Certificates start a little in the past so that a host whose clock is a few minutes behind
# the controller does not reject a certificate issued a second ago.
CLOCK_SKEW = datetime.timedelta(minutes=5)
PFX_ENCRYPTIONS = ("3des", "aes256")
_PFX_KDF_ROUNDS = 2048
# Below this many CSRs a thread pool costs more than it saves.
_BATCH_THREADING_FROM = 32

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class PkiError(ArgumentError):
    """Bad input or a refused operation. ``option`` names the option at fault (or None)."""


# ---- small helpers ----------------------------------------------------------------------


def utcnow(now: Optional[datetime.datetime] = None) -> datetime.datetime:
    """``now`` as an aware UTC datetime with whole seconds (certificates carry seconds only)."""
    if now is None:
        now = datetime.datetime.now(datetime.timezone.utc)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=datetime.timezone.utc)
    return now.astimezone(datetime.timezone.utc).replace(microsecond=0)


def iso_z(moment: datetime.datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, e.g. ``2036-01-01T00:00:00Z``."""
    return utcnow(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_bytes(value: Any) -> Optional[bytes]:
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)


def _opt_names(prefix: str) -> str:
    return f"{prefix}_" if prefix else ""


def not_after(cert: x509.Certificate) -> datetime.datetime:
    return cert.not_valid_after_utc


def not_before(cert: x509.Certificate) -> datetime.datetime:
    return cert.not_valid_before_utc


def days_left(cert: x509.Certificate, now: Optional[datetime.datetime] = None) -> int:
    """Whole days until expiry (negative once expired)."""
    return int((not_after(cert) - utcnow(now)).total_seconds() // 86400)


def thumbprint(cert: x509.Certificate) -> str:
    """Uppercase hex SHA-1 of the DER, as Windows shows and takes it [H]."""
    # SHA-1 here is an identifier Windows defines, not a security decision.
    return cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303


def fingerprint_sha256(cert: x509.Certificate) -> str:
    """Uppercase hex SHA-256 of the DER, no separators."""
    return cert.fingerprint(hashes.SHA256()).hex().upper()


def cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def cert_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def certificates_in(data: bytes, option: str, expected: str) -> list:
    """Every certificate of a PEM file (or the one certificate of a DER file); a PkiError naming
    ``option`` and saying what was ``expected`` when there is none."""
    data = to_bytes(data) or b""
    try:
        if b"-----BEGIN" in data:
            certs = list(x509.load_pem_x509_certificates(data))
        else:
            certs = [x509.load_der_x509_certificate(data)]
    except ValueError:
        certs = []
    if not certs:
        raise PkiError(f"{option}: {expected}", option)
    return certs


def _san(cert: Any) -> Optional[x509.SubjectAlternativeName]:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None


def san_names(cert: Any) -> tuple[list[str], list[str]]:
    """``(dns_names, ip_addresses)`` of a certificate's (or CSR's) SAN extension; DNS names lowercased."""
    san = _san(cert)
    if san is None:
        return [], []
    dns = [n.lower() for n in san.get_values_for_type(x509.DNSName)]
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return dns, ips


def san_dns_names(cert: Any) -> list[str]:
    """The SAN DNS names as the certificate writes them (case kept, as Windows shows them)."""
    san = _san(cert)
    return [str(n) for n in san.get_values_for_type(x509.DNSName)] if san is not None else []


def common_names(name: x509.Name) -> list[str]:
    return [str(a.value) for a in name.get_attributes_for_oid(NameOID.COMMON_NAME)]


def cn_name(common_name: str) -> x509.Name:
    """A subject (or issuer) name holding only ``CN=common_name``."""
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def cert_summary(cert: x509.Certificate) -> dict:
    """What an operator wants to see of a certificate; JSON-safe."""
    dns, ips = san_names(cert)
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "thumbprint": thumbprint(cert),
        "sha256": fingerprint_sha256(cert),
        "not_before": iso_z(not_before(cert)),
        "not_after": iso_z(not_after(cert)),
        "dns_names": dns,
        "ip_addresses": ips,
        "serial": format(cert.serial_number, "X"),
    }


def read_input_file(path: str, option: str) -> bytes:
    """Read a file named by an option; a clear PkiError when it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise PkiError(f"{option}: {path} does not exist. Check the path.", option)
    except IsADirectoryError:
        raise PkiError(f"{option}: {path} is a folder, not a file. Give the path of the file.", option)
    except OSError as e:
        raise PkiError(f"{option}: cannot read {path} ({e.strerror}). Check the path and its permissions.", option)


# ---- names ------------------------------------------------------------------------------


def validate_hostname(name: str, option: str = "fqdn") -> str:
    """A DNS host name, lowercased, without a trailing dot. Refuses IPs and bad characters."""
    if not isinstance(name, str) or not name.strip():
        raise PkiError(f"{option}: a host name is required (got {name!r}).", option)
    value = name.strip().lower()
    if value.endswith("."):
        value = value[:-1]
    if is_ip(value) or all(label.isdigit() for label in value.split(".")):
        # [L] an IP in the CN breaks identity-provider registration; IPs belong in ip_addresses.
        raise PkiError(
            f"{option}: {name!r} is an IP address, not a host name. A certificate's common name must be the "
            "host's DNS name; put IP addresses in ip_addresses.",
            option,
        )
    if len(value) > 253:
        raise PkiError(f"{option}: {name!r} is longer than 253 characters; give the host's real DNS name.", option)
    for label in value.split("."):
        if not label:
            raise PkiError(f"{option}: {name!r} has an empty label (two dots in a row?). Fix the name.", option)
        if len(label) > 63:
            raise PkiError(f"{option}: label {label!r} of {name!r} is longer than 63 characters.", option)
        if not _LABEL.match(label):
            raise PkiError(
                f"{option}: {name!r} has invalid characters in {label!r}. A DNS name uses letters, digits and "
                "hyphens only (no underscore, space or wildcard), and a label cannot start or end with a hyphen.",
                option,
            )
    return value


def validate_ip(value: str, option: str = "ip_addresses") -> str:
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        raise PkiError(f"{option}: {value!r} is not an IP address. Give IPv4 or IPv6 addresses only.", option)


def host_names(fqdn: str, aliases: Sequence[str] = ()) -> list[str]:
    """``[fqdn, short name, *aliases]``, validated, lowercased, without duplicates."""
    first = validate_hostname(fqdn, "fqdn")
    names = [first, first.split(".", 1)[0]]
    names.extend(validate_hostname(a, "dns_names") for a in aliases or ())
    return list(dict.fromkeys(names))


def _subject_dns_names(fqdn: str, dns_names: Sequence[str]) -> list[str]:
    """``[fqdn, *dns_names]`` validated, lowercased, without duplicates: the CN, then the SAN DNS names."""
    cn = validate_hostname(fqdn, "fqdn")
    return list(dict.fromkeys([cn, *(validate_hostname(n, "dns_names") for n in dns_names)]))


def _normalise_allowed(names: Sequence[str]) -> tuple[set, set]:
    dns, ips = set(), set()
    for n in names:
        text = str(n).strip().lower().rstrip(".")
        if is_ip(text):
            ips.add(str(ipaddress.ip_address(text)))
        else:
            dns.add(text)
    return dns, ips


# ---- loading ----------------------------------------------------------------------------


def load_certificate(data: bytes, option: str = "certificate") -> x509.Certificate:
    """A certificate from PEM (the first one) or DER bytes."""
    data = to_bytes(data) or b""
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise PkiError(
            f"{option}: not a PEM or DER certificate. Give the certificate file (-----BEGIN CERTIFICATE-----), "
            "not a key or a request.",
            option,
        )


def load_private_key(data: bytes, passphrase: Optional[bytes], option: str, phrase_option: str, trusted: bool = False):
    """A private key from PEM or DER; distinguishes a missing or wrong passphrase from garbage.

    ``trusted`` skips OpenSSL's RSA consistency check (primality of p and q: about 0.3 s for a
    4096-bit key), which cryptography documents as safe for keys you trust. Use it only for a
    key this collection wrote itself after a full check (the CA key kept by the ca module).
    """
    data = to_bytes(data) or b""
    passphrase = to_bytes(passphrase) or None
    is_pem = b"-----BEGIN" in data
    loader = serialization.load_pem_private_key if is_pem else serialization.load_der_private_key
    encrypted = is_key_encrypted(data)
    try:
        return loader(data, passphrase if encrypted else None, unsafe_skip_rsa_key_validation=trusted)
    except TypeError:
        raise PkiError(
            f"{phrase_option}: the key in {option} is encrypted; give its passphrase in {phrase_option}.",
            phrase_option,
        )
    except (ValueError, UnsupportedAlgorithm):
        if encrypted:
            raise PkiError(
                f"{phrase_option}: wrong passphrase for the encrypted key in {option}. Give the passphrase the "
                "key was written with.",
                phrase_option,
            )
        raise PkiError(f"{option}: not a PEM or DER private key. Give the key file (-----BEGIN ... KEY-----).", option)


def is_key_encrypted(data: bytes) -> bool:
    """Whether PEM/DER private key bytes are passphrase-protected."""
    data = to_bytes(data) or b""
    if b"-----BEGIN" in data:
        return b"ENCRYPTED" in data
    try:
        serialization.load_der_private_key(data, None, unsafe_skip_rsa_key_validation=True)
    except TypeError:
        return True
    except (ValueError, UnsupportedAlgorithm):
        return False
    return False


def load_csr(data: Any, option: str = "csr") -> x509.CertificateSigningRequest:
    if isinstance(data, x509.CertificateSigningRequest):
        return data
    data = to_bytes(data) or b""
    try:
        if b"-----BEGIN" in data:
            # certreq writes "NEW CERTIFICATE REQUEST"; cryptography reads both headers.
            return x509.load_pem_x509_csr(data)
        return x509.load_der_x509_csr(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise PkiError(f"{option}: not a PEM or DER certificate signing request.", option)


# ---- the CA -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CA:
    """The site CA: certificate and private key, already checked to belong together."""

    cert: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def thumbprint(self) -> str:
        return thumbprint(self.cert)

    @property
    def cert_pem(self) -> str:
        return cert_pem(self.cert)


def check_ca_certificate(cert: x509.Certificate, option: str = "ca_cert_path") -> None:
    """Refuse a certificate that cannot act as a CA (CA:TRUE and keyCertSign both needed)."""
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        bc = None
    subject = cert.subject.rfc4514_string()
    if bc is None or not bc.ca:
        raise PkiError(
            f"{option}: {subject} is not a CA certificate (no basicConstraints CA:TRUE). Give the certificate of "
            "the CA that signs the servers, not a server certificate.",
            option,
        )
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        ku = None
    if ku is None or not ku.key_cert_sign:
        raise PkiError(
            f"{option}: {subject} may not sign certificates (keyUsage lacks keyCertSign). Give a CA certificate "
            "whose keyUsage includes keyCertSign.",
            option,
        )
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise PkiError(f"{option}: {subject} has a {type(key).__name__}; this collection needs an RSA CA.", option)
    if key.key_size < MIN_RSA_BITS:
        raise PkiError(
            f"{option}: the CA key of {subject} is {key.key_size} bits; {MIN_RSA_BITS} is the minimum. "
            "Create a new CA (3072 or 4096 bits).",
            option,
        )


def check_ca_validity(cert: x509.Certificate, now: datetime.datetime, option: str, purpose: str) -> None:
    """Refuse a CA certificate outside its validity for ``purpose`` (import, signing, trust).

    A not-yet-valid CA would sign certificates every client refuses until that date; an expired
    one in Root makes hosts trust a chain nothing can renew.
    """
    subject = cert.subject.rfc4514_string()
    start, end = not_before(cert), not_after(cert)
    if now < start:
        raise PkiError(
            f"{option}: the CA certificate {subject} is not valid until {iso_z(start)} (now {iso_z(now)}), so it "
            f"is refused for {purpose}. Check the controller's clock, or use a CA whose validity has begun.",
            option,
        )
    if now >= end:
        raise PkiError(
            f"{option}: the CA certificate {subject} expired on {iso_z(end)} (now {iso_z(now)}), so it is refused "
            f"for {purpose}. Renew it (xprotect.encryption.ca renews a self-signed CA with renew_before) or give "
            "the current one.",
            option,
        )


def public_key_der(public_key: Any) -> bytes:
    """The SubjectPublicKeyInfo DER of a public key: what ties a certificate to its key."""
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def cert_has_private_key_match(cert: x509.Certificate, key: Any) -> bool:
    """Whether ``key`` is the private key of ``cert``."""
    try:
        return public_key_der(cert.public_key()) == public_key_der(key.public_key())
    except (AttributeError, ValueError, TypeError):
        return False


def _make_ca(cert: x509.Certificate, key: Any, cert_option: str, key_option: str) -> CA:
    check_ca_certificate(cert, cert_option)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise PkiError(f"{key_option}: the CA key is not an RSA key. Give the CA's RSA private key.", key_option)
    if not cert_has_private_key_match(cert, key):
        raise PkiError(
            f"{key_option}: this key does not belong to the CA certificate {cert.subject.rfc4514_string()} "
            f"({thumbprint(cert)}). Give the matching key, or the certificate that goes with this key.",
            key_option,
        )
    return CA(cert=cert, key=key)


def load_ca(
    cert_pem: bytes,
    key_pem: bytes,
    passphrase: Optional[bytes],
    option_prefix: str = "ca",
    *,
    cert_option: Optional[str] = None,
    key_option: Optional[str] = None,
    phrase_option: Optional[str] = None,
    trusted_key: bool = False,
) -> CA:
    """Load and check a CA from PEM (or DER) certificate and key bytes.

    Error options default to ``<prefix>_cert_path``, ``<prefix>_key_path`` and
    ``<prefix>_passphrase``; pass the explicit names when the values came from other options.
    """
    p = _opt_names(option_prefix)
    cert_option = cert_option or f"{p}cert_path"
    key_option = key_option or f"{p}key_path"
    phrase_option = phrase_option or f"{p}passphrase"
    cert = load_certificate(cert_pem, cert_option)
    check_ca_certificate(cert, cert_option)
    key = load_private_key(key_pem, passphrase, key_option, phrase_option, trusted=trusted_key)
    return _make_ca(cert, key, cert_option, key_option)


def load_ca_pfx(
    pfx: bytes,
    passphrase: Optional[bytes],
    *,
    pfx_option: str = "import_pfx_path",
    phrase_option: str = "import_passphrase",
) -> CA:
    """Load and check a CA from a PFX holding its certificate and key."""
    key, cert, dummy = read_pfx(pfx, passphrase, option=phrase_option, pfx_option=pfx_option)
    if key is None or cert is None:
        raise PkiError(
            f"{pfx_option}: the PFX does not hold both a certificate and its private key. Export the CA with its "
            "private key.",
            pfx_option,
        )
    return _make_ca(cert, key, pfx_option, pfx_option)


def private_key_pem(key: Any, passphrase: Optional[bytes] = None) -> bytes:
    """A private key as PKCS#8 PEM, encrypted with the best available algorithm unless no passphrase."""
    passphrase = to_bytes(passphrase) or None
    enc = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def serialize_ca_key(ca: CA, passphrase: Optional[bytes]) -> bytes:
    """The CA key as PKCS#8 PEM: PBES2 with PBKDF2-HMAC-SHA256 at 600,000 iterations and AES-256-CBC
    (``_pkcs8``), or unencrypted when ``passphrase`` is None."""
    passphrase = to_bytes(passphrase) or None
    if passphrase is None:
        return private_key_pem(ca.key, None)
    return _pkcs8.encrypt_private_key(ca.key, passphrase)


def _ski(public_key: Any) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier.from_public_key(public_key)


def _cert_ski(cert: x509.Certificate) -> x509.SubjectKeyIdentifier:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return _ski(cert.public_key())


def create_ca(
    common_name: str = CA_COMMON_NAME,
    key_size: int = 4096,
    days: int = CA_DAYS,
    now: Optional[datetime.datetime] = None,
) -> CA:
    """A new self-signed root CA: RSA ``key_size``, SHA-256, CA:TRUE pathlen:0, keyCertSign + cRLSign."""
    if key_size not in CA_KEY_SIZES:
        raise PkiError(
            f"key_size: {key_size} is not allowed for a CA; use 4096 (the default) or 3072.",
            "key_size",
        )
    if not isinstance(common_name, str) or not common_name.strip() or len(common_name) > 64:
        raise PkiError("common_name: give a CA name of 1 to 64 characters.", "common_name")
    if days < 1:
        raise PkiError(f"validity_days: {days} is not a validity; give a number of days >= 1.", "validity_days")
    key = generate_key(key_size)
    name = cn_name(common_name.strip())
    return CA(cert=_self_sign(key, name, utcnow(now), days, None), key=key)


def self_signed_builder(public_key: Any, name: x509.Name, now: datetime.datetime, days: int) -> x509.CertificateBuilder:
    """Subject = issuer = ``name``, a random serial, valid from ``now`` (less the clock skew) for ``days``.

    The caller adds the extensions and signs.
    """
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + datetime.timedelta(days=days))
    )


def key_usage(
    *,
    digital_signature: bool = False,
    content_commitment: bool = False,
    key_encipherment: bool = False,
    data_encipherment: bool = False,
    key_agreement: bool = False,
    key_cert_sign: bool = False,
    crl_sign: bool = False,
) -> x509.KeyUsage:
    """A keyUsage extension with the given usages and no other (never encipherOnly/decipherOnly)."""
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
        key_encipherment=key_encipherment,
        data_encipherment=data_encipherment,
        key_agreement=key_agreement,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _self_sign(
    key: rsa.RSAPrivateKey,
    name: x509.Name,
    now: datetime.datetime,
    days: int,
    template: Optional[x509.Certificate],
) -> x509.Certificate:
    ski = _cert_ski(template) if template is not None else _ski(key.public_key())
    builder = (
        self_signed_builder(key.public_key(), name, now, days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
    )
    return builder.sign(key, hashes.SHA256())


def ca_renewal_reasons(cert: x509.Certificate, now: Optional[datetime.datetime], renew_before_days: int) -> list[str]:
    """Why the CA certificate should be renewed now (empty: it should not)."""
    moment = utcnow(now)
    end = not_after(cert)
    if moment >= end:
        return [f"CA certificate expired on {iso_z(end)}"]
    if end - moment < datetime.timedelta(days=renew_before_days):
        return [f"CA certificate expires in {days_left(cert, moment)} days (renew_before {renew_before_days})"]
    return []


def is_self_signed(cert: x509.Certificate) -> bool:
    return cert.issuer == cert.subject and verify_issued_by(cert, cert)


def is_ca_certificate(cert: x509.Certificate) -> bool:
    """basicConstraints CA=true."""
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def not_a_server_certificate(cert: x509.Certificate) -> Optional[str]:
    """Why a certificate in ``My`` is no server certificate (None when it may be one).

    A CA certificate lands in ``My`` when a PFX that carries its chain is imported
    (win_certificate_store imports every certificate of the file); a self-signed certificate is
    a placeholder (a pending request, an installer's own), and the Mobile client cannot connect to
    a mobile server that uses one [H].
    """
    if is_ca_certificate(cert):
        return "CA certificate (basicConstraints CA=true)"
    if is_self_signed(cert):
        return "self-signed"
    return None


def split_import_chain(others: Sequence[x509.Certificate]) -> tuple[list, list]:
    """``(kept, left out)`` of the extra certificates of a PFX to import into ``My``.

    Self-signed roots are left out: ``win_certificate_store`` would put them into ``My``, where
    they trust nothing (trust comes from ``Root``, which the trust role manages). Intermediate CA
    certificates are kept: Windows finds them in ``My`` when it builds the chain.
    """
    kept, dropped = [], []
    for cert in others:
        (dropped if is_self_signed(cert) else kept).append(cert)
    return kept, dropped


def renew_ca(ca: CA, days: int = CA_DAYS, now: Optional[datetime.datetime] = None) -> CA:
    """The same CA with a new validity: same key, same subject, same SKI.

    Server certificates already issued keep validating against either certificate, because
    both carry the same key and name. The new certificate must still reach every trust store.
    """
    if days < 1:
        raise PkiError(f"validity_days: {days} is not a validity; give a number of days >= 1.", "validity_days")
    if not is_self_signed(ca.cert):
        raise PkiError(
            f"renew_before: {ca.cert.subject.rfc4514_string()} is not a self-signed root, so it cannot renew "
            "itself. Renew it at its issuing CA and import the new certificate.",
            "renew_before",
        )
    return CA(cert=_self_sign(ca.key, ca.cert.subject, utcnow(now), days, ca.cert), key=ca.key)


# ---- CSR check and signing ----------------------------------------------------------------


def check_csr(
    csr_data: Any,
    allowed_names: Sequence[str],
    min_bits: int = MIN_RSA_BITS,
    host: str = "",
) -> x509.CertificateSigningRequest:
    """Refuse a CSR with a bad signature, a weak or non-RSA key, or a name that is not the host's."""
    who = f"CSR from {host}" if host else "CSR"
    csr = load_csr(csr_data, "csr")
    try:
        valid = csr.is_signature_valid
    except (ValueError, UnsupportedAlgorithm):
        valid = False
    if not valid:
        raise PkiError(
            f"csr: the {who} has a bad signature (corrupted, or not made with its key). Refusing to sign; create "
            "a new request on the host.",
            "csr",
        )
    key = csr.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise PkiError(f"csr: the {who} has a {type(key).__name__}; XProtect needs RSA keys. Refusing to sign.", "csr")
    if key.key_size < min_bits:
        raise PkiError(
            f"csr: the {who} has a {key.key_size}-bit RSA key; at least {min_bits} bits are needed. Refusing to "
            "sign; create the request with key_length 2048 or more.",
            "csr",
        )
    dns_ok, ip_ok = _normalise_allowed(allowed_names)
    shown = ", ".join(allowed_names)
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        entries = list(san)
    except x509.ExtensionNotFound:
        entries = []
    except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType):
        raise PkiError(f"csr: the {who} has malformed extensions. Refusing to sign.", "csr")
    requested = [(cn, "name") for cn in common_names(csr.subject)]
    for entry in entries:
        if isinstance(entry, x509.DNSName):
            requested.append((entry.value, "name"))
        elif isinstance(entry, x509.IPAddress):
            requested.append((str(entry.value), "ip"))
        else:
            raise PkiError(
                f"csr: the {who} asks for {type(entry).__name__} {entry.value!r}, which a server certificate does "
                "not carry. Refusing to sign.",
                "csr",
            )
    for value, kind in requested:
        text = value.strip().lower().rstrip(".")
        if is_ip(text):
            ok = str(ipaddress.ip_address(text)) in ip_ok
        else:
            ok = kind == "name" and text in dns_ok
        if not ok:
            raise PkiError(
                f"csr: the {who} asks for {value}, which is not one of its names ({shown}). Refusing to sign. If "
                "the name is a real alias of this host, add it to dns_names (or ip_addresses).",
                "csr",
            )
    return csr


@dataclasses.dataclass(frozen=True)
class _Issuer:
    """What every certificate a CA signs shares; computed once per batch."""

    ca: CA
    name: x509.Name
    aki: x509.AuthorityKeyIdentifier
    ca_not_before: datetime.datetime
    ca_not_after: datetime.datetime

    @classmethod
    def of(cls, ca: CA) -> _Issuer:
        ski = _cert_ski(ca.cert)
        return cls(
            ca=ca,
            name=ca.cert.subject,
            aki=x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
            ca_not_before=not_before(ca.cert),
            ca_not_after=not_after(ca.cert),
        )


_SERVER_KU = None  # built lazily: cryptography may be absent at import time


def _server_key_usage() -> x509.KeyUsage:
    global _SERVER_KU  # noqa: PLW0603 - a constant that needs cryptography
    if _SERVER_KU is None:
        _SERVER_KU = key_usage(digital_signature=True, key_encipherment=True)
    return _SERVER_KU


def _validity(
    issuer: _Issuer,
    days: int,
    now: datetime.datetime,
    clamp_to_ca: bool,
) -> tuple[datetime.datetime, datetime.datetime]:
    if days < 1:
        raise PkiError(f"validity_days: {days} is not a validity; give a number of days >= 1.", "validity_days")
    ca_end = issuer.ca_not_after
    if now < issuer.ca_not_before:
        raise PkiError(
            f"ca_cert_path: the CA certificate is not valid until {iso_z(issuer.ca_not_before)} (now {iso_z(now)}); "
            "it cannot sign yet: every host would refuse what it signs. Check the controller's clock, or use a CA "
            "whose validity has begun.",
            "ca_cert_path",
        )
    if now >= ca_end:
        raise PkiError(
            f"ca_cert_path: the CA certificate expired on {iso_z(ca_end)}; it cannot sign. Renew it with "
            "xprotect.encryption.ca (renew_before) and distribute the new CA certificate.",
            "ca_cert_path",
        )
    end = now + datetime.timedelta(days=days)
    if end > ca_end:
        if not clamp_to_ca:
            room = int((ca_end - now).total_seconds() // 86400)
            raise PkiError(
                f"validity_days: {days} days would end on {iso_z(end)}, after the CA certificate ends "
                f"({iso_z(ca_end)}). Give validity_days {room} or less, or renew the CA first.",
                "validity_days",
            )
        end = ca_end
    return max(now - CLOCK_SKEW, issuer.ca_not_before), end


def certificate_validity(
    ca: CA, days: int = SERVER_DAYS, now: Optional[datetime.datetime] = None, clamp_to_ca: bool = False
) -> tuple[datetime.datetime, datetime.datetime]:
    """``(not_before, not_after)`` a server certificate would get; PkiError when past the CA's end."""
    return _validity(_Issuer.of(ca), days, utcnow(now), clamp_to_ca)


def _issue(
    issuer: _Issuer,
    public_key: Any,
    *,
    fqdn: str,
    dns_names: Sequence[str],
    ip_addresses: Sequence[str],
    days: int,
    now: Optional[datetime.datetime],
    clamp_to_ca: bool,
    start: Optional[datetime.datetime] = None,
    end: Optional[datetime.datetime] = None,
) -> x509.Certificate:
    dns = _subject_dns_names(fqdn, dns_names)
    cn = dns[0]
    ips = list(dict.fromkeys(validate_ip(i, "ip_addresses") for i in ip_addresses or ()))
    moment = utcnow(now)
    if start is None and end is None:
        start, end = _validity(issuer, days, moment, clamp_to_ca)
    else:
        # Explicit dates are for tests and the lab's faults (an expired certificate on purpose).
        start = utcnow(start) if start is not None else moment - CLOCK_SKEW
        end = utcnow(end) if end is not None else moment + datetime.timedelta(days=days)
        if end <= start:
            raise PkiError("not_after: must be later than not_before.", "not_after")
    san = [x509.DNSName(n) for n in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    builder = (
        x509.CertificateBuilder()
        .subject_name(cn_name(cn))
        .issuer_name(issuer.name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_server_key_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(_ski(public_key), critical=False)
        .add_extension(issuer.aki, critical=False)
    )
    return builder.sign(issuer.ca.key, hashes.SHA256())


def issue_certificate(  # noqa: PLR0917 - public API, positional by design
    ca: CA,
    public_key: Any,
    fqdn: str,
    dns_names: Sequence[str],
    ip_addresses: Sequence[str] = (),
    days: int = SERVER_DAYS,
    now: Optional[datetime.datetime] = None,
    clamp_to_ca: bool = False,
    not_before: Optional[datetime.datetime] = None,
    not_after: Optional[datetime.datetime] = None,
) -> x509.Certificate:
    """A server certificate for ``public_key``: CN = fqdn, SAN = fqdn + dns_names (+ IPs).

    ``days`` past the CA's not_after is refused (option validity_days) unless ``clamp_to_ca``,
    which ends the certificate with the CA. Explicit ``not_before``/``not_after`` bypass both.
    """
    return _issue(
        _Issuer.of(ca),
        public_key,
        fqdn=fqdn,
        dns_names=dns_names,
        ip_addresses=ip_addresses,
        days=days,
        now=now,
        clamp_to_ca=clamp_to_ca,
        start=not_before,
        end=not_after,
    )


def sign_csr(  # noqa: PLR0917 - public API, positional by design
    ca: CA,
    csr: Any,
    fqdn: str,
    dns_names: Sequence[str],
    ip_addresses: Sequence[str] = (),
    days: int = SERVER_DAYS,
    now: Optional[datetime.datetime] = None,
    clamp_to_ca: bool = False,
) -> x509.Certificate:
    """Check ``csr`` (bytes or a parsed request) against the host's names, then sign it.

    The content comes from the configuration, not from the request: only its public key is used.
    """
    return _check_and_issue(
        _Issuer.of(ca), csr, fqdn, dns_names, ip_addresses, host=fqdn, days=days, now=now, clamp_to_ca=clamp_to_ca
    )


def _check_and_issue(
    issuer: _Issuer,
    csr: Any,
    fqdn: str,
    dns_names: Sequence[str],
    ip_addresses: Sequence[str],
    *,
    host: str,
    days: int,
    now: Optional[datetime.datetime],
    clamp_to_ca: bool,
) -> x509.Certificate:
    """Check one CSR against the host's names, then sign its public key (``host`` names it in errors)."""
    cn = validate_hostname(fqdn, "fqdn")
    request = check_csr(csr, [cn, *dns_names, *ip_addresses], host=host or cn)
    return _issue(
        issuer,
        request.public_key(),
        fqdn=cn,
        dns_names=dns_names,
        ip_addresses=ip_addresses,
        days=days,
        now=now,
        clamp_to_ca=clamp_to_ca,
    )


@dataclasses.dataclass(frozen=True)
class SignRequest:
    host: str
    csr: bytes
    fqdn: str
    dns_names: tuple
    ip_addresses: tuple = ()


@dataclasses.dataclass(frozen=True)
class SignResult:
    host: str
    certificate: Optional[x509.Certificate]
    error: Optional[str]


def sign_csrs(
    ca: CA,
    requests: Sequence[SignRequest],
    days: int = SERVER_DAYS,
    now: Optional[datetime.datetime] = None,
    clamp_to_ca: bool = False,
    *,
    workers: Optional[int] = None,
) -> list[SignResult]:
    """Sign many CSRs in one call; a bad request fails alone, with its host named in the error.

    Results come back in the order of ``requests``. Large batches are spread over ``workers``
    threads (default: the CPU count): cryptography releases the GIL for part of each signature.
    """
    issuer = _Issuer.of(ca)
    moment = utcnow(now)

    def one(req: SignRequest) -> SignResult:
        try:
            cert = _check_and_issue(
                issuer,
                req.csr,
                req.fqdn,
                req.dns_names,
                req.ip_addresses,
                host=req.host,
                days=days,
                now=moment,
                clamp_to_ca=clamp_to_ca,
            )
            return SignResult(req.host, cert, None)
        except PkiError as e:
            return SignResult(req.host, None, str(e))
        except (ValueError, TypeError) as e:
            return SignResult(req.host, None, f"{req.host}: cannot sign: {e}")

    pool = max(1, min(workers or os.cpu_count() or 1, 16))
    if pool == 1 or len(requests) < _BATCH_THREADING_FROM:
        return [one(r) for r in requests]
    with concurrent.futures.ThreadPoolExecutor(max_workers=pool) as ex:
        return list(ex.map(one, requests))


# ---- keys and PFX ---------------------------------------------------------------------------


def generate_key(bits: int = MIN_RSA_BITS) -> rsa.RSAPrivateKey:
    """A new RSA key (exponent 65537) of ``MIN_RSA_BITS`` to 16384 bits."""
    if not isinstance(bits, int) or isinstance(bits, bool) or bits < MIN_RSA_BITS or bits > 16384:
        raise PkiError(f"key_size: {bits} bits is not allowed; use 2048 (the default), 3072 or 4096.", "key_size")
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def write_pfx(  # noqa: PLR0917 - public API, positional by design
    key: Any,
    cert: x509.Certificate,
    ca_certs: Sequence[x509.Certificate],
    passphrase: bytes,
    friendly_name: str,
    encryption: str = "3des",
) -> bytes:
    """A PFX (PKCS#12) with the key, the certificate and the CA chain; friendly name = FQDN.

    ``3des`` (default): PBE-SHA1-3DES with a SHA-1 MAC, which Windows Server 2016 reads [H].
    ``aes256``: PBES2 AES-256-CBC with a SHA-256 MAC (Server 2019 and later).
    """
    passphrase = to_bytes(passphrase)
    if not passphrase:
        raise PkiError("pfx_passphrase: a PFX needs a non-empty passphrase.", "pfx_passphrase")
    if encryption == "3des":
        algorithm = pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC
        mac = hashes.SHA1()  # noqa: S303 - the only MAC Windows Server 2016 accepts [H]
    elif encryption == "aes256":
        algorithm = pkcs12.PBES.PBESv2SHA256AndAES256CBC
        mac = hashes.SHA256()
    else:
        raise PkiError(f"pfx_encryption: {encryption!r} is not one of {', '.join(PFX_ENCRYPTIONS)}.", "pfx_encryption")
    if not cert_has_private_key_match(cert, key):
        raise PkiError("the PFX key does not belong to its certificate; this is a bug, please report it.")
    enc = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(_PFX_KDF_ROUNDS)
        .key_cert_algorithm(algorithm)
        .hmac_hash(mac)
        .build(passphrase)
    )
    return pkcs12.serialize_key_and_certificates(
        (friendly_name or "").encode("utf-8") or None, key, cert, list(ca_certs) or None, enc
    )


def read_pfx(
    pfx: bytes,
    passphrase: Optional[bytes],
    *,
    option: str = "pfx_passphrase",
    pfx_option: str = "pfx",
) -> tuple[Any, Optional[x509.Certificate], list]:
    """``(key, certificate, other certificates)`` of a PFX; PkiError on a wrong passphrase."""
    data = to_bytes(pfx) or b""
    if not data.startswith(b"\x30"):
        raise PkiError(f"{pfx_option}: not a PFX (PKCS#12) file.", pfx_option)
    try:
        key, cert, others = pkcs12.load_key_and_certificates(data, to_bytes(passphrase) or None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise PkiError(
            f"{option}: cannot open the PFX: wrong passphrase, or not a PFX file. Give the passphrase it was "
            "exported with.",
            option,
        )
    return key, cert, list(others or [])


def verify_issued_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> bool:
    """Whether ``ca_cert`` really signed ``cert`` (issuer name and signature, not the name alone)."""
    try:
        cert.verify_directly_issued_by(ca_cert)
    except InvalidSignature:
        return False
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # cryptography refuses some legacy algorithms here (SHA-1 signatures); an RSA PKCS#1 v1.5
        # signature can still be checked by hand, so an old certificate is not called forged.
        return _verify_rsa_pkcs1(cert, ca_cert)
    return True


def _verify_rsa_pkcs1(cert: x509.Certificate, ca_cert: x509.Certificate) -> bool:
    key = ca_cert.public_key()
    algorithm = cert.signature_hash_algorithm
    if cert.issuer != ca_cert.subject or not isinstance(key, rsa.RSAPublicKey) or algorithm is None:
        return False
    try:
        key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), algorithm)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True
