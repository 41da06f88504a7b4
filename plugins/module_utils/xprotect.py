# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the collection knows about Milestone XProtect, as pure functions (no I/O).

Certificate groups and their GUIDs, the Server Configurator command line and its exit codes,
parsers for the outputs and files read from a host (``/listcertificategroups``, the HTTP.sys
bindings from the registry or ``netsh http show sslcert``, RecorderConfig.xml, ServerConfig.xml, the mobile server's
``.exe.config``, ServiceEndpoints.xml, certreq), and the certreq INF the hosts are given.

Every fact comes from ``xprotect-facts.md`` and carries its confidence where code depends on
it: [H] vendor code or documentation, [M] vendor sample, [L] field report, [?] unverified.
Where a fact is [L] or [?], the code reads the real state and the value is a setting.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import ntpath
import re
import xml.etree.ElementTree as ET  # noqa: S405 - hardened in _parse_xml (no DTD, no entities)
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union


class XProtectError(Exception):
    """Bad input or output that cannot be understood. The message says what to do."""


# ---------------------------------------------------------------------------------------------
# Certificate groups
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Group:
    """A Server Configurator certificate group."""

    key: str  # our short name: server, streaming, mobile, event
    name: str  # the name /listcertificategroups prints [H]
    default_guid: str  # the known default ID [H]; the real one is resolved at run time by name
    pattern: str  # how the printed name is matched (regex, case-insensitive)
    covers: str


# [H] names and default GUIDs; the event server's group name varies, so it is matched by
# /event server/ [H: "name varies"].
GROUPS: Dict[str, Group] = {
    "server": Group(
        "server",
        "Server certificate",
        "84430eb7-847c-422d-aa00-7915cd0d7a65",
        r"^server certificate$",
        "management server <-> recording server, and clients to the management server's HTTPS",
    ),
    "streaming": Group(
        "streaming",
        "Streaming media certificate",
        "549df21d-047c-456b-958e-99e65dd8b3ec",
        r"^streaming media certificate$",
        "every client connection to recording servers (port 7563)",
    ),
    "mobile": Group(
        "mobile",
        "Mobile streaming media certificate",
        "76cfc719-a852-4210-913e-703eadab139a",
        r"^mobile streaming media certificate$",
        "mobile server",
    ),
    "event": Group(
        "event",
        "Event server",
        "7e02e0f5-549d-4113-b8de-bda2c1f38dbf",
        r"event server",
        "event server",
    ),
}

# Which groups a host switches, per role.
# - management -> server [H]: the Server certificate group covers the management server side.
# - recording -> server + streaming [H]: management<->recording encryption is all or nothing,
#   and streaming media covers the clients pulling video from port 7563.
# - failover -> server + streaming [?]: the facts only say failover servers "should be prepared
#   for encryption as well"; we treat them as recording servers. Override per host with the
#   action's ``groups`` option.
# - mobile -> mobile [H]; event -> event [L] (the event server group is a field report).
# - client -> nothing: clients only trust the CA.
ROLE_GROUPS: Dict[str, Tuple[str, ...]] = {
    "management": ("server",),
    "recording": ("server", "streaming"),
    "failover": ("server", "streaming"),
    "mobile": ("mobile",),
    "event": ("event",),
    "client": (),
}

_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_GUID_RE = re.compile(rf"^\{{?({_GUID})\}}?$")
_THUMBPRINT_RE = re.compile(r"^[0-9A-F]{40}$")


def groups_for_roles(roles: Iterable[str]) -> List[str]:
    """The group keys a host with these roles switches, in GROUPS order, without duplicates."""
    wanted = set()
    for role in roles:
        if role not in ROLE_GROUPS:
            raise XProtectError(f"unknown XProtect role {role!r}; use one of {', '.join(ROLE_GROUPS)}.")
        wanted.update(ROLE_GROUPS[role])
    return [key for key in GROUPS if key in wanted]


def _norm_name(name: str) -> str:
    return " ".join(name.split()).casefold()


def group_key_for_name(name: str) -> Optional[str]:
    """The group key of a name as /listcertificategroups prints it, or None."""
    norm = _norm_name(name)
    for key, group in GROUPS.items():
        if re.search(group.pattern, norm, re.IGNORECASE):
            return key
    return None


# "Found '<group name>' group with ID = <36-char GUID>" [H, vendor code]. Tolerant of case,
# spacing, the kind of quotes and braces around the GUID.
_GROUP_LINE_RE = re.compile(
    r"found\s+['\"\u2018\u2019\u201c\u201d]?(?P<name>.+?)['\"\u2018\u2019\u201c\u201d]?\s+group\s+with\s+id\s*[=:]\s*"
    rf"\{{?(?P<guid>{_GUID})\}}?",
    re.IGNORECASE,
)


def parse_certificate_groups(stdout: str) -> Dict[str, str]:
    """``{group name: GUID (lowercase)}`` from the output of ``/listcertificategroups``.

    Lines that are not group lines (banners, blank lines) are ignored.
    """
    groups: Dict[str, str] = {}
    for line in (stdout or "").lstrip("\ufeff").splitlines():
        match = _GROUP_LINE_RE.search(line)
        if match:
            groups[match.group("name").strip()] = match.group("guid").lower()
    return groups


def resolve_group_ids(listing: Mapping[str, str], keys: Iterable[str]) -> Dict[str, str]:
    """``{group key: GUID}`` for ``keys``, matched by name in a parsed listing.

    The name decides [H: "resolve their IDs at run time, by name"]. When no name matches (a
    translated Server Configurator, say) but the known default GUID is listed, that GUID is
    used. Otherwise XProtectError names the missing group and lists what was found.
    """
    resolved: Dict[str, str] = {}
    for key in keys:
        if key not in GROUPS:
            raise XProtectError(f"unknown certificate group {key!r}; use one of {', '.join(GROUPS)}.")
        group = GROUPS[key]
        found = [guid for name, guid in listing.items() if group_key_for_name(name) == key]
        if not found and group.default_guid in (g.lower() for g in listing.values()):
            found = [group.default_guid]
        if not found:
            seen = ", ".join(f"'{n}' = {g}" for n, g in listing.items()) or "no groups at all"
            raise XProtectError(
                f"Server Configurator lists no '{group.name}' group (found: {seen}). Is the XProtect component "
                f"for this group installed on the host? Check the host's roles in the inventory, or name the "
                f"groups to change explicitly."
            )
        resolved[key] = found[0].lower()
    return resolved


# ---------------------------------------------------------------------------------------------
# HTTP.sys SSL bindings: the registry first, ``netsh http show sslcert`` as the fallback
# ---------------------------------------------------------------------------------------------
NETSH_NO_BINDING = "The system cannot find the file specified."

# HTTP.sys keeps its SSL bindings in the registry, one key per binding, named as netsh prints
# the binding: ``0.0.0.0:9001``, ``[::]:9001``; SNI bindings (``host:port``) live under
# SslSniBindingInfo and are never read. ``SslCertHash`` is the SHA-1 thumbprint as REG_BINARY
# (20 bytes): no language, no console code page. ``ansible.windows.win_reg_stat`` takes the
# PowerShell drive form of the path (``HKLM:\...``).
SSL_BINDING_REGISTRY_KEY = r"HKLM:\SYSTEM\CurrentControlSet\Services\HTTP\Parameters\SslBindingInfo"
SSL_BINDING_HASH_VALUE = "SslCertHash"

