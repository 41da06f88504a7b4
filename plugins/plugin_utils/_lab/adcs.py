# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's enterprise CA (AD CS), as ``certreq -submit`` / ``-retrieve`` reach it from a host.

Enabled by the lab setting ``adcs_enterprise_ca``. One CA per site, in ``<site>/adcs/``:
``ca.crt`` (its root certificate, what Group Policy gives every domain member), ``.ca.key``
(0600) and ``requests.json`` (the CA database: RequestId, host, template, disposition). Settings:

- ``adcs_config``: the CA's config string ``<host>\\<CA name>``; any other config answers as an
  unreachable CA (``RPC_S_SERVER_UNAVAILABLE``);
- ``adcs_templates``: ``{name: "issue" | "deny"}``; a template not listed is not published on the
  CA (``CERTSRV_E_UNSUPPORTED_CERT_TYPE``), one that denies answers ``CERTSRV_E_TEMPLATE_DENIED``;
- ``adcs_pending_approval``: requests wait for a CA manager ("Taken Under Submission") until
  ``resolve`` (the lab fault ``adcs_approve`` / ``adcs_deny``) issues or denies them;
- ``adcs_root_by_group_policy``: new hosts have the CA's root in LocalMachine\\Root.

Outputs are certreq's (reconstructed, see tests/unit/test_data/windows/certreq_submit_*), CRLF,
and the exit code of a failure is its HRESULT.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.xprotect.encryption.plugins.module_utils import pki
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import model

CA_NAME = "LAB Enterprise Root CA"
CA_KEY_SIZE = 3072
ISSUED_DAYS = 730
CRLF = "\r\n"

# HRESULT, certreq's text, the detail in parentheses.
_HR = {
    "rpc": (0x800706BA, "The RPC server is unavailable.", "WIN32: 1722 RPC_S_SERVER_UNAVAILABLE"),
    "invalid_parameter": (0x80070057, "The parameter is incorrect.", "WIN32: 87 ERROR_INVALID_PARAMETER"),
    "file_not_found": (0x80070002, "The system cannot find the file specified.", "WIN32: 2 ERROR_FILE_NOT_FOUND"),
    "invalid_data": (0x8007000D, "The data is invalid.", "WIN32: 13 ERROR_INVALID_DATA"),
}
DENIALS = {
    "template_denied": (
        0x80094012,
        "Denied by Policy Module",
        "The permissions on the certificate template do not allow the current user to enroll for this type of "
        "certificate.",
    ),
    "unsupported_template": (
        0x80094800,
        "Denied by Policy Module",
        "The request was for a certificate template that is not supported by the Active Directory Certificate "
        "Services policy: {template}.",
    ),
    "admin_denied": (
        0x80094014,
        "Denied by Policy Module",
        "The request was denied by a certificate manager or CA administrator.",
    ),
}


def _signed(hr: int) -> int:
    return hr - (1 << 32)


def _out(rc: int, *lines: str) -> Tuple[int, str]:
    return rc, CRLF.join(lines) + CRLF


def _error(kind: str, context: str = "") -> Tuple[int, str]:
    hr, text, detail = _HR[kind]
    lines = [f"Certificate Request Processor: {text} 0x{hr:08x} ({detail})"]
    return _out(_signed(hr), *(lines + ([context] if context else [])))


def folder(site: model.Site) -> str:
    return os.path.join(site.path, "adcs")


def ca_cert_path(site: model.Site) -> str:
    return os.path.join(folder(site), "ca.crt")


def enabled(site: model.Site) -> bool:
    return bool(site.settings.get("adcs_enterprise_ca"))


def ensure_ca(site: model.Site) -> pki.CA:
    """The site's enterprise CA, made once."""
    os.makedirs(folder(site), mode=0o700, exist_ok=True)
    key_path = os.path.join(folder(site), ".ca.key")
    with model.flock(os.path.join(folder(site), ".lock")):
        if os.path.exists(key_path) and os.path.exists(ca_cert_path(site)):
            with open(ca_cert_path(site), "rb") as c, open(key_path, "rb") as k:
                return pki.load_ca(c.read(), k.read(), None, trusted_key=True)
        ca = pki.create_ca(CA_NAME, CA_KEY_SIZE, 3650)
        model.atomic_write(key_path, pki.private_key_pem(ca.key), 0o600)
        model.atomic_write(ca_cert_path(site), ca.cert_pem.encode("ascii"), 0o644)
        return ca


