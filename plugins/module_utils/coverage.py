# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Does the inventory cover the site? The pure decision behind the preflight's inventory check.

The management server knows every recording server and failover recording server of the site
(its REST API lists them). Switching the management server disconnects every one of them that is
not switched after it, so the rollout must not start while one of them is missing from the
inventory's groups. This module compares what the API listed with the inventory and says, with
names, what is missing; the only way past is a named exclusion list.

Names differ between the two sides: the API names a server after the host in its web server
address, which may be a short name (``rs01``) or an FQDN, in any case; the inventory names a host
by ``inventory_hostname``, ``xprotect_fqdn``, ``xprotect_dns_names`` or ``ansible_host``. Two
names match when they are equal without case and a trailing dot, or when one is a short name and
the other an FQDN starting with it. Two different FQDNs never match, nor do IP addresses by their
first part.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from ansible_collections.xprotect.encryption.plugins.module_utils._roles import INVENTORY_GROUPS
from ansible_collections.xprotect.encryption.plugins.module_utils._text import is_ip

GROUP_MANAGEMENT = INVENTORY_GROUPS["management"]
GROUP_RECORDING = INVENTORY_GROUPS["recording"]
GROUP_FAILOVER = INVENTORY_GROUPS["failover"]
KIND_RECORDING = "recording_server"
KIND_FAILOVER = "failover_server"
GROUP_OF_KIND = {KIND_RECORDING: GROUP_RECORDING, KIND_FAILOVER: GROUP_FAILOVER}
LABEL_OF_KIND = {KIND_RECORDING: "recording server", KIND_FAILOVER: "failover recording server"}
# Groups a site always has: a rollout without them switches nothing that matters, or cuts every
# recording server off. The failover group may be empty when the site has no failover server.
REQUIRED_GROUPS = (GROUP_MANAGEMENT, GROUP_RECORDING)
CONTRACT_GROUPS = tuple(INVENTORY_GROUPS.values())
EXCLUDE_VAR = "xprotect_inventory_exclude"
SKIP_VAR = "xprotect_inventory_check"


def normalize_name(name: Any) -> str:
    """A host name for comparison: lower case, no surrounding blanks, no trailing dot."""
    return str(name or "").strip().lower().rstrip(".")


def names_match(left: Any, right: Any) -> bool:
    """Whether two host names name the same server (see the module docstring)."""
    a, b = normalize_name(left), normalize_name(right)
    if not a or not b:
        return False
    if a == b:
        return True
    if is_ip(a.strip("[]")) or is_ip(b.strip("[]")):
        return False
    if "." in a and "." in b:
        return False  # two FQDNs: equal or different servers
    return a.split(".", 1)[0] == b.split(".", 1)[0]


def host_names(host: str, hostvars: Mapping[str, Any]) -> List[str]:
    """Every name an inventory host goes by: its inventory name, FQDN, aliases and address."""
    names = [host, hostvars.get("xprotect_fqdn"), hostvars.get("ansible_host")]
    aliases = hostvars.get("xprotect_dns_names") or []
    if isinstance(aliases, str):
        aliases = [aliases]
    names.extend(aliases if isinstance(aliases, (list, tuple)) else [])
    out: List[str] = []
    for name in names:
        text = normalize_name(name) if isinstance(name, str) else ""
        if text and text not in out:
            out.append(text)
    return out


def _matching_hosts(name: str, hosts: Iterable[str], names: Mapping[str, Sequence[str]]) -> List[str]:
    return [h for h in hosts if any(names_match(name, alias) for alias in names.get(h) or [h])]


def _excluded_by(server: Mapping[str, Any], exclude: Sequence[str]) -> Optional[str]:
    """The exclusion entry that names this server (by host or by its XProtect name), if any."""
    for entry in exclude:
        if names_match(entry, server.get("host")) or normalize_name(entry) == normalize_name(server.get("name")):
            return entry
    return None


def near_groups(group: str, inventory_groups: Iterable[str]) -> List[str]:
    """Inventory groups whose name looks like ``group`` without being it (``recording_servers``)."""
    stem = group[len("xprotect_") :]
    wanted = {stem, stem.rstrip("s"), "xprotect_" + stem.rstrip("s"), stem.replace("_", "")}
    return sorted(g for g in inventory_groups if g != group and g.lower().replace("-", "_") in wanted)


