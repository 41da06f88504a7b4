# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read and change the encryption state of one host through the adapter and Server Configurator.

Reading costs two round-trips in the usual case (netsh, one config file) plus a TLS handshake
from the controller for streaming media. Group IDs, the Server Configurator path and its
version are only looked up when something has to change.
"""

from __future__ import annotations

import ntpath
import time
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.xprotect.encryption.plugins.module_utils import hoststate, tls_probe, validate, xprotect
from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import AdapterError, HostUnreachable

CONFIG_KIND = {"server": None, "streaming": "recording", "mobile": "mobile", "event": "event"}


def _config_kinds(roles: Sequence[str], groups: Sequence[str]) -> List[str]:
    kinds = []
    for group in groups:
        if group == "server":
            kind = "management" if "management" in roles else "recording"
        elif group == "streaming":
            kind = None  # the port comes from RecorderConfig.xml when it is read anyway
        else:
            kind = CONFIG_KIND[group]
        if kind and kind not in kinds:
            kinds.append(kind)
    return kinds


def _configurator(value, option: str) -> dict:
    """What the preflight found (xprotect_info's ``server_configurator``): path, version, group IDs.

    Keys this run does not use are left alone: the value is recorded by the preflight, and a
    key added there must not make the switch refuse inside the disconnection window."""
    if not isinstance(value, dict):
        raise validate.refuse(option, value, "give a dictionary (path, version, group_ids)")
    checks = {
        "path": lambda v, o: validate.text(v, o, required=False),
        "version": lambda v, o: validate.text(v, o, required=False),
        "group_ids": lambda v, o: validate.mapping(v, o, xprotect.GROUPS, validate.guid),
    }
    out = dict(value)
    for key, check in checks.items():
        if out.get(key) is not None:
            try:
                out[key] = check(out[key], f"{option}.{key}")
            except validate.ArgumentError as e:
                e.option = option
                raise
    return out


# The options of encryption and xprotect_info that say where and how to read a host's state.
CONTEXT_RULES = {
    "fqdn": lambda v, o: validate.text(v, o, spaces=False),
    "address": lambda v, o: validate.text(v, o, spaces=False),
    "roles": validate.list_of(lambda v, o: validate.one_of(v, o, hoststate.ROLES)),
    "port_offset": validate.bounded(validate.whole_number, 0, 65535),
    "probe_timeout": validate.bounded(validate.number, above=0, maximum=600),
    "config_paths": lambda v, o: validate.mapping(v, o, _PARSERS, validate.text),
    "configurator_path": validate.text,
    "configurator": _configurator,
    "override_markers": validate.list_of(validate.pattern),
}

_PARSERS = {
    "recording": "parse_recorder_config",
    "management": "parse_server_config",
    "mobile": "parse_mobile_config",
    "event": "parse_event_config",
}


def context(args: dict, task_vars: dict, fqdn: str) -> dict:
    """Where and how to read a host's state, from the task's options and the host's variables."""
    offset = args.get("port_offset")
    return {
        "fqdn": fqdn,
        "address": args.get("address") or task_vars.get("ansible_host") or fqdn,
        "port_offset": int(task_vars.get("xprotect_lab_port_offset", 0)) if offset is None else offset,
        "config_paths": args.get("config_paths") or {},
        "timeout": args["probe_timeout"],
    }


def read_state(adapter, ctx: dict, roles: Sequence[str], groups: Sequence[str]) -> Dict[str, Optional[str]]:
    """Current thumbprint or None per group. ``ctx``: fqdn, address, port_offset, config_paths, timeout."""
    bindings = []
    if any(g in ("server", "mobile") for g in groups):
        res = adapter.run(["netsh", "http", "show", "sslcert"])
        bindings = xprotect.parse_netsh_sslcert(res.stdout) if res.rc == 0 else []
    configs = {}
    for kind in _config_kinds(roles, groups):
        path = ctx["config_paths"].get(kind) or xprotect.CONFIG_PATHS[kind]
        try:
            text = adapter.read_file(path)
        except AdapterError as e:
            raise AdapterError(
                f"{ctx['fqdn']}: cannot read the XProtect {kind} configuration at {path} ({e.message}). "
                f"Is the {kind} server installed on this host? Set config_paths.{kind} if it lives elsewhere."
            )
        ctx.setdefault("raw", {})[path] = text
        configs[kind] = getattr(xprotect, _PARSERS[kind])(text)
    streaming = None
    if "streaming" in groups:
        port = (configs.get("recording") or {}).get("webserver_port") or xprotect.DEFAULT_PORTS["recording_webserver"]
        probe = tls_probe.probe(
            ctx["address"], int(port) + ctx["port_offset"], server_name=ctx["fqdn"], timeout=ctx["timeout"]
        )
        if not probe.get("reachable"):
            raise AdapterError(
                f"{ctx['fqdn']}: the image server on {ctx['address']}:{int(port) + ctx['port_offset']} did not answer "
                f"({probe.get('error')}). Streaming media state is read by a TLS handshake there; check that the "
                "Recording Server service runs and the port is open from the controller."
            )
        streaming = probe.get("thumbprint") if probe.get("tls") else None
    return hoststate.group_state_from_readings(roles, groups, bindings, configs, streaming)


def override_evidence(ctx: dict, markers=None) -> Optional[str]:
    """Where the configuration files ``read_state`` read show ``/overridelocalmanagementserver``
    (``markers``, or the defaults when empty), or None."""
    return xprotect.override_blocks_cli(ctx.get("raw") or {}, markers or xprotect.OVERRIDE_MARKERS)


def refuse_override(ctx: dict, markers=None) -> None:
    """Refuse when the configuration read shows ``/overridelocalmanagementserver`` was used:
    then only the Server Configurator GUI can change encryption [H]; how to see it is [?]."""
    evidence = override_evidence(ctx, markers)
    if evidence:
        raise AdapterError(
            f"{ctx['fqdn']}: {evidence}. After /overridelocalmanagementserver the command line can no longer "
            "change encryption; only the Server Configurator GUI can. Switch this host there, or adjust "
            "xprotect_override_markers if this is a false match."
        )


def _refuse_old(fqdn: str, exe: str, version: str) -> None:
    if not xprotect.configurator_version_ok(version):
        raise AdapterError(
            f"{fqdn}: Server Configurator {version} at {exe} is older than 20.3 (2020 R3), which has no command line "
            "for encryption. Upgrade XProtect on this host, or switch it in the Server Configurator GUI."
        )


def locate_configurator(adapter, fqdn: str, path: Optional[str]) -> str:
    """Find Server Configurator and refuse one that is missing or older than 20.3 [H]."""
    exe = path or xprotect.configurator_path_from_services(adapter.list_services("Milestone*"))
    if not exe:
        raise AdapterError(
            f"{fqdn}: no Milestone XProtect service found, so Server Configurator cannot be located. "
            "Is XProtect installed here? Set configurator_path to its ServerConfigurator.exe."
        )
    version = adapter.file_version(exe)
    if version is None:
        raise AdapterError(
            f"{fqdn}: Server Configurator is missing at {exe}. Install or repair XProtect, or set configurator_path."
        )
    _refuse_old(fqdn, exe, version)
    return exe


def group_ids(adapter, exe: str, fqdn: str, keys: Sequence[str]) -> Dict[str, str]:
    """``{group key: GUID}`` from ``/listcertificategroups`` (read-only)."""
    res = adapter.run(xprotect.list_groups_argv(exe))
    if res.rc != 0:
        raise AdapterError(
            xprotect.explain_exit(res.rc, fqdn) + f" (while listing certificate groups: {res.stdout.strip()})"
        )
    try:
        return xprotect.resolve_group_ids(xprotect.parse_certificate_groups(res.stdout), keys)
    except xprotect.XProtectError as e:
        raise AdapterError(f"{fqdn}: {e}")


def _norm(path: str) -> str:
    return ntpath.normcase(ntpath.normpath(str(path).strip().strip('"')))


def configurator_and_ids(
    adapter, fqdn: str, keys: Sequence[str], path: Optional[str] = None, known: Optional[Mapping] = None
) -> Tuple[str, Dict[str, str], List[str]]:
    """Server Configurator's path, the IDs of the groups ``keys``, and what had to be looked up.

    ``known`` is what the preflight found (``xprotect_info`` with ``certificate_groups``: path,
    version, group_ids). What it covers is not looked up again, which saves up to three round
    trips per host inside the disconnection window; anything it lacks is looked up on the host
    (``services``, ``version``, ``groups`` in the returned list). A ``path`` that differs from the
    known one wins, and then nothing known is used.
    """
    known = dict(known or {})
    if path and known.get("path") and _norm(path) != _norm(known["path"]):
        known = {}
    exe = path or known.get("path")
    looked_up = []
    if exe and known.get("version"):
        _refuse_old(fqdn, exe, str(known["version"]))
    else:
        looked_up += ["version"] if exe else ["services", "version"]
        exe = locate_configurator(adapter, fqdn, exe)
    ids = {}
    for key, guid in (known.get("group_ids") or {}).items():
        if key in keys:
            try:
                ids[key] = xprotect.normalize_guid(guid)
            except xprotect.XProtectError as e:
                raise AdapterError(f"{fqdn}: configurator.group_ids.{key}: {e}")
    if set(ids) != set(keys):
        ids = group_ids(adapter, exe, fqdn, keys)
        looked_up.append("groups")
    return exe, ids, looked_up


def apply_change(
    adapter,
    exe: str,
    fqdn: str,
    *,
    guid: str,
    group: str,
    action: str,
    thumbprint: Optional[str] = None,
    retries: int = 0,
    retry_delay: float = 0.0,
    stop_stale: bool = False,
) -> dict:
    """Run Server Configurator for one group, with retries on 10000/20000 and a stale-instance stop."""
    argv = xprotect.enable_argv(exe, guid, thumbprint) if action == "enable" else xprotect.disable_argv(exe, guid)
    attempts = []
    stale_stopped = False
    while True:
        res = adapter.run(argv)
        attempts.append(res.rc)
        if res.rc == 0:
            return {"group": group, "action": action, "exit_codes": attempts}
        if res.rc == -4 and stop_stale and not stale_stopped:
            # One instance at a time [H]: end the stale one, then try once more.
            adapter.run(["taskkill.exe", "/F", "/IM", "ServerConfigurator.exe"])
            stale_stopped = True
            continue
        if res.rc in xprotect.RETRYABLE_EXIT_CODES and len(attempts) <= retries:
            time.sleep(retry_delay)
            continue
        raise AdapterError(
            xprotect.explain_exit(res.rc, fqdn, group)
            + (f" Output: {res.stdout.strip()}" if res.stdout.strip() else "")
            + f" Exit codes seen: {attempts}."
        )


def settle(adapter, ctx: dict, roles, groups, desired: dict, *, timeout: float, interval: float) -> dict:
    """Read the state until it is as desired or ``timeout`` seconds have passed.

    Server Configurator restarts the affected services [L]; until they are back, an endpoint
    may be closed or still serve the old state. The last reading is returned either way.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            state = hoststate.reconcile_unknown(read_state(adapter, ctx, roles, groups), desired)
            if not hoststate.plan_group_changes(state, desired) or time.monotonic() >= deadline:
                return state
        except HostUnreachable:
            raise
        except AdapterError:
            if time.monotonic() >= deadline:
                raise
        time.sleep(interval)
