# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Windows programs a lab host runs through the host adapter's ``run(argv)``.

- ``ServerConfigurator.exe`` with the switches, output and exit codes of the facts file.
- ``certreq -new`` / ``-accept``: a real RSA key per request, a real PKCS#10 CSR, and
  certreq's own error texts and HRESULT exit codes.
- ``netsh http show sslcert [ipport=...]`` in the block format of Windows.
- ``taskkill /F /IM ServerConfigurator.exe``: ends a stale Server Configurator.
- ``powershell.exe -Command "Remove-Item -LiteralPath 'Cert:\\LocalMachine\\<store>\\<thumbprint>' -DeleteKey
  -ErrorAction Stop"``: removes a certificate with its key container; no other command line.

Outputs use CRLF line ends, as a Windows console program's output reaches win_command.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import os
import random
import re
import time
import uuid
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

from ansible_collections.xprotect.encryption.plugins.module_utils import _roles, pki
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import (
    adcs,
    certs,
    configfiles,
    model,
    winformats,
)
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import connectivity as conn

CRLF = "\r\n"


class Output(NamedTuple):
    rc: int
    stdout: str
    stderr: str = ""


class ProgramNotFound(model.LabError):
    """win_command could not start the program (it fails the module, it is not an exit code)."""


_PATH_SEP_RE = re.compile(r"[\\/]")
_PATH_CHAR_RE = re.compile(r"[\\/:]")


def _lines(*lines: str) -> str:
    return CRLF.join(lines) + CRLF


def _exe(argv0: str) -> str:
    """Lower-case program name without folder or ``.exe``."""
    base = _PATH_SEP_RE.split(argv0.strip('"'))[-1].lower()
    return base[:-4] if base.endswith(".exe") else base


def run(site: model.Site, host: str, argv: Sequence[str], run_as: Optional[str] = None) -> Output:
    """Run ``argv`` on a lab host. Raises ProgramNotFound for anything the host does not have."""
    if not argv:
        raise model.LabError("run: argv is empty; give the program and its arguments as a list.", option="argv")
    name = _exe(argv[0])
    state = site.read_state(host)
    if name == "serverconfigurator":
        cfg = state.get("configurator") or {}
        if cfg.get("installed") and model.same_windows_path(argv[0], model.configurator_path(state)):
            return configurator(site, host, list(argv), run_as)
    elif name == "certreq" and _system_tool(argv[0]):
        return certreq(site, host, list(argv))
    elif name == "netsh" and _system_tool(argv[0]):
        return netsh(site, host, list(argv))
    elif name == "taskkill" and _system_tool(argv[0]):
        return taskkill(site, host, list(argv))
    elif name == "powershell" and _system_tool(argv[0]):
        return powershell(site, host, list(argv))
    cmdline = " ".join(f'"{a}"' if " " in a else a for a in argv)
    raise ProgramNotFound(
        f"Failed to run: '{cmdline}': Could not locate the following executable {argv[0]} "
        "(the system cannot find the file specified)."
    )


def _system_tool(argv0: str) -> bool:
    """A bare name (found on PATH) or a path under C:\\Windows\\System32."""
    if not _PATH_CHAR_RE.search(argv0):
        return True
    try:
        parts = [p.lower() for p in model.split_windows_path(argv0)]
    except model.LabError:
        return False
    return parts[:3] == ["c", "windows", "system32"] and len(parts) == 4


# ---- Server Configurator --------------------------------------------------------------------


class ConfiguratorArgs(NamedTuple):
    action: Optional[str]  # list | enable | disable | register
    group: Optional[str]  # GUID, lower case, no braces
    thumbprint: Optional[str]
    error: Optional[str]


_ACTIONS = {
    "/listcertificategroups": "list",
    "/enableencryption": "enable",
    "/disableencryption": "disable",
    "/register": "register",
}


