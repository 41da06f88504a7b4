# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""XProtect's configuration files: where each component keeps its own, the default ports in
them, and their parsers (RecorderConfig.xml, ServerConfig.xml, the mobile server's
``.exe.config``, ServiceEndpoints.xml).

The files come from managed hosts, so the XML parser refuses DTDs and entities.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # noqa: S405 - hardened in _parse_xml (no DTD, no entities)
from typing import Dict, Optional, Union

from ansible_collections.xprotect.encryption.plugins.module_utils._text import XProtectError, clean_thumbprint

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

# Default ports [H]; the parsers return None for what a file does not say, callers default.
DEFAULT_PORTS: Dict[str, int] = {
    "recording_webserver": 7563,
    "recording_webapi": 9001,
    "management_webapi": 9000,
    "mobile_http": 8081,
    "mobile_https": 8082,
}


def mobile_config_path(exe_path: Optional[str] = None) -> str:
    """The mobile server's config beside its executable, ``<exe>.config`` [H]; the default
    install path without one. ``exe_path`` is a path, not a service command line (see
    ``_services.mobile_config_path_from_services``)."""
    exe = str(exe_path or "").strip().strip('"')
    return exe + ".config" if exe else CONFIG_PATHS["mobile"]


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
