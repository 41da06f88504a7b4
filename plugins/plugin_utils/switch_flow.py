# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The encryption switch of one host: read (or reuse) the state, and change what differs with
Server Configurator, then read it back. Host access through the adapter and encryption_flow;
every decision in module_utils (hoststate, switch)."""

from __future__ import annotations

from typing import Callable, Optional, Sequence

from ansible_collections.xprotect.encryption.plugins.module_utils import _groups, hoststate, switch
from ansible_collections.xprotect.encryption.plugins.plugin_utils import encryption_flow as flow
from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import RUNAS, AdapterError


def run(
    adapter,
    ctx: dict,
    roles: Sequence[str],
    groups: Sequence[str],
    args: dict,
    *,
    check_mode: bool,
    become: Optional[str],
    diff: Callable[[dict, dict, dict], None],
) -> dict:
    """The encryption action's result for one host. ``args`` are its options; ``become`` the
    task's become plugin (Server Configurator needs runas); ``diff(result, before, after)``
    attaches the diff in diff mode."""
    fqdn = ctx["fqdn"]
    desired = switch.desired_state(groups, args["state"], args["thumbprint"])
    current = switch.reused_state(groups, args["readings"])
    reused = list(current)
    unread = [g for g in groups if g not in current]
    if unread:
        current.update(flow.read_state(adapter, ctx, roles, unread))
    current = hoststate.reconcile_unknown(current, desired)
    changes = hoststate.plan_group_changes(current, desired)
    result = switch.report(
        fqdn, roles, groups, current, desired, changes=changes, notes=ctx.get("reasons") or {}, reused=reused
    )
    diff(result, switch.described(groups, current), switch.described(groups, desired))
    if not changes or check_mode:
        return result
    if become != RUNAS:
        raise AdapterError(switch.wrong_become(fqdn, become))
    flow.refuse_override(ctx, args["override_markers"])
    exe, ids, result["looked_up"] = flow.configurator_and_ids(
        adapter,
        fqdn,
        [g for g, _action, _tp in changes],
        path=args["configurator_path"],
        known=args["configurator"],
        stop_stale=args["stop_stale_configurator"],
    )
    applied = _apply(adapter, exe, fqdn, ids=ids, changes=changes, args=args)
    # The exit code alone is not to be trusted [L]: read the state back, giving the services
    # Server Configurator restarts time to come back, and judge every run by it.
    after = flow.settle(
        adapter, ctx, roles, groups, desired, timeout=args["settle_timeout"], interval=args["settle_interval"]
    )
    names = {g: _groups.GROUPS[g].name for g in groups}
    warnings, problems = hoststate.read_back_outcome(
        fqdn, [(g, names[g], run["exit_codes"][-1]) for (g, _a, _t), run in zip(changes, applied)], after, desired
    )
    result.update(applied=applied, thumbprints={g: after[g] for g in groups}, groups=switch.described(groups, after))
    if warnings:
        result["warnings"] = result.get("warnings", []) + warnings
    if problems:
        raise AdapterError(result=dict(result, changed=True), message=switch.not_taken(fqdn, roles, problems))
    return result


def _apply(adapter, exe: str, fqdn: str, *, ids: dict, changes, args: dict) -> list:
    """Run Server Configurator for each change, in order; a failure says what was applied."""
    applied = []
    try:
        for group, action, thumbprint in changes:
            applied.append(
                flow.apply_change(
                    adapter,
                    exe,
                    fqdn,
                    guid=ids[group],
                    group=_groups.GROUPS[group].name,
                    action=action,
                    thumbprint=thumbprint,
                    retries=args["retries"],
                    retry_delay=args["retry_delay"],
                    stop_stale=args["stop_stale_configurator"],
                )
            )
    except AdapterError as e:
        e.result.update(changed=bool(applied), applied=applied)
        raise
    return applied
