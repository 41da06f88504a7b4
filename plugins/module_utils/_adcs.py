# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An enterprise CA (Active Directory Certificate Services) reached with certreq on the host.

Pure knowledge, no I/O: the CA configuration string and template checks, the ``certreq -submit``
and ``-retrieve`` command lines, the parser of what they print (RequestId, disposition, the CA's
message and HRESULT), the pending-request record kept on the host, and the messages a person can
act on. The flow is ``plugins/plugin_utils/adcs_flow.py``.

What certreq prints (reconstructed outputs in ``tests/unit/test_data/windows/certreq_submit_*``):

- issued: ``RequestId: 12`` / ``RequestId: "12"`` / ``Certificate retrieved(Issued) Issued``, exit 0;
- pending (CA manager approval): ``Certificate request is pending: Taken Under Submission (0)``;
- denied: ``Certificate not issued (Denied) Denied by Policy Module  0x80094012, <message>``;
- failed before the CA answered: ``Certificate Request Processor: <message> 0x800706ba (WIN32: 1722
  RPC_S_SERVER_UNAVAILABLE)``, exit = the HRESULT.

The printed disposition decides; the exit code only when nothing is printed (whether a pending
request exits 0 is not documented [?], so it is never relied on).
"""

from __future__ import annotations

import json
import re
from typing import Dict, List, NamedTuple, Optional, Tuple

from ansible_collections.xprotect.encryption.plugins.module_utils._certreq import parse_certreq_error
from ansible_collections.xprotect.encryption.plugins.module_utils._text import XProtectError

# Where the host keeps the RequestId of a request waiting for a CA manager (see docs/certificates.md).
STATE_FILE = "C:\\ProgramData\\xprotect.encryption-adcs-request.json"
STATE_KIND = "xprotect.encryption adcs request"

_HOST_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_CONFIG_RE = re.compile(rf"^(?P<host>{_HOST_LABEL}(\.{_HOST_LABEL})*)\\(?P<ca>[^\\\"\r\n\t]{{1,64}})$")
_TEMPLATE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,63}$")


def check_config(value, option: str = "adcs_config") -> str:
    """``<CA host>\\<CA name>``, as ``certutil -dump`` shows a CA's config; raises XProtectError naming ``option``."""
    text = str(value or "").strip()
    match = _CONFIG_RE.match(text)
    if not match or not match.group("ca").strip() or match.group("ca") != match.group("ca").strip():
        raise XProtectError(
            f"{option}: {text!r} is not a CA configuration string. Give it as <CA host>\\<CA name>, for example "
            "ca01.example.com\\Example Issuing CA (certutil -dump on a domain member lists them)."
        )
    return text


def check_template(value, option: str = "adcs_template") -> str:
    """A certificate template's name (its short name, e.g. ``WebServer``); raises XProtectError naming ``option``."""
    text = str(value or "").strip()
    if not text:
        raise XProtectError(
            f"{option}: the certificate template name is empty. Give the template's name as the CA publishes it "
            "(certutil -config <config> -CATemplates lists them), for example WebServer."
        )
    if not _TEMPLATE_RE.match(text):
        raise XProtectError(
            f"{option}: {text!r} is not a certificate template name (letters, digits, spaces, '.', '_' and '-', at "
            "most 64 characters; give the name alone, without 'CertificateTemplate:')."
        )
    return text


def submit_argv(config: str, template: str, csr: str, cer: str) -> List[str]:
    """Send the CSR to the CA with the template, without a dialog (``-q``), overwriting an old answer (``-f``)."""
    return [
        "certreq.exe",
        "-submit",
        "-q",
        "-f",
        "-config",
        config,
        "-attrib",
        f"CertificateTemplate:{template}",
        csr,
        cer,
    ]


def retrieve_argv(config: str, request_id: int, cer: str) -> List[str]:
    """Ask the CA again for request ``request_id`` (issued once a CA manager approved it)."""
    return ["certreq.exe", "-retrieve", "-q", "-f", "-config", config, str(int(request_id)), cer]


class Disposition(NamedTuple):
    """What the CA answered: ``kind`` is issued, pending, denied or failed."""

    kind: str
    request_id: Optional[int]
    message: Optional[str]
    hresult: Optional[str]
    name: Optional[str]


_REQUEST_ID_RE = re.compile(r"^\s*RequestId:\s*\"?(\d+)\"?\s*$", re.M)
_ISSUED_RE = re.compile(r"Certificate retrieved\s*\(\s*Issued\s*\)", re.I)
_PENDING_RE = re.compile(r"(Certificate request is pending|Taken Under Submission|retrieved\s*\(\s*Pending\s*\))", re.I)
_DENIED_RE = re.compile(r"Certificate not issued\s*\(\s*Denied\s*\)\s*(?P<rest>[^\r\n]*)", re.I)
_HRESULT_RE = re.compile(r"0x[0-9a-fA-F]{8}")