def check_coverage(
    servers: Sequence[Mapping[str, Any]],
    groups: Mapping[str, Sequence[str]],
    names: Mapping[str, Sequence[str]],
    exclude: Optional[Sequence[str]] = None,
    management: Optional[Sequence[str]] = None,
) -> Dict[str, Any]:
    """Compare the servers the management server knows with the inventory's groups.

    ``servers``: records from the REST API (``kind``, ``host``, ``name``, ``enabled``);
    ``groups``: inventory group -> hosts; ``names``: inventory host -> every name it goes by
    (see :func:`host_names`); ``exclude``: the operator's exclusion list; ``management``: names
    of the management server the API was read from (the host in its URL, its certificate name).

    Returns ``ok``, ``missing`` (servers the inventory lacks), ``empty_groups``, ``excluded``
    (missing but named in the exclusion list), ``disabled`` (disabled in XProtect and not in the
    inventory: reported, not blocking), ``unknown_exclusions`` (entries that name no server of
    the site), ``management_found``, ``rows`` for a table, and ``message`` when not ok.
    """
    exclude = [str(e) for e in (exclude or []) if str(e).strip()]
    result: Dict[str, Any] = {
        "missing": [],
        "excluded": [],
        "disabled": [],
        "covered": [],
        "rows": [],
        "empty_groups": [],
        "unknown_exclusions": [],
        "management_found": True,
    }
    used_exclusions = set()
    for server in servers:
        kind = server.get("kind")
        group = GROUP_OF_KIND.get(kind)
        host = normalize_name(server.get("host") or server.get("name"))
        if group is None or not host:
            continue
        in_group = _matching_hosts(host, groups.get(group) or [], names)
        entry = {"server": host, "name": server.get("name") or host, "kind": kind, "group": group}
        if in_group:
            entry["inventory_host"] = in_group[0]
            result["covered"].append(entry)
            status = f"in {group} as {in_group[0]}"
        else:
            elsewhere = sorted(
                {g for g, members in groups.items() if g != "all" and _matching_hosts(host, members or [], names)}
            )
            entry["in_groups"] = elsewhere
            by = _excluded_by(server, exclude)
            if by is not None:
                used_exclusions.add(by)
                result["excluded"].append(entry)
                status = f"excluded ({EXCLUDE_VAR}: {by})"
            elif server.get("enabled", True) is False:
                result["disabled"].append(entry)
                status = "disabled in XProtect, not in the inventory"
            else:
                result["missing"].append(entry)
                status = f"MISSING from {group}" + (f" (it is in {', '.join(elsewhere)})" if elsewhere else "")
        result["rows"].append({"server": host, "role": LABEL_OF_KIND[kind], "inventory": status})
    result["unknown_exclusions"] = [e for e in exclude if e not in used_exclusions]

    for group in REQUIRED_GROUPS:
        if not (groups.get(group) or []):
            result["empty_groups"].append(group)
    wanted_failover = [s for s in result["missing"] if s["group"] == GROUP_FAILOVER]
    if not (groups.get(GROUP_FAILOVER) or []) and wanted_failover:
        result["empty_groups"].append(GROUP_FAILOVER)

    ms_hosts = groups.get(GROUP_MANAGEMENT) or []
    if management and ms_hosts:
        result["management_found"] = any(_matching_hosts(n, ms_hosts, names) for n in management if n)
    result["ok"] = not (result["missing"] or result["empty_groups"] or not result["management_found"])
    result["message"] = "" if result["ok"] else coverage_message(result, groups, management)
    return result


def coverage_message(
    result: Mapping[str, Any], groups: Mapping[str, Sequence[str]], management: Optional[Sequence[str]] = None
) -> str:
    """Why the inventory does not cover the site, with names, and what to do."""
    parts: List[str] = []
    by_group: Dict[str, List[str]] = {}
    for entry in result.get("missing") or []:
        by_group.setdefault(entry["group"], []).append(entry["server"])
    for group, hosts in by_group.items():
        kind = "failover recording servers" if group == GROUP_FAILOVER else "recording servers"
        parts.append(f"the management server knows {kind} that are not in group {group}: {', '.join(hosts)}")
    for group in result.get("empty_groups") or []:
        hint = near_groups(group, groups)
        text = f"group {group} is empty"
        if hint:
            text += f" (the inventory has {', '.join(hint)}: rename it to {group})"
        parts.append(text)
    if not result.get("management_found", True):
        ms = ", ".join(groups.get(GROUP_MANAGEMENT) or [])
        parts.append(
            f"the REST API was read from {', '.join(n for n in management or [] if n)}, which is not the management "
            f"server of the inventory ({ms}): point the check at this site's management server "
            "(xprotect_inventory_api.url), or, when it is that server under another name, set "
            "xprotect_inventory_api.management_server_name to its inventory name"
        )
    return (
        "The inventory does not cover the site: "
        + "; ".join(parts)
        + ". Nothing was switched: switching the management server would cut these servers off. Add them to the "
        f"inventory; only for a server being decommissioned, name it in {EXCLUDE_VAR}."
    )
