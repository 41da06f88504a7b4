# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read and change the encryption state of one host through the adapter and Server Configurator.

Reading costs two round-trips in the usual case (one config file, one registry value per
binding; netsh only when the registry does not show a binding) plus a TLS handshake from the
controller for streaming media. Group IDs, the Server Configurator path and its
version are only looked up when something has to change.
"""

from __future__ import annotations

import ntpath
import time
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.xprotect.encryption.plugins.module_utils import (
    _configfiles,
    _groups,
    _netsh,
    _server_configurator,
    _services,
    _text,
    hoststate,
    tls_probe,
    validate,
)
from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import (
    AdapterError,
    HostUnreachable,
    RunResult,
)

CONFIG_KIND = {"server": None, "streaming": "recording", "mobile": "mobile", "event": "event"}


def _config_kinds(roles: Sequence[str], groups: Sequence[str]) -> List[str]:
    kinds: List[str] = []
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
        "group_ids": lambda v, o: validate.mapping(v, o, _groups.GROUPS, validate.guid),
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


def context(args: dict, fqdn: str, address: str) -> dict:
    """Where and how to read a host's state, from the task's options alone: ``address`` is where
    the controller reaches the host (the task's ``address``, else its connection address)."""
    return {
        "fqdn": fqdn,
        "address": address,
        "port_offset": args.get("port_offset") or 0,
        "config_paths": args.get("config_paths") or {},
        "timeout": args["probe_timeout"],
    }


def config_path(adapter, ctx: dict, kind: str) -> str:
    """Where the ``kind`` configuration file is: ``config_paths`` first; the mobile server's from
    its service's executable (``<exe>.config``), since it may be installed anywhere [H]."""
    path = ctx["config_paths"].get(kind)
    if path:
        return path
    if kind == "mobile":
        return _services.mobile_config_path_from_services(adapter.list_services("Milestone*"))
    return _configfiles.CONFIG_PATHS[kind]


def read_bindings(adapter, ipports: Sequence[str]) -> List[dict]:
    """The HTTP.sys bindings on ``ipports``: each from the registry (``SslBindingInfo``, locale
    free); when a key is absent or cannot be read, from one ``netsh http show sslcert``, whose
    blocks are found by shape, whatever the console's language and code page."""
    found: List[dict] = []
    missing: List[str] = []
    for ipport in ipports:
        try:
            reg = adapter.read_registry(_netsh.ssl_binding_registry_key(ipport), _netsh.SSL_BINDING_HASH_VALUE)
        except HostUnreachable:
            raise
        except AdapterError:
            reg = None
        block = _netsh.binding_from_registry(ipport, reg.exists, reg.type, reg.value) if reg is not None else None
        if block is None:
            missing.append(ipport)
        else:
            found.append(block)
    if missing:
        res = adapter.run(_netsh.netsh_sslcert_argv())
        found += _netsh.parse_netsh_sslcert(res.stdout) if res.rc == 0 else []
    return found


def _streaming(ctx: dict, roles: Sequence[str], configs: Dict[str, dict], reasons: Dict[str, str]) -> Optional[str]:
    port = (configs.get("recording") or {}).get("webserver_port") or _configfiles.DEFAULT_PORTS["recording_webserver"]
    where = f"{ctx['address']}:{int(port) + ctx['port_offset']}"
    probe = tls_probe.probe(
        ctx["address"], int(port) + ctx["port_offset"], server_name=ctx["fqdn"], timeout=ctx["timeout"]
    )
    if probe.get("reachable"):
        return probe.get("thumbprint") if probe.get("tls") else None
    if "failover" in roles and "recording" not in roles:
        # A cold-standby failover server serves 7563 only while it stands in for a recording
        # server, and no stored flag of the streaming media group is known [?]: unknown, not off.
        reasons["streaming"] = (
            f"the image server on {where} does not answer ({probe.get('error')}); a cold-standby failover server "
            "listens there only while it stands in for a recording server, and no stored setting of the streaming "
            "media group is known, so its state cannot be read. It is left as it is"
        )
        return hoststate.UNKNOWN_STATE
    raise AdapterError(
        f"{ctx['fqdn']}: the image server on {where} did not answer ({probe.get('error')}). Streaming media state "
        "is read by a TLS handshake there; check that the Recording Server service runs and the port is open from "
        "the controller."
    )


def read_state(adapter, ctx: dict, roles: Sequence[str], groups: Sequence[str]) -> Dict[str, Optional[str]]:
    """Current thumbprint, None, or hoststate.UNKNOWN_STATE per group.

    ``ctx``: fqdn, address, port_offset, config_paths, timeout. The configuration files come
    first, because they name the ports whose bindings are read; ``ctx['reasons']`` receives a
    sentence per group whose reading needs one (a binding that is absent, a state unknown).
    """
    configs = {}
    for kind in _config_kinds(roles, groups):
        path = config_path(adapter, ctx, kind)
        try:
            text = adapter.read_file(path)
        except HostUnreachable:
            raise
        except AdapterError as e:
            raise AdapterError(
                f"{ctx['fqdn']}: cannot read the XProtect {kind} configuration at {path} ({e.message}). "
                f"Is the {kind} server installed on this host? Set config_paths.{kind} if it lives elsewhere."
            )
        ctx.setdefault("raw", {})[path] = text
        configs[kind] = getattr(_configfiles, _PARSERS[kind])(text)
    ipports = hoststate.binding_ipports(roles, groups, configs)
    bindings = read_bindings(adapter, list(dict.fromkeys(ipports.values()))) if ipports else []
    reasons: Dict[str, str] = {}
    streaming = _streaming(ctx, roles, configs, reasons) if "streaming" in groups else None
    state = hoststate.group_state_from_readings(roles, groups, bindings, configs, streaming, reasons=reasons)
    ctx["reasons"] = reasons
    return state


def override_evidence(ctx: dict, markers=None) -> Optional[str]:
    """Where the configuration files ``read_state`` read show ``/overridelocalmanagementserver``
    (``markers``, or the defaults when empty), or None."""
    return _server_configurator.override_blocks_cli(
        ctx.get("raw") or {}, markers or _server_configurator.OVERRIDE_MARKERS
    )


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
    if not _server_configurator.configurator_version_ok(version):
        raise AdapterError(
            f"{fqdn}: Server Configurator {version} at {exe} is older than 20.3 (2020 R3), which has no command line "
            "for encryption. Upgrade XProtect on this host, or switch it in the Server Configurator GUI."
        )


def locate_configurator(adapter, fqdn: str, path: Optional[str]) -> str:
    """Find Server Configurator and refuse one that is missing or older than 20.3 [H]."""
    exe = path or _services.configurator_path_from_services(adapter.list_services("Milestone*"))
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


def group_ids(
    adapter, exe: str, fqdn: str, keys: Sequence[str], *, stop_stale: bool = False, check_mode: bool = False
) -> Dict[str, str]:
    """``{group key: GUID}`` from ``/listcertificategroups`` (read-only; see ``list_group_ids``)."""
    return list_group_ids(adapter, exe, fqdn, keys, stop_stale=stop_stale, check_mode=check_mode)[0]


def list_group_ids(
    adapter, exe: str, fqdn: str, keys: Sequence[str], *, stop_stale: bool = False, check_mode: bool = False
) -> Tuple[Dict[str, str], bool]:
    """``{group key: GUID}`` from ``/listcertificategroups``, and whether a stale instance was
    ended to get them.

    The listing exits -4 while another instance runs [H]. With ``stop_stale`` (the setting
    ``xprotect_stop_stale_configurator``) that instance is ended and the listing tried once
    more, as the switch does; in check mode nothing is ended, and the message says so.
    """
    argv = _server_configurator.list_groups_argv(exe)
    res = adapter.run(argv)
    stale, ended = None, False
    if res.rc == -4 and stop_stale:
        if check_mode:
            stale = "check_mode"
        else:
            ended = end_stale_configurator(adapter)
            stale = "ended" if ended else "none_running"
            res = adapter.run(argv)
    if res.rc != 0:
        raise AdapterError(
            _server_configurator.explain_exit(res.rc, fqdn, stale=stale)
            + f" (while listing certificate groups: {res.stdout.strip()})"
        )
    try:
        return _groups.resolve_group_ids(_groups.parse_certificate_groups(res.stdout), keys), ended
    except _text.XProtectError as e:
        raise AdapterError(f"{fqdn}: {e}")


def end_stale_configurator(adapter) -> bool:
    """End a running Server Configurator (one instance at a time [H]); whether one was ended.
    ``taskkill`` exits 128 when there was none."""
    return adapter.run(["taskkill.exe", "/F", "/IM", "ServerConfigurator.exe"]).rc == 0


def _norm(path: str) -> str:
    return ntpath.normcase(ntpath.normpath(str(path).strip().strip('"')))


def configurator_and_ids(
    adapter,
    fqdn: str,
    keys: Sequence[str],
    path: Optional[str] = None,
    known: Optional[Mapping] = None,
    *,
    stop_stale: bool = False,
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
                ids[key] = _text.normalize_guid(guid)
            except _text.XProtectError as e:
                raise AdapterError(f"{fqdn}: configurator.group_ids.{key}: {e}")
    if set(ids) != set(keys):
        ids = group_ids(adapter, exe, fqdn, keys, stop_stale=stop_stale)
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
    first: Optional[RunResult] = None,
) -> dict:
    """Run Server Configurator for one group, with retries on 10000/20000 and a stale-instance stop.

    ``first`` is the result of a run already made (the fan-out's asynchronous one, collected by
    ``collect_change``): it counts as the first attempt, and only what follows runs here.

    Exit 0 and the codes reported after a local change (20, 100, 100000, 300000 [L]) return: the
    caller reads the state back and decides from that (``hoststate.read_back_outcome``), because
    the code alone is not to be trusted [L]. Any other code raises at once, nothing claimed.
    """
    argv = change_argv(exe, guid, action, thumbprint)
    attempts = []
    stale = None
    while True:
        res, first = (first, None) if first is not None else (adapter.run(argv), None)
        attempts.append(res.rc)
        if res.rc in _server_configurator.APPLIED_EXIT_CODES:
            return {"group": group, "action": action, "exit_codes": attempts}
        if res.rc == -4 and stop_stale and stale is None:
            # One instance at a time [H]: end the stale one, then try once more.
            stale = "ended" if end_stale_configurator(adapter) else "none_running"
            continue
        if res.rc in _server_configurator.RETRYABLE_EXIT_CODES and len(attempts) <= retries:
            time.sleep(retry_delay)
            continue
        raise AdapterError(
            _server_configurator.explain_exit(res.rc, fqdn, group, stale=stale)
            + (f" Output: {res.stdout.strip()}" if res.stdout.strip() else "")
            + f" Exit codes seen: {attempts}."
        )


def change_argv(exe: str, guid: str, action: str, thumbprint: Optional[str]) -> List[str]:
    """Server Configurator's argv for one group's change."""
    if action == "enable":
        return _server_configurator.enable_argv(exe, guid, thumbprint)
    return _server_configurator.disable_argv(exe, guid)


def wait_for_job(adapter, fqdn: str, job: str, *, group: str, timeout: float, interval: float) -> RunResult:
    """The result of a Server Configurator run started with ``adapter.start``: its status is read
    every ``interval`` seconds until it has finished; after ``timeout`` seconds the host is named
    as one whose run never ended."""
    deadline = time.monotonic() + timeout
    while True:
        status = adapter.status(job)
        if status.finished:
            return status.result
        if time.monotonic() >= deadline:
            raise AdapterError(
                f"{fqdn}: Server Configurator, started for group {group} (async job {job}), had not finished after "
                f"{timeout:g} s. It may still be running on the host: check it there (the Server Configurator log), "
                "end it or let it finish, then run the playbook again; a later run sees an instance still running "
                "as exit -4 (xprotect_stop_stale_configurator)."
            )
        time.sleep(interval)


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