def parse_configurator_args(args: Sequence[str]) -> ConfiguratorArgs:
    """Switches are case-insensitive; values follow ``=``. Anything else is an invalid argument."""
    action = group = thumbprint = None
    for arg in args:
        key, _sep, value = arg.partition("=")
        low = key.lower()
        if low in _ACTIONS and not value:
            if action is not None:
                return ConfiguratorArgs(None, None, None, f"Conflicting arguments: {arg}")
            action = _ACTIONS[low]
        elif low == "/quiet" and not value:
            continue
        elif low == "/certificategroup" and value:
            group = value.strip().strip("{}").lower()
        elif low == "/thumbprint" and value:
            thumbprint = model.normalize_thumbprint(value)
        elif low == "/managementserveraddress" and value:
            continue
        else:
            return ConfiguratorArgs(None, None, None, f"Invalid argument: {arg}")
    if action is None:
        return ConfiguratorArgs(None, None, None, "No operation given.")
    if action == "enable" and not thumbprint:
        return ConfiguratorArgs(None, None, None, "/enableencryption needs /thumbprint=<thumbprint>.")
    return ConfiguratorArgs(action, group, thumbprint, None)


def _log(site: model.Site, host: str, lines: Sequence[str]) -> None:
    """Append to the Server Configurator log [L: 'Arguments:', 'ApplyCertificate' ...]."""
    path = site.host_path(host, configfiles.CONFIGURATOR_LOG, create_parents=True)
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    with open(path, "a", encoding="utf-8", newline="") as fh:
        fh.write("".join(f"{stamp} [{os.getpid()}] {line}{CRLF}" for line in lines))


def _key_account(roles: Sequence[str], group: str, settings: Mapping[str, Any]) -> Optional[str]:
    """The service account that must read the key of ``group`` on a host with these roles: that
    of the role the collection's role table names (the same table production reads)."""
    role = _roles.key_reader_role(roles, group)
    return settings["service_accounts"].get(role) if role else None


def _is_admin(run_as: Optional[str], settings: Mapping[str, Any]) -> bool:
    admins = settings.get("milestone_administrators") or []
    if not admins:
        return True
    return bool(run_as) and run_as.lower() in {a.lower() for a in admins}


def configurator(site: model.Site, host: str, argv: List[str], run_as: Optional[str]) -> Output:
    args = argv[1:]
    parsed = parse_configurator_args(args)
    delay = 0.0
    token = uuid.uuid4().hex
    # Phase A: one instance at a time [H]; listing; mark this run as running.
    with site.transaction(host) as tx:
        st = tx.state
        faults = st.setdefault("faults", {})
        cfg = st["configurator"]
        running = cfg.get("running")
        if running and not model.pid_alive(running.get("pid")):
            # A run that was ended from outside (its worker killed) leaves its mark: the services
            # came back when the process died.
            cfg["running"] = running = None
            tx.touch()
        if faults.get("stale_configurator") or running:
            if faults.get("stale_configurator"):
                left = int(faults["stale_configurator"]) - 1
                if left > 0:
                    faults["stale_configurator"] = left
                else:
                    faults.pop("stale_configurator")
                tx.touch()
            tx.emit("configurator_run", exit_code=-4, args=args)
            _log(site, host, [f"Arguments: {' '.join(args)}", "Another instance is already running."])
            return Output(-4, _lines("Another instance of Server Configurator is already running."))
        if parsed.error:
            tx.emit("configurator_run", exit_code=-2, args=args)
            _log(site, host, [f"Arguments: {' '.join(args)}", parsed.error])
            return Output(-2, _lines(parsed.error, _USAGE))
        if parsed.action == "list":
            # Read-only: the event log records changes and refused runs, not a successful listing
            # (the preflight lists the groups in check mode too).
            lines = [
                f"Found '{site.group_name(g)}' group with ID = {site.group_id(g)}" for g in model.groups_of(st["roles"])
            ]
            return Output(0, _lines(*lines) if lines else "")
        if parsed.action in ("enable", "disable"):
            delay = float(faults.get("slow_restart") or 0) + restart_delay(site.settings)
            if delay > 0:
                cfg["running"] = {"pid": os.getpid(), "token": token, "since": time.time(), "seconds": delay}
                tx.touch()
    if delay > 0:
        # The service restart Server Configurator does itself [L]; another run meanwhile gets -4.
        time.sleep(delay)
    # Phase B: decide and apply.
    with site.transaction(host) as tx:
        st = tx.state
        running = st["configurator"].get("running")
        if running and running.get("token") == token:
            st["configurator"]["running"] = None
            tx.touch()
        rc, out, log = _configure(site, tx, parsed, run_as)
        tx.emit("configurator_run", exit_code=rc, args=args)
        _log(site, host, [f"Arguments: {' '.join(args)}", *log])
        return Output(rc, out)


