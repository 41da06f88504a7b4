# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The order of a rollout, enforced by what the hosts show, and what a failed switch leaves.

- The order guard: a recording or failover server switches only when the management server is
  observed, from the controller, in the state the server is about to take - its HTTPS endpoint
  completing a TLS handshake that the site CA verifies before enabling, its endpoints answering
  without TLS before disabling. Recording servers can only follow the management server's state
  [L]; play order alone does not hold under ``--limit``, separate jobs per phase or two runs at once.
- The failure policy of phase 4 (``xprotect_recording_failure``): which servers a failure
  leaves disconnected, what to put back with ``revert_management``, and what to run next.

Pure functions of hostvars and probe results; the playbooks hand them over and act on the answer.
"""

from __future__ import annotations

import shlex
from collections import abc
from typing import Dict, List, Mapping, Optional, Sequence

from ansible_collections.xprotect.encryption.plugins.module_utils import _roles, hoststate, report

FAILURE_POLICIES = ("stop", "revert_management")
UNREACHABLE_POLICIES = ("block", "continue")
STATES = ("enabled", "disabled")
MANAGEMENT_GROUP = _roles.INVENTORY_GROUPS["management"]
# What the management server serves, by state: HTTPS once its Server certificate group is
# encrypted, plain HTTP otherwise [H ports] (report.ROLE_ENDPOINTS / PLAIN_ENDPOINTS).
_HTTPS = report.ROLE_ENDPOINTS["management"][0][1]
_HTTP = report.PLAIN_ENDPOINTS["management"][0][1]


class OrderError(ValueError):
    """A setting the order guard or the failure policy cannot work with."""


def check_choice(name: str, value, allowed: Sequence[str]) -> str:
    """``value`` of the setting ``name`` when it is one of ``allowed``; else a clear error."""
    if not isinstance(value, str) or value not in allowed:
        raise OrderError(f"{name}: {value!r} is not allowed; use one of: {', '.join(allowed)}.")
    return value


def followers(hosts: Sequence[str], hostvars: Mapping) -> List[str]:
    """The hosts that must follow the management server: recording and failover servers that
    are not themselves the management server (a combined box leads, it does not follow)."""
    out = []
    for host in hosts:
        roles = report.host_roles(hostvars.get(host) or {})
        if ("recording" in roles or "failover" in roles) and "management" not in roles:
            out.append(host)
    return out


def _ports(hv: Mapping) -> Dict[str, int]:
    offset = int(hv.get("xprotect_port_offset") or 0)
    return {"https": _HTTPS + offset, "http": _HTTP + offset}


SITE_VAR = "xprotect_management_server"


def site_management(site: Optional[Mapping]) -> Dict[str, object]:
    """The management server as the site variable ``xprotect_management_server`` describes it
    (``name``, ``address``, ``fqdn``, ``port_offset``), as host variables; {} when it is not set.

    An AWX slice holds only its share of the hosts (``hosts[i::n]`` of the inventory, sorted by
    name; the groups keep their variables): the management server's host is usually not in it,
    but a variable of the group ``all`` is. The inventory plugin and the lab's inventory set it.
    """
    if not isinstance(site, abc.Mapping) or not site.get("name"):
        return {}
    name = str(site["name"])
    return {
        "name": name,
        "xprotect_fqdn": str(site.get("fqdn") or name),
        "ansible_host": str(site.get("address") or site.get("fqdn") or name),
        "xprotect_port_offset": int(site.get("port_offset") or 0),
    }


def management_servers(management: Sequence[str], site: Optional[Mapping] = None) -> List[str]:
    """The management servers to observe: the inventory group's, else the site variable's."""
    if management:
        return list(management)
    found = site_management(site)
    return [found["name"]] if found else []


def _ms_vars(ms: str, hostvars: Mapping, site: Optional[Mapping]) -> Mapping:
    found = site_management(site)
    if found and found["name"] == ms and ms not in hostvars:
        return found
    return hostvars.get(ms) or {}


def guard_endpoints(
    hosts: Sequence[str], hostvars: Mapping, management: Sequence[str], site: Optional[Mapping] = None
) -> List[dict]:
    """What the controller probes before ``hosts`` switch: the HTTPS and HTTP endpoints of every
    management server, or nothing when no host of ``hosts`` follows it. ``site``: the site variable
    ``xprotect_management_server``, used when the inventory's group holds no management server."""
    if not followers(hosts, hostvars):
        return []
    endpoints = []
    for ms in management_servers(management, site):
        hv = _ms_vars(ms, hostvars, site)
        fqdn = hv.get("xprotect_fqdn") or ms
        address = hv.get("ansible_host") or fqdn
        for port in _ports(hv).values():
            endpoints.append({"host": address, "port": port, "server_name": fqdn, "label": ms})
    return endpoints


