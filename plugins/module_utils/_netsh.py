# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP.sys SSL bindings: read from the registry first, ``netsh http show sslcert`` as the
fallback, and the binding a port is served with.
"""

from __future__ import annotations

import re
from typing import Any, List, Optional, Sequence, Tuple

from ansible_collections.xprotect.encryption.plugins.module_utils._text import GUID_PATTERN, clean_thumbprint

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
_GUID_TAIL_RE = re.compile(rf"(?:^|[\s:])(?P<guid>\{{{GUID_PATTERN}\}}|{GUID_PATTERN})\s*$")
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
