# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The test oracle of the phase order: the orders the facts file asks for, and checks of a record.

The order that runs lives in the playbooks, one play per phase (design principle 4); nothing at
run time needs it as data. This module is what the tests hold the playbooks and the lab's event
log to: ``tests/unit/playbooks/test_phase_order.py`` compares the plays of site.yml and
rollback.yml with :func:`enable_order` and :func:`disable_order`, and the lab and rollout tests
(and benchmarks/bench_rollout.py) replay ``events.jsonl`` through :func:`check_order` and
:func:`disconnection_window`.

Event dicts are the lab's ``events.jsonl`` contract: ``{ts, host, event, group}``.

Facts (xprotect-facts.md, "Ordering constraints"):

- Enabling: management server, then every recording server, then failover recording servers,
  then mobile servers [H] - Server Configurator refuses to encrypt a recording server while
  the management server is not encrypted.
- The event server's group has been reported to change only while the management server is
  not encrypted [L]: it goes before the management server when enabling, unless
  ``xprotect_event_server_place`` is ``after_mobile``.
- Disabling: recording servers can only move to the state the management server is already in
  [L], so the management server goes first, then recording, then failover servers, and the
  event server last [L]. Mobile servers are independent of the others [L]: their place before
  the event server is only a default.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.xprotect.encryption.plugins.module_utils._groups import group_key_for_name

ROLE_ORDER = ("management", "recording", "failover", "mobile")
EVENT_PLACES = ("before_management", "after_mobile")
# The inventory group of each role that switches (the inventory contract).
GROUP_OF_ROLE = {
    "management": "xprotect_management_servers",
    "recording": "xprotect_recording_servers",
    "failover": "xprotect_failover_servers",
    "mobile": "xprotect_mobile_servers",
    "event": "xprotect_event_servers",
}
ROLE_OF_GROUP = {group: role for role, group in GROUP_OF_ROLE.items()}

# The group whose state says a host of this role "has switched", for the ordering rules.
PHASE_GROUP = {
    "management": "server",
    "recording": "server",
    "failover": "server",
    "mobile": "mobile",
    "event": "event",
}


def enable_order(event_place: str = "before_management") -> List[str]:
    """Phases for switching encryption on, the event server placed per ``event_place`` [L]."""
    if event_place not in EVENT_PLACES:
        raise ValueError(f"event_place={event_place!r}: use one of {', '.join(EVENT_PLACES)}")
    order = list(ROLE_ORDER)
    return ["event", *order] if event_place == "before_management" else [*order, "event"]


def disable_order() -> List[str]:
    """Phases for switching encryption off: management, recording, failover, mobile, event [L]."""
    return [*ROLE_ORDER, "event"]


def phase_of(roles: Iterable[str], order: Optional[Sequence[str]] = None) -> Optional[str]:
    """The phase in which a host with these roles switches: the earliest of its roles in
    ``order`` (default :func:`enable_order`). None for a host that only trusts the CA.

    A combined management + recording box switches in the management phase: Server
    Configurator sets a group for the whole machine, so the box's "Server certificate" group
    covers its management server and its local recording server at once.
    """
    phases = list(order) if order is not None else enable_order()
    held = set(roles)
    for phase in phases:
        if phase in held:
            return phase
    return None


def hosts_by_phase(
    hosts_by_role: Mapping[str, Sequence[str]], order: Optional[Sequence[str]] = None
) -> Dict[str, List[str]]:
    """``{phase: [hosts]}`` with every host in exactly one phase (its :func:`phase_of`)."""
    phases = list(order) if order is not None else enable_order()
    out: Dict[str, List[str]] = {p: [] for p in phases}
    for host, roles in _roles_of(hosts_by_role).items():
        phase = phase_of(roles, phases)
        if phase is not None:
            out[phase].append(host)
    return out


def _roles_of(hosts_by_role: Mapping[str, Sequence[str]]) -> Dict[str, List[str]]:
    roles_of: Dict[str, List[str]] = {}
    for role, hosts in hosts_by_role.items():
        for host in hosts or ():
            roles_of.setdefault(host, [])
            if role not in roles_of[host]:
                roles_of[host].append(role)
    return roles_of


def _event_group(event: Mapping) -> Optional[str]:
    group = event.get("group")
    return group_key_for_name(str(group)) if group else None


def _sorted(events: Iterable[Mapping]) -> List[Mapping]:
    return sorted((e for e in events if isinstance(e, Mapping)), key=lambda e: float(e.get("ts") or 0))