def restart_delay(settings: Mapping[str, Any]) -> float:
    """Seconds one enable/disable run takes: ``restart_seconds`` plus a uniform draw within
    ``restart_jitter_seconds``, never below 0 (the services it restarts [L])."""
    base = float(settings.get("restart_seconds") or 0)
    jitter = float(settings.get("restart_jitter_seconds") or 0)
    if jitter > 0:
        base += random.uniform(-jitter, jitter)  # noqa: S311 - a simulated duration, not a secret
    return max(base, 0.0)


_USAGE = (
    "Usage: ServerConfigurator.exe [/quiet] /listcertificategroups | "
    "/enableencryption [/certificategroup=<GUID>] /thumbprint=<thumbprint> | "
    "/disableencryption [/certificategroup=<GUID>] | /register [/managementserveraddress=<uri>]"
)


def _configure(site: model.Site, tx: model.Txn, parsed: ConfiguratorArgs, run_as: Optional[str]):
    """Returns (exit code, stdout, log lines). Changes tx.state only when the change applies."""
    st, settings = tx.state, site.settings
    roles = st["roles"]
    host_groups = model.groups_of(roles)
    faults = st.setdefault("faults", {})
    registered = _is_admin(run_as, settings)
    if parsed.action == "register":
        if registered:
            return 0, "", ["Registration done with result = Success"]
        return int(settings["network_logon_exit_code"]), _NOT_AUTHORIZED, ["Error occurred in RegisterThisService"]

    if parsed.group is None:
        targets = host_groups  # no /certificategroup: every group at once [H]
    else:
        targets = [g for g in host_groups if site.group_id(g) == parsed.group]
        if not targets:
            return -3, _lines(f"The certificate group '{parsed.group}' was not found."), ["Invalid certificate group"]

    fault_rc = faults.pop("configurator_exit", None)
    fault_applies = faults.pop(model.CONFIGURATOR_EXIT_APPLIED, None)
    if fault_rc is not None:
        tx.touch()
        tx.emit("fault_triggered", fault="configurator_exit", value=fault_rc)
        if not model.configurator_exit_applies(fault_rc, fault_applies):
            return int(fault_rc), "", [f"Exited with {fault_rc} (injected fault); nothing was changed"]

    want = parsed.thumbprint if parsed.action == "enable" else None
    current = {g: (st["encryption"][g]["thumbprint"] if st["encryption"][g].get("enabled") else None) for g in targets}
    changes = [g for g in targets if current[g] != want]

    ms = site.management_name()
    ms_on = None
    if ms and ms != tx.name:
        ms_on = bool(site.read_state(ms)["encryption"]["server"].get("enabled"))
    elif ms == tx.name:
        ms_on = bool(st["encryption"]["server"].get("enabled"))

    # Recording and failover servers only move to the management server's state; otherwise
    # Server Configurator quits without a change and without saying why [L].
    if "server" in changes and "management" not in roles and ms_on is not None and (want is not None) != ms_on:
        return int(settings["follow_refusal_exit_code"]), "", []
    # The event server group changes only while the management server is not encrypted [L].
    if "event" in changes and settings.get("event_requires_unencrypted_management") and ms_on:
        return (
            int(settings["event_refusal_exit_code"]),
            _lines("The event server encryption cannot be changed while the management server is encrypted."),
            ["Refused before any change: management server is encrypted"],
        )

    entry = None
    if want is not None and changes:
        entry = model.find(st, "My", want)
        if entry is None or not entry.get("key"):
            return (
                int(settings["not_in_store_exit_code"]),
                _lines(
                    f"The certificate with thumbprint {want} was not found in LocalMachine\\My, "
                    "or it has no private key."
                ),
                ["Certificate not found"],
            )
        cert = certs.load_pem(entry["pem"])
        now = certs.utcnow()
        if not certs.valid_at(cert, now):
            return (
                int(settings["expired_exit_code"]),
                _lines(f"The certificate with thumbprint {want} is not valid at this time (expired or not yet valid)."),
                ["Certificate not valid"],
            )
        roots = [e["pem"] for e in model.store(st, "Root")]
        intermediates = [e["pem"] for e in model.store(st, "CA")]
        if not certs.chain_trusted(entry["pem"], roots, now, intermediates):
            return (
                int(settings["untrusted_chain_exit_code"]),
                _lines(
                    f"The certificate chain of {want} could not be verified: it does not lead to a certificate "
                    "authority trusted on this computer (LocalMachine\\Root)."
                ),
                ["Certificate chain is not trusted"],
            )
        if settings.get("configurator_checks_key_read"):
            for g in changes:
                account = _key_account(roles, g, settings)
                if account and not conn.can_read(entry.get("acl") or [], account):
                    return (
                        int(settings["key_unreadable_exit_code"]),
                        _lines(
                            f"The service account {account} cannot read the private key of the certificate "
                            f"{want}. Grant it read access to the private key."
                        ),
                        ["Private key is not accessible to the service account"],
                    )

    for g in changes:
        rec = st["encryption"][g]
        if want is not None:
            rec["enabled"] = True
            model.bind(rec, entry)
            tx.emit(
                "encryption_enabled", group=site.group_name(g), group_key=g, group_id=site.group_id(g), thumbprint=want
            )
        else:
            st["encryption"][g] = {"enabled": False, "thumbprint": None}
            tx.emit("encryption_disabled", group=site.group_name(g), group_key=g, group_id=site.group_id(g))
    if changes:
        tx.touch()
    log = ["'ApplyCertificate' Status = Success"] if changes else ["No change needed"]
    rc, out = 0, ""
    if not registered:
        # Run as a plain network logon (no become), LocalSystem or a non-administrator:
        # applied locally, registration not authorised [M].
        rc, out = int(settings["network_logon_exit_code"]), _NOT_AUTHORIZED
        log.append("Error occurred in RegisterThisService")
    elif want is not None and "server" in changes and not certs.covers(certs.load_pem(entry["pem"]), tx.name):
        # Bound, but identity-provider registration failed: CN/SAN do not match the address [L].
        rc = int(settings["name_mismatch_exit_code"])
        out = _lines("The certificate was bound, but registration with the identity provider failed.")
        log.append("Error occurred in RegisterThisService")
    else:
        log.append("Registration done with result = Success")
    if fault_rc is not None:
        rc = int(fault_rc)
    return rc, out, log


