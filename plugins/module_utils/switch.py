# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The encryption switch's decisions, pure: what the host's groups should be, what a reading
means for the result (reasons, warnings, notes), and what to say when a switch cannot run or
did not take. plugins/plugin_utils/switch_flow.py reads the host and runs Server Configurator.
"""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence

from ansible_collections.xprotect.encryption.plugins.module_utils import _groups, hoststate, validate


def no_thumbprint(fqdn: str) -> str:
    """Why state=enabled without a thumbprint cannot run outside check mode."""
    return (
        f"{fqdn}: thumbprint is required with state=enabled. In the rollout it is the certificate that phase 1 "
        "(the certificates role) of the same run issued or found for this host: run the whole playbook "
        "(playbooks/site.yml), not only a later phase, or give thumbprint."
    )


def desired_state(groups: Sequence[str], state: str, thumbprint: Optional[str]) -> Dict[str, Optional[str]]:
    """``{group: thumbprint}`` to enable, ``{group: None}`` to disable."""
    want = thumbprint if state == "enabled" else None
    return {g: want for g in groups}


def reused_state(groups: Sequence[str], readings: Sequence[Mapping]) -> Dict[str, Optional[str]]:
    """The groups this run has read already (``readings``, oldest first), not to be read again."""
    known = hoststate.known_group_states(*readings)
    return {g: known[g] for g in groups if g in known}


def _names(groups: Sequence[str]) -> Dict[str, str]:
    return {g: _groups.GROUPS[g].name for g in groups}


def described(groups: Sequence[str], state: Mapping[str, Optional[str]]) -> Dict[str, str]:
    """``{group name: on/off text}``, as results and diffs show it."""
    return {name: hoststate.describe_group_state(state[g]) for g, name in _names(groups).items()}


def report(
    fqdn: str,
    roles: Sequence[str],
    groups: Sequence[str],
    current: Mapping[str, Optional[str]],
    desired: Mapping[str, Optional[str]],
    *,
    changes: Sequence[tuple],
    notes: Mapping[str, str],
    reused: Sequence[str] = (),
) -> dict:
    """The result of the reading, before any change: state, reasons, notes and warnings."""
    names = _names(groups)
    result = {
        "thumbprints": {g: current[g] for g in groups},
        "roles": list(roles),
        "groups": described(groups, current),
        "reasons": [
            f"encryption {'off' if current[g] is None else 'on with ' + current[g]} for group {names[g]}"
            + (f", wanted {t}" if t else ", wanted off")
            for g, _action, t in changes
        ],
        "changed": bool(changes),
    }
    if reused:
        result["reused"] = [names[g] for g in groups if g in reused]
    named_notes = {names[g]: why for g, why in notes.items() if g in names}
    if named_notes:
        result["notes"] = named_notes
    warnings = [
        f"{fqdn}: the state of group {names[g]} cannot be read ({named_notes.get(names[g], 'no source')}); "
        "it is not switched. Check it in the Server Configurator GUI on the host."
        for g in groups
        if current[g] == hoststate.UNKNOWN_STATE
    ]
    if "mobile" in groups and not any(desired.values()):
        warnings.append(
            f"{fqdn}: the mobile server stays on plain HTTP. Push-to-talk in the XProtect Web Client needs "
            "encryption and will not work."
        )
    if warnings:
        result["warnings"] = warnings
    return result


def wrong_become(fqdn: str, become: Optional[str]) -> str:
    """Why Server Configurator cannot run with this task's become plugin (``become``, None when off),
    which is not runas."""
    found = f"become is {become}" if become else "become is off"
    return (
        f"{fqdn}: Server Configurator must run as a Milestone administrator with an interactive logon, "
        f"but {found} for this task. Set become: true, become_method: ansible.builtin.runas (or runas) "
        "and become_user to that account (ansible_become* variables) for this task."
    )


def not_taken(fqdn: str, roles: Sequence[str], problems: List[str]) -> str:
    """The failure message when the state read back is not the desired one."""
    hint = ""
    if any(r in roles for r in ("recording", "failover")) and "management" not in roles:
        hint = (
            " Recording and failover servers can only move to the state the management server is already "
            "in, and Server Configurator then exits without a change and without a reason [L]: check the "
            "management server first."
        )
    return f"{fqdn}: " + " ".join(problems) + hint


def no_started(fqdn: str) -> str:
    """Why mode=collect cannot run without the start step's result."""
    return (
        f"{fqdn}: mode=collect needs started, the registered result of the same task with mode=start "
        "(roles/encryption/tasks/switch.yml passes it)."
    )


NO_PLAN = (
    "name a variable of the host that holds the switch's options as a dictionary "
    "(the encryption role's tasks_from: plan sets xprotect_switch_plan)"
)


def merged_options(args: Mapping, known: Sequence[str]) -> dict:
    """The task's arguments with ``options`` (a dictionary of the other options, which a role
    builds with one template instead of one per option) merged in. An option given both ways, a
    key that is not an option, or ``options`` that is not a dictionary is refused, naming it."""
    out = dict(args)
    extra = out.pop("options", None)
    if extra is None:
        return out
    if not isinstance(extra, Mapping):
        raise validate.refuse("options", extra, "give a dictionary of the module's other options")
    for key, value in extra.items():
        if key not in known or key == "options":
            raise validate.refuse(f"options.{key}", value, f"give only options of the module ({', '.join(known)})")
        if key in out:
            raise validate.refuse(f"options.{key}", value, f"give {key} either as an option or in options, not both")
        out[key] = value
    return out
