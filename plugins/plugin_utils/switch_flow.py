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


def _prepare(adapter, ctx: dict, roles, groups, args: dict, *, check_mode: bool, become, diff):
    """Read (or reuse) the state, report and diff it; outside check mode with something to change,
    check become and the override markers and find Server Configurator and the group IDs.
    Returns ``(result, desired, changes, exe, ids)``; ``changes`` empty means nothing to run."""
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
        return result, desired, [], None, {}
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
    return result, desired, changes, exe, ids


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
    result, desired, changes, exe, ids = _prepare(
        adapter, ctx, roles, groups, args, check_mode=check_mode, become=become, diff=diff
    )
    if not changes:
        return result
    applied = _apply(adapter, exe, ctx["fqdn"], ids=ids, changes=changes, args=args)
    return _judge(adapter, ctx, roles, groups, desired, changes=changes, applied=applied, result=result, args=args)


def start(adapter, ctx: dict, roles, groups, args: dict, *, check_mode: bool, become, diff) -> dict:
    """The fan-out's first step: as ``run`` up to the first Server Configurator run, which is
    started on the host without waiting for it (``adapter.start``). The result carries ``job``,
    what ``collect`` needs to finish the switch; without a change, or in check mode, it is the
    same result as ``run``'s and has no ``job``."""
    result, desired, changes, exe, ids = _prepare(
        adapter, ctx, roles, groups, args, check_mode=check_mode, become=become, diff=diff
    )
    if not changes:
        return result
    group, action, thumbprint = changes[0]
    argv = flow.change_argv(exe, ids[group], action, thumbprint)
    job = adapter.start(argv, timeout=args["settle_timeout"])
    result["job"] = {
        "id": job,
        "configurator": exe,
        "group_ids": {g: ids[g] for g, _a, _t in changes},
        "changes": [list(c) for c in changes],
        "desired": desired,
        "groups": list(groups),
        "roles": list(roles),
        # What collect needs besides, so that its task passes nothing but the start's result.
        "context": {k: ctx[k] for k in ("fqdn", "address", "port_offset", "config_paths", "timeout")},
        "options": {k: args[k] for k in _COLLECT_OPTIONS},
    }
    return result


# How often collect reads the status of a started run (at most settle_interval).
JOB_POLL_SECONDS = 0.5
_COLLECT_OPTIONS = ("retries", "retry_delay", "stop_stale_configurator", "settle_timeout", "settle_interval")


def nothing_started(started) -> bool:
    """Whether ``started`` (the start step's registered result) is one without a run to collect."""
    return isinstance(started, dict) and not isinstance(started.get("job"), dict)


def passed_through(started: dict) -> dict:
    """The start's result as collect returns it: without the job, the diff (shown once, by the
    start) and what Ansible adds to every result."""
    return {k: v for k, v in started.items() if k not in ("job", "diff", "round_trips", "invocation")}


def collect(adapter, started: dict) -> dict:
    """The fan-out's second step, for the ``started`` result of ``start`` (whose ``job`` carries the
    host's context and the options of the start's task): wait for the started run, with the retries
    of 10000/20000 and the stale-instance stop of the synchronous path, run the host's other
    changes, then read the state back until it settles and judge it by the same rules. A
    ``started`` result without ``job`` (nothing to change, check mode, skipped) is returned as it
    is."""
    job = started.get("job")
    result = passed_through(started)
    if not isinstance(job, dict):
        return result
    ctx, args = dict(job["context"]), job["options"]
    fqdn = ctx["fqdn"]
    changes = [tuple(c) for c in job["changes"]]
    exe, ids = job["configurator"], job["group_ids"]
    group, action, thumbprint = changes[0]
    try:
        first = flow.wait_for_job(
            adapter,
            fqdn,
            job["id"],
            group=_groups.GROUPS[group].name,
            timeout=args["settle_timeout"],
            # A run's end opens or closes the disconnection window: notice it within half a second.
            interval=min(args["settle_interval"], JOB_POLL_SECONDS),
        )
    except AdapterError as e:
        e.result.update(changed=True, applied=[])
        raise
    applied = _apply(adapter, exe, fqdn, ids=ids, changes=changes, args=args, first=first)
    return _judge(
        adapter,
        ctx,
        job["roles"],
        job["groups"],
        job["desired"],
        changes=changes,
        applied=applied,
        result=result,
        args=args,
    )


def _judge(adapter, ctx, roles, groups, desired, *, changes, applied, result: dict, args: dict) -> dict:
    """Read the state back and judge every run by it."""
    fqdn = ctx["fqdn"]
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


def _apply(adapter, exe: str, fqdn: str, *, ids: dict, changes, args: dict, first=None) -> list:
    """Run Server Configurator for each change, in order; a failure says what was applied.
    ``first``: the result of the first change's run, already made (the fan-out's)."""
    applied = []
    try:
        for index, (group, action, thumbprint) in enumerate(changes):
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
                    first=first if index == 0 else None,
                )
            )
    except AdapterError as e:
        e.result.update(changed=bool(applied), applied=applied)
        raise
    return applied