def observe(ms: str, hostvars: Mapping, probes: Sequence[Mapping], site: Optional[Mapping] = None) -> Dict[str, str]:
    """The management server's state as the controller saw it: ``encrypted`` (a TLS handshake on
    its HTTPS port that the site CA verifies), ``untrusted`` (TLS, but not verified),
    ``plain`` (no TLS on its HTTPS port, plain HTTP answering), or ``unreachable``."""
    ports = _ports(_ms_vars(ms, hostvars, site))
    by_port = {p.get("port"): p for p in probes if p.get("label") == ms}
    https, http = by_port.get(ports["https"]) or {}, by_port.get(ports["http"]) or {}
    where = f"port {ports['https']}"
    if https.get("tls"):
        if https.get("verified"):
            return {"state": "encrypted", "detail": f"TLS on {where}, verified by the site CA"}
        return {
            "state": "untrusted",
            "detail": f"TLS on {where}, but the site CA does not verify it ({https.get('verify_error') or 'no CA'})",
        }
    plain = [p for p in (https, http) if p.get("reachable") and not p.get("tls")]
    if plain:
        return {
            "state": "plain",
            "detail": f"no TLS on {where} ({https.get('error') or 'no handshake'}); "
            f"port {plain[-1].get('port')} answers without TLS",
        }
    errors = "; ".join(f"{p.get('port')}: {p.get('error') or 'not probed'}" for p in (https, http) if p) or "not probed"
    return {"state": "unreachable", "detail": f"the controller reaches neither its HTTPS nor its HTTP port ({errors})"}


def command(playbook: str, context: Optional[Mapping] = None, extra: Sequence[str] = ()) -> str:
    """The ansible-playbook command line to run next, from the run's inventory sources, playbook
    folder and --limit (``context``: ``inventory``, ``playbook_dir``, ``limit``)."""
    context = context or {}
    argv = ["ansible-playbook"]
    for source in context.get("inventory") or ():
        argv += ["-i", str(source)]
    folder = context.get("playbook_dir")
    if folder and str(folder).replace("\\", "/").rstrip("/").endswith("/phases"):
        # A phase job of the AWX workflow (playbooks/phases/): the playbooks to run are one folder up.
        folder = str(folder).replace("\\", "/").rstrip("/").rsplit("/", 1)[0]
    argv.append(f"{folder}/{playbook}" if folder else f"playbooks/{playbook}")
    limit = context.get("limit")
    if limit:
        argv += ["--limit", limit if isinstance(limit, str) else ",".join(limit)]
    argv += list(extra)
    return " ".join(shlex.quote(a) for a in argv)


def _switched_in_check_mode(hv: Mapping) -> bool:
    """Whether this run, in check mode, got as far as its switch of this management server."""
    result = hv.get("xprotect_encryption")
    return isinstance(result, abc.Mapping) and not result.get("failed") and not result.get("unreachable")


