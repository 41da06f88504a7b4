# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions behind the playbooks' gates and tables.

The playbooks only select data (hostvars of the hosts of a phase) and hand it here; every
rule of a gate (what blocks a rollout, which endpoint must serve what) is decided in Python
and unit-tested.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.xprotect.encryption.plugins.module_utils import hoststate
from ansible_collections.xprotect.encryption.plugins.module_utils._text import clean_thumbprint

# Default ports [H] (7563 TLS [L]); a host may override them with xprotect_tls_endpoints.
ROLE_ENDPOINTS = {
    "management": (("management https", 443),),
    "recording": (("image server", 7563), ("recording web api", 9001)),
    # A failover recording server runs the recording server's services (the lab serves them too).
    "failover": (("image server", 7563), ("recording web api", 9001)),
    "mobile": (("mobile https", 8082),),
}
# Where the same services answer in plain text once encryption is off.
PLAIN_ENDPOINTS = {
    "management": (("management http", 80),),
    "recording": (("image server", 7563), ("recording web api", 9001)),
    "failover": (("image server", 7563), ("recording web api", 9001)),
    "mobile": (("mobile http", 8081),),
}


def host_roles(hostvars: Mapping) -> List[str]:
    return hoststate.roles_from_groups(hostvars.get("group_names", []), hostvars.get("xprotect_roles"))


def tls_endpoints(hosts: Iterable[str], hostvars: Mapping, tls: bool = True) -> List[dict]:
    """The endpoints the hosts serve, encrypted (``tls``) or not, for xprotect.encryption.tls_probe."""
    table_ = ROLE_ENDPOINTS if tls else PLAIN_ENDPOINTS
    endpoints = []
    for host in hosts:
        hv = hostvars[host]
        fqdn = hv.get("xprotect_fqdn") or host
        address = hv.get("ansible_host") or fqdn
        offset = int(hv.get("xprotect_port_offset") or 0)
        if hv.get("xprotect_tls_endpoints"):
            for ep in hv["xprotect_tls_endpoints"]:
                endpoints.append(dict({"host": address, "server_name": fqdn, "label": host}, **ep))
            continue
        roles = host_roles(hv)
        if "management" in roles and "recording" in roles:
            roles = [r for r in roles if r != "management"] + ["management"]
        if tls and "mobile" in roles and hv.get("xprotect_mobile_encryption", True) is False:
            roles = [r for r in roles if r != "mobile"]
        seen = set()
        for role in roles:
            for _name, port in table_.get(role, ()):
                if port in seen:
                    continue
                seen.add(port)
                endpoints.append({"host": address, "port": port + offset, "server_name": fqdn, "label": host})
    return endpoints


def reach_endpoints(hosts: Iterable[str], hostvars: Mapping) -> List[dict]:
    """What the preflight probes: every endpoint a gate will probe after a switch, and where the
    same service answers before it, once each. Hosts with ``xprotect_tls_endpoints`` are left
    out: their endpoints may open only once encrypted."""
    hosts = [h for h in hosts if not hostvars[h].get("xprotect_tls_endpoints")]
    endpoints, seen = [], set()
    for ep in tls_endpoints(hosts, hostvars, True) + tls_endpoints(hosts, hostvars, False):
        if (ep["label"], ep["port"]) not in seen:
            seen.add((ep["label"], ep["port"]))
            endpoints.append(ep)
    return endpoints