_NOT_AUTHORIZED = _lines(
    "The encryption settings were applied, but registering the service with the management server failed: "
    "the user is not authorized."
)


# ---- netsh ----------------------------------------------------------------------------------

# Application IDs are per component; the real GUIDs are not known [?], these are stable stand-ins.
_APP_IDS = {
    443: "{8e0b4d3c-54bc-4d0b-9c6b-5f3a8e4a9a43}",
    9000: "{8e0b4d3c-54bc-4d0b-9c6b-5f3a8e4a9000}",
    9001: "{1c6a1e3e-0b6c-4f5e-a4a4-3a2b8c4d9001}",
    8082: "{4c6b2e5d-7d1a-4a3c-9e8f-6b5a4c3d8082}",
}


def bindings(state: Mapping[str, Any]) -> List[Tuple[int, str]]:
    """(port, thumbprint) of every HTTP.sys binding the host's encryption state implies."""
    enc = state.get("encryption") or {}
    roles = state.get("roles") or ()
    out: List[Tuple[int, str]] = []

    def bound(group: str) -> Optional[str]:
        rec = enc.get(group) or {}
        return rec.get("thumbprint") if rec.get("enabled") else None

    if "management" in roles and bound("server"):
        out += [(443, bound("server")), (9000, bound("server"))]
    if ("recording" in roles or "failover" in roles) and bound("server"):
        out.append((9001, bound("server")))
    if "mobile" in roles and bound("mobile"):
        out.append((8082, bound("mobile")))
    return sorted(set(out))