def guard(
    hosts: Sequence[str],
    hostvars: Mapping,
    management: Sequence[str],
    probes: Sequence[Mapping],
    state: str,
    *,
    check_mode: bool = False,
    context: Optional[Mapping] = None,
    site: Optional[Mapping] = None,
) -> Dict[str, object]:
    """May ``hosts`` switch to ``state`` now? ``{ok, message, followers, observed}``.

    The management servers are the inventory group's (``management``), or, in a job whose
    inventory holds none of them (an AWX slice), the one the site variable ``site``
    (``xprotect_management_server``) names.

    Each recording or failover server among ``hosts`` needs every management server observed in
    the matching state: ``encrypted`` to enable, ``plain`` to disable. In check mode a management
    server that this run has just (not) switched counts as switched, so that a dry run of the
    whole rollout previews phase 4 instead of refusing it.
    """
    check_choice("xprotect_encryption_state", state, STATES)
    follow = followers(hosts, hostvars)
    if not follow:
        return {"ok": True, "message": "no recording or failover server in this play", "followers": [], "observed": {}}
    names = ", ".join(follow)
    management = management_servers(management, site)
    if not management:
        return {
            "ok": False,
            "followers": follow,
            "observed": {},
            "message": f"Refusing to switch {names}: the inventory group {MANAGEMENT_GROUP} holds no host in this "
            f"job and the site variable {SITE_VAR} is not set, so the management server these servers follow cannot "
            f"be observed. Add the management server to that group, or (for a sliced AWX job, whose slice may not "
            f"hold it) set {SITE_VAR} (name, address, fqdn) in the variables of the group all, and re-run. Nothing "
            "was switched on these servers.",
        }
    want = "encrypted" if state == "enabled" else "plain"
    observed = {ms: observe(ms, hostvars, probes, site) for ms in management}
    wrong, previewed = {}, []
    for ms, seen in observed.items():
        if seen["state"] == want:
            continue
        if check_mode and _switched_in_check_mode(_ms_vars(ms, hostvars, site)):
            previewed.append(f"{ms} is {seen['state']} now, and this run switches it first (check mode)")
            continue
        wrong[ms] = seen
    if not wrong:
        seen_ok = [ms for ms in management if observed[ms]["state"] == want]
        parts = ([f"{', '.join(seen_ok)} observed {want}"] if seen_ok else []) + previewed
        return {
            "ok": True,
            "followers": follow,
            "observed": observed,
            "message": f"{'; '.join(parts)}: {names} may switch",
        }
    why = "; ".join(f"{ms} is {seen['state']} ({seen['detail']})" for ms, seen in wrong.items())
    verb = "enable encryption on" if state == "enabled" else "switch encryption off on"
    if state == "enabled":
        todo = {
            "plain": "Switch the management server first, with the whole rollout: "
            + command("site.yml", dict(context or {}, limit=None)),
            "untrusted": "Give the management server a certificate of the site CA (its certificate is checked by "
            "the preflight of " + command("site.yml", dict(context or {}, limit=None)) + ").",
            "unreachable": "Check the management server and the network between it and the controller, then re-run.",
            "encrypted": "",
        }
    else:
        todo = {
            "encrypted": "Switch the management server off first: run "
            + command("rollback.yml", dict(context or {}, limit=None))
            + " with the management servers before the recording servers in xprotect_rollback_order.",
            "untrusted": "Switch the management server off first: run "
            + command("rollback.yml", dict(context or {}, limit=None))
            + ".",
            "unreachable": "Check the management server and the network between it and the controller, then re-run.",
            "plain": "",
        }
    steps = " ".join(dict.fromkeys(todo[seen["state"]] for seen in wrong.values() if todo[seen["state"]]))
    return {
        "ok": False,
        "followers": follow,
        "observed": observed,
        "message": f"Refusing to {verb} {names}: recording and failover servers can only follow the state the "
        f"management server is in, and the controller observed that {why}. Nothing was switched on these "
        f"servers. {steps}",
    }


# ---- phase 4: what a failed switch leaves -------------------------------------------------------


def _server_state(reading) -> Optional[bool]:
    """True (encrypted) / False (plain) for the Server certificate group in a reading, else None."""
    known = hoststate.known_group_states(reading if isinstance(reading, abc.Mapping) else None)
    if "server" not in known:
        return None
    return known["server"] is not None


def _before(hv: Mapping) -> Dict[str, Optional[str]]:
    """The host's groups as the preflight read them, before this run switched anything."""
    reading = hv.get("xprotect_preflight_encryption")
    return hoststate.known_group_states(reading if isinstance(reading, abc.Mapping) else None)


def _first_line(text) -> str:
    lines = str(text or "").strip().splitlines()
    return lines[0] if lines else "failed"


def switch_failures(hosts: Sequence[str], hostvars: Mapping) -> Dict[str, str]:
    """The hosts of phase 4 that failed their switch (``xprotect_switch_failed``, set when the
    switch failed) or were unreachable at it, with the first line of why."""
    failed = {}
    for host in hosts:
        hv = hostvars.get(host) or {}
        if hv.get("xprotect_switch_failed"):
            failed[host] = _first_line(hv["xprotect_switch_failed"])
            continue
        result = hv.get("xprotect_encryption")
        if isinstance(result, abc.Mapping) and result.get("unreachable"):
            failed[host] = "unreachable: " + _first_line(result.get("msg"))
    return failed


def _after(host: str, hv: Mapping, failed: Mapping[str, str]) -> Optional[bool]:
    """The Server certificate group of a follower now, as best this run knows it."""
    if host in failed:
        reading = hv.get("xprotect_switch_reading")
        if isinstance(reading, abc.Mapping) and not reading.get("failed") and not reading.get("unreachable"):
            return _server_state(reading.get("thumbprints"))
        return None
    result = hv.get("xprotect_encryption")
    if isinstance(result, abc.Mapping) and not result.get("failed") and not result.get("unreachable"):
        state = _server_state(result.get("thumbprints"))
        if state is not None:
            return state
    return _server_state(hv.get("xprotect_preflight_encryption"))