# netsh translates its labels ("IP:port", "Certificate Hash"; "Adresse IP:port",
# "Hachage du certificat"; Japanese ones) and writes them in the console code page, which
# win_command decodes as UTF-8: a label may arrive garbled. Bindings are therefore found by the
# shape of their values, which are ASCII in every language: an ip:port (or host:port) value
# opens a block, the first 40-hex value in it is the hash, the first {GUID} the application ID.
_FULLWIDTH_COLON = "\uff1a"
_IPPORT_TAIL_RE = re.compile(r"(?:^|[\s:])(?P<addr>(?:\d{1,3}\.){3}\d{1,3}|\[[0-9A-Fa-f:.%]+\]):(?P<port>\d{1,5})\s*$")
_HOSTPORT_TAIL_RE = re.compile(r"(?:^|\s)(?P<addr>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(?P<port>\d{1,5})\s*$")
_PORT_ONLY_TAIL_RE = re.compile(r"\s(?P<port>\d{1,5})\s*$")
_HASH_TAIL_RE = re.compile(r"(?:^|[\s:])(?P<hash>(?:[0-9A-Fa-f]{2} ?){19}[0-9A-Fa-f]{2})\s*$")
_GUID_TAIL_RE = re.compile(rf"(?:^|[\s:])(?P<guid>\{{{_GUID}\}}|{_GUID})\s*$")
_SEPARATOR_RE = re.compile(r"\s+:\s*|:\s+")
_HEX40_RE = re.compile(r"^[0-9a-fA-F]{40}$")


def _null(value: str) -> Optional[str]:
    value = value.strip()
    return None if not value or value.lower() == "(null)" else value


def _label_value(line: str) -> Tuple[str, str]:
    """``(label, value)`` of a ``label : value`` line, split where a colon meets white space
    (``IP:port`` and ``0.0.0.0:443`` have none). The label is kept only for ``fields``."""
    parts = _SEPARATOR_RE.split(line.strip(), maxsplit=1)
    if len(parts) == 2:
        return " ".join(parts[0].lower().split()), parts[1].strip()
    return "", line.strip()


def parse_netsh_sslcert(stdout: str) -> List[dict]:
    """Binding blocks of ``netsh http show sslcert [ipport=...]`` as dicts, in any language.

    Each dict has ``ipport`` (or ``hostnameport``, or ``ccs_port``), ``address``, ``port``
    (int), ``thumbprint`` (uppercase, no spaces), ``app_id``, ``store`` and ``fields`` (every
    ``label: value`` line of the block, labels lowercased, for reading only: no decision rests
    on a label). Blocks are found by shape (see above); a Central Certificate Store block is a
    port alone on the first line of a paragraph. No binding ("The system cannot find the file
    specified." in the host's language) gives an empty list.
    """
    bindings: List[dict] = []
    current: Optional[dict] = None
    paragraph_start = True
    after_app_id = False
    for raw in (stdout or "").lstrip("\ufeff").replace(_FULLWIDTH_COLON, ":").splitlines():
        line = raw.rstrip()
        if not line.strip():
            paragraph_start = True
            continue
        first_of_paragraph, paragraph_start = paragraph_start, False
        block = _block_start(line, first_of_paragraph)
        if block is not None:
            current = block
            bindings.append(current)
            after_app_id = False
            continue
        if current is None:
            continue
        label, value = _label_value(line)
        if label:
            current["fields"][label] = value
        hash_match = _HASH_TAIL_RE.search(line)
        guid_match = _GUID_TAIL_RE.search(line)
        if "thumbprint" not in current and (hash_match or _null(value) is None and "app_id" not in current):
            # The line after the block's address is the hash: 40 hex digits, or (null) for a
            # Central Certificate Store binding.
            current["thumbprint"] = clean_thumbprint(hash_match.group("hash")) if hash_match else None
        elif guid_match and "app_id" not in current:
            current["app_id"] = guid_match.group("guid")
            after_app_id = True
            continue
        elif after_app_id and "store" not in current:
            # The certificate store name follows the application ID in every Windows version.
            current["store"] = _null(value)
        after_app_id = False
    for block in bindings:
        block.setdefault("thumbprint", None)
        block.setdefault("app_id", None)
        block.setdefault("store", None)
    return bindings


def _block_start(line: str, first_of_paragraph: bool) -> Optional[dict]:
    """A new block when the line's value is an ip:port or host:port (or, first in a paragraph,
    a port alone: a Central Certificate Store binding)."""
    ip = _IPPORT_TAIL_RE.search(line)
    if ip:
        addr = ip.group("addr")
        label, _value = _label_value(line)
        return {
            "ipport": f"{addr}:{ip.group('port')}",
            "address": addr[1:-1] if addr.startswith("[") else addr,
            "port": int(ip.group("port")),
            "fields": {label: f"{addr}:{ip.group('port')}"} if label else {},
        }
    host = _HOSTPORT_TAIL_RE.search(line)
    if host and not host.group("addr").isdigit():
        label, value = _label_value(line)
        return {
            "hostnameport": value if label else f"{host.group('addr')}:{host.group('port')}",
            "address": host.group("addr"),
            "port": int(host.group("port")),
            "fields": {label: value} if label else {},
        }
    port_only = _PORT_ONLY_TAIL_RE.search(line) if first_of_paragraph else None
    if port_only:
        label, value = _label_value(line)
        return {
            "ccs_port": port_only.group("port"),
            "address": None,
            "port": int(port_only.group("port")),
            "fields": {label: value} if label else {},
        }
    return None


def netsh_sslcert_argv() -> List[str]:
    """``netsh http show sslcert``: the whole listing, so one call serves every port of a host."""
    return ["netsh", "http", "show", "sslcert"]


def ssl_binding_registry_key(ipport: str) -> str:
    """The registry key of the HTTP.sys binding ``ipport`` (``0.0.0.0:9001``)."""
    return f"{SSL_BINDING_REGISTRY_KEY}\\{ipport}"


