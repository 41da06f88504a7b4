# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows formats only the lab needs: reading a certreq INF the way ``certreq -new`` does,
making its key and CSR, and reading what ``certreq -accept`` prints.

Production writes INFs (``module_utils/_certreq.py``) and never reads them; it checks CSRs
(``module_utils/pki.py``) and never makes them. These live in the lab, which production code
never imports; tests that need a CSR as a host would send it take it from here too.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from ansible_collections.xprotect.encryption.plugins.module_utils import pki
from ansible_collections.xprotect.encryption.plugins.module_utils._certreq import EKU_OID, SAN_OID
from ansible_collections.xprotect.encryption.plugins.module_utils._text import XProtectError, clean_thumbprint

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
except ImportError:  # pragma: no cover - the lab needs cryptography, as pki does
    x509 = hashes = rsa = None  # type: ignore[assignment]

# certreq makes any RSA key its provider takes, weak ones included: the lab must, so that the
# controller's refusal of a weak CSR can be rehearsed. 1024 is the smallest key cryptography
# makes (the legacy providers go down to 512, which no rehearsal needs); 16384 is the providers'
# upper bound.
CERTREQ_MIN_BITS = 1024
CERTREQ_MAX_BITS = 16384


def generate_key(bits: int) -> Any:
    """The key ``certreq -new`` makes for ``KeyLength = bits`` (exponent 65537)."""
    if not isinstance(bits, int) or isinstance(bits, bool) or not CERTREQ_MIN_BITS <= bits <= CERTREQ_MAX_BITS:
        raise XProtectError(
            f"KeyLength = {bits!r}: certreq takes {CERTREQ_MIN_BITS} to {CERTREQ_MAX_BITS} bits "
            "('The data is invalid')."
        )
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def build_csr(
    key: Any, fqdn: str, dns_names: Sequence[str] = (), ip_addresses: Sequence[str] = ()
) -> x509.CertificateSigningRequest:
    """A CSR as certreq makes it from our INF: CN = ``fqdn``, SAN = ``fqdn`` + ``dns_names`` (+ IPs).

    Names are checked and lowercased as pki checks them (``pki.validate_hostname``).
    """
    dns = list(
        dict.fromkeys(
            [pki.validate_hostname(fqdn, "fqdn"), *(pki.validate_hostname(n, "dns_names") for n in dns_names)]
        )
    )
    san = [x509.DNSName(n) for n in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ip_addresses]
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(pki.cn_name(dns[0]))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .sign(key, hashes.SHA256())
    )


def _flag(value: Optional[str]) -> bool:
    """An INF boolean as certreq reads it; anything else is false, certreq's default."""
    return str(value or "").strip().lower() in ("true", "1", "yes", "on", "enabled")


def _inf_value(raw: str) -> str:
    """Unquote an INF value the way certreq does: outer quotes, "" for a quote; ; starts a comment."""
    out, in_quotes, i = [], False, 0
    raw = raw.strip()
    while i < len(raw):
        c = raw[i]
        if c == '"':
            if in_quotes and i + 1 < len(raw) and raw[i + 1] == '"':
                out.append('"')
                i += 2
                continue
            in_quotes = not in_quotes
        elif c == ";" and not in_quotes:
            break
        else:
            out.append(c)
        i += 1
    return "".join(out).strip()


def _inf_sections(text: str) -> Dict[str, List[Tuple[str, str]]]:
    sections: Dict[str, List[Tuple[str, str]]] = {}
    current: Optional[str] = None
    for raw in (text or "").lstrip("\ufeff").splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        header = re.match(r"^\[\s*([^\]]+?)\s*\]\s*(;.*)?$", line)
        if header:
            current = header.group(1).lower()
            sections.setdefault(current, [])
            continue
        if current is None or "=" not in line:
            continue
        key, _sep, value = line.partition("=")
        sections[current].append((key.strip(), _inf_value(value)))
    return sections


def _subject_cn(subject: Optional[str]) -> Optional[str]:
    if not subject:
        return None
    parts, buf, in_quotes = [], [], False
    for c in subject:
        if c == '"':
            in_quotes = not in_quotes
        elif c in ",;" and not in_quotes:
            parts.append("".join(buf))
            buf = []
            continue
        buf.append(c)
    parts.append("".join(buf))
    for part in parts:
        key, sep, value = part.partition("=")
        if sep and key.strip().upper() == "CN":
            return value.strip().strip('"') or None
    return None


_KU_NAMES = {
    "cert_digital_signature_key_usage": 0x80,
    "cert_non_repudiation_key_usage": 0x40,
    "cert_key_encipherment_key_usage": 0x20,
    "cert_data_encipherment_key_usage": 0x10,
    "cert_key_agreement_key_usage": 0x08,
    "cert_key_cert_sign_key_usage": 0x04,
    "cert_offline_crl_sign_key_usage": 0x02,
    "cert_crl_sign_key_usage": 0x02,
    "cert_encipher_only_key_usage": 0x01,
    "cert_decipher_only_key_usage": 0x8000,
}


def _inf_int(value: str, what: str) -> int:
    text = value.strip().lower()
    try:
        return int(text, 16) if text.startswith("0x") else int(text)
    except ValueError:
        raise XProtectError(f"certreq INF: {what} = {value!r} is not a number (certreq: 'The data is invalid').")


def _key_usage(value: str) -> int:
    total = 0
    for raw in value.split("|"):
        part = raw.strip()
        if part:
            total |= _KU_NAMES[part.lower()] if part.lower() in _KU_NAMES else _inf_int(part, "KeyUsage")
    return total