def app_id(port: int) -> str:
    """The application ID of the binding on ``port`` (braces included)."""
    return _APP_IDS.get(port, "{00000000-0000-0000-0000-000000000000}")


def customer_thumbprint(binding: str) -> str:
    """The thumbprint of the customer's own certificate on ``binding``: a stand-in that is stable
    per binding and never one of the lab's certificates (it is not in any store of the lab)."""
    return hashlib.sha1(f"customer certificate for {binding}".encode()).hexdigest().upper()  # noqa: S324


def all_bindings(state: Mapping[str, Any]) -> List[Tuple[str, str, str]]:
    """(kind, key, thumbprint) of every HTTP.sys binding of the host, kind 'ip' or 'sni'.

    XProtect's own bindings are on 0.0.0.0; a binding of the customer's own (an IIS site, the
    ``customer_binding`` host option) is added, unless XProtect's own has the same key.
    """
    out: Dict[str, Tuple[str, str, str]] = {}
    customer = (state.get("options") or {}).get("customer_binding")
    if customer:
        kind = "ip" if re.match(r"^(?:(?:\d{1,3}\.){3}\d{1,3}|\[.*\]):\d+$", customer) else "sni"
        out[customer] = (kind, customer, customer_thumbprint(customer))
    for port, tp in bindings(state):
        key = f"0.0.0.0:{port}"
        out[key] = ("ip", key, tp)
    return sorted(out.values(), key=lambda b: (b[0], int(b[1].rsplit(":", 1)[1]), b[1]))


def _binding_block(
    key: str, thumbprint: str, kind: str = "ip", labels: Optional[Mapping[str, str]] = None
) -> List[str]:
    lab = labels or _LABELS["en-US"]
    port = int(key.rsplit(":", 1)[1])
    return [
        f"    {lab['ipport'] if kind == 'ip' else lab['hostport']:<29}: {key}",
        f"    {lab['hash']:<29}: {thumbprint.lower()}",
        f"    {lab['appid']:<29}: {app_id(port)}",
        f"    {lab['store']:<29}: {'My' if kind == 'ip' else 'WebHosting'}",
        f"    {lab['revocation']} : Enabled",
        "    Verify Revocation Using Cached Client Certificate Only : Disabled",
        "    Usage Check                  : Enabled",
        "    Revocation Freshness Time    : 0",
        "    URL Retrieval Timeout        : 0",
        "    Ctl Identifier               : (null)",
        "    Ctl Store Name               : (null)",
        "    DS Mapper Usage              : Disabled",
        "    Negotiate Client Certificate : Disabled",
        "    Reject Connections           : Disabled",
        "    Disable HTTP2                : Not Set",
        "",
    ]


# The labels netsh prints, per console language (the German ones as German Windows prints the
# first lines of a block; the remaining lines stay English there too).
_LABELS = {
    "en-US": {
        "header": "SSL Certificate bindings:",
        "ipport": "IP:port",
        "hostport": "Hostname:port",
        "hash": "Certificate Hash",
        "appid": "Application ID",
        "store": "Certificate Store Name",
        "revocation": "Verify Client Certificate Revocation",
        "not_found": "The system cannot find the file specified.",
    },
    "de-DE": {
        "header": "SSL-Zertifikatbindungen:",
        "ipport": "IP:Port",
        "hostport": "Hostname:Port",
        "hash": "Zertifikathash",
        "appid": "Anwendungs-ID",
        "store": "Zertifikatspeichername",
        "revocation": "Sperrung des Clientzertifikats überprüfen",
        "not_found": "Das System kann die angegebene Datei nicht finden.",
    },
}


