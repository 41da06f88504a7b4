# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The re-issue policy: one named decision, with every reason, in a fixed order.

Like community.crypto's ``needs_regeneration()``, but it returns the reasons, so that check
mode can say *why* a certificate would be replaced. The input is only what was read from the
host (the certificate's DER and whether the host holds its private key); the CA certificate
is enough, the CA key is never needed to decide.

A certificate is re-issued when any of these holds (in this order):

1. there is no certificate, or it cannot be read;
2. it is not valid yet, has expired, or expires within ``renew_before`` days;
3. it was not issued by this CA (the signature is checked, not just the issuer name);
4. one of the expected names (DNS or IP) is not in its SAN;
5. its common name is an IP address ([L] that breaks identity-provider registration);
6. its key is not RSA, or weaker than ``min_key_bits``;
7. it is signed with a weak hash (MD5 or SHA-1);
8. its EKU is missing or lacks serverAuth; its key usage lacks digitalSignature or
   keyEncipherment; it is a CA certificate (CA:TRUE);
9. the host does not hold its private key.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
from typing import Any, Iterable, Optional, Sequence

from ansible_collections.xprotect.encryption.plugins.module_utils import pki
from ansible_collections.xprotect.encryption.plugins.module_utils._dns import dns_name_matches
from ansible_collections.xprotect.encryption.plugins.module_utils._text import clean_thumbprint

try:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID
except ImportError:  # pragma: no cover - pki.HAS_CRYPTOGRAPHY tells the module
    pass

KEEP = "keep"
ISSUE = "issue"
REASON_MISSING = "no certificate"
REASON_NO_KEY = "the host does not hold the private key of the certificate"
_WEAK_HASHES = ("md5", "sha1")


@dataclasses.dataclass(frozen=True)
class Decision:
    action: str  # "keep" | "issue"
    reasons: tuple  # human sentences; empty when keep
    days_left: Optional[int]

    @property
    def needs_issue(self) -> bool:
        return self.action == ISSUE


def _ip(value: str) -> Optional[str]:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def names_of(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    """The names a TLS client matches: SAN DNS and IP entries; the CN only when there is no SAN."""
    dns, ips = pki.san_names(cert)
    try:
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        dns = [cn.lower() for cn in pki.common_names(cert.subject)]
    return dns, ips


def missing_names(cert: x509.Certificate, expected_names: Iterable[str]) -> list[str]:
    """The expected names (DNS or IP) that the certificate does not cover, in the given order."""
    dns, ips = names_of(cert)
    missing = []
    for raw in expected_names:
        name = str(raw).strip().lower().rstrip(".")
        ip = _ip(name)
        covered = ip in ips if ip else any(dns_name_matches(d, name) for d in dns)
        if not covered:
            missing.append(name)
    return missing


def _validity_reasons(cert: x509.Certificate, now: datetime.datetime, renew_before_days: int) -> list[str]:
    start, end = pki.not_before(cert), pki.not_after(cert)
    left = pki.days_left(cert, now)
    if now < start:
        return [f"certificate is not valid before {pki.iso_z(start)} (check the clocks)"]
    if now >= end:
        return [f"certificate expired on {pki.iso_z(end)}"]
    if end - now < datetime.timedelta(days=renew_before_days):
        return [f"certificate expires in {left} days (renew_before {renew_before_days})"]
    return []


def _issuer_reasons(cert: x509.Certificate, ca_cert: Any) -> list[str]:
    if ca_cert is None or pki.verify_issued_by(cert, ca_cert):
        return []
    ca_name = ca_cert.subject.rfc4514_string()
    if cert.issuer == ca_cert.subject:
        return [
            f"certificate names {ca_name} as its issuer but its signature does not verify with this CA "
            f"({pki.thumbprint(ca_cert)})"
        ]
    other = cert.issuer.rfc4514_string()
    return [f"certificate is not issued by this CA ({ca_name}, {pki.thumbprint(ca_cert)}) but by {other}"]


def _key_reasons(cert: x509.Certificate, min_key_bits: int) -> list[str]:
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        return [f"key is {type(key).__name__.lstrip('_')}, not RSA"]
    if key.key_size < min_key_bits:
        return [f"RSA key is {key.key_size} bits (minimum {min_key_bits})"]
    return []


def _usage_reasons(cert: x509.Certificate) -> list[str]:
    reasons = []
    algorithm = cert.signature_hash_algorithm
    if algorithm is not None and algorithm.name in _WEAK_HASHES:
        reasons.append(f"certificate is signed with {algorithm.name.upper()} (weak); SHA-256 is expected")
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if ExtendedKeyUsageOID.SERVER_AUTH not in eku:
            have = ", ".join(getattr(o, "_name", o.dotted_string) for o in eku) or "none"
            reasons.append(f"extended key usage lacks serverAuth (has: {have})")
    except x509.ExtensionNotFound:
        reasons.append("no extended key usage serverAuth")
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        lacking = [
            label
            for label, ok in (("digitalSignature", ku.digital_signature), ("keyEncipherment", ku.key_encipherment))
            if not ok
        ]
        if lacking:
            reasons.append(f"key usage lacks {' and '.join(lacking)}")
    except x509.ExtensionNotFound:
        pass  # no keyUsage extension means any usage
    try:
        if cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            reasons.append("certificate is a CA certificate (CA:TRUE); a server certificate must be CA:FALSE")
    except x509.ExtensionNotFound:
        pass
    return reasons


def decide(  # noqa: PLR0917 - public API, positional by design
    cert_der: Optional[bytes],
    has_private_key: bool,
    expected_names: Sequence[str],
    ca_cert: Any,
    now: datetime.datetime,
    renew_before_days: int,
    min_key_bits: int = 2048,
) -> Decision:
    """Keep or issue, with every reason that applies, in a deterministic order."""
    if not cert_der:
        return Decision(ISSUE, (REASON_MISSING,), None)
    try:
        cert = x509.load_der_x509_certificate(bytes(cert_der))
    except ValueError as e:
        return Decision(ISSUE, (f"certificate cannot be read ({e})",), None)
    moment = pki.utcnow(now)
    reasons = _validity_reasons(cert, moment, renew_before_days)
    reasons += _issuer_reasons(cert, ca_cert)
    missing = missing_names(cert, expected_names)
    if missing:
        have_dns, have_ips = names_of(cert)
        have = ", ".join(have_dns + have_ips) or "none"
        reasons.append(f"name{'s' if len(missing) > 1 else ''} missing: {', '.join(missing)} (certificate has: {have})")
    if any(_ip(cn) for cn in pki.common_names(cert.subject)):
        reasons.append("common name is an IP address; it must be the host's DNS name")
    reasons += _key_reasons(cert, min_key_bits)
    reasons += _usage_reasons(cert)
    if not has_private_key:
        reasons.append(REASON_NO_KEY)
    return Decision(ISSUE if reasons else KEEP, tuple(reasons), pki.days_left(cert, moment))


def _load(entry: Any) -> Optional[x509.Certificate]:
    try:
        return x509.load_der_x509_certificate(bytes(entry.der))
    except (ValueError, TypeError, AttributeError):
        return None


def pick_current(entries: Iterable[Any], expected_names: Sequence[str], ca_cert: Any) -> Any:
    """The certificate the host should be using, from a store listing (duck-typed entries).

    First choice: issued by ``ca_cert`` (signature checked) and covering every expected name;
    among those, one with its private key first, then the latest not_after. Otherwise the entry
    covering the most expected names (same tie-breaks), not counting CA or self-signed certificates. None when
    no entry covers any expected name.
    """
    expected = list(expected_names)
    full, partial = [], []
    for entry in entries:
        cert = _load(entry)
        if cert is None:
            continue
        if pki.not_a_server_certificate(cert):
            continue  # a CA certificate or a self-signed one is never the server certificate
        covered = len(expected) - len(missing_names(cert, expected))
        if covered == 0:
            continue
        rank = (bool(entry.has_private_key), pki.not_after(cert), str(entry.thumbprint))
        if covered == len(expected) and ca_cert is not None and pki.verify_issued_by(cert, ca_cert):
            full.append((rank, entry))
        else:
            partial.append(((covered, *rank), entry))
    if full:
        return max(full, key=lambda item: item[0])[1]
    if partial:
        return max(partial, key=lambda item: item[0])[1]
    return None


def leftover_requests(requests: Iterable[Any], fqdn: str, installed: Iterable[Any]) -> list[tuple[str, bool]]:
    """``[(thumbprint, delete_key)]`` of the pending certreq requests for ``fqdn`` to remove.

    ``requests``: the ``REQUEST`` store listing; ``installed``: the ``My`` listing (duck-typed
    entries with ``thumbprint`` and ``der``). A request whose common name is ``fqdn`` is a leftover
    of an interrupted earlier run. Its key container is deleted with it (``delete_key``), except
    when a certificate in My holds the same public key: that key is in use, so then only the
    request's certificate goes.
    """
    in_use = set()
    for entry in installed:
        cert = _load(entry)
        if cert is not None:
            in_use.add(pki.public_key_der(cert.public_key()))
    name = fqdn.strip().lower()
    out = []
    for entry in requests:
        cert = _load(entry)
        if cert is None or name not in (cn.lower() for cn in pki.common_names(cert.subject)):
            continue
        out.append((clean_thumbprint(entry.thumbprint), pki.public_key_der(cert.public_key()) not in in_use))
    return out
