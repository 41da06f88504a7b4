# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The site_report action's work on the controller: read the CA certificate and the
connectivity status, build the report (module_utils/site_report.py), render the HTML
(report_html.py) and write both files atomically."""

from __future__ import annotations

import datetime as _dt
import json
import os
from typing import Mapping, Optional

from ansible_collections.xprotect.encryption.plugins.module_utils import fileutil, pki, site_report
from ansible_collections.xprotect.encryption.plugins.plugin_utils import report_html

# The report holds no secret; these markers must never reach it (checked before writing).
_SECRET_MARKERS = ("PRIVATE" + " KEY-----", 'passphrase":', 'password":')


class ReportError(Exception):
    """A bad option or an unwritable destination; the message names the option."""


def read_ca(ca: Optional[Mapping]) -> Optional[dict]:
    """Subject, thumbprint and validity of the site CA (``ca.cert_content``, else ``ca.path``/ca.crt);
    None when there is none yet (an audit before the first rollout)."""
    ca = ca or {}
    pem = ca.get("cert_content")
    if not pem and ca.get("path"):
        path = os.path.join(ca["path"], "ca.crt")
        if not os.path.isfile(path):
            return None
        with open(path, "rb") as handle:
            pem = handle.read()
    if not pem:
        return None
    from cryptography import x509  # here: the collection's other controller code loads it the same way

    try:
        cert = x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)
    except ValueError as error:
        option = "ca.cert_content" if ca.get("cert_content") else "ca.path"
        raise ReportError(f"{option}: the CA certificate is not PEM ({error}).")
    return {
        "subject": cert.subject.rfc4514_string(),
        "thumbprint": pki.thumbprint(cert),
        "not_before": cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "not_after": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def read_status(path: Optional[str]) -> Optional[dict]:
    """A connectivity status file (the lab's status.json shape: ``hosts.<name>.connected``)."""
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as error:
        raise ReportError(f"status_file: cannot read {path} ({error}). Give a connectivity status JSON, or unset it.")
    if not isinstance(data, dict) or not isinstance(data.get("hosts"), dict):
        raise ReportError(f"status_file: {path} has no 'hosts' mapping; it is not a connectivity status file.")
    return data


def write(args: Mapping, env: Mapping[str, str], now: Optional[_dt.datetime] = None) -> dict:
    now = now or _dt.datetime.now(_dt.timezone.utc)
    thresholds = {k: int(args[k]) for k in ("warn_days", "fail_days", "renew_before")}
    if thresholds["fail_days"] > thresholds["warn_days"]:
        raise ReportError(
            f"fail_days ({thresholds['fail_days']}) is more than warn_days ({thresholds['warn_days']}): set "
            "xprotect_expiry_fail_days at most xprotect_expiry_warn_days."
        )
    report = site_report.build(
        args["records"],
        args["probes"],
        read_ca(args["ca"]),
        read_status(args["status_file"]),
        args["drift"],
        args["playbook"],
        args["check_mode"],
        thresholds,
        now,
    )
    dest = args["dest"] or site_report.default_dir(env, args["inventory_sources"], args["playbook_dir"] or ".")
    text = json.dumps(report, indent=1, sort_keys=True)
    html = report_html.render(report, now)
    for marker in _SECRET_MARKERS:
        if marker in text or marker in html:
            raise ReportError(f"the report would contain {marker!r}; nothing was written (a bug: report it).")
    try:
        os.makedirs(dest, exist_ok=True)
        paths = {"json": os.path.join(dest, "report.json"), "html": os.path.join(dest, "report.html")}
        fileutil.atomic_write(paths["json"], text.encode() + b"\n", 0o644)
        fileutil.atomic_write(paths["html"], html.encode(), 0o644)
    except OSError as error:
        raise ReportError(f"dest: cannot write the report under {dest} ({error}). Set xprotect_report_dir.")
    return {
        "paths": paths,
        "summary": report["summary"],
        "expiry_watch": report["expiry_watch"],
        "lines": site_report.console_lines(report, paths),
        "html_bytes": len(html.encode()),
    }