def unreachable_endpoints(hosts: Iterable[str], hostvars: Mapping, probes: Sequence[Mapping]) -> Dict[str, List[str]]:
    """Per host, the services the controller reached on neither port, encrypted or plain, in the
    preflight's probes (``reach_endpoints``). A service none of whose ports was probed is left out."""
    by = {(p.get("label"), p.get("port")): p for p in probes}
    found: Dict[str, List[str]] = {}
    for host in hosts:
        hv = hostvars[host]
        if hv.get("xprotect_tls_endpoints"):
            continue
        offset = int(hv.get("xprotect_port_offset") or 0)
        for role in host_roles(hv):
            pairs = zip(ROLE_ENDPOINTS.get(role, ()), PLAIN_ENDPOINTS.get(role, ()))
            for (name, tls_port), (_plain, plain_port) in pairs:
                ports = sorted({tls_port + offset, plain_port + offset})
                results = {port: by[(host, port)] for port in ports if (host, port) in by}
                if not results or any(r.get("reachable") for r in results.values()):
                    continue
                why = "; ".join(f"{port}: {r.get('error') or 'no answer'}" for port, r in results.items())
                found.setdefault(host, []).append(
                    f"controller cannot reach the {name} on port {' or '.join(map(str, ports))} ({why}); the gate "
                    "after its switch makes a TLS handshake there from the controller"
                )
    return found


def probe_problems(probes: Sequence[Mapping], hostvars: Mapping, expect_tls: bool = True) -> List[str]:
    """What is wrong with the probed endpoints: not reachable, not TLS, untrusted, or another certificate."""
    problems = []
    for p in probes:
        host = p.get("label") or p.get("server_name") or p.get("host")
        where = f"{host} ({p.get('host')}:{p.get('port')})"
        if not p.get("reachable"):
            problems.append(f"{where}: unreachable ({p.get('error')})")
            continue
        if expect_tls and not p.get("tls"):
            problems.append(f"{where}: answers in plain text, not TLS")
            continue
        if not expect_tls:
            if p.get("tls"):
                problems.append(f"{where}: still serves TLS")
            continue
        if not p.get("verified"):
            problems.append(f"{where}: certificate not trusted ({p.get('verify_error')})")
        want = ((hostvars.get(host) or {}).get("xprotect_certificate") or {}).get("thumbprint")
        if want and p.get("thumbprint") and clean_thumbprint(p["thumbprint"]) != clean_thumbprint(want):
            problems.append(f"{where}: serves {p['thumbprint']}, expected {want}")
    return problems


def probe_gate(
    probes: Sequence[Mapping], hostvars: Mapping, expect_tls: bool = True, settle: Optional[Mapping] = None
) -> Dict[str, object]:
    """The TLS gate after a phase: ``ok``, the ``hosts`` whose endpoints failed, their
    ``problems`` (``probe_problems``) and one message that names those hosts first. ``settle``:
    the probe's own (tls_probe's ``settle``); the message then says how long it probed again,
    and what still did not answer as expected."""
    problems, hosts = [], []
    for p in probes or ():
        found = probe_problems([p], hostvars, expect_tls)
        if found:
            problems += found
            host = p.get("label") or p.get("server_name") or p.get("host")
            if host not in hosts:
                hosts.append(host)
    msg = ""
    if problems:
        msg = (
            f"TLS gate: the endpoints of {', '.join(map(str, hosts))} do not serve what this phase should leave: "
            + "; ".join(problems)
        )
        pending = list(dict.fromkeys((settle or {}).get("pending") or ()))
        if pending:
            msg += (
                f". Probed again for {round(float(settle.get('seconds') or 0))} s (xprotect_verify_settle_timeout), "
                f"{', '.join(map(str, pending))} still did not answer as expected."
            )
    return {"ok": not problems, "hosts": hosts, "problems": problems, "msg": msg}


def _result_findings(result: Optional[Mapping], what: str, changed_only: bool = True) -> List[str]:
    if not result:
        return []
    if result.get("unreachable"):
        return [f"host unreachable: {result.get('msg', '')}".strip()]
    if result.get("failed"):
        return [f"{what}: {result.get('msg', 'failed')}"]
    if result.get("skipped"):
        return []
    if changed_only and not result.get("changed"):
        return []
    return [f"{what}: {r}" for r in result.get("reasons", [])]


