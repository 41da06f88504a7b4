# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The XProtect configuration files of a simulated host, rendered from its state.

Paths and XPaths follow the facts file:

- RecorderConfig.xml [H]: ``/recorderconfig/webserver/port`` (7563), ``/recorderconfig/webapi/port``
  (9001), ``/recorderconfig/server/address``, ``/recorderconfig/server/webapiport`` (9000),
  ``/recorderconfig/server/authorizationserveraddress``; plus the reported [L]
  ``serverEncryption`` element (``enabled``, ``certificateHash``), kept under ``server``.
- ServerConfig.xml [H]: ``/server/WebApiConfig/Port`` and ``AuthorizationServerUri``.
- The mobile server's ``VideoOS.MobileServer.Service.exe.config`` [H]:
  ``/configuration/HttpSecureMetaChannel/Address/add[@key='Port']`` and ``[@key='Ip']``.
- ServiceEndpoints.xml [L]: ``/eventserverconfig/CertificateEnabled``.

There is no stored flag for the streaming media group [?]: only a TLS handshake on 7563 shows it.
The ports written are XProtect's own defaults; the lab's port offset is a loopback detail.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping
from xml.sax.saxutils import escape, quoteattr

from ansible_collections.xprotect.encryption.plugins.module_utils._configfiles import (
    CONFIG_PATHS,
    DEFAULT_PORTS,
    mobile_config_path,
)

# Where the files are, and the default ports in them, are the collection's knowledge (_configfiles.py):
# the lab writes them where, and as, the product code reads them.
RECORDER_CONFIG = CONFIG_PATHS["recording"]
SERVER_CONFIG = CONFIG_PATHS["management"]
MOBILE_CONFIG = CONFIG_PATHS["mobile"]
EVENT_CONFIG = CONFIG_PATHS["event"]
CONFIGURATOR_LOG = "C:\\ProgramData\\Milestone\\Server Configurator\\Logs\\ServerConfigurator.log"

HEADER = '<?xml version="1.0" encoding="utf-8"?>\r\n'


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _xml(lines: List[str]) -> str:
    """A config file as Windows tools write it: the XML declaration, CRLF line ends."""
    return HEADER + "\r\n".join(lines) + "\r\n"


def _group(state: Mapping[str, Any], key: str) -> Dict[str, Any]:
    return dict((state.get("encryption") or {}).get(key) or {"enabled": False, "thumbprint": None})


def recorder_config(state: Mapping[str, Any], ms_name: str) -> str:
    server = _group(state, "server")
    # The recording server talks HTTPS to the management server once its own Server group is
    # encrypted (it can only be while the management server is too).
    idp = f"{'https' if server.get('enabled') else 'http'}://{ms_name}/IDP" if ms_name else ""
    lines = [
        "<recorderconfig>",
        "  <recorder>",
        f"    <id>{escape(state['id'])}</id>",
        f"    <displayname>{escape(state['name'].split('.')[0])}</displayname>",
        f"    <hostname>{escape(state['name'])}</hostname>",
        "  </recorder>",
        "  <server>",
        f"    <address>{escape(ms_name)}</address>",
        f"    <webapiport>{DEFAULT_PORTS['management_webapi']}</webapiport>",
        f"    <authorizationserveraddress>{escape(idp)}</authorizationserveraddress>",
        f"    <serverEncryption enabled={quoteattr(_bool(server.get('enabled')))} "
        f"certificateHash={quoteattr(server.get('thumbprint') or '')} />",
        "  </server>",
        "  <webserver>",
        f"    <port>{DEFAULT_PORTS['recording_webserver']}</port>",
        "  </webserver>",
        "  <webapi>",
        f"    <port>{DEFAULT_PORTS['recording_webapi']}</port>",
        "  </webapi>",
        "</recorderconfig>",
    ]
    return _xml(lines)


def server_config(state: Mapping[str, Any]) -> str:
    https = bool(_group(state, "server").get("enabled"))
    lines = [
        "<server>",
        f"  <Id>{escape(state['id'])}</Id>",
        "  <WebApiConfig>",
        f"    <Port>{DEFAULT_PORTS['management_webapi']}</Port>",
        f"    <AuthorizationServerUri>{'https' if https else 'http'}://{escape(state['name'])}/IDP"
        "</AuthorizationServerUri>",
        "  </WebApiConfig>",
        "</server>",
    ]
    return _xml(lines)


def mobile_config(state: Mapping[str, Any]) -> str:
    del state  # the ports do not change with encryption; only the netsh binding does
    lines = [
        "<configuration>",
        "  <appSettings>",
        '    <add key="ServerType" value="MobileServer" />',
        "  </appSettings>",
        *_mobile_channel("HttpMetaChannel", DEFAULT_PORTS["mobile_http"]),
        *_mobile_channel("HttpSecureMetaChannel", DEFAULT_PORTS["mobile_https"]),
        "</configuration>",
    ]
    return _xml(lines)


def _mobile_channel(tag: str, port: int) -> List[str]:
    return [
        f"  <{tag}>",
        "    <Address>",
        f'      <add key="Port" value="{port}" />',
        '      <add key="Ip" value="+" />',
        "    </Address>",
        f"  </{tag}>",
    ]


def event_config(state: Mapping[str, Any]) -> str:
    group = _group(state, "event")
    lines = [
        "<eventserverconfig>",
        f"  <CertificateEnabled>{_bool(group.get('enabled'))}</CertificateEnabled>",
        f"  <CertificateHash>{escape(group.get('thumbprint') or '')}</CertificateHash>",
        "  <Port>22331</Port>",
        "</eventserverconfig>",
    ]
    return _xml(lines)


def render(state: Mapping[str, Any], ms_name: str) -> Dict[str, str]:
    """Windows path -> content, for every config file this host's roles have."""
    roles = state.get("roles") or ()
    files: Dict[str, str] = {}
    if "recording" in roles or "failover" in roles:
        files[RECORDER_CONFIG] = recorder_config(state, ms_name)
    if "management" in roles:
        files[SERVER_CONFIG] = server_config(state)
    if "mobile" in roles:
        # Beside the service's executable: it moves with a non-default install folder [H].
        folder = (state.get("options") or {}).get("install_folder")
        path = (
            mobile_config_path(f"{folder}\\XProtect Mobile Server\\VideoOS.MobileServer.Service.exe")
            if folder
            else MOBILE_CONFIG
        )
        files[path] = mobile_config(state)
    if "event" in roles:
        files[EVENT_CONFIG] = event_config(state)
    return files