def _console(state: Mapping[str, Any], text: str) -> str:
    """What win_command hands over: a console program writes the OEM code page (850 on a German
    Windows), and win_command decodes it as UTF-8, so anything beyond ASCII arrives broken."""
    if (state.get("options") or {}).get("locale") == "de-DE":
        return text.encode("cp850", errors="replace").decode("utf-8", errors="replace")
    return text


def netsh(site: model.Site, host: str, argv: List[str]) -> Output:
    args = [a.lower() for a in argv[1:]]
    if args[:3] != ["http", "show", "sslcert"] or len(args) > 4:
        return Output(1, _lines("", "The following command was not found: " + " ".join(argv[1:]) + "."))
    state = site.read_state(host)
    labels = _LABELS.get((state.get("options") or {}).get("locale") or "en-US", _LABELS["en-US"])
    header = ["", labels["header"], "-" * 25, ""]
    blocks = all_bindings(state)
    if len(args) == 4:
        key, _sep, value = args[3].partition("=")
        if key not in ("ipport", "hostnameport") or not re.match(r"^\S+:\d{1,5}$", value):
            return Output(1, _lines("", "The parameter is incorrect.", ""))
        blocks = [b for b in blocks if b[1] == value and (b[0] == "ip") == (key == "ipport")]
        if not blocks:
            # What Windows prints for an ipport without a binding, with exit code 1.
            return Output(1, _console(state, _lines(*header, labels["not_found"], "")))
    lines = list(header)
    for kind, key, tp in blocks:
        lines += _binding_block(key, tp, kind, labels)
    return Output(0, _console(state, _lines(*lines)))


# ---- taskkill -------------------------------------------------------------------------------


def taskkill(site: model.Site, host: str, argv: List[str]) -> Output:
    args = [a.lower() for a in argv[1:]]
    image = None
    for i, a in enumerate(args):
        if a == "/im" and i + 1 < len(args):
            image = args[i + 1]
    if image is None:
        return Output(1, "", _lines("ERROR: Invalid syntax. Neither /FI nor /PID nor /IM were specified."))
    shown = argv[1:][args.index(image)]
    if image != "serverconfigurator.exe":
        return Output(128, "", _lines(f'ERROR: The process "{shown}" not found.'))
    with site.transaction(host) as tx:
        faults = tx.state.setdefault("faults", {})
        cfg = tx.state["configurator"]
        if not faults.get("stale_configurator") and not cfg.get("running"):
            return Output(128, "", _lines(f'ERROR: The process "{shown}" not found.'))
        faults.pop("stale_configurator", None)
        cfg["running"] = None
        tx.touch()
        tx.emit("configurator_killed")
    pid = 4000 + (sum(map(ord, host)) % 4000)
    return Output(0, _lines(f'SUCCESS: The process "{shown}" with PID {pid} has been terminated.'))


# ---- powershell.exe -Command (Remove-Item -DeleteKey only) -----------------------------------

_REMOVE_ITEM_RE = re.compile(
    r"^Remove-Item -LiteralPath 'Cert:\\LocalMachine\\(?P<store>[A-Za-z][A-Za-z0-9]*)\\(?P<tp>[0-9A-Fa-f]{40})' "
    r"-DeleteKey -ErrorAction Stop$"
)


