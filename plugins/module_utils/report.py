# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions behind the playbooks' gates and tables.

The playbooks only select data (hostvars of the hosts of a phase) and hand it here; every
rule of a gate (what blocks a rollout, which endpoint must serve what) is decided in Python
and unit-tested.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Mapping, Optional, Sequence

from ansible_collections.xprotect.encryption.plugins.module_utils import hoststate

# Default ports [H] (7563 TLS [L]); a host may override them with xprotect_tls_endpoints.
ROLE_ENDPOINTS = {
    "management": (("management https", 443),),
    "recording": (("image server", 7563), ("recording web api", 9001)),
    "mobile": (("mobile https", 8082),),
}
# Where the same services answer in plain text once encryption is off.
PLAIN_ENDPOINTS = {
    "management": (("management http", 80),),
    "recording": (("image server", 7563), ("recording web api", 9001)),
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
        offset = int(hv.get("xprotect_lab_port_offset") or 0)
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
        offset = int(hv.get("xprotect_lab_port_offset") or 0)
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
        if want and p.get("thumbprint") and p["thumbprint"].upper() != want.upper():
            problems.append(f"{where}: serves {p['thumbprint']}, expected {want}")
    return problems


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


def preflight_gate(
    hostvars: Mapping,
    servers: Sequence[str],
    clients: Sequence[str],
    clients_must_trust: str = "all",
    probes: Optional[Sequence[Mapping]] = None,
) -> Dict[str, object]:
    """Blocking findings, deferred clients and a table, from each host's ``xprotect_preflight``
    and, when given, the preflight's probes of the servers' endpoints (``reach_endpoints``)."""
    if clients_must_trust not in ("all", "reachable"):
        raise ValueError("xprotect_clients_must_trust must be 'all' or 'reachable'")
    unreachable = unreachable_endpoints(servers, hostvars, probes) if probes else {}
    rows, blocking, deferred = [], [], []
    for host in list(servers) + [c for c in clients if c not in servers]:
        hv = hostvars.get(host) or {}
        findings = hv.get("xprotect_preflight")
        if findings is None:
            findings = ["not checked: the host failed or was unreachable in the stage phase"]
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
        else:
            blocking.append(host)
    return {
        "ok": not blocking,
        "blocking": blocking,
        "deferred": deferred,
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


def drift_rows(hosts: Sequence[str], hostvars: Mapping, keys: Sequence[str]) -> List[dict]:
    """What differs per host, from the check-mode results registered under ``keys``."""
    rows = []
    for host in hosts:
        hv = hostvars.get(host) or {}
        for key in keys:
            result = hv.get(key)
            for f in _result_findings(result, key.replace("xprotect_audit_", "")):
                rows.append({"host": host, "drift": f})
    return rows