def outcome(
    hostvars: Mapping,
    management: Sequence[str],
    recording: Sequence[str],
    failover: Sequence[str],
    *,
    policy: str = "stop",
    check_mode: bool = False,
    context: Optional[Mapping] = None,
) -> Dict[str, object]:
    """What phase 4 left, and what the failure policy does about it.

    ``{failed, failures, disconnected, unknown, revert, report}``: ``revert`` maps each host to
    put back to the groups to switch off (empty unless ``policy`` is ``revert_management`` and
    this run switched the management server); ``report`` is the lines to show the operator.
    """
    check_choice("xprotect_recording_failure", policy, FAILURE_POLICIES)
    follow = followers(list(recording) + [h for h in failover if h not in recording], hostvars)
    failed = switch_failures(follow, hostvars)
    result: Dict[str, object] = {
        "failed": sorted(failed),
        "failures": failed,
        "disconnected": [],
        "unknown": [],
        "revert": {},
        "report": [],
    }
    if not failed:
        return result
    now = {h: _after(h, hostvars.get(h) or {}, failed) for h in follow}
    disconnected = [h for h, on in now.items() if on is False]
    unknown = [h for h, on in now.items() if on is None]
    result.update(disconnected=disconnected, unknown=unknown)
    lines = [
        f"Phase 4 stopped: {len(failed)} recording server(s) did not switch: "
        + "; ".join(f"{h}: {why}" for h, why in sorted(failed.items()))
    ]
    revert, refused = {}, ""
    if policy == "revert_management":
        revert, refused = _revert_plan(hostvars, management, follow, failed, check_mode)
    result["revert"] = revert
    rerun = command("site.yml", context)
    rollback = command("rollback.yml", dict(context or {}, limit=None))
    if revert:
        names = ", ".join(revert)
        lines.append(
            f"xprotect_recording_failure=revert_management: switching back what this run switched, management "
            f"server first: {names}. Every recording server is then on plain HTTP and connected again."
        )
        lines.append(f"Fix the cause on {', '.join(sorted(failed))}, then run the rollout again: {rerun}")
        return dict(result, report=lines)
    lines.append(
        "Disconnected from the management server (not in its state) until they switch: "
        + (", ".join(disconnected) or "none")
        + "."
    )
    if unknown:
        lines.append(f"Not read by this run (state unknown, treat as disconnected): {', '.join(unknown)}.")
    if refused:
        lines.append(f"xprotect_recording_failure=revert_management was not applied: {refused}")
    lines.append(
        f"Next: fix the cause on {', '.join(sorted(failed))}, then run: {rerun} "
        "- it switches only what differs and finishes the recording and failover servers."
    )
    if any(why.startswith("unreachable") for why in failed.values()):
        lines.append(
            "A server that stays unreachable blocks that run's preflight; to switch the others and leave it for "
            "later, add: -e xprotect_unreachable_recording_servers=continue"
        )
    lines.append(f"Or put the whole site back to plain HTTP: {rollback}")
    return dict(result, report=lines)


def _revert_plan(hostvars, management, follow, failed, check_mode):
    """``({host: [groups]}, why_not)``: the management server(s) this run switched, then every
    follower this run reached in phase 4, each with the groups that were off before the run."""
    if check_mode:
        return {}, "check mode changes nothing."
    if not management:
        return {}, f"the inventory group {MANAGEMENT_GROUP} is empty."
    plan: Dict[str, List[str]] = {}
    for ms in management:
        hv = hostvars.get(ms) or {}
        before = _before(hv)
        result = hv.get("xprotect_encryption")
        switched = isinstance(result, abc.Mapping) and not result.get("failed") and not result.get("unreachable")
        if not switched or "server" not in before:
            return {}, f"{ms} was not switched by this run (not in it, or its switch did not complete)."
        if before["server"] is not None:
            return {}, (
                f"{ms} was already encrypted before this run; revert_management puts back only what this run switched."
            )
        plan[ms] = [g for g, tp in before.items() if tp is None]
    for host in follow:
        hv = hostvars.get(host) or {}
        touched = host in failed or isinstance(hv.get("xprotect_encryption"), abc.Mapping)
        reading = hv.get("xprotect_encryption")
        if not touched or (isinstance(reading, abc.Mapping) and reading.get("unreachable")):
            continue
        groups = [g for g, tp in _before(hv).items() if tp is None]
        if groups:
            plan[host] = groups
    return plan, ""