def powershell(site: model.Site, host: str, argv: List[str]) -> Output:
    """``Remove-Item`` on a ``Cert:`` path with ``-DeleteKey``: the certificate and its key container go."""
    lower = [a.lower() for a in argv]
    command = " ".join(argv[lower.index("-command") + 1 :]) if "-command" in lower else ""
    match = _REMOVE_ITEM_RE.match(command)
    if not match:
        return Output(
            1,
            "",
            _lines(
                "The lab's powershell.exe runs only: Remove-Item -LiteralPath "
                "'Cert:\\LocalMachine\\<store>\\<thumbprint>' -DeleteKey -ErrorAction Stop"
            ),
        )
    path = f"Cert:\\LocalMachine\\{match['store']}\\{match['tp']}"
    with site.transaction(host) as tx:
        if model.remove_certificate(tx, match["store"], match["tp"], delete_key=True):
            return Output(0, "")
    return Output(
        1,
        "",
        _lines(
            f"Remove-Item : Cannot find path '{path}' because it does not exist.",
            "    + CategoryInfo          : ObjectNotFound: (" + path + ":String) [Remove-Item], ItemNotFoundException",
            "    + FullyQualifiedErrorId : PathNotFound,Microsoft.PowerShell.Commands.RemoveItemCommand",
        ),
    )


# ---- certreq --------------------------------------------------------------------------------

# certreq prints "Certificate Request Processor: <text> <hr> (<detail>)" and exits with the HRESULT.
_HR = {
    "not_found": (0x80092004, "Cannot find object or property.", "-2146885628 CRYPT_E_NOT_FOUND"),
    "file_not_found": (0x80070002, "The system cannot find the file specified.", "WIN32: 2 ERROR_FILE_NOT_FOUND"),
    "file_exists": (0x80070050, "The file exists.", "WIN32: 80 ERROR_FILE_EXISTS"),
    "invalid_parameter": (0x80070057, "The parameter is incorrect.", "WIN32: 87 ERROR_INVALID_PARAMETER"),
    "invalid_data": (0x8007000D, "The data is invalid.", "WIN32: 13 ERROR_INVALID_DATA"),
    "untrusted_root": (
        0x800B0109,
        "A certificate chain processed, but terminated in a root certificate which is not trusted by the "
        "trust provider.",
        "-2146762487 CERT_E_UNTRUSTEDROOT",
    ),
}


def _certreq_error(kind: str, context: str = "") -> Output:
    hr, text, detail = _HR[kind]
    signed = hr - (1 << 32)
    lines = [f"Certificate Request Processor: {text} 0x{hr:08x} ({detail})"]
    if context:
        lines.append(context)
    return Output(signed, _lines(*lines))


def certreq(site: model.Site, host: str, argv: List[str]) -> Output:
    if any(a.lower() in ("-submit", "/submit", "-retrieve", "/retrieve") for a in argv[1:]):
        return Output(*adcs.certreq(site, host, argv))  # the enterprise CA (_lab/adcs.py)
    verb = None
    force = False
    files: List[str] = []
    for arg in argv[1:]:
        low = arg.lower()
        if low in ("-new", "/new", "-accept", "/accept"):
            if verb:
                return _certreq_error("invalid_parameter")
            verb = low[1:]
        elif low in ("-q", "/q", "-machine", "/machine"):
            continue
        elif low in ("-f", "/f"):
            force = True
        elif low.startswith(("-", "/")) and len(arg) > 1 and not re.match(r"^[A-Za-z]:", arg):
            return _certreq_error("invalid_parameter")
        else:
            files.append(arg)
    if verb == "new" and len(files) == 2:
        return _certreq_new(site, host, files[0], files[1], force)
    if verb == "accept" and len(files) == 1:
        return _certreq_accept(site, host, files[0])
    return _certreq_error("invalid_parameter")


def _parse_inf(text: str) -> Dict[str, Any]:
    return winformats.parse_certreq_inf(text)


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("utf-8", errors="replace")


