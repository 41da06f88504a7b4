# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""certreq on the host: the INF the hosts are given, the ``-new``/``-accept`` command lines, and
what a failure's HRESULT means and what to do about it.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Dict, Iterable, List, Optional, Tuple

from ansible_collections.xprotect.encryption.plugins.module_utils._text import XProtectError, is_ip

# Legacy CSPs and their ProviderType; KSPs (CNG) take no ProviderType or KeySpec. Which of the
# two XProtect needs is not known [?]: the legacy SChannel CSP is the most widely compatible.
DEFAULT_PROVIDER = "Microsoft RSA SChannel Cryptographic Provider"
PROVIDER_TYPES: Dict[str, int] = {
    "microsoft rsa schannel cryptographic provider": 12,
    "microsoft enhanced rsa and aes cryptographic provider": 24,
    "microsoft enhanced cryptographic provider v1.0": 1,
    "microsoft strong cryptographic provider": 1,
    "microsoft base cryptographic provider v1.0": 1,
}
SERVER_AUTH_OID = "1.3.6.1.5.5.7.3.1"
SAN_OID = "2.5.29.17"
EKU_OID = "2.5.29.37"
KEY_USAGE_SERVER = 0xA0  # digitalSignature (0x80) + keyEncipherment (0x20) [L]
_DNS_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_DNS_RE = re.compile(rf"^(\*\.)?{_DNS_LABEL}(\.{_DNS_LABEL})*\.?$")


def _check_dns(name: str, what: str) -> str:
    name = str(name or "").strip()
    if not name or len(name) > 253 or not _DNS_RE.match(name) or is_ip(name):
        raise XProtectError(
            f"{what} {name!r} is not a DNS name (letters, digits, hyphens and dots only; no IP address). "
            "Fix xprotect_fqdn / xprotect_dns_names for this host."
        )
    return name.rstrip(".")


def _is_ksp(provider: str) -> bool:
    low = provider.lower()
    return "key storage provider" in low or "platform crypto provider" in low


def certreq_inf(  # noqa: PLR0917 - the documented signature
    subject_cn: str,
    dns_names: Iterable[str],
    key_length: int = 2048,
    provider: str = DEFAULT_PROVIDER,
    exportable: bool = False,
    machine_key_set: bool = True,
    *,
    ip_addresses: Iterable[str] = (),
    friendly_name: Optional[str] = None,
) -> str:
    """A certreq ``-new`` INF for an XProtect server certificate, with CRLF line endings.

    Subject CN = the FQDN (never an IP [L]); SAN = ``dns_names`` (+ ``ip_addresses``) in the
    ``2.5.29.17 = "{text}"`` / ``_continue_`` syntax Microsoft documents; RSA ``key_length``
    (2048 or more), key usage digitalSignature + keyEncipherment, EKU serverAuth [L], a machine
    key that is not exportable by default, SHA-256.
    """
    cn = _check_dns(subject_cn, "subject_cn")
    names: List[str] = []
    for name in dns_names:
        checked = _check_dns(name, "DNS name")
        if checked.lower() not in (n.lower() for n in names):
            names.append(checked)
    ips: List[str] = []
    for ip in ip_addresses or ():
        if not is_ip(str(ip).strip()):
            raise XProtectError(f"ip_addresses: {ip!r} is not an IP address.")
        ips.append(str(ipaddress.ip_address(str(ip).strip())))
    if not names and not ips:
        raise XProtectError("certreq_inf needs at least one DNS name for the SAN (the host's FQDN).")
    if not isinstance(key_length, int) or isinstance(key_length, bool) or not 2048 <= key_length <= 16384:
        raise XProtectError(f"key_length {key_length!r}: use an RSA key of 2048 bits or more (2048, 3072, 4096).")
    provider = str(provider or "").strip()
    if not provider or any(c in provider for c in '"\r\n;'):
        raise XProtectError(f"provider {provider!r} is not a cryptographic provider name (see certutil -csplist).")
    friendly = friendly_name if friendly_name is not None else cn
    if any(c in friendly for c in '"\r\n'):
        raise XProtectError("friendly_name must not contain quotes or line breaks.")

    def flag(value: bool) -> str:
        return "TRUE" if value else "FALSE"

    lines = [
        "; certreq -new request written by xprotect.encryption: the key is made on this host and stays here.",
        "[Version]",
        'Signature="$Windows NT$"',
        "",
        "[NewRequest]",
        f'Subject = "CN={cn}"',
        f'FriendlyName = "{friendly}"',
        f"KeyLength = {key_length}",
    ]
    if not _is_ksp(provider):
        lines.append("KeySpec = 1")  # AT_KEYEXCHANGE: what SChannel needs from a legacy CSP key
    lines += [
        f"KeyUsage = 0x{KEY_USAGE_SERVER:02x}",
        f"MachineKeySet = {flag(machine_key_set)}",
        f"Exportable = {flag(exportable)}",
        "SMIME = FALSE",
        "PrivateKeyArchive = FALSE",
        "UserProtected = FALSE",
        "UseExistingKeySet = FALSE",
        "Silent = TRUE",
        f'ProviderName = "{provider}"',
    ]
    ptype = PROVIDER_TYPES.get(provider.lower())
    if ptype is not None:
        lines.append(f"ProviderType = {ptype}")
    lines += [
        "RequestType = PKCS10",
        "HashAlgorithm = sha256",
        "",
        "[EnhancedKeyUsageExtension]",
        f"OID = {SERVER_AUTH_OID} ; Server Authentication",
        "",
        "[Extensions]",
        f'{SAN_OID} = "{{text}}"',
    ]
    lines += [f'_continue_ = "dns={n}&"' for n in names]
    lines += [f'_continue_ = "ipaddress={ip}&"' for ip in ips]
    return "\r\n".join(lines) + "\r\n"