def group_policy_roots(site: model.Site) -> List[Tuple[str, str]]:
    """``[(thumbprint, pem)]`` of the enterprise root a new host gets by Group Policy (or nothing).

    The CA itself is made with the site when ``adcs_enterprise_ca`` is on."""
    if not enabled(site):
        return []
    ca = ensure_ca(site)
    return [(pki.thumbprint(ca.cert), ca.cert_pem)] if site.settings.get("adcs_root_by_group_policy") else []


def _db_path(site: model.Site) -> str:
    return os.path.join(folder(site), "requests.json")


def _load_db(site: model.Site) -> Dict[str, Any]:
    return model.read_json(_db_path(site)) or {"next_id": 2, "requests": {}}


def _save_db(site: model.Site, db: Dict[str, Any]) -> None:
    model.write_json(_db_path(site), db, mode=0o600, indent=1)


def _config_ok(site: model.Site, config: Optional[str]) -> bool:
    want = str(site.settings.get("adcs_config") or "")
    return enabled(site) and bool(config) and config.strip().lower() == want.lower()


def _template(attrib: Optional[str]) -> Optional[str]:
    for part in re.split(r"[\r\n&]+|\\n", attrib or ""):
        name, _sep, value = part.partition(":")
        if name.strip().lower() == "certificatetemplate":
            return value.strip()
    return None


def parse_argv(argv: List[str]) -> Optional[Dict[str, Any]]:
    """``certreq -submit|-retrieve [-q] [-f] [-config X] [-attrib X] <args>``; None when certreq would refuse it."""
    out: Dict[str, Any] = {"verb": None, "config": None, "attrib": None, "files": []}
    args = list(argv[1:])
    while args:
        arg = args.pop(0)
        low = arg.lower()
        if low in ("-submit", "/submit", "-retrieve", "/retrieve"):
            if out["verb"]:
                return None
            out["verb"] = low[1:]
        elif low in ("-q", "/q", "-f", "/f", "-machine", "/machine"):
            continue
        elif low in ("-config", "/config", "-attrib", "/attrib"):
            if not args:
                return None
            out[low[1:]] = args.pop(0)
        elif low.startswith(("-", "/")) and len(arg) > 1 and not re.match(r"^[A-Za-z]:", arg):
            return None
        else:
            out["files"].append(arg)
    return out


def certreq(site: model.Site, host: str, argv: List[str]) -> Tuple[int, str]:
    """``certreq -submit`` / ``-retrieve`` on lab host ``host``: ``(rc, stdout)``."""
    parsed = parse_argv(argv)
    if parsed is None:
        return _error("invalid_parameter")
    if parsed["verb"] == "submit" and len(parsed["files"]) == 2:
        return _submit(site, host, parsed)
    if parsed["verb"] == "retrieve" and len(parsed["files"]) == 2 and parsed["files"][0].isdigit():
        return _retrieve(site, host, parsed, int(parsed["files"][0]))
    return _error("invalid_parameter")


def _disposition_lines(request: Dict[str, Any]) -> Tuple[int, List[str]]:
    status = request["status"]
    if status == "issued":
        return 0, ["Certificate retrieved(Issued) Issued"]
    if status == "pending":
        return 0, ["Certificate request is pending: Taken Under Submission (0)"]
    hr, by, text = DENIALS[request["denial"]]
    text = text.format(template=request.get("template") or "")
    return _signed(hr), [f"Certificate not issued (Denied) {by}  0x{hr:08x}, {text}"]


def _write_cert(site: model.Site, host: str, winpath: str, pem: str) -> bool:
    try:
        path = site.host_path(host, winpath, create_parents=True)
    except model.LabError:
        return False
    with model.flock(os.path.join(site.host_dir(host), ".lock")):
        model.atomic_write(path, pem.encode("ascii"), 0o644)
    return True