def _certreq_new(site: model.Site, host: str, inf_path: str, csr_path: str, force: bool) -> Output:
    data = site.read_host_file(host, inf_path)
    if data is None:
        return _certreq_error("file_not_found", inf_path)
    try:
        inf = _parse_inf(_decode(data))
    except Exception:  # noqa: BLE001 - any INF certreq cannot read gives the same error
        return _certreq_error("invalid_data", inf_path)
    cn = inf.get("subject_cn")
    bits = int(inf.get("key_length") or 2048)
    if not cn or bits < 512 or bits > 16384:
        return _certreq_error("invalid_data", inf_path)
    try:
        out_path = site.host_path(host, csr_path, create_parents=True)
    except model.LabError:
        return _certreq_error("invalid_parameter")
    if os.path.exists(out_path) and not force:
        return _certreq_error("file_exists", csr_path)
    key = certs.generate_key(bits)  # the one keygen of the flow: the key is born on the host
    csr = certs.make_csr(key, cn, inf.get("dns_names") or [], inf.get("key_usage") or 0xA0, inf.get("eku") or [])
    placeholder = certs.self_signed(key, cn, days=365)
    with site.transaction(host) as tx:
        # Windows keeps the pending key with a self-signed placeholder in the REQUEST store; a
        # second -new leaves a second pending key.
        entry, _added = model.add_certificate(
            tx,
            "REQUEST",
            placeholder,
            key=key,
            exportable=bool(inf.get("exportable")),
            acl=site.settings["default_key_readers"],
        )
        entry["request"] = {
            "created": time.time(),
            "spki_sha256": certs.spki_sha256(key.public_key()),
            "provider": inf.get("provider"),
            "machine_key_set": bool(inf.get("machine_key_set")),
        }
        tx.emit("certificate_requested", thumbprint=entry["thumbprint"], subject=f"CN={cn}", key_length=bits)
        with open(out_path, "wb") as fh:
            fh.write(csr.encode("ascii"))
    return Output(0, _lines("", "CertReq: Request Created"))


def _load_response(data: bytes) -> List[Any]:
    """A .cer/.crt in PEM, DER or bare base64 (certreq accepts all three)."""
    try:
        return certs.load_any(data)
    except ValueError:
        pass
    text = re.sub(rb"\s+", b"", data)
    return certs.load_any(base64.b64decode(text, validate=True))


def _certreq_accept(site: model.Site, host: str, cer_path: str) -> Output:
    data = site.read_host_file(host, cer_path)
    if data is None:
        return _certreq_error("file_not_found", cer_path)
    try:
        chain = _load_response(data)
    except (ValueError, TypeError):
        return _certreq_error("invalid_data", cer_path)
    leaf = next((c for c in chain if not certs.is_ca(c)), chain[0])
    want = certs.spki_sha256(leaf.public_key())
    with site.transaction(host) as tx:
        pending = next(
            (e for e in model.store(tx.state, "REQUEST") if (e.get("request") or {}).get("spki_sha256") == want), None
        )
        if pending is None:
            return _certreq_error("not_found")
        roots = [e["pem"] for e in model.store(tx.state, "Root")]
        intermediates = [e["pem"] for e in model.store(tx.state, "CA")]
        if site.settings.get("accept_requires_trusted_root") and not certs.find_root(
            pki.cert_pem(leaf), roots, intermediates
        ):
            return _certreq_error("untrusted_root")
        key_id = pending["key"]
        acl = list(pending.get("acl") or [])
        model.store(tx.state, "REQUEST").remove(pending)
        model.add_certificate(tx, "My", leaf, key_id=key_id, acl=acl, exportable=bool(pending.get("exportable")))
    fmt = "%m/%d/%Y %I:%M %p"
    return Output(
        0,
        _lines(
            "Installed Certificate:",
            f"  Serial Number: {certs.serial_hex(leaf)}",
            f"  Subject: {certs.dotnet_name(leaf.subject)}",
            f"  NotBefore: {pki.not_before(leaf).strftime(fmt)}",
            f"  NotAfter: {pki.not_after(leaf).strftime(fmt)}",
            f"  Thumbprint: {pki.thumbprint(leaf).lower()}",
        ),
    )