def preflight_findings(cert: Optional[Mapping], trust: Optional[Mapping], info: Optional[Mapping]) -> List[str]:
    """What is missing on one host before any switch, from the check-mode results of the stage.

    Every reason the certificate and trust checks give is a finding, whether or not the task
    reports "changed" (the preflight runs them with ``changed_when: false``): a certificate that
    is not valid for the host's names, not issued by the site's CA, without serverAuth or
    expiring within ``renew_before`` stops the rollout here, not after the switch.
    """
    findings: List[str] = []
    for result, what in ((cert, "certificate"), (trust, "trust")):
        for f in _result_findings(result, what, changed_only=False):
            if f not in findings:
                findings.append(f)
    if info and not info.get("skipped"):
        for f in _result_findings(info, "facts"):
            if f not in findings:
                findings.append(f)
        facts = info.get("xprotect") or {}
        sc = facts.get("server_configurator") or {}
        if facts and not sc.get("usable"):
            if sc.get("error"):
                findings.append(f"Server Configurator: {sc['error']}")
            elif not sc.get("path"):
                findings.append("Server Configurator: not found (no Milestone XProtect service)")
            elif not sc.get("version"):
                findings.append(f"Server Configurator: missing at {sc.get('path')}")
            else:
                findings.append(f"Server Configurator: version {sc.get('version')} is older than 20.3")
        if facts.get("encryption_error"):
            findings.append(f"encryption state: {facts['encryption_error']}")
        if facts.get("override"):
            findings.append(
                f"Server Configurator: the command line cannot switch this host ({facts['override']}); switch it in "
                "the Server Configurator GUI, or adjust xprotect_override_markers if this is a false match"
            )
    return findings


# Stage and preflight results that show whether a host answered in this run.
# xprotect_pf (xprotect.encryption.preflight) is unreachable when any of its reads was.
_STAGE_RESULTS = ("xprotect_trust", "xprotect_certificate", "xprotect_pf")


def was_unreachable(hv: Mapping) -> bool:
    """Whether the host did not answer in the stage or the preflight of this run."""
    for key in _STAGE_RESULTS:
        result = hv.get(key)
        if isinstance(result, Mapping) and result.get("unreachable"):
            return True
    return any(str(f).startswith("host unreachable") for f in hv.get("xprotect_preflight") or ())


def unreachable_recording(hosts: Iterable[str], hostvars: Mapping) -> List[str]:
    """The recording servers among ``hosts`` (not a management server) that did not answer."""
    out = []
    for host in hosts:
        hv = hostvars.get(host) or {}
        roles = host_roles(hv)
        if "recording" in roles and "management" not in roles and was_unreachable(hv):
            out.append(host)
    return out


def preflight_gate(
    hostvars: Mapping,
    servers: Sequence[str],
    clients: Sequence[str],
    clients_must_trust: str = "all",
    probes: Optional[Sequence[Mapping]] = None,
    *,
    unreachable_recording_servers: str = "block",
) -> Dict[str, object]:
    """Blocking findings, deferred clients and a table, from each host's ``xprotect_preflight``
    and, when given, the preflight's probes of the servers' endpoints (``reach_endpoints``).

    Recording servers that did not answer block the rollout, unless
    ``unreachable_recording_servers`` is ``continue``: they are then listed under ``left``, and
    the run switches the others (they stay disconnected from the management server until a
    later run switches them)."""
    if clients_must_trust not in ("all", "reachable"):
        raise ValueError("xprotect_clients_must_trust must be 'all' or 'reachable'")
    if unreachable_recording_servers not in ("block", "continue"):
        raise ValueError(
            f"xprotect_unreachable_recording_servers: {unreachable_recording_servers!r} is not allowed; use one of: "
            "block, continue."
        )
    unreachable = unreachable_endpoints(servers, hostvars, probes) if probes else {}
    gone = set(unreachable_recording(servers, hostvars))
    rows, blocking, deferred, left = [], [], [], []
    for host in list(servers) + [c for c in clients if c not in servers]:
        hv = hostvars.get(host) or {}
        findings = hv.get("xprotect_preflight")
        if findings is None:
            findings = [
                "not checked: the host failed or was unreachable in the stage phase, or --limit left it out "
                "(the gate needs every server checked in the same run)"
            ]
        is_client = host not in servers
        offline = any(f.startswith("host unreachable") or f.startswith("not checked") for f in findings)
        if not offline:
            findings = list(findings) + unreachable.get(host, [])
        for f in findings:
            rows.append({"host": host, "kind": "client" if is_client else "server", "missing": f})
        if not findings:
            continue
        if is_client and offline and clients_must_trust == "reachable":
            deferred.append(host)
        elif host in gone and unreachable_recording_servers == "continue":
            left.append(host)
        else:
            blocking.append(host)
            if host in gone:
                rows.append(
                    {
                        "host": host,
                        "kind": "server",
                        "missing": "unreachable recording server: fix it, or set "
                        "xprotect_unreachable_recording_servers=continue to switch the others and leave it "
                        "disconnected until a later run",
                    }
                )
    return {
        "ok": not blocking,
        "blocking": blocking,
        "deferred": deferred,
        "left": left,
        "table": table(rows, ["host", "kind", "missing"]) if rows else "every host is ready",
    }