def thumbprint_from_registry(value: Any) -> Optional[str]:
    """The thumbprint in a ``SslCertHash`` value as win_reg_stat returns REG_BINARY (a list of
    byte values), or as bytes or hex text; None when it is not a 20-byte SHA-1."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
    elif isinstance(value, (list, tuple)):
        try:
            data = bytes(int(b, 16) if isinstance(b, str) else int(b) for b in value)
        except (TypeError, ValueError):
            return None
    else:
        text = re.sub(r"(0x|[\s,:-])", "", str(value), flags=re.IGNORECASE)
        return text.upper() if _HEX40_RE.match(text) else None
    return data.hex().upper() if len(data) == 20 else None


def binding_from_registry(ipport: str, exists: bool, reg_type: Optional[str], value: Any) -> Optional[dict]:
    """A binding block (the shape of :func:`parse_netsh_sslcert`) from a ``SslCertHash`` read,
    or None when the registry does not show the binding (then netsh is asked)."""
    if not exists:
        return None
    thumbprint = thumbprint_from_registry(value)
    if thumbprint is None or (reg_type and reg_type.upper() not in ("REG_BINARY", "REG_NONE")):
        return None
    match = _IPPORT_TAIL_RE.search(ipport)
    if not match:
        return None
    addr = match.group("addr")
    return {
        "ipport": ipport,
        "address": addr[1:-1] if addr.startswith("[") else addr,
        "port": int(match.group("port")),
        "thumbprint": thumbprint,
        "app_id": None,
        "store": None,
        "fields": {},
        "source": "registry",
    }


_ANY_ADDRESSES = ("0.0.0.0", "::")  # noqa: S104 - compared with, never bound


def binding_for_ipport(bindings: Sequence[dict], ipport: str) -> Optional[str]:
    """The thumbprint HTTP.sys serves on ``ipport`` (``0.0.0.0:9000``), or None.

    The exact IP binding first, then an all-addresses binding of the same port (0.0.0.0, then
    [::]), which HTTP.sys serves for any address without a binding of its own. Never a binding
    of another port, never a host-name (SNI) or Central Certificate Store binding: a web site of
    the customer's own (IIS on 443, say) is not ours.
    """
    match = _IPPORT_TAIL_RE.search(str(ipport or ""))
    if not match:
        return None
    addr = match.group("addr")
    addr = addr[1:-1] if addr.startswith("[") else addr
    port = int(match.group("port"))
    ip_blocks = [b for b in bindings if b.get("port") == port and "hostnameport" not in b and "ccs_port" not in b]
    for block in ip_blocks:
        if block.get("address") in (addr, None) and block.get("thumbprint"):
            return block["thumbprint"]
    for any_address in _ANY_ADDRESSES:
        for block in ip_blocks:
            if block.get("address") == any_address and block.get("thumbprint"):
                return block["thumbprint"]
    return None


def binding_for_port(bindings: Sequence[dict], port: int, address: Optional[str] = None) -> Optional[str]:
    """The thumbprint bound to ``port``, or None.

    Preference: the exact ``address`` when given, then all-addresses IPv4 (0.0.0.0), then IPv6
    ([::]), then any other IP:port, then a hostname (SNI) binding, then the central store.
    ``address`` '+' or '*' (the mobile server's "all addresses") means 0.0.0.0.
    """
    if address in ("+", "*", ""):
        address = None
    candidates = [b for b in bindings if b.get("port") == int(port) and b.get("thumbprint")]

    def rank(b: dict) -> int:
        if address and b.get("address") == address and "ipport" in b:
            return 0
        if "ipport" in b:
            return 1 + (_ANY_ADDRESSES.index(b["address"]) if b.get("address") in _ANY_ADDRESSES else 2)
        return 4 if "hostnameport" in b else 5

    return min(candidates, key=rank)["thumbprint"] if candidates else None


# ---------------------------------------------------------------------------------------------
# Server Configurator
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ExitCode:
    code: int
    meaning: str
    action: str
    confidence: str


CONFIGURATOR_LOG_HINT = r"C:\ProgramData\Milestone\...\*ServerConfigurator*.log"
DEFAULT_CONFIGURATOR_PATH = r"C:\Program Files\Milestone\Server Configurator\ServerConfigurator.exe"
MIN_CONFIGURATOR_VERSION = (20, 3)  # 2020 R3: the command line exists from here on [H]

# 0..-4 from vendor code [H]; the rest from field reports [L]. ``{log}`` is the log hint.
EXIT_CODES: Dict[int, ExitCode] = {
    0: ExitCode(0, "success", "The state is read back to confirm it.", "H"),
    -1: ExitCode(
        -1,
        "unknown error",
        "Read the newest {log}: the 'Arguments:' line shows what ran and an 'Error occurred' line says what failed.",
        "H",
    ),
    -2: ExitCode(
        -2,
        "invalid arguments",
        "The command line was refused. Check that Server Configurator is 20.3 (2020 R3) or later; if it is, "
        "report this as a bug in the collection with the 'Arguments:' line of the {log}.",
        "H",
    ),
    -3: ExitCode(
        -3,
        "invalid argument value",
        "The group ID or the thumbprint was refused: re-read the groups with /listcertificategroups, and check "
        "that the certificate is in LocalMachine\\My with its private key and that the service accounts can read "
        "the key.",
        "H",
    ),
    -4: ExitCode(
        -4,
        "another instance is running",
        "End it, or set `xprotect_stop_stale_configurator: true`. If no other instance runs, check that the CA "
        "is in LocalMachine\\Root on the host: field reports [L] give -4 for a chain to an untrusted root too.",
        "H",
    ),
    1: ExitCode(
        1,
        "refused before any change (reported on event servers)",
        "On an event server the group has been reported to change only while the management server is not "
        "encrypted: check the event server's place in the order (`xprotect_event_server_place`), and the {log}.",
        "L",
    ),
    20: ExitCode(
        20,
        "applied locally, but not registered (reported on event servers)",
        "Run the task as a user in the Milestone Administrators role (become: true, become_method: "
        "ansible.builtin.runas), then run it again.",
        "L",
    ),
    100: ExitCode(
        100,
        "applied locally, but registration with the management server was not authorised",
        "Run the task with become: true, become_method: ansible.builtin.runas, as a user in the Milestone "
        "Administrators role (not LOCAL SYSTEM, not a plain network logon), then run it again.",
        "L",
    ),
    10000: ExitCode(
        10000,
        "a Milestone service would not stop",
        "It is retried (`xprotect_encryption_retries`); if it persists, look at the Milestone services and the "
        "Windows event log on the host, start what is stopped, and run again.",
        "L",
    ),
    20000: ExitCode(
        20000,
        "a Milestone service would not start",
        "It is retried (`xprotect_encryption_retries`); if it persists, look at the Milestone services and the "
        "Windows event log on the host, start what is stopped, and run again.",
        "L",
    ),
    100000: ExitCode(
        100000,
        "certificate bound, but identity-provider registration failed",
        "Usually the certificate's CN does not match the address the management server knows for this server: "
        "make the CN the FQDN it is registered with (never an IP address), re-issue, and run again.",
        "L",
    ),
    300000: ExitCode(
        300000,
        "certificate bound, but identity-provider registration failed",
        "Usually the certificate's CN does not match the address the management server knows for this server: "
        "make the CN the FQDN it is registered with (never an IP address), re-issue, and run again.",
        "L",
    ),
}

# A Milestone service would not stop or start: a third-party wizard retries these up to 3 times [L].
RETRYABLE_EXIT_CODES = (10000, 20000)
# After these the change has been reported applied locally [L]: only reading the state back tells.
APPLIED_EXIT_CODES = (0, 20, 100, 100000, 300000)

# What is left to do when the state read back after one of APPLIED_EXIT_CODES shows the change
# in place: the registration, which running the task again would not repeat (nothing is left to
# change, so Server Configurator is not started). ``/register`` is a documented switch [H].
_REGISTER_AGAIN = (
    "register this server again as a user in the Milestone Administrators role: Server Configurator's Registering "
    "page, or `ServerConfigurator.exe /register` in an interactive logon of that user."
)
APPLIED_ADVICE: Dict[int, str] = {
    20: "The encryption change is in place, the registration is not: " + _REGISTER_AGAIN,
    100: "The encryption change is in place, the registration is not: " + _REGISTER_AGAIN,
    100000: "The certificate is bound, the identity provider does not know it. Usually the certificate's CN does not "
    "match the address the management server knows for this server: make the CN the FQDN it is registered with "
    "(never an IP address), re-issue, then " + _REGISTER_AGAIN,
}
APPLIED_ADVICE[300000] = APPLIED_ADVICE[100000]


def normalize_exit_code(code: int) -> int:
    """Windows exit codes are DWORDs; some tools report -4 as 4294967292. Give the signed value."""
    code = int(code)
    return code - 2**32 if code >= 2**31 else code


# What to say about exit -4 once the collection has acted on ``stop_stale_configurator``, so that
# the advice is never "set the setting" when it is set already (``explain_exit(stale=...)``).
_UNTRUSTED_ROOT = (
    "check that the CA is in LocalMachine\\Root on the host: field reports [L] give -4 for a chain to an "
    "untrusted root too."
)
STALE_ACTIONS = {
    "ended": "The stale instance was ended (xprotect_stop_stale_configurator) and it exited -4 again: another run "
    "may be under way on the host (let it finish), or " + _UNTRUSTED_ROOT,
    "none_running": "No Server Configurator process was running to end (xprotect_stop_stale_configurator), so "
    + _UNTRUSTED_ROOT,
    "check_mode": "Check mode ends no process: a run outside check mode ends it and tries again, as "
    "xprotect_stop_stale_configurator is set.",
}


def explain_exit(
    code: int,
    host: str,
    group: Optional[str] = None,
    log_hint: str = CONFIGURATOR_LOG_HINT,
    stale: Optional[str] = None,
) -> str:
    """A sentence a person can act on, for a Server Configurator exit code on ``host``.

    ``stale`` (for exit -4 only) says what was done about a stale instance: ``ended``,
    ``none_running`` or ``check_mode`` (see ``STALE_ACTIONS``); None gives the default advice.
    """
    code = normalize_exit_code(code)
    if code == -4 and stale in STALE_ACTIONS:
        where = f"Server Configurator on {host}" + (f" (group '{group}')" if group else "")
        return f"{where} exited -4: another instance is running. {STALE_ACTIONS[stale]}"
    where = f"Server Configurator on {host}" + (f" (group '{group}')" if group else "")
    known = EXIT_CODES.get(code)
    if known is None:
        return (
            f"{where} exited {code}, a code this collection does not know. Read the newest {log_hint} on {host}: "
            "the 'Arguments:' line shows what ran, and lines such as 'Error occurred in RegisterThisService' say "
            "what failed. The run stopped there without reading the state back; an audit "
            "(playbooks/audit.yml --check) shows the state the host is in now."
        )
    if code == 0:
        return f"{where} exited 0: success."
    mark = "" if known.confidence == "H" else " (meaning from field reports [L])"
    return f"{where} exited {code}: {known.meaning}{mark}. {known.action.format(log=f'{log_hint} on {host}')}"


def explain_read_back(code: int, host: str, group: str, applied: bool, state: str = "") -> str:
    """The outcome of a run that exited with one of APPLIED_EXIT_CODES, once the state is read back.

    The code is not trusted [L]: ``applied`` is what the read-back showed for ``group``, and
    ``state`` is how it reads now. Applied: a warning with what is left to do. Not applied: the
    code's explanation, for a failure.
    """
    code = normalize_exit_code(code)
    where = f"Server Configurator on {host} (group '{group}')"
    now = f" ({state})" if state else ""
    if code == 0:
        if applied:
            return f"{where} exited 0 and the state read back shows the change{now}."
        return f"{where} exited 0 (success), but the state read back is not what was asked{now}."
    known = EXIT_CODES.get(code)
    mark = "" if known is None or known.confidence == "H" else " (meaning from field reports [L])"
    meaning = f"{known.meaning}{mark}" if known else "a code this collection does not know"
    if applied:
        advice = APPLIED_ADVICE.get(code) or f"Read the newest {CONFIGURATOR_LOG_HINT} on {host} for what failed."
        return f"{where} exited {code}: {meaning}. The state read back shows the change{now}. {advice}"
    return (
        f"{where} exited {code}: {meaning}, and the state read back does not show the change{now}: it was not "
        f"applied. " + (known.action.format(log=f"{CONFIGURATOR_LOG_HINT} on {host}") if known else "")
    ).rstrip()


_EXE_RE = re.compile(r"^\s*(?:\"(?P<quoted>[^\"]+)\"|(?P<plain>.+?\.exe)(?=\s|$))", re.IGNORECASE)


def service_executable(path: Optional[str]) -> Optional[str]:
    """The executable of a service command line: quoted or not, with or without arguments."""
    if not path:
        return None
    match = _EXE_RE.match(path.strip())
    if match:
        return match.group("quoted") or match.group("plain")
    return path.strip().split(" -")[0].split(" /")[0].strip() or None


def _svc(service, attr: str) -> str:
    if isinstance(service, Mapping):
        return str(service.get(attr) or "")
    return str(getattr(service, attr, "") or "")


def _is_milestone(service) -> bool:
    label = f"{_svc(service, 'name')}\n{_svc(service, 'display_name')}".lower()
    return "milestone xprotect" in label


def configurator_path_from_services(services) -> Optional[str]:
    """Where ServerConfigurator.exe is, from the host's services; None when no XProtect service.

    [H]: take the folder above the install folder of any ``Milestone XProtect*`` service and
    add ``Server Configurator\\ServerConfigurator.exe``. When several services disagree (a
    service nested deeper), the folder most of them point to wins. A Milestone service whose
    path cannot be read gives the documented default path.
    ``services``: objects or dicts with ``name``, ``display_name`` and ``path``.
    """
    votes: Dict[str, int] = {}
    order: List[str] = []
    found_any = False
    for service in services or ():
        if not _is_milestone(service):
            continue
        found_any = True
        exe = service_executable(_svc(service, "path"))
        if not exe or "\\" not in exe:
            continue
        install_dir = ntpath.dirname(exe)
        parent = ntpath.dirname(install_dir)
        if not parent or parent == install_dir:
            continue
        candidate = ntpath.join(parent, "Server Configurator", "ServerConfigurator.exe")
        key = candidate.lower()
        if key not in votes:
            order.append(candidate)
            votes[key] = 0
        votes[key] += 1
    if order:
        return max(order, key=lambda c: (votes[c.lower()], -order.index(c)))
    return DEFAULT_CONFIGURATOR_PATH if found_any else None


# Compiled at import: forked workers inherit them instead of compiling per host and task.
_RELEASE_RE = re.compile(r"^(\d{4})\s*R(\d)\b", re.IGNORECASE)
_DIGITS_RE = re.compile(r"\d+")
# What surrounds a thumbprint copied by hand: spaces (certlm.msc groups the hex in pairs), colons
# (openssl), and invisible formatting marks, above all the U+200E LEFT-TO-RIGHT MARK that
# certlm.msc puts before a thumbprint copied from its Details tab (also U+200B-U+200F, U+202A-
# U+202E, U+2060, U+2066-U+2069 and the byte order mark).
_THUMBPRINT_NOISE_RE = re.compile("[\\s:\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")


def _version_tuple(version: Optional[str]) -> Optional[Tuple[int, int]]:
    if not version:
        return None
    text = str(version).strip()
    release = _RELEASE_RE.match(text)  # "2020 R3"
    if release:
        return int(release.group(1)) - 2000, int(release.group(2))
    nums = _DIGITS_RE.findall(text)
    if not nums:
        return None
    return int(nums[0]), int(nums[1]) if len(nums) > 1 else 0


def configurator_version_ok(version: Optional[str]) -> bool:
    """True for a Server Configurator file version of 20.3 (2020 R3) or later [H]."""
    parsed = _version_tuple(version)
    return parsed is not None and parsed >= MIN_CONFIGURATOR_VERSION


def normalize_guid(guid: str) -> str:
    match = _GUID_RE.match(str(guid or "").strip())
    if not match:
        raise XProtectError(f"{guid!r} is not a certificate group GUID; take it from /listcertificategroups.")
    return match.group(1).lower()


def clean_thumbprint(thumbprint: Optional[str]) -> Optional[str]:
    """The one thumbprint normaliser: separators and invisible marks removed, upper case; None
    when nothing is left. It does not check the result (see :func:`normalize_thumbprint`)."""
    tp = _THUMBPRINT_NOISE_RE.sub("", str(thumbprint or "")).upper()
    return tp or None


def normalize_thumbprint(thumbprint: str) -> str:
    """Uppercase hex SHA-1 without separators, as Windows shows and takes it [H]."""
    tp = clean_thumbprint(thumbprint) or ""
    if not _THUMBPRINT_RE.match(tp):
        raise XProtectError(f"{thumbprint!r} is not a certificate thumbprint (40 hex digits, the SHA-1 of the DER).")
    return tp


def enable_argv(exe: str, guid: str, thumbprint: str) -> List[str]:
    """Enable one group. The group is always named: without it every group changes at once [H]."""
    return [
        exe,
        "/quiet",
        "/enableencryption",
        f"/certificategroup={normalize_guid(guid)}",
        f"/thumbprint={normalize_thumbprint(thumbprint)}",
    ]


def disable_argv(exe: str, guid: str) -> List[str]:
    """Disable one group (named, for the same reason as enable_argv)."""
    return [exe, "/quiet", "/disableencryption", f"/certificategroup={normalize_guid(guid)}"]


def list_groups_argv(exe: str, quiet: bool = False) -> List[str]:
    """List the certificate groups.

    Milestone's own PowerShell module [H] runs ``/listcertificategroups`` alone and parses its
    standard output; ``/quiet`` is only shown with the changing switches, so it is left out
    here unless asked for.
    """
    return [exe, "/quiet", "/listcertificategroups"] if quiet else [exe, "/listcertificategroups"]


# ---------------------------------------------------------------------------------------------
# Configuration files
# ---------------------------------------------------------------------------------------------
# Where each component keeps its configuration [H], except the event server's [L]. The mobile
# server's file sits beside its executable: INSTALLATIONFOLDER (registry) is the exe path [H],
# and so is the path of its service.
CONFIG_PATHS: Dict[str, str] = {
    "recording": r"C:\ProgramData\Milestone\XProtect Recording Server\RecorderConfig.xml",
    "failover": r"C:\ProgramData\Milestone\XProtect Recording Server\RecorderConfig.xml",
    "management": r"C:\ProgramData\Milestone\XProtect Management Server\ServerConfig.xml",
    "mobile": r"C:\Program Files\Milestone\XProtect Mobile Server\VideoOS.MobileServer.Service.exe.config",
    "event": r"C:\ProgramData\Milestone\XProtect Event Server\config\ServiceEndpoints.xml",
}
MOBILE_REGISTRY_KEY = r"HKLM:\SOFTWARE\WOW6432Node\Milestone\XProtect Mobile Server"
MOBILE_REGISTRY_VALUE = "INSTALLATIONFOLDER"

# Default ports [H]; the parsers return None for what a file does not say, callers default.
DEFAULT_PORTS: Dict[str, int] = {
    "recording_webserver": 7563,
    "recording_webapi": 9001,
    "management_webapi": 9000,
    "mobile_http": 8081,
    "mobile_https": 8082,
}


def mobile_config_path(exe_path: Optional[str] = None) -> str:
    """The mobile server's config: ``<exe>.config`` [H]; the default install path without one."""
    exe = service_executable(exe_path) if exe_path else None
    return exe + ".config" if exe else CONFIG_PATHS["mobile"]


def mobile_config_path_from_services(services) -> str:
    """``<exe>.config`` of the installed Milestone mobile server service, or the default path."""
    for service in services or ():
        label = f"{_svc(service, 'name')} {_svc(service, 'display_name')}".lower()
        if "milestone" in label and "mobile" in label:
            exe = service_executable(_svc(service, "path"))
            if exe:
                return exe + ".config"
    return CONFIG_PATHS["mobile"]


_DTD_RE = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_XML_DECL_RE = re.compile(r"^<\?xml[^>]*\?>")


def _parse_xml(text: Union[str, bytes], what: str) -> ET.Element:
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig", errors="replace")
    text = (text or "").lstrip("\ufeff").strip()
    if not text:
        raise XProtectError(f"{what} is empty. Repair the XProtect installation or set its path.")
    # Files come from managed hosts: refuse DTDs so no entity expansion can happen.
    if _DTD_RE.search(text):
        raise XProtectError(f"{what} contains a DTD or entity declaration, which XProtect never writes; refusing it.")
    # ElementTree refuses an encoding declaration on str input; the text is already decoded.
    text = _XML_DECL_RE.sub("", text).lstrip()
    try:
        return ET.fromstring(text)  # noqa: S314 - DTDs refused above
    except ET.ParseError as e:
        raise XProtectError(f"{what} is not well-formed XML ({e}). Check the file on the host.") from e


def _local(tag) -> str:
    return str(tag).rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _child(elem: Optional[ET.Element], name: str) -> Optional[ET.Element]:
    if elem is None:
        return None
    for child in elem:
        if _local(child.tag) == name.lower():
            return child
    return None


def _find(root: ET.Element, path: str) -> Optional[ET.Element]:
    """Case-insensitive, namespace-blind path below ``root`` ("a/b/c")."""
    names = path.lower().split("/")
    elem: Optional[ET.Element] = root
    for name in names:
        elem = _child(elem, name)
        if elem is None:
            break
    if elem is not None:
        return elem
    # Tolerate a wrapper element: look for the first step anywhere, then descend.
    for start in root.iter():
        if _local(start.tag) == names[0]:
            elem = start
            for name in names[1:]:
                elem = _child(elem, name)
                if elem is None:
                    break
            if elem is not None:
                return elem
    return None


def _text(root: ET.Element, path: str) -> Optional[str]:
    elem = _find(root, path)
    if elem is None or elem.text is None:
        return None
    return elem.text.strip() or None


def _int(value: Optional[str]) -> Optional[int]:
    try:
        return int(str(value).strip()) if value is not None else None
    except ValueError:
        return None


def _bool(value: Optional[str]) -> Optional[bool]:
    if value is None:
        return None
    norm = str(value).strip().lower()
    if norm in ("true", "1", "yes", "on", "enabled"):
        return True
    if norm in ("false", "0", "no", "off", "disabled"):
        return False
    return None


def _attr(elem: ET.Element, name: str) -> Optional[str]:
    for key, value in elem.attrib.items():
        if _local(key) == name.lower():
            return value
    return None


def parse_recorder_config(xml_text: Union[str, bytes]) -> dict:
    """RecorderConfig.xml of a recording (or failover) server [H XPaths].

    Returns ``webserver_port`` (image server, default 7563), ``webapi_port`` (local web API,
    the netsh binding, 9001), ``server_address``, ``server_webapiport`` (9000),
    ``authorization_server``, ``recorder_id``, ``version`` and ``server_encryption``:
    ``{enabled, certificate_hash}`` from a ``serverEncryption`` element [L], or None.
    """
    root = _parse_xml(xml_text, "RecorderConfig.xml")
    encryption = None
    for elem in root.iter():
        if _local(elem.tag) == "serverencryption":
            enabled = _attr(elem, "enabled")
            if enabled is None:
                enabled = _text(elem, "enabled")
            cert_hash = _attr(elem, "certificateHash") or _text(elem, "certificateHash")
            encryption = {
                "enabled": _bool(enabled),
                "certificate_hash": clean_thumbprint(cert_hash),
            }
            break
    return {
        "webserver_port": _int(_text(root, "webserver/port")),
        "webapi_port": _int(_text(root, "webapi/port")),
        "server_address": _text(root, "server/address"),
        "server_webapiport": _int(_text(root, "server/webapiport")),
        "authorization_server": _text(root, "server/authorizationserveraddress"),
        "recorder_id": _text(root, "recorder/id"),
        "version": _text(root, "version"),
        "server_encryption": encryption,
    }


def parse_server_config(xml_text: Union[str, bytes]) -> dict:
    """ServerConfig.xml of the management server [H XPaths]: ``webapi_port`` (9000),
    ``authorization_server_uri`` and ``version``."""
    root = _parse_xml(xml_text, "ServerConfig.xml")
    return {
        "webapi_port": _int(_text(root, "WebApiConfig/Port")),
        "authorization_server_uri": _text(root, "WebApiConfig/AuthorizationServerUri"),
        "version": _text(root, "version"),
    }


def _address_settings(root: ET.Element, section: str) -> Dict[str, str]:
    address = _find(root, f"{section}/Address")
    out: Dict[str, str] = {}
    if address is not None:
        for add in address:
            if _local(add.tag) == "add":
                key, value = _attr(add, "key"), _attr(add, "value")
                if key is not None and value is not None:
                    out[key.lower()] = value.strip()
    return out


def parse_mobile_config(xml_text: Union[str, bytes]) -> dict:
    """The mobile server's ``VideoOS.MobileServer.Service.exe.config`` [H XPaths].

    ``https_port`` (8082) and ``https_ip`` from ``HttpSecureMetaChannel/Address`` ('+' means
    all addresses), ``http_port``/``http_ip`` from ``HttpMetaChannel`` when present,
    ``management_server_ip``/``_port``, and ``https_netsh_ipport``: the ``ipport`` to ask
    netsh about ('+' becomes 0.0.0.0, as Milestone's own module does).
    """
    root = _parse_xml(xml_text, "the mobile server's .exe.config")
    secure = _address_settings(root, "HttpSecureMetaChannel")
    plain = _address_settings(root, "HttpMetaChannel")
    mgmt = _address_settings(root, "ManagementServer")
    https_port = _int(secure.get("port"))
    https_ip = secure.get("ip")
    # netsh shows the "all addresses" binding as 0.0.0.0 (as Milestone's own module asks for it).
    bind_ip = "0.0.0.0" if https_ip in (None, "", "+", "*") else https_ip  # noqa: S104
    return {
        "https_port": https_port,
        "https_ip": https_ip,
        "http_port": _int(plain.get("port")),
        "http_ip": plain.get("ip"),
        "management_server_ip": mgmt.get("ip"),
        "management_server_port": _int(mgmt.get("port")),
        "https_netsh_ipport": f"{bind_ip}:{https_port}" if https_port else None,
    }


def parse_event_config(xml_text: Union[str, bytes]) -> dict:
    """ServiceEndpoints.xml of the event server [L]: ``certificate_enabled`` (bool, or None
    when the element is missing or unreadable)."""
    root = _parse_xml(xml_text, "ServiceEndpoints.xml")
    return {"certificate_enabled": _bool(_text(root, "CertificateEnabled"))}


# /overridelocalmanagementserver [H]: once used, only the GUI can change encryption. How to
# detect it is NOT known [?]. We look for the switch (or an element/attribute named after it
# and set true) in any text read from the host - Server Configurator's log ('Arguments:' lines
# [L]) or output, or a configuration file. The markers are a setting
# (``xprotect_override_markers``, see docs/troubleshooting.md).
OVERRIDE_MARKERS: Tuple[str, ...] = (
    r"(?<!<)/overridelocalmanagementserver\b",  # the switch, not an XML closing tag
    r"<\s*(?:\w+:)?overridelocalmanagementserver\s*>\s*(?:true|1)\s*<",
    r"\boverridelocalmanagementserver\s*=\s*[\"']?(?:true|1)\b",
)


@functools.lru_cache(maxsize=16)
def _compiled_markers(markers: Tuple[str, ...]) -> Tuple[re.Pattern[str], ...]:
    return tuple(re.compile(m, re.IGNORECASE) for m in markers)


# The defaults are compiled at import: a forked Ansible worker inherits them instead of
# compiling them per host.
_compiled_markers(OVERRIDE_MARKERS)


def override_blocks_cli(texts, markers: Sequence[str] = OVERRIDE_MARKERS) -> Optional[str]:
    """Evidence that ``/overridelocalmanagementserver`` was used on a host, or None [?].

    ``texts``: one text, or a mapping ``{where it was read: text}``. Returns a sentence naming
    where the marker was found and the line, so the caller can refuse with it.
    """
    if texts is None:
        return None
    items = texts.items() if isinstance(texts, Mapping) else [("the text read from the host", texts)]
    compiled = _compiled_markers(tuple(markers))
    for where, text in items:
        for number, line in enumerate(str(text or "").splitlines(), 1):
            for marker in compiled:
                if marker.search(line):
                    shown = line.strip()
                    shown = shown if len(shown) <= 160 else shown[:157] + "..."
                    return f"{where}, line {number}, shows the override mode: {shown!r}"
    return None


# ---------------------------------------------------------------------------------------------
# certreq
# ---------------------------------------------------------------------------------------------
# Legacy CSPs and their ProviderType; KSPs (CNG) take no ProviderType or KeySpec. Which of the
# two XProtect needs is not known [?]: the legacy SChannel CSP is the most widely compatible.
DEFAULT_PROVIDER = "Microsoft RSA SChannel Cryptographic Provider"
PROVIDER_TYPES: Dict[str, int] = {
    "microsoft rsa schannel cryptographic provider": 12,
    "microsoft enhanced rsa and aes cryptographic provider": 24,
    "microsoft enhanced cryptographic provider v1.0": 1,
    "microsoft strong cryptographic provider": 1,
    "microsoft base cryptographic provider v1.0": 1,
}
SERVER_AUTH_OID = "1.3.6.1.5.5.7.3.1"
SAN_OID = "2.5.29.17"
EKU_OID = "2.5.29.37"
KEY_USAGE_SERVER = 0xA0  # digitalSignature (0x80) + keyEncipherment (0x20) [L]
_DNS_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_DNS_RE = re.compile(rf"^(\*\.)?{_DNS_LABEL}(\.{_DNS_LABEL})*\.?$")


def is_ip(value: str) -> bool:
    """Whether ``value`` is an IPv4 or IPv6 address (the one test pki and tls_probe use too)."""
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


def _check_dns(name: str, what: str) -> str:
    name = str(name or "").strip()
    if not name or len(name) > 253 or not _DNS_RE.match(name) or is_ip(name):
        raise XProtectError(
            f"{what} {name!r} is not a DNS name (letters, digits, hyphens and dots only; no IP address). "
            "Fix xprotect_fqdn / xprotect_dns_names for this host."
        )
    return name.rstrip(".")


def _is_ksp(provider: str) -> bool:
    low = provider.lower()
    return "key storage provider" in low or "platform crypto provider" in low


def certreq_inf(  # noqa: PLR0917 - the documented signature
    subject_cn: str,
    dns_names: Iterable[str],
    key_length: int = 2048,
    provider: str = DEFAULT_PROVIDER,
    exportable: bool = False,
    machine_key_set: bool = True,
    *,
    ip_addresses: Iterable[str] = (),
    friendly_name: Optional[str] = None,
) -> str:
    """A certreq ``-new`` INF for an XProtect server certificate, with CRLF line endings.

    Subject CN = the FQDN (never an IP [L]); SAN = ``dns_names`` (+ ``ip_addresses``) in the
    ``2.5.29.17 = "{text}"`` / ``_continue_`` syntax Microsoft documents; RSA ``key_length``
    (2048 or more), key usage digitalSignature + keyEncipherment, EKU serverAuth [L], a machine
    key that is not exportable by default, SHA-256.
    """
    cn = _check_dns(subject_cn, "subject_cn")
    names: List[str] = []
    for name in dns_names:
        checked = _check_dns(name, "DNS name")
        if checked.lower() not in (n.lower() for n in names):
            names.append(checked)
    ips: List[str] = []
    for ip in ip_addresses or ():
        if not is_ip(str(ip).strip()):
            raise XProtectError(f"ip_addresses: {ip!r} is not an IP address.")
        ips.append(str(ipaddress.ip_address(str(ip).strip())))
    if not names and not ips:
        raise XProtectError("certreq_inf needs at least one DNS name for the SAN (the host's FQDN).")
    if not isinstance(key_length, int) or isinstance(key_length, bool) or not 2048 <= key_length <= 16384:
        raise XProtectError(f"key_length {key_length!r}: use an RSA key of 2048 bits or more (2048, 3072, 4096).")
    provider = str(provider or "").strip()
    if not provider or any(c in provider for c in '"\r\n;'):
        raise XProtectError(f"provider {provider!r} is not a cryptographic provider name (see certutil -csplist).")
    friendly = friendly_name if friendly_name is not None else cn
    if any(c in friendly for c in '"\r\n'):
        raise XProtectError("friendly_name must not contain quotes or line breaks.")

    def flag(value: bool) -> str:
        return "TRUE" if value else "FALSE"

    lines = [
        "; certreq -new request written by xprotect.encryption: the key is made on this host and stays here.",
        "[Version]",
        'Signature="$Windows NT$"',
        "",
        "[NewRequest]",
        f'Subject = "CN={cn}"',
        f'FriendlyName = "{friendly}"',
        f"KeyLength = {key_length}",
    ]
    if not _is_ksp(provider):
        lines.append("KeySpec = 1")  # AT_KEYEXCHANGE: what SChannel needs from a legacy CSP key
    lines += [
        f"KeyUsage = 0x{KEY_USAGE_SERVER:02x}",
        f"MachineKeySet = {flag(machine_key_set)}",
        f"Exportable = {flag(exportable)}",
        "SMIME = FALSE",
        "PrivateKeyArchive = FALSE",
        "UserProtected = FALSE",
        "UseExistingKeySet = FALSE",
        "Silent = TRUE",
        f'ProviderName = "{provider}"',
    ]
    ptype = PROVIDER_TYPES.get(provider.lower())
    if ptype is not None:
        lines.append(f"ProviderType = {ptype}")
    lines += [
        "RequestType = PKCS10",
        "HashAlgorithm = sha256",
        "",
        "[EnhancedKeyUsageExtension]",
        f"OID = {SERVER_AUTH_OID} ; Server Authentication",
        "",
        "[Extensions]",
        f'{SAN_OID} = "{{text}}"',
    ]
    lines += [f'_continue_ = "dns={n}&"' for n in names]
    lines += [f'_continue_ = "ipaddress={ip}&"' for ip in ips]
    return "\r\n".join(lines) + "\r\n"


def _inf_value(raw: str) -> str:
    """Unquote an INF value the way certreq does: outer quotes, "" for a quote; ; starts a comment."""
    out, in_quotes, i = [], False, 0
    raw = raw.strip()
    while i < len(raw):
        c = raw[i]
        if c == '"':
            if in_quotes and i + 1 < len(raw) and raw[i + 1] == '"':
                out.append('"')
                i += 2
                continue
            in_quotes = not in_quotes
        elif c == ";" and not in_quotes:
            break
        else:
            out.append(c)
        i += 1
    return "".join(out).strip()


def _inf_sections(text: str) -> Dict[str, List[Tuple[str, str]]]:
    sections: Dict[str, List[Tuple[str, str]]] = {}
    current: Optional[str] = None
    for raw in (text or "").lstrip("\ufeff").splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        header = re.match(r"^\[\s*([^\]]+?)\s*\]\s*(;.*)?$", line)
        if header:
            current = header.group(1).lower()
            sections.setdefault(current, [])
            continue
        if current is None or "=" not in line:
            continue
        key, _sep, value = line.partition("=")
        sections[current].append((key.strip(), _inf_value(value)))
    return sections


def _subject_cn(subject: Optional[str]) -> Optional[str]:
    if not subject:
        return None
    parts, buf, in_quotes = [], [], False
    for c in subject:
        if c == '"':
            in_quotes = not in_quotes
        elif c in ",;" and not in_quotes:
            parts.append("".join(buf))
            buf = []
            continue
        buf.append(c)
    parts.append("".join(buf))
    for part in parts:
        key, sep, value = part.partition("=")
        if sep and key.strip().upper() == "CN":
            return value.strip().strip('"') or None
    return None


_KU_NAMES = {
    "cert_digital_signature_key_usage": 0x80,
    "cert_non_repudiation_key_usage": 0x40,
    "cert_key_encipherment_key_usage": 0x20,
    "cert_data_encipherment_key_usage": 0x10,
    "cert_key_agreement_key_usage": 0x08,
    "cert_key_cert_sign_key_usage": 0x04,
    "cert_offline_crl_sign_key_usage": 0x02,
    "cert_crl_sign_key_usage": 0x02,
    "cert_encipher_only_key_usage": 0x01,
    "cert_decipher_only_key_usage": 0x8000,
}


def _inf_int(value: str, what: str) -> int:
    text = value.strip().lower()
    try:
        return int(text, 16) if text.startswith("0x") else int(text)
    except ValueError:
        raise XProtectError(f"certreq INF: {what} = {value!r} is not a number (certreq: 'The data is invalid').")


def _key_usage(value: str) -> int:
    total = 0
    for raw in value.split("|"):
        part = raw.strip()
        if part:
            total |= _KU_NAMES[part.lower()] if part.lower() in _KU_NAMES else _inf_int(part, "KeyUsage")
    return total


def _san_entries(text: str) -> Tuple[List[str], List[str]]:
    dns, ips = [], []
    for entry in re.split(r"&", text):
        key, sep, value = entry.partition("=")
        if not sep:
            continue
        kind = re.sub(r"\s+", "", key).lower()
        value = value.strip()
        if not value:
            continue
        if kind == "dns":
            dns.append(value)
        elif kind in ("ipaddress", "ip"):
            ips.append(value)
    return dns, ips


def parse_certreq_inf(text: str) -> dict:
    """Read a certreq INF the way certreq -new does (the lab uses this).

    Tolerant of case, spacing, comments, quoting, ``[Strings]`` substitutions, the
    ``{text}``/``_continue_`` SAN syntax and the older ``[RequestAttributes] SAN=`` form.
    Returns ``subject``, ``subject_cn``, ``dns_names``, ``ip_addresses``, ``key_length``
    (certreq's default 2048 when absent), ``provider`` (None when absent), ``provider_type``,
    ``key_spec``, ``key_usage``, ``exportable`` and ``machine_key_set`` (both default False,
    as certreq), ``hash_algorithm``, ``request_type``, ``friendly_name``, ``eku`` (OIDs).
    """
    sections = _inf_sections(text)
    strings = {k.lower(): v for k, v in sections.get("strings", [])}

    def subst(value: str) -> str:
        return re.sub(r"%([^%]+)%", lambda m: strings.get(m.group(1).lower(), m.group(0)), value)

    if "newrequest" not in sections:
        raise XProtectError(
            "certreq INF has no [NewRequest] section, so certreq -new refuses it ('The data is invalid'). "
            "Write the INF with certreq_inf()."
        )
    new = {}
    for key, value in sections["newrequest"]:
        new[key.lower()] = subst(value)
    result = {
        "subject": new.get("subject"),
        "subject_cn": _subject_cn(new.get("subject")),
        "key_length": _inf_int(new["keylength"], "KeyLength") if new.get("keylength") else 2048,
        "provider": new.get("providername") or None,
        "provider_type": _inf_int(new["providertype"], "ProviderType") if new.get("providertype") else None,
        "key_spec": None,
        "key_usage": _key_usage(new["keyusage"]) if new.get("keyusage") else None,
        "exportable": bool(_bool(new.get("exportable"))),
        "machine_key_set": bool(_bool(new.get("machinekeyset"))),
        "hash_algorithm": (new.get("hashalgorithm") or "").lower() or None,
        "request_type": (new.get("requesttype") or "PKCS10").upper().replace("#", ""),
        "friendly_name": new.get("friendlyname") or None,
    }
    spec = (new.get("keyspec") or "").strip().upper()
    result["key_spec"] = {"AT_KEYEXCHANGE": 1, "AT_SIGNATURE": 2, "AT_NONE": 0}.get(spec) if spec else None
    if spec and result["key_spec"] is None:
        result["key_spec"] = _inf_int(spec, "KeySpec")

    dns: List[str] = []
    ips: List[str] = []
    eku: List[str] = []
    extensions = sections.get("extensions", [])
    for block in _collect_blocks(extensions, SAN_OID, subst):
        d, i = _san_entries(block)
        dns += d
        ips += i
    for block in _collect_blocks(extensions, EKU_OID, subst):
        eku += [o.strip() for o in re.split(r"[,\s]+", block) if o.strip()]
    # Microsoft's example also lists EKUs as "OID = <oid>" lines in [Extensions].
    eku += [subst(v).strip() for k, v in extensions if k.strip().lower() == "oid"]
    for key, value in sections.get("requestattributes", []):
        if key.strip().lower() == "san":
            d, i = _san_entries(subst(value))
            dns += d
            ips += i
    for key, value in sections.get("enhancedkeyusageextension", []):
        if key.strip().lower() == "oid":
            eku.append(subst(value).strip())
    result["dns_names"] = _dedupe(dns)
    result["ip_addresses"] = _dedupe(ips)
    result["eku"] = _dedupe(eku)
    return result


def _collect_blocks(entries: Sequence[Tuple[str, str]], oid: str, subst) -> List[str]:
    blocks: List[str] = []
    current: Optional[List[str]] = None
    for key, raw in entries:
        low = subst(key).strip().lower()
        value = subst(raw).strip()
        if low == oid:
            current = [re.sub(r"^\{text\}", "", value, flags=re.IGNORECASE)]
            blocks.append("")
        elif low == "_continue_" and current is not None:
            current.append(value)
        else:
            current = None
        if current is not None:
            blocks[-1] = "&".join(current) if oid == SAN_OID else ",".join(current)
    return blocks


def _dedupe(values: Iterable[str]) -> List[str]:
    out: List[str] = []
    for value in values:
        if value and value.lower() not in (v.lower() for v in out):
            out.append(value)
    return out


# certreq prints failures as "<prefix>: <system message> 0x<HRESULT> (<decimal or WIN32: n> <NAME>)".
_CERTREQ_ERROR_RE = re.compile(
    r"(?P<message>[^\r\n]*?)\s*(?P<hresult>0x[0-9a-fA-F]{8})\s*\((?:WIN32:\s*)?(?P<number>-?\d+)\s+(?P<name>[A-Z0-9_]+)\)"
)
CERTREQ_ERRORS: Dict[str, Tuple[str, str]] = {
    "0x80092004": (
        "CRYPT_E_NOT_FOUND",
        "certreq -accept found no pending request whose key matches this certificate: the request was removed or "
        "the certificate was made for another CSR. Run the task again to start a new request.",
    ),
    "0x800b0109": (
        "CERT_E_UNTRUSTEDROOT",
        "The CA is not trusted on the host yet: put it in LocalMachine\\Root first (xprotect.encryption.trusted_ca).",
    ),
    "0x800b010a": (
        "CERT_E_CHAINING",
        "No chain to a trusted root could be built: put the CA in LocalMachine\\Root first "
        "(xprotect.encryption.trusted_ca).",
    ),
    "0x80070002": (
        "ERROR_FILE_NOT_FOUND",
        "A file certreq was given does not exist on the host (the INF, CSR or certificate); check the work folder.",
    ),
    "0x80070005": (
        "E_ACCESSDENIED",
        "Access denied: a machine key needs an elevated administrator. Run the task with become: true.",
    ),
    "0x8007000d": (
        "ERROR_INVALID_DATA",
        "certreq could not read the INF or the certificate file: check its syntax (written by certreq_inf) and "
        "that the certificate is PEM or DER.",
    ),
    "0x80070057": (
        "E_INVALIDARG",
        "An INF value was refused, for example a key length or key spec the provider does not support: check "
        "the provider and key_length options.",
    ),
    "0x80090016": (
        "NTE_BAD_KEYSET",
        "The key set does not exist: the pending request's key is gone. Run the task again to start a new request.",
    ),
    "0x80090017": (
        "NTE_PROV_TYPE_NOT_DEF",
        "The provider type does not match the provider name: check the provider option (certutil -csplist).",
    ),
    "0x80090029": (
        "NTE_NOT_SUPPORTED",
        "The provider does not support this request (key length or key spec): choose another provider or key length.",
    ),
    "0x800700b7": (
        "ERROR_ALREADY_EXISTS",
        "The output file exists already: run certreq with -f, or delete the old request file.",
    ),
    "0x8009310b": (
        "CRYPT_E_ASN1_BADTAG",
        "The file given to certreq -accept is not a certificate: check what was written to the host.",
    ),
}


def parse_certreq_error(text: str, rc: Optional[int] = None) -> Optional[dict]:
    """The HRESULT of a certreq failure: ``{hresult, name, message, advice}``, or None.

    From the printed error line, or from the exit code (certreq exits with the HRESULT).
    """
    match = _CERTREQ_ERROR_RE.search(text or "")
    if match:
        hresult = match.group("hresult").lower()
        message = re.sub(r"^.*?(certificate request processor|certreq)\s*:\s*", "", match.group("message"), flags=re.I)
        name = match.group("name")
    elif rc not in (None, 0):
        hresult = f"0x{int(rc) & 0xFFFFFFFF:08x}"
        message, name = "", CERTREQ_ERRORS.get(hresult, ("", ""))[0]
    else:
        return None
    known = CERTREQ_ERRORS.get(hresult)
    return {
        "hresult": hresult,
        "name": name or (known[0] if known else None),
        "message": message.strip() or None,
        "advice": known[1] if known else None,
    }


def certreq_new_argv(inf: str, csr: str) -> List[str]:
    """Make the key and the request on the host: machine key set (``-machine``), no dialog
    (``-q``), overwriting an old request file (``-f``)."""
    return ["certreq.exe", "-new", "-machine", "-q", "-f", inf, csr]


def certreq_accept_argv(cer: str) -> List[str]:
    """Install the signed certificate onto its pending machine key, without a dialog."""
    return ["certreq.exe", "-accept", "-machine", "-q", cer]


def explain_certreq(step: str, host: str, rc: int, stdout: str = "", stderr: str = "") -> str:
    """A sentence a person can act on, for a failed ``certreq <step>`` on ``host``."""
    text = f"{stdout or ''}\n{stderr or ''}"
    err = parse_certreq_error(text, rc)
    head = f"certreq {step} failed on {host} (exit {rc})"
    if err is None:
        shown = " ".join(text.split())[:300]
        return f"{head}: {shown or 'no output'}. Run it by hand on the host to see the message."
    what = f"{err['message']} " if err["message"] else ""
    code = f"{err['hresult']}" + (f" {err['name']}" if err["name"] else "")
    advice = err["advice"] or (
        "Look the code up in the Windows error reference, or run the same certreq command by hand on the host to "
        "see its full message."
    )
    return f"{head}: {what}({code}). {advice}"


_ACCEPT_FIELD_RE = re.compile(r"^\s*(?P<key>Serial Number|Subject|NotBefore|NotAfter|Thumbprint)\s*:\s*(?P<value>.*)$")


def parse_certreq_accept(stdout: str) -> dict:
    """What ``certreq -accept`` printed about the installed certificate.

    ``thumbprint`` (uppercase), ``serial_number``, ``subject``, ``not_before``, ``not_after``
    (as printed, locale-dependent); keys are None when absent. The store is read afterwards
    anyway: this is for messages and cross-checks.
    """
    out: Dict[str, Optional[str]] = {
        "thumbprint": None,
        "serial_number": None,
        "subject": None,
        "not_before": None,
        "not_after": None,
    }
    for line in (stdout or "").splitlines():
        match = _ACCEPT_FIELD_RE.match(line)
        if not match:
            continue
        key = match.group("key").lower().replace(" ", "_").replace("notbefore", "not_before")
        key = key.replace("notafter", "not_after")
        value = match.group("value").strip()
        if key == "thumbprint":
            value = clean_thumbprint(value) or ""
        if out.get(key) is None:
            out[key] = value or None
    return out