# certreq prints failures as "<prefix>: <system message> 0x<HRESULT> (<decimal or WIN32: n> <NAME>)".
_CERTREQ_ERROR_RE = re.compile(
    r"(?P<message>[^\r\n]*?)\s*(?P<hresult>0x[0-9a-fA-F]{8})\s*\((?:WIN32:\s*)?(?P<number>-?\d+)\s+(?P<name>[A-Z0-9_]+)\)"
)
CERTREQ_ERRORS: Dict[str, Tuple[str, str]] = {
    "0x80092004": (
        "CRYPT_E_NOT_FOUND",
        "certreq -accept found no pending request whose key matches this certificate: the request was removed or "
        "the certificate was made for another CSR. Run the task again to start a new request.",
    ),
    "0x800b0109": (
        "CERT_E_UNTRUSTEDROOT",
        "The CA is not trusted on the host yet: put it in LocalMachine\\Root first (xprotect.encryption.trusted_ca).",
    ),
    "0x800b010a": (
        "CERT_E_CHAINING",
        "No chain to a trusted root could be built: put the CA in LocalMachine\\Root first "
        "(xprotect.encryption.trusted_ca).",
    ),
    "0x80070002": (
        "ERROR_FILE_NOT_FOUND",
        "A file certreq was given does not exist on the host (the INF, CSR or certificate); check the work folder.",
    ),
    "0x80070005": (
        "E_ACCESSDENIED",
        "Access denied: a machine key needs an elevated administrator. Run the task with become: true.",
    ),
    "0x8007000d": (
        "ERROR_INVALID_DATA",
        "certreq could not read the INF or the certificate file: check its syntax (written by certreq_inf) and "
        "that the certificate is PEM or DER.",
    ),
    "0x80070057": (
        "E_INVALIDARG",
        "An INF value was refused, for example a key length or key spec the provider does not support: check "
        "the provider and key_length options.",
    ),
    "0x80090016": (
        "NTE_BAD_KEYSET",
        "The key set does not exist: the pending request's key is gone. Run the task again to start a new request.",
    ),
    "0x80090017": (
        "NTE_PROV_TYPE_NOT_DEF",
        "The provider type does not match the provider name: check the provider option (certutil -csplist).",
    ),
    "0x80090029": (
        "NTE_NOT_SUPPORTED",
        "The provider does not support this request (key length or key spec): choose another provider or key length.",
    ),
    "0x800700b7": (
        "ERROR_ALREADY_EXISTS",
        "The output file exists already: run certreq with -f, or delete the old request file.",
    ),
    "0x8009310b": (
        "CRYPT_E_ASN1_BADTAG",
        "The file given to certreq -accept is not a certificate: check what was written to the host.",
    ),
}


def parse_certreq_error(text: str, rc: Optional[int] = None) -> Optional[dict]:
    """The HRESULT of a certreq failure: ``{hresult, name, message, advice}``, or None.

    From the printed error line, or from the exit code (certreq exits with the HRESULT).
    """
    match = _CERTREQ_ERROR_RE.search(text or "")
    if match:
        hresult = match.group("hresult").lower()
        message = re.sub(r"^.*?(certificate request processor|certreq)\s*:\s*", "", match.group("message"), flags=re.I)
        name = match.group("name")
    elif rc not in (None, 0):
        hresult = f"0x{int(rc) & 0xFFFFFFFF:08x}"
        message, name = "", CERTREQ_ERRORS.get(hresult, ("", ""))[0]
    else:
        return None
    known = CERTREQ_ERRORS.get(hresult)
    return {
        "hresult": hresult,
        "name": name or (known[0] if known else None),
        "message": message.strip() or None,
        "advice": known[1] if known else None,
    }


def certreq_new_argv(inf: str, csr: str) -> List[str]:
    """Make the key and the request on the host: machine key set (``-machine``), no dialog
    (``-q``), overwriting an old request file (``-f``)."""
    return ["certreq.exe", "-new", "-machine", "-q", "-f", inf, csr]


def certreq_accept_argv(cer: str) -> List[str]:
    """Install the signed certificate onto its pending machine key, without a dialog."""
    return ["certreq.exe", "-accept", "-machine", "-q", cer]


def explain_certreq(step: str, host: str, rc: int, stdout: str = "", stderr: str = "") -> str:
    """A sentence a person can act on, for a failed ``certreq <step>`` on ``host``."""
    text = f"{stdout or ''}\n{stderr or ''}"
    err = parse_certreq_error(text, rc)
    head = f"certreq {step} failed on {host} (exit {rc})"
    if err is None:
        shown = " ".join(text.split())[:300]
        return f"{head}: {shown or 'no output'}. Run it by hand on the host to see the message."
    what = f"{err['message']} " if err["message"] else ""
    code = f"{err['hresult']}" + (f" {err['name']}" if err["name"] else "")
    advice = err["advice"] or (
        "Look the code up in the Windows error reference, or run the same certreq command by hand on the host to "
        "see its full message."
    )
    return f"{head}: {what}({code}). {advice}"
