# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure decisions about one host: its roles, who must read its key, and its encryption state.

Each function takes what was read from the host and returns what to do, so that the action
plugins stay short and every rule is unit-tested without Ansible.
"""

from __future__ import annotations

from collections import abc
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.xprotect.encryption.plugins.module_utils._accounts import normalize_account
from ansible_collections.xprotect.encryption.plugins.module_utils._configfiles import DEFAULT_PORTS
from ansible_collections.xprotect.encryption.plugins.module_utils._groups import GROUPS
from ansible_collections.xprotect.encryption.plugins.module_utils._netsh import binding_for_ipport
from ansible_collections.xprotect.encryption.plugins.module_utils._roles import GROUP_ROLES, KEY_READER_SERVICES, ROLES
from ansible_collections.xprotect.encryption.plugins.module_utils._server_configurator import explain_read_back
from ansible_collections.xprotect.encryption.plugins.module_utils._text import clean_thumbprint


def roles_from_groups(group_names: Iterable[str], explicit: Optional[Sequence[str]] = None) -> List[str]:
    """The host's XProtect roles, from ``xprotect_roles`` if set, else from its inventory groups."""
    if explicit:
        bad = [r for r in explicit if r not in ROLES]
        if bad:
            raise ValueError(f"xprotect_roles: {', '.join(bad)} is not a role; use {', '.join(ROLES)}.")
        return [r for r in ROLES if r in explicit]
    found = {GROUP_ROLES[g] for g in group_names if g in GROUP_ROLES}
    return [r for r in ROLES if r in found]


def key_reader_accounts(services, extra: Sequence[str] = ()) -> List[str]:
    """Accounts that must read the private key: the Milestone services installed, plus ``extra``.

    ``services`` are objects with ``name``, ``display_name`` and ``username`` (the adapter's
    ServiceInfo). The real account is read from the service, never assumed.
    """
    accounts: List[str] = []
    for svc in services:
        label = f"{svc.name} {svc.display_name}".lower()
        if "milestone" not in label:
            continue
        if any(any(word in label for word in words) for _role, words in KEY_READER_SERVICES):
            acct = normalize_account(svc.username or "")
            if acct and acct.lower() not in (a.lower() for a in accounts):
                accounts.append(acct)
    for acct in extra:
        norm = normalize_account(acct)
        if norm and norm.lower() not in (a.lower() for a in accounts):
            accounts.append(norm)
    return accounts


# Where each group's current state is read from, per role. The server and mobile groups show
# as the HTTP.sys binding on the port the component's own configuration names, on 0.0.0.0 [H];
# streaming media has no known stored flag [?], so a TLS handshake on 7563 decides; the event
# server's flag is in ServiceEndpoints.xml [L].
ENABLED_UNKNOWN_THUMBPRINT = "ENABLED"
# A group whose state cannot be read at all (a cold-standby failover server does not listen on
# 7563, and no stored flag is known): it is reported, never switched on a guess.
UNKNOWN_STATE = "UNKNOWN"


def plan_group_changes(
    current: Dict[str, Optional[str]], desired: Dict[str, Optional[str]]
) -> List[Tuple[str, str, Optional[str]]]:
    """``[(group, 'enable'|'disable', thumbprint)]`` for every group whose state differs.

    ``current``/``desired`` map a group key to the bound thumbprint, or None for disabled.
    The server group comes first: on a combined box it is the one the others follow.
    """
    order = ["event", "server", "streaming", "mobile"]
    changes = []
    for group in sorted(desired, key=lambda g: order.index(g) if g in order else len(order)):
        want = desired[group]
        have = current.get(group)
        if have == UNKNOWN_STATE:
            continue  # cannot be read: reported, not switched on a guess
        if want is None and have is not None:
            changes.append((group, "disable", None))
        elif want is not None and clean_thumbprint(have) != clean_thumbprint(want):
            changes.append((group, "enable", clean_thumbprint(want)))
    return changes


def describe_group_state(thumbprint: Optional[str]) -> str:
    if thumbprint == UNKNOWN_STATE:
        return "unknown"
    return f"enabled ({thumbprint})" if thumbprint else "disabled"


def binding_ipports(roles: Sequence[str], groups: Sequence[str], configs: Dict[str, dict]) -> Dict[str, str]:
    """``{group: ipport}``: the one HTTP.sys binding each binding-backed group is read from.

    - management server: ``0.0.0.0:<WebApiConfig/Port>`` of ServerConfig.xml (9000) [H]. Never
      443: IIS on the same host may serve a site of the customer's own there.
    - recording/failover server: ``0.0.0.0:<webapi/port>`` of RecorderConfig.xml (9001) [H].
    - mobile server: ``<Ip>:<Port>`` of HttpSecureMetaChannel ('+' is 0.0.0.0, 8082) [H].
    """
    out: Dict[str, str] = {}
    for group in groups:
        if group == "server":
            if "management" in roles:
                port = (configs.get("management") or {}).get("webapi_port") or DEFAULT_PORTS["management_webapi"]
            else:
                port = (configs.get("recording") or {}).get("webapi_port") or DEFAULT_PORTS["recording_webapi"]
            out[group] = f"0.0.0.0:{int(port)}"
        elif group == "mobile":
            cfg = configs.get("mobile") or {}
            out[group] = cfg.get("https_netsh_ipport") or f"0.0.0.0:{DEFAULT_PORTS['mobile_https']}"
    return out


