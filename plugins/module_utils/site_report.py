# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The site report (report.json): pure functions from what a run read to one document.

Nothing here reads a host or a file. ``host_records`` selects, per host, the results a
playbook registered (``hostvars``); ``build`` joins them with the TLS probes of the run, the
CA and, when there is one, a connectivity status (the lab's status.json) into the report;
``expiry_watch`` is the verdict of the expiry thresholds; ``summary`` and ``console_lines`` are
what set_stats and the console show. "Connected" is never derived from the encryption state:
it comes from the status (``source: status``) or from the probes (``source: probe``).
The JSON Schema of the document is ``report_schema.json`` beside this file.
"""

from __future__ import annotations

import datetime as _dt
import os.path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ansible_collections.xprotect.encryption.plugins.module_utils import hoststate
from ansible_collections.xprotect.encryption.plugins.module_utils._text import clean_thumbprint

SCHEMA_VERSION = 1
SERVER_ROLES = ("management", "recording", "failover", "mobile", "event")
VERDICTS = ("ok", "warn", "fail")


def _roles(hv: Mapping) -> List[str]:
    return hoststate.roles_from_groups(hv.get("group_names", []), hv.get("xprotect_roles"))


def _mapping(value: Any) -> Optional[Mapping]:
    return value if isinstance(value, Mapping) else None


def _registered(hv: Mapping, name: str) -> Optional[Mapping]:
    """The result a host registered under ``name``; ``name.key`` is the result in that key of
    it (``xprotect_pf.certificate``: one read of xprotect.encryption.preflight)."""
    first, *rest = name.split(".")
    value = _mapping(hv.get(first))
    for key in rest:
        value = _mapping(value.get(key)) if value else None
    return value


def _reason(result: Mapping) -> str:
    msg = result.get("msg")
    if isinstance(msg, (list, tuple)):
        msg = "; ".join(map(str, msg))
    return str(msg or "").strip().splitlines()[0] if str(msg or "").strip() else "failed without a message"


def host_records(hosts: Sequence[str], hostvars: Mapping, keys: Mapping[str, Any]) -> List[dict]:
    """Per host, the plain data the report needs from its registered results.

    ``keys`` names them: ``certificate`` and ``state`` (the final or audit reading of the
    server certificate and the encryption), ``trust`` (the Root store reading of a client),
    ``changes`` (a list: results whose ``changed`` is this run's change), ``key_access`` (a list:
    server_certificate results that verified the private key's readers, the first one found).
    A name ``result.key`` is the result in that key of a registered result.
    """
    records = []
    for host in hosts:
        hv = hostvars.get(host) or {}
        record = {"host": host, "roles": _roles(hv), "fqdn": hv.get("xprotect_fqdn") or host}
        for what in ("certificate", "state", "trust"):
            name = keys.get(what)
            record[what] = dict(_registered(hv, name) or {}) if name else {}
        # Key access: the first of these results that verified it (key_readers).
        record["key_access"] = {}
        for name in keys.get("key_access") or ():
            result = _registered(hv, name) or {}
            if result.get("key_readers") is not None:
                record["key_access"] = {"readers": list(result["key_readers"]), "reasons": result.get("reasons") or []}
                break
        record["changes"] = {}
        for name in keys.get("changes") or ():
            result = _registered(hv, name)
            if result and result.get("changed") and not result.get("failed"):
                record["changes"][name] = dict(result)
        records.append(record)
    return records


def parse_time(text: Any) -> Optional[_dt.datetime]:
    if not text:
        return None
    try:
        value = _dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)


def days_left(not_after: Any, now: _dt.datetime) -> Optional[int]:
    end = parse_time(not_after)
    return None if end is None else int((end - now).total_seconds() // 86400)


def expiry_verdict(days: Optional[int], warn_days: int, fail_days: int) -> Optional[str]:
    """ok, warn (within ``warn_days``) or fail (within ``fail_days``, or expired); None when unknown."""
    if days is None:
        return None
    if days <= fail_days:
        return "fail"
    if days <= warn_days:
        return "warn"
    return "ok"


def _date(text: Any) -> Optional[str]:
    when = parse_time(text)
    return when.strftime("%Y-%m-%d") if when else None


def _probe_summary(probe: Mapping) -> dict:
    leaf = (probe.get("chain") or [{}])[0] or {}
    return {
        "port": probe.get("port"),
        "reachable": bool(probe.get("reachable")),
        "tls": bool(probe.get("tls")),
        "protocol": probe.get("tls_version"),
        "chain_verified": bool(probe.get("verified")) if probe.get("tls") else None,
        "verify_error": probe.get("verify_error") or None,
        "thumbprint": clean_thumbprint(probe["thumbprint"]) if probe.get("thumbprint") else None,
        "issuer": leaf.get("issuer"),
        "not_before": leaf.get("not_before"),
        "not_after": probe.get("not_after"),
        "days_left": probe.get("days_left"),
        "error": probe.get("error") or None,
    }


def measured_state(endpoints: Sequence[Mapping]) -> str:
    """The host's state from its probed endpoints: unknown (none probed), unreachable (none
    answered), broken (a handshake whose certificate did not verify), encrypted, or plain."""
    if not endpoints:
        return "unknown"
    answered = [e for e in endpoints if e["reachable"]]
    if not answered:
        return "unreachable"
    if any(e["tls"] and not e["chain_verified"] for e in answered):
        return "broken"
    if any(e["tls"] for e in answered):
        return "encrypted"
    return "plain"


def _groups(state: Mapping) -> Dict[str, str]:
    groups = state.get("groups") or {}
    return {str(k): str(v) for k, v in groups.items()} if isinstance(groups, Mapping) else {}


def _connected(record: Mapping, state: str, mgmt_state: Optional[str], status_host: Optional[Mapping]) -> dict:
    """Measured, never derived: the status file's link, else what the probes saw of both ends."""
    if "recording" not in record["roles"] and "failover" not in record["roles"]:
        return {"value": None, "source": None}
    if status_host is not None and status_host.get("connected") is not None:
        return {"value": bool(status_host["connected"]), "source": "status"}
    if state in ("unknown",) or mgmt_state in (None, "unknown"):
        return {"value": None, "source": None}
    ok = state in ("encrypted", "plain") and state == mgmt_state
    return {"value": ok, "source": "probe"}


def _edge(state: str, connected: Optional[bool]) -> str:
    if connected is False or state in ("broken", "unreachable"):
        return "broken"
    if state == "encrypted":
        return "encrypted"
    if state == "plain":
        return "plain"
    return "unknown"


def _cert_block(cert: Mapping, probes: Sequence[dict], now, warn_days, fail_days) -> Optional[dict]:
    thumbprint = clean_thumbprint(cert["thumbprint"]) if cert.get("thumbprint") else None
    served = next((p for p in probes if p["thumbprint"] and p["thumbprint"] == thumbprint), None)
    served = served or next((p for p in probes if p["thumbprint"]), None)
    if not thumbprint and not served:
        return None
    not_after = cert.get("not_after") or (served or {}).get("not_after")
    days = days_left(not_after, now)
    return {
        "thumbprint": thumbprint or served["thumbprint"],
        "issuer": (served or {}).get("issuer") if served and served["thumbprint"] == thumbprint else None,
        "names": list(cert.get("names") or []),
        "not_before": (served or {}).get("not_before") if served and served["thumbprint"] == thumbprint else None,
        "not_after": not_after,
        "expiry_date": _date(not_after),
        "days_left": days,
        "expiry": expiry_verdict(days, warn_days, fail_days),
    }


def _key_problem(access: Mapping) -> bool:
    return any("private key" in str(r) for r in access.get("reasons") or [])


def _changes(record: Mapping) -> List[dict]:
    out = []
    for name, result in record["changes"].items():
        if "thumbprint" in result and "names" in result:
            old = result.get("previous") or {}
            if old.get("thumbprint") == result.get("thumbprint"):
                what = "key access"
            else:
                what = "renewed" if old.get("thumbprint") else "issued"
            out.append(
                {
                    "host": record["host"],
                    "what": what,
                    "old_thumbprint": old.get("thumbprint"),
                    "old_not_after": old.get("not_after"),
                    "new_thumbprint": result.get("thumbprint"),
                    "new_not_after": result.get("not_after"),
                    "reasons": [str(r) for r in result.get("reasons") or []],
                }
            )
        else:
            label = {"xprotect_trust": "CA trust", "xprotect_encryption": "encryption"}.get(name, name)
            out.append(
                {
                    "host": record["host"],
                    "what": label,
                    "reasons": [str(r) for r in result.get("reasons") or []] or ["changed"],
                }
            )
    return out


def _client(record: Mapping, status_host: Optional[Mapping]) -> dict:
    trust = record["trust"]
    video = dict(status_host.get("video") or {}) if status_host and status_host.get("video") is not None else None
    entry = {"host": record["host"], "ca_trusted": None, "unreachable": False, "error": None, "video": video}
    if trust.get("unreachable"):
        entry.update(unreachable=True, error=_reason(trust))
    elif trust.get("failed"):
        entry["error"] = _reason(trust)
    elif "ca_trusted" in trust:
        entry["ca_trusted"] = bool(trust["ca_trusted"])
    elif trust and not trust.get("skipped"):
        # trusted_ca read in check mode: it would add the CA when Root lacks it (module_utils/trust.py).
        entry["ca_trusted"] = not any("CA missing from Root" in str(r) for r in trust.get("reasons") or [])
    return entry


def build(  # noqa: PLR0913, PLR0917
    records: Sequence[Mapping],
    probes: Sequence[Mapping],
    ca: Optional[Mapping],
    status: Optional[Mapping],
    drift: Sequence[Mapping],
    playbook: str,
    check_mode: bool,
    thresholds: Mapping[str, int],
    now: _dt.datetime,
) -> dict:
    """The report document (schema_version 1; report_schema.json)."""
    warn_days, fail_days = int(thresholds["warn_days"]), int(thresholds["fail_days"])
    status_hosts = (status or {}).get("hosts") or {}
    by_label: Dict[str, List[dict]] = {}
    for probe in probes or ():
        by_label.setdefault(str(probe.get("label") or probe.get("server_name")), []).append(_probe_summary(probe))
    servers, clients, changes, unchecked = [], [], [], []
    mgmt_state, mgmt_name = None, None
    for record in records:
        if "management" in record["roles"]:
            mgmt_name = record["host"]
            mgmt_state = measured_state(by_label.get(record["host"], []))
    for record in records:
        changes += _changes(record)
        status_host = status_hosts.get(record["host"]) if status_hosts else None
        if status_host is not None and status_host.get("reachable") is False:
            unchecked.append({"host": record["host"], "reason": "unreachable (connectivity status)"})
        if not any(r in SERVER_ROLES for r in record["roles"]):
            clients.append(_client(record, status_host))
            if clients[-1]["unreachable"] or clients[-1]["error"]:
                unchecked.append({"host": record["host"], "reason": f"CA trust: {clients[-1]['error']}"})
            continue
        endpoints = by_label.get(record["host"], [])
        state = measured_state(endpoints)
        connected = _connected(record, state, mgmt_state, status_host)
        cert = record["certificate"]
        for what, result in (("certificate", cert), ("encryption", record["state"])):
            if result.get("unreachable") or result.get("failed"):
                unchecked.append({"host": record["host"], "reason": f"{what}: {_reason(result)}"})
        access = record.get("key_access") or {}
        readers = access.get("readers")
        servers.append(
            {
                "host": record["host"],
                "fqdn": record["fqdn"],
                "roles": list(record["roles"]),
                "groups": _groups(record["state"]),
                "certificate": _cert_block(cert, endpoints, now, warn_days, fail_days),
                "key_access": {
                    "readers": list(readers) if readers is not None else None,
                    "ok": None if readers is None else not _key_problem(access),
                },
                "endpoints": endpoints,
                "state": state,
                "connected": connected,
                "edge": _edge(state, connected["value"]),
            }
        )
    ca_block = None
    if ca:
        days = days_left(ca.get("not_after"), now)
        ca_block = dict(ca, expiry_date=_date(ca.get("not_after")), days_left=days)
        ca_block["expiry"] = expiry_verdict(days, warn_days, fail_days)
    report = {
        "schema_version": SCHEMA_VERSION,
        "generated": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "playbook": playbook,
        "check_mode": bool(check_mode),
        "thresholds": {k: int(v) for k, v in thresholds.items()},
        "site": {"management_server": mgmt_name, "ca": ca_block},
        "servers": servers,
        "clients": clients,
        "drift": [
            {"host": str(r.get("host")), "drift": str(r.get("drift")), "checked": bool(r.get("checked", True))}
            for r in drift or ()
        ],
        "changes": changes,
        "unchecked": unchecked,
    }
    report["expiry_watch"] = expiry_watch(report)
    report["summary"] = summary(report)
    return report


def expiry_watch(report: Mapping) -> dict:
    """Which certificates are within the warn and fail thresholds, and the verdict of the run."""
    found = {"warn": [], "fail": []}
    items = [("CA", report["site"].get("ca") or {})]
    items += [(s["host"], s.get("certificate") or {}) for s in report["servers"]]
    for who, cert in items:
        if cert.get("expiry") in found:
            found[cert["expiry"]].append(
                {
                    "host": who,
                    "thumbprint": cert.get("thumbprint"),
                    "expiry_date": cert.get("expiry_date"),
                    "days_left": cert.get("days_left"),
                }
            )
    verdict = "fail" if found["fail"] else "warn" if found["warn"] else "ok"
    t = report["thresholds"]
    words = {
        "ok": f"no certificate expires within {t['warn_days']} days",
        "warn": "expiring within {} days (xprotect_expiry_warn_days): {}".format(
            t["warn_days"], ", ".join(f"{i['host']} on {i['expiry_date']}" for i in found["warn"])
        ),
        "fail": "expiring within {} days (xprotect_expiry_fail_days): {}".format(
            t["fail_days"], ", ".join(f"{i['host']} on {i['expiry_date']}" for i in found["fail"])
        ),
    }
    message = words[verdict]
    if verdict == "fail" and found["warn"]:
        message += "; " + words["warn"]
    if verdict != "ok":
        message += ". Run playbooks/renew.yml (a CA near its end: renew it with the ca role, docs/runbook.md)."
    return {"verdict": verdict, "warn": found["warn"], "fail": found["fail"], "message": message}


def summary(report: Mapping) -> dict:
    """The few numbers a workflow or a notification needs (set_stats)."""
    servers = report["servers"]
    count = {s: sum(1 for x in servers if x["state"] == s) for s in ("encrypted", "plain", "broken", "unreachable")}
    expiries = [(s.get("certificate") or {}).get("expiry_date") for s in servers]
    expiries = [e for e in expiries if e]
    ca = report["site"].get("ca") or {}
    return {
        "servers": len(servers),
        "clients": len(report["clients"]),
        **count,
        "disconnected": sorted(s["host"] for s in servers if s["connected"]["value"] is False),
        "clients_without_ca": sorted(c["host"] for c in report["clients"] if c["ca_trusted"] is False),
        "drift_hosts": sorted({d["host"] for d in report["drift"] if d["checked"]}),
        "unchecked_hosts": sorted({u["host"] for u in report["unchecked"]}),
        "changed_hosts": sorted({c["host"] for c in report["changes"]}),
        "renewed": [c for c in report["changes"] if c["what"] in ("renewed", "issued")],
        "earliest_expiry": min(expiries) if expiries else None,
        "ca_expiry": ca.get("expiry_date"),
        "expiry_verdict": report["expiry_watch"]["verdict"],
    }


def console_lines(report: Mapping, paths: Mapping[str, str]) -> List[str]:
    """The console's summary: the CA line, one line per server with its expiry date, the clients."""
    lines = []
    ca = report["site"].get("ca")
    if ca:
        lines.append(
            f"CA {ca.get('subject')} {ca.get('thumbprint')}: expires {ca.get('expiry_date')} "
            f"({ca.get('days_left')} days, {ca.get('expiry')})"
        )
    else:
        lines.append("CA: not read in this run")
    rows = []
    for s in report["servers"]:
        cert = s.get("certificate") or {}
        rows.append(
            (
                s["host"],
                ",".join(s["roles"]),
                s["state"],
                {True: "yes", False: "NO", None: "-"}[s["connected"]["value"]],
                cert.get("thumbprint") or "-",
                cert.get("expiry_date") or "-",
                "-" if cert.get("days_left") is None else str(cert["days_left"]),
                cert.get("expiry") or "-",
            )
        )
    head = ("host", "role", "measured", "connected", "thumbprint", "expires", "days", "watch")
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    for row in [head] + rows:
        lines.append("  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip())
    trusted = [c["host"] for c in report["clients"] if c["ca_trusted"]]
    missing = [c["host"] for c in report["clients"] if c["ca_trusted"] is False]
    other = [c["host"] for c in report["clients"] if c["ca_trusted"] is None]
    lines.append(
        f"Clients: {len(trusted)} trust the CA"
        + (f"; without the CA: {', '.join(missing)}" if missing else "")
        + (f"; unreachable or not read: {', '.join(other)}" if other else "")
    )
    issued = [c["host"] for c in report["changes"] if c["what"] == "issued"]
    if issued:
        # A first rollout issues one per server: a count, the hosts are in the report.
        lines.append(
            f"Issued {len(issued)} certificates (no certificate before): {', '.join(issued[:5])}"
            + (f" and {len(issued) - 5} more" if len(issued) > 5 else "")
        )
    for c in report["changes"]:
        if c["what"] == "renewed":
            lines.append(
                f"{c['what'].capitalize()} {c['host']}: {c.get('old_thumbprint') or '-'} "
                f"(expiry {_date(c.get('old_not_after')) or '-'}) -> {c['new_thumbprint']} "
                f"(expiry {_date(c.get('new_not_after'))})"
            )
    lines.append(f"Expiry watch: {report['expiry_watch']['verdict']}: {report['expiry_watch']['message']}")
    lines += [f"Report: {p}" for p in paths.values()]
    return lines


def default_dir(env: Mapping[str, str], inventory_sources: Sequence[str], playbook_dir: str) -> str:
    """Where the report goes when xprotect_report_dir is not set: the job's artifacts under
    ansible-runner / AWX (AWX_ISOLATED_DATA_DIR is the runner's artifact_dir), else beside the
    first inventory source, else beside the playbook."""
    if env.get("AWX_ISOLATED_DATA_DIR"):
        return env["AWX_ISOLATED_DATA_DIR"]
    if env.get("AWX_PRIVATE_DATA_DIR"):
        return os.path.join(env["AWX_PRIVATE_DATA_DIR"], "artifacts")
    for source in inventory_sources or ():
        if source and "," not in source:
            base = source if os.path.isdir(source) else os.path.dirname(source)
            return os.path.join(base, "xprotect-report")
    return os.path.join(playbook_dir, "xprotect-report")