def table(rows: Sequence[Mapping], columns: Sequence[str]) -> str:
    """A plain text table; fits a terminal and an AWX job log alike."""
    cells = [[str(c) for c in columns]] + [["" if r.get(c) is None else str(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summary_rows(hosts: Sequence[str], hostvars: Mapping) -> List[dict]:
    """One row per host for the final table: role, groups encrypted, thumbprint, expiry, connected."""
    mgmt_state = None
    for host in hosts:
        hv = hostvars.get(host) or {}
        if "management" in host_roles(hv):
            mgmt_state = _server_group(hv)
    rows = []
    for host in hosts:
        hv = hostvars.get(host) or {}
        roles = host_roles(hv)
        enc = (hv.get("xprotect_final_state") or {}).get("groups") or {}
        cert = hv.get("xprotect_final_cert") or {}
        connected = "-"
        if ("recording" in roles or "failover" in roles) and "management" not in roles and mgmt_state is not None:
            connected = "yes" if _server_group(hv) == mgmt_state else "NO"
        rows.append(
            {
                "host": host,
                "role": ",".join(roles),
                "groups encrypted": ", ".join(sorted(g for g, s in enc.items() if str(s).startswith("enabled")))
                or "none",
                "thumbprint": cert.get("thumbprint") or "-",
                "days to expiry": cert.get("days_left") if cert.get("days_left") is not None else "-",
                "connected": connected,
            }
        )
    return rows


def _server_group(hv: Mapping) -> Optional[bool]:
    enc = (hv.get("xprotect_final_state") or {}).get("groups") or {}
    for name, state in enc.items():
        if name.lower().startswith("server"):
            return str(state).startswith("enabled")
    return None


UNCHECKED = "could not check"


def _check_outcome(result: Optional[Mapping], what: str) -> Tuple[List[str], List[str]]:
    """(drift, could-not-check) of one audit check's registered result.

    A failed or unreachable check is never read as "no drift": its reason becomes a
    could-not-check finding. The audit registers its checks with ``ignore_errors``, so a
    module failure keeps ``failed: true``. A result that says it would change something but
    gives no reason is drift all the same.
    """
    if not isinstance(result, Mapping):
        return [], []
    if result.get("unreachable"):
        return [], [f"host unreachable: {_reason(result) or 'no answer'}"]
    if result.get("failed"):
        return [], [f"{what}: {_reason(result) or 'failed without a message'}"]
    if result.get("skipped"):
        return [], []
    if not result.get("changed"):
        return [], []
    reasons = [str(r) for r in result.get("reasons") or [] if str(r).strip()]
    return [f"{what}: {r}" for r in reasons] or [f"{what}: differs (the check gave no reason)"], []


def _reason(result: Mapping) -> str:
    msg = result.get("msg")
    if isinstance(msg, (list, tuple)):
        msg = "; ".join(str(m) for m in msg)
    for line in str(msg or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def drift_rows(hosts: Sequence[str], hostvars: Mapping, keys: Sequence[str]) -> List[dict]:
    """What differs per host, and what could not be checked, from the check-mode results
    registered under ``keys``.

    One row per finding: ``{host, drift, checked}``; ``checked`` is false for a row
    "could not check: ...". An unreachable host is one row. A host with no result under any
    key (it failed or was left out before the checks ran) is a could-not-check row too.
    """
    rows = []
    for host in hosts:
        hv = hostvars.get(host) or {}
        results = [(key, hv.get(key)) for key in keys]
        if not any(isinstance(r, Mapping) for _k, r in results):
            rows.append({"host": host, "drift": f"{UNCHECKED}: no check ran on this host", "checked": False})
            continue
        for key, result in results:
            drift, unchecked = _check_outcome(result, key.replace("xprotect_audit_", ""))
            rows += [{"host": host, "drift": f"{UNCHECKED}: {u}", "checked": False} for u in unchecked]
            rows += [{"host": host, "drift": d, "checked": True} for d in drift]
            if isinstance(result, Mapping) and result.get("unreachable"):
                break
    return rows


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def _flag(value: object, name: str) -> bool:
    """A true/false setting, strictly: a typo must not switch a safety off (Jinja's ``bool``
    turns any unknown word into false)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{name}={value!r} is not a boolean: set it to true or false.")


def audit_verdict(
    rows: Sequence[Mapping], hosts: Sequence[str], fail_on_drift: object = False, fail_on_unchecked: object = True
) -> Dict[str, object]:
    """The audit's outcome from its ``drift_rows`` over the audited ``hosts``.

    ``ok`` is false when drift was found and ``fail_on_drift`` is set, or when a host could
    not be checked (or no host was audited at all) and ``fail_on_unchecked`` is set.
    ``summary`` is one sentence: "No drift" only when every audited host was checked and
    nothing differs. ``fail_msg`` says what failed the run and what to run.
    """
    fail_on_drift = _flag(fail_on_drift, "xprotect_audit_fail_on_drift")
    fail_on_unchecked = _flag(fail_on_unchecked, "xprotect_audit_fail_on_unchecked")
    drift = sorted({r["host"] for r in rows if r.get("checked", True)})
    unchecked = sorted({r["host"] for r in rows if not r.get("checked", True)})
    if not hosts:
        summary = (
            "Nothing was audited: no host of the xprotect_* inventory groups was in this run (check the inventory "
            "and --limit)."
        )
    elif not rows:
        summary = f"No drift: every one of the {len(hosts)} hosts audited is as the rollout left it."
    else:
        parts = []
        if drift:
            parts.append(f"drift on {len(drift)} of {len(hosts)} hosts ({', '.join(drift)})")
        if unchecked:
            parts.append(f"{len(unchecked)} of {len(hosts)} hosts could not be checked ({', '.join(unchecked)})")
        summary = "Audit: " + "; ".join(parts) + "."
    reasons = []
    if fail_on_drift and drift:
        reasons.append(
            f"Drift on {', '.join(drift)}. Run playbooks/site.yml to correct it (it changes only what differs; "
            "preview it with --check --diff)."
        )
    if fail_on_unchecked and not hosts:
        reasons.append(
            "The audit read no host, so it cannot say there is no drift. Check that the inventory has hosts in the "
            "xprotect_* groups and that --limit matches some of them."
        )
    elif fail_on_unchecked and unchecked:
        reasons.append(
            f"The audit could not check {', '.join(unchecked)}, so it cannot say there is no drift. Fix the cause in "
            "the rows 'could not check' and run the audit again (xprotect_audit_fail_on_unchecked: false lets such "
            "a run pass)."
        )
    return {
        "ok": not reasons,
        "drift_hosts": drift,
        "unchecked_hosts": unchecked,
        "summary": summary,
        "fail_msg": " ".join(reasons),
    }
