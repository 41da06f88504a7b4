"""Hosts, probes and a CA of a small site, as a run registers them, for the site report's tests."""

from __future__ import annotations

import datetime as dt
import json
import pathlib

from ansible_collections.xprotect.encryption.plugins.module_utils import site_report

SCHEMA = json.loads((pathlib.Path(site_report.__file__).with_name("report_schema.json")).read_text(encoding="utf-8"))
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)
T = {"warn_days": 30, "fail_days": 14, "renew_before": 30}
TP = {h: (c * 40) for h, c in (("ms", "A"), ("rs1", "B"), ("rs2", "C"), ("fo1", "D"), ("mob", "E"), ("new", "F"))}
KEYS = {
    "certificate": "cert",
    "state": "state",
    "trust": "trust",
    "key_access": ["cert"],
    "changes": ["xprotect_certificate", "xprotect_encryption"],
}


def _hv(groups, days=400, tls=True, **extra):
    host = extra.pop("host")
    out = {"group_names": groups, "xprotect_fqdn": host}
    if any(g != "xprotect_clients" for g in groups):
        end = (NOW + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
        out["cert"] = {"thumbprint": TP[host], "not_after": end, "names": [host], "key_readers": ["NETWORK SERVICE"]}
        out["state"] = {"groups": {"Server certificate": "enabled" if tls else "disabled"}}
    out.update(extra)
    return out


def _probe(host, port, tls=True, verified=True, reachable=True, days=400):
    end = (NOW + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "label": host,
        "host": "127.0.0.1",
        "port": port,
        "reachable": reachable,
        "tls": tls and reachable,
        "verified": verified and tls and reachable,
        "tls_version": "TLSv1.3" if tls else None,
        "thumbprint": TP[host] if tls and reachable else None,
        "not_after": end if tls else None,
        "days_left": days if tls else None,
        "chain": [{"issuer": "CN=Site CA", "not_before": "2026-01-01T00:00:00Z"}] if tls and reachable else [],
        "error": None if reachable else "connection refused",
    }


def _site(**over):
    hv = {
        "ms": _hv(["xprotect_management_servers"], host="ms"),
        "rs1": _hv(["xprotect_recording_servers"], host="rs1"),
        "rs2": _hv(["xprotect_recording_servers"], host="rs2", days=10),
        "fo1": _hv(["xprotect_failover_servers"], host="fo1", days=20),
        "mob": _hv(["xprotect_mobile_servers"], host="mob"),
        "cl1": _hv(["xprotect_clients"], host="cl1", trust={"changed": False, "reasons": []}),
        "cl2": _hv(["xprotect_clients"], host="cl2", trust={"changed": True, "reasons": ["CA missing from Root"]}),
        "cl3": _hv(["xprotect_clients"], host="cl3", trust={"unreachable": True, "msg": "timed out"}),
    }
    hv.update(over)
    return hv


PROBES = [
    _probe("ms", 443),
    _probe("rs1", 7563),
    _probe("rs2", 7563, days=10),
    _probe("fo1", 7563, days=20),
    _probe("mob", 8082),
    _probe("mob", 8081, tls=False),
]
CA = {
    "subject": "CN=Site CA",
    "thumbprint": "9" * 40,
    "not_before": "2026-01-01T00:00:00Z",
    "not_after": "2036-01-01T00:00:00Z",
}


def _report(hv=None, probes=None, status=None, drift=(), ca="site CA"):
    """The report of ``hv`` (default the small site); ``ca=None`` is a run without a CA."""
    hv = hv or _site()
    probes = PROBES if probes is None else probes
    ca = CA if ca == "site CA" else ca
    records = site_report.host_records(list(hv), hv, KEYS)
    return site_report.build(records, probes, ca, status, drift, "site.yml", False, T, NOW)