def _san_entries(text: str) -> Tuple[List[str], List[str]]:
    dns, ips = [], []
    for entry in re.split(r"&", text):
        key, sep, value = entry.partition("=")
        if not sep:
            continue
        kind = re.sub(r"\s+", "", key).lower()
        value = value.strip()
        if not value:
            continue
        if kind == "dns":
            dns.append(value)
        elif kind in ("ipaddress", "ip"):
            ips.append(value)
    return dns, ips


def parse_certreq_inf(text: str) -> dict:
    """Read a certreq INF the way certreq -new does.

    Tolerant of case, spacing, comments, quoting, ``[Strings]`` substitutions, the
    ``{text}``/``_continue_`` SAN syntax and the older ``[RequestAttributes] SAN=`` form.
    Returns ``subject``, ``subject_cn``, ``dns_names``, ``ip_addresses``, ``key_length``
    (certreq's default 2048 when absent), ``provider`` (None when absent), ``provider_type``,
    ``key_spec``, ``key_usage``, ``exportable`` and ``machine_key_set`` (both default False,
    as certreq), ``hash_algorithm``, ``request_type``, ``friendly_name``, ``eku`` (OIDs).
    """
    sections = _inf_sections(text)
    strings = {k.lower(): v for k, v in sections.get("strings", [])}

    def subst(value: str) -> str:
        return re.sub(r"%([^%]+)%", lambda m: strings.get(m.group(1).lower(), m.group(0)), value)

    if "newrequest" not in sections:
        raise XProtectError(
            "certreq INF has no [NewRequest] section, so certreq -new refuses it ('The data is invalid'). "
            "Write the INF with certreq_inf()."
        )
    new = {}
    for key, value in sections["newrequest"]:
        new[key.lower()] = subst(value)
    result = {
        "subject": new.get("subject"),
        "subject_cn": _subject_cn(new.get("subject")),
        "key_length": _inf_int(new["keylength"], "KeyLength") if new.get("keylength") else 2048,
        "provider": new.get("providername") or None,
        "provider_type": _inf_int(new["providertype"], "ProviderType") if new.get("providertype") else None,
        "key_spec": None,
        "key_usage": _key_usage(new["keyusage"]) if new.get("keyusage") else None,
        "exportable": _flag(new.get("exportable")),
        "machine_key_set": _flag(new.get("machinekeyset")),
        "hash_algorithm": (new.get("hashalgorithm") or "").lower() or None,
        "request_type": (new.get("requesttype") or "PKCS10").upper().replace("#", ""),
        "friendly_name": new.get("friendlyname") or None,
    }
    spec = (new.get("keyspec") or "").strip().upper()
    result["key_spec"] = {"AT_KEYEXCHANGE": 1, "AT_SIGNATURE": 2, "AT_NONE": 0}.get(spec) if spec else None
    if spec and result["key_spec"] is None:
        result["key_spec"] = _inf_int(spec, "KeySpec")

    dns: List[str] = []
    ips: List[str] = []
    eku: List[str] = []
    extensions = sections.get("extensions", [])
    for block in _collect_blocks(extensions, SAN_OID, subst):
        d, i = _san_entries(block)
        dns += d
        ips += i
    for block in _collect_blocks(extensions, EKU_OID, subst):
        eku += [o.strip() for o in re.split(r"[,\s]+", block) if o.strip()]
    # Microsoft's example also lists EKUs as "OID = <oid>" lines in [Extensions].
    eku += [subst(v).strip() for k, v in extensions if k.strip().lower() == "oid"]
    for key, value in sections.get("requestattributes", []):
        if key.strip().lower() == "san":
            d, i = _san_entries(subst(value))
            dns += d
            ips += i
    for key, value in sections.get("enhancedkeyusageextension", []):
        if key.strip().lower() == "oid":
            eku.append(subst(value).strip())
    result["dns_names"] = _dedupe(dns)
    result["ip_addresses"] = _dedupe(ips)
    result["eku"] = _dedupe(eku)
    return result


def _collect_blocks(entries: Sequence[Tuple[str, str]], oid: str, subst) -> List[str]:
    blocks: List[str] = []
    current: Optional[List[str]] = None
    for key, raw in entries:
        low = subst(key).strip().lower()
        value = subst(raw).strip()
        if low == oid:
            current = [re.sub(r"^\{text\}", "", value, flags=re.IGNORECASE)]
            blocks.append("")
        elif low == "_continue_" and current is not None:
            current.append(value)
        else:
            current = None
        if current is not None:
            blocks[-1] = "&".join(current) if oid == SAN_OID else ",".join(current)
    return blocks


def _dedupe(values: Iterable[str]) -> List[str]:
    out: List[str] = []
    for value in values:
        if value and value.lower() not in (v.lower() for v in out):
            out.append(value)
    return out


_ACCEPT_FIELD_RE = re.compile(r"^\s*(?P<key>Serial Number|Subject|NotBefore|NotAfter|Thumbprint)\s*:\s*(?P<value>.*)$")


def parse_certreq_accept(stdout: str) -> dict:
    """What ``certreq -accept`` printed about the installed certificate.

    ``thumbprint`` (uppercase), ``serial_number``, ``subject``, ``not_before``, ``not_after``
    (as printed, locale-dependent); keys are None when absent. The store is read afterwards
    anyway: this is for messages and cross-checks.
    """
    out: Dict[str, Optional[str]] = {
        "thumbprint": None,
        "serial_number": None,
        "subject": None,
        "not_before": None,
        "not_after": None,
    }
    for line in (stdout or "").splitlines():
        match = _ACCEPT_FIELD_RE.match(line)
        if not match:
            continue
        key = match.group("key").lower().replace(" ", "_").replace("notbefore", "not_before")
        key = key.replace("notafter", "not_after")
        value = match.group("value").strip()
        if key == "thumbprint":
            value = clean_thumbprint(value) or ""
        if out.get(key) is None:
            out[key] = value or None
    return out