def check_order(
    events: Iterable[Mapping],
    hosts_by_role: Mapping[str, Sequence[str]],
    event_place: str = "before_management",
    off_order: Optional[Sequence[str]] = None,
) -> List[str]:
    """Every ordering rule a record of switches broke, as sentences (empty: none).

    The events are replayed in time order, keeping the state of each host's groups (all start
    disabled), and each ``encryption_enabled`` / ``encryption_disabled`` is checked against the
    hosts of the phases before it (``off_order``, default :func:`disable_order`, for switching
    off). Repeated rollouts and rollbacks in one record are fine. If ``hosts_by_role`` has
    ``client`` hosts, ``ca_trusted``/``ca_removed`` events are followed too: a recording server
    must not encrypt streaming media while a client does not trust the CA (it would lose video).
    """
    on_phases = enable_order(event_place)
    off_phases = list(off_order) if off_order is not None else disable_order()
    roles_of = _roles_of(hosts_by_role)
    on_phase = {h: phase_of(r, on_phases) for h, r in roles_of.items()}
    off_phase = {h: phase_of(r, off_phases) for h, r in roles_of.items()}
    clients = [h for h, r in roles_of.items() if "client" in r]
    enabled: Dict[tuple, bool] = {}
    trusted: Dict[str, bool] = {h: False for h in clients}
    violations: List[str] = []

    def switched(host: str, phase: str) -> bool:
        return enabled.get((host, PHASE_GROUP[phase]), False)

    for event in _sorted(events):
        kind, host = event.get("event"), str(event.get("host") or "")
        if kind in ("ca_trusted", "ca_removed") and host in trusted:
            trusted[host] = kind == "ca_trusted"
            continue
        if kind not in ("encryption_enabled", "encryption_disabled"):
            continue
        group = _event_group(event)
        if group is None or host not in roles_of:
            continue
        turning_on = kind == "encryption_enabled"
        phases, mine = (on_phases, on_phase.get(host)) if turning_on else (off_phases, off_phase.get(host))
        # Mobile servers are independent when switching off [L]: no order is asked of them.
        independent = () if turning_on else ("mobile",)
        if mine is not None and mine not in independent and group == PHASE_GROUP.get(mine):
            earlier = [p for p in phases[: phases.index(mine)] if p not in independent]
            for phase in earlier:
                for other in (h for h, p in (on_phase if turning_on else off_phase).items() if p == phase):
                    if other != host and switched(other, phase) != turning_on:
                        violations.append(_violation(event, host, mine, other, phase, turning_on=turning_on))
        if turning_on and group == "streaming":
            for client in (c for c, ok in trusted.items() if not ok):
                violations.append(
                    f"{host} encrypted streaming media at {_ts(event)} while client {client} did not trust the CA: "
                    "that client lost video. Trust the CA on every client before the recording servers switch."
                )
        enabled[(host, group)] = turning_on
    return violations


def _ts(event: Mapping) -> str:
    return f"ts={float(event.get('ts') or 0):.3f}"


def _violation(event: Mapping, host: str, phase: str, other: str, other_phase: str, *, turning_on: bool) -> str:
    verb = "switched encryption on" if turning_on else "switched encryption off"
    state = "was not encrypted yet" if turning_on else "was still encrypted"
    return (
        f"{host} ({phase} phase) {verb} for '{event.get('group')}' at {_ts(event)} while {other} "
        f"({other_phase} phase) {state}: the {other_phase} phase must finish first."
    )


def disconnection_window(
    events: Iterable[Mapping], hosts_by_role: Optional[Mapping[str, Sequence[str]]] = None
) -> Optional[float]:
    """Seconds from the management server's first "Server certificate" enable to the last
    recording server's enable that followed it, or None when there was no such pair.

    That is the window in which not-yet-switched recording servers cannot talk to the
    management server [H]. Without ``hosts_by_role`` the first host to enable the server group
    is taken as the management server (a recording server cannot go first [H]) and every other
    host enabling it as a recording server. The window ends at the management server's next
    disable, so a later rollback and rollout do not stretch it.
    """
    found = disconnection_enables(events, hosts_by_role)
    return None if found is None else found[1][-1] - found[0]


def disconnection_enables(
    events: Iterable[Mapping], hosts_by_role: Optional[Mapping[str, Sequence[str]]] = None
) -> Optional[Tuple[float, List[float]]]:
    """The window's events: the management server's enable time and, in order, the times of the
    recording servers' enables inside it (see :func:`disconnection_window`), or None."""
    ordered = [e for e in _sorted(events) if _event_group(e) == "server"]
    management: set = set(hosts_by_role.get("management", ())) if hosts_by_role else set()
    recording: Optional[set] = set(hosts_by_role.get("recording", ())) - management if hosts_by_role else None
    start: Optional[float] = None
    enables: List[float] = []
    for event in ordered:
        host, kind, ts = str(event.get("host")), event.get("event"), float(event.get("ts") or 0)
        if start is None:
            if kind == "encryption_enabled" and (host in management or not hosts_by_role):
                start = ts
                management.add(host)
            continue
        if host in management and kind == "encryption_disabled":
            break
        is_recording = host in recording if recording is not None else host not in management
        if kind == "encryption_enabled" and is_recording:
            enables.append(ts)
    if start is None or not enables:
        return None
    return start, enables