# The CA's HRESULTs a run meets, and what to do.
CA_ERRORS: Dict[str, Tuple[str, str]] = {
    "0x80094012": (
        "CERTSRV_E_TEMPLATE_DENIED",
        "The template's permissions do not let this computer enroll: give the computer account (or a group of it) "
        "Read and Enroll on the template, or choose another template.",
    ),
    "0x80094800": (
        "CERTSRV_E_UNSUPPORTED_CERT_TYPE",
        "The CA does not issue this template: check the name (the template's name, not its display name) and that "
        "it is published on this CA (certutil -config <config> -CATemplates).",
    ),
    "0x80094014": (
        "CERTSRV_E_ADMIN_DENIED_REQUEST",
        "A certificate manager denied the request. Ask why; the next run sends a new request.",
    ),
    "0x800706ba": (
        "RPC_S_SERVER_UNAVAILABLE",
        "The CA could not be reached from the host: check the config string (<CA host>\\<CA name>), that the CA "
        "service runs, and that the host reaches it (certutil -ping -config <config>).",
    ),
    "0x80070005": (
        "E_ACCESSDENIED",
        "Access denied: the computer account may not request certificates from this CA (its Request Certificates "
        "permission).",
    ),
}


def parse_answer(text: str, rc: int = 0) -> Disposition:
    """The disposition of ``certreq -submit`` or ``-retrieve`` output (any line ends, any order)."""
    text = text or ""
    ids = _REQUEST_ID_RE.findall(text)
    request_id = int(ids[0]) if ids else None
    if _ISSUED_RE.search(text):
        return Disposition("issued", request_id, None, None, None)
    if _PENDING_RE.search(text):
        return Disposition("pending", request_id, "Taken Under Submission", None, None)
    denied = _DENIED_RE.search(text)
    if denied:
        rest = denied.group("rest").strip()
        hres = _HRESULT_RE.search(rest)
        hresult = hres.group(0).lower() if hres else None
        message = re.sub(r"\s*\(-?\d+\s+[A-Z0-9_]+\)", "", _HRESULT_RE.sub("", rest))
        message = re.sub(r"\s*,\s*", ": ", re.sub(r"\s+", " ", message).strip(" ,"), count=1) or None
        name = (CA_ERRORS.get(hresult, ("", ""))[0] or None) if hresult else None
        return Disposition("denied", request_id, message, hresult, name)
    shown = " ".join(text.split())[:300] or None
    err = parse_certreq_error(text, rc) if (rc not in (None, 0) or _HRESULT_RE.search(text)) else None
    if err:
        name = err["name"] or CA_ERRORS.get(err["hresult"], (None,))[0]
        return Disposition("failed", request_id, err["message"] or shown, err["hresult"], name)
    return Disposition("failed", request_id, shown, None, None)


def explain(dispo: Disposition, host: str, config: str, template: str, step: str = "-submit") -> str:
    """The error of a denied or failed request, naming host, CA config, template and the CA's message."""
    code = " ".join(x for x in (dispo.hresult, dispo.name) if x)
    advice = CA_ERRORS.get(dispo.hresult or "", ("", ""))[1] or (
        "Run the same certreq command by hand on the host to see the CA's full message."
    )
    what = "was denied" if dispo.kind == "denied" else "failed"
    req = f" {dispo.request_id}" if dispo.request_id is not None else ""
    msg = f": {dispo.message}" if dispo.message else ""
    return (
        f"{host}: the certificate request{req} to the enterprise CA {config} (template {template}) {what} "
        f"(certreq {step}){msg}{f' ({code})' if code else ''}. {advice}"
    )


def waiting_message(host: str, request_id: int, config: str, template: str) -> str:
    return (
        f"{host}: certificate request {request_id} waits for a CA manager's approval at {config} (template "
        f"{template}). Nothing is switched until it is issued: approve it (certsrv.msc, Pending Requests, Issue), "
        "then run the playbook again; it fetches the certificate with certreq -retrieve and sends no new request."
    )


def waiting_finding(request_id: int, config: str, template: str) -> str:
    """The short line the preflight gate's table shows for a server whose request waits."""
    return f"request {request_id} waits for a CA manager's approval at {config} (template {template})"


def state_record(request_id: int, config: str, template: str, pending_thumbprint: str, submitted: str) -> str:
    """The file the host keeps while a request waits: JSON, no secret (the key stays in the REQUEST store)."""
    return json.dumps(
        {
            "kind": STATE_KIND,
            "request_id": int(request_id),
            "config": config,
            "template": template,
            "pending_thumbprint": pending_thumbprint,
            "submitted": submitted,
        },
        indent=1,
    )


def read_state(text: Optional[str]) -> Optional[dict]:
    """The pending record, or None when absent or not ours (a damaged file is treated as absent)."""
    try:
        data = json.loads(text or "")
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("kind") != STATE_KIND:
        return None
    try:
        data["request_id"] = int(data["request_id"])
    except (KeyError, TypeError, ValueError):
        return None
    if not all(isinstance(data.get(k), str) and data.get(k) for k in ("config", "template", "pending_thumbprint")):
        return None
    return data


def next_step(state: Optional[dict], config: str, template: str, pending: List[str]) -> str:
    """``retrieve`` the waiting request, or ``submit`` a new one (``abandon`` the recorded one first).

    ``pending``: thumbprints of this host's requests in LocalMachine\\REQUEST. A request is
    retrieved only when it went to the same CA with the same template and its key is still there,
    so a run never sends a second request while one waits.
    """
    if state is None:
        return "submit"
    same = state["config"].lower() == config.lower() and state["template"].lower() == template.lower()
    if same and state["pending_thumbprint"].upper() in (t.upper() for t in pending):
        return "retrieve"
    return "abandon"