def _issue(site: model.Site, ca: pki.CA, request: Dict[str, Any]) -> None:
    csr = pki.load_csr(request["csr"].encode("ascii"))
    cn = pki.common_names(csr.subject)[0]
    try:
        names = list(
            csr.extensions.get_extension_for_class(pki.x509.SubjectAlternativeName).value.get_values_for_type(
                pki.x509.DNSName
            )
        )
    except pki.x509.ExtensionNotFound:
        names = [cn]
    cert = pki.issue_certificate(ca, csr.public_key(), cn, names, (), days=ISSUED_DAYS, clamp_to_ca=True)
    request.update(status="issued", cert=pki.cert_pem(cert), resolved=time.time())


def _submit(site: model.Site, host: str, parsed: Dict[str, Any]) -> Tuple[int, str]:
    csr_path, cer_path = parsed["files"]
    if not _config_ok(site, parsed["config"]):
        return _error("rpc")
    data = site.read_host_file(host, csr_path)
    if data is None:
        return _error("file_not_found", csr_path)
    try:
        csr_text = data.decode("ascii")
        pki.load_csr(csr_text.encode("ascii"))
    except (UnicodeDecodeError, pki.PkiError, ValueError):
        return _error("invalid_data", csr_path)
    template = _template(parsed["attrib"])
    templates = {k.lower(): v for k, v in (site.settings.get("adcs_templates") or {}).items()}
    ca = ensure_ca(site)
    with model.flock(os.path.join(folder(site), ".lock")):
        db = _load_db(site)
        request_id = int(db["next_id"])
        db["next_id"] = request_id + 1
        request = {"host": host, "template": template, "csr": csr_text, "submitted": time.time()}
        kind = templates.get((template or "").lower())
        if kind is None:
            request.update(status="denied", denial="unsupported_template")
        elif kind == "deny":
            request.update(status="denied", denial="template_denied")
        elif site.settings.get("adcs_pending_approval"):
            request.update(status="pending")
        else:
            _issue(site, ca, request)
        db["requests"][str(request_id)] = request
        _save_db(site, db)
    site.emit(host, "adcs_request", request_id=request_id, template=template, status=request["status"])
    rc, lines = _disposition_lines(request)
    if request["status"] == "issued":
        _write_cert(site, host, cer_path, request["cert"])
    return _out(rc, f"RequestId: {request_id}", f'RequestId: "{request_id}"', *lines)


def _retrieve(site: model.Site, host: str, parsed: Dict[str, Any], request_id: int) -> Tuple[int, str]:
    if not _config_ok(site, parsed["config"]):
        return _error("rpc")
    request = (_load_db(site)["requests"]).get(str(request_id))
    if request is None:
        hr = 0x80094004  # CERTSRV_E_PROPERTY_EMPTY: no such request in the CA database
        return _out(
            _signed(hr),
            f"Certificate Request Processor: The requested property value is empty. 0x{hr:08x} "
            "(-2146877436 CERTSRV_E_PROPERTY_EMPTY)",
        )
    rc, lines = _disposition_lines(request)
    if request["status"] == "issued":
        _write_cert(site, host, parsed["files"][1], request["cert"])
    return _out(rc, *lines)


def resolve(site: model.Site, host: str, approve: bool = True) -> Dict[str, Any]:
    """A CA manager issues (or denies) every request of ``host`` that waits. Returns {changed, detail}."""
    ca = ensure_ca(site)
    done = []
    with model.flock(os.path.join(folder(site), ".lock")):
        db = _load_db(site)
        for request_id, request in db["requests"].items():
            if request.get("host") == host and request["status"] == "pending":
                if approve:
                    _issue(site, ca, request)
                else:
                    request.update(status="denied", denial="admin_denied", resolved=time.time())
                done.append(int(request_id))
        if done:
            _save_db(site, db)
    verb = "issued" if approve else "denied"
    return {"changed": bool(done), "detail": f"requests {verb}: {done}" if done else "no request waits"}


def requests(site: model.Site) -> Dict[str, Dict[str, Any]]:
    """The CA database (RequestId -> host, template, status), for tests and docs."""
    return _load_db(site)["requests"]