def group_state_from_readings(
    roles: Sequence[str],
    groups: Sequence[str],
    bindings: Sequence[dict],
    configs: Dict[str, dict],
    streaming_thumbprint: Optional[str] = None,
    *,
    reasons: Optional[Dict[str, str]] = None,
) -> Dict[str, Optional[str]]:
    """Current thumbprint (or None when disabled, or UNKNOWN_STATE) of each group in ``groups``.

    ``bindings``: binding blocks read from the registry or netsh (dicts with ``port``,
    ``address``, ``thumbprint``). ``configs``: parsed config files by role ('recording',
    'management', 'mobile', 'event'). ``streaming_thumbprint``: the thumbprint served over TLS
    on the image server port, None when it answered in plain text, or UNKNOWN_STATE.
    ``reasons``, when given, receives a sentence per group whose reading needs explaining.
    """
    ipports = binding_ipports(roles, groups, configs)
    state: Dict[str, Optional[str]] = {}
    for group in groups:
        if group in ("server", "mobile"):
            bound = binding_for_ipport(bindings, ipports[group])
            state[group] = clean_thumbprint(bound)
            if state[group] is None and reasons is not None:
                foreign = sorted(
                    b.get("ipport") or b.get("hostnameport") or str(b.get("port"))
                    for b in bindings
                    if b.get("thumbprint") and b.get("port") != int(ipports[group].rsplit(":", 1)[1])
                )
                reasons[group] = f"no certificate bound on {ipports[group]}, the binding its configuration names" + (
                    f"; bindings of other ports ({', '.join(foreign)}) belong to other services and are not read"
                    if foreign
                    else ""
                )
        elif group == "streaming":
            state[group] = clean_thumbprint(streaming_thumbprint)
        elif group == "event":
            cfg = configs.get("event") or {}
            state[group] = ENABLED_UNKNOWN_THUMBPRINT if cfg.get("certificate_enabled") else None
        else:
            raise ValueError(f"unknown certificate group {group!r}")
    return state


def known_group_states(*readings: Optional[Mapping[str, object]]) -> Dict[str, Optional[str]]:
    """``{group key: thumbprint or None}`` from earlier readings of the host, later ones winning.

    Each reading maps a group key (``server``) or name (``Server certificate``) to the thumbprint
    read, or None when off: the preflight's ``xprotect_info`` (by name) and the last result of
    the switch (by key). A reading that is not a mapping, a group that is neither a key nor a
    name, and a value that is neither a string nor None are ignored: that group is then read.
    """
    by_name = {g.name.lower(): key for key, g in GROUPS.items()}
    known: Dict[str, Optional[str]] = {}
    for reading in readings:
        if not isinstance(reading, abc.Mapping):
            continue
        for group, value in reading.items():
            key = group if group in GROUPS else by_name.get(str(group).lower())
            if key is None or not (value is None or isinstance(value, str)):
                continue
            known[key] = clean_thumbprint(value)
    return known


def reconcile_unknown(current: Dict[str, Optional[str]], desired: Dict[str, Optional[str]]) -> Dict[str, Optional[str]]:
    """Where a group shows only "enabled" (no thumbprint readable), take it as the desired one."""
    out = dict(current)
    for group, value in current.items():
        if value == ENABLED_UNKNOWN_THUMBPRINT:
            out[group] = desired.get(group) or value
    return out


def read_back_outcome(
    host: str,
    runs: Sequence[Tuple[str, str, int]],
    after: Mapping[str, Optional[str]],
    desired: Mapping[str, Optional[str]],
) -> Tuple[List[str], List[str]]:
    """Warnings and problems of the Server Configurator runs, judged by the state read back.

    ``runs``: ``(group key, group name, last exit code)`` of each run that returned (exit 0 or a
    code reported after a local change [L]). A group in its desired state is done, with a warning
    when the code said something failed (registration); a group not in it is a problem, explained
    by its code. Any other group found away from its desired state is a problem too.
    """
    warnings: List[str] = []
    problems: List[str] = []
    ran = set()
    for key, name, code in runs:
        ran.add(key)
        have = after.get(key)
        done = not plan_group_changes({key: have}, {key: desired.get(key)})
        text = explain_read_back(code, host, name, done, describe_group_state(have))
        if not done:
            problems.append(text)
        elif code != 0:
            warnings.append(text)
    for key, _action, _tp in plan_group_changes(dict(after), dict(desired)):
        if key not in ran:
            name = GROUPS[key].name if key in GROUPS else key
            problems.append(f"group '{name}' is {describe_group_state(after.get(key))}, not what was asked.")
    return warnings, problems
