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

from typing import Any, Dict, Mapping
from xml.sax.saxutils import escape, quoteattr

RECORDER_CONFIG = "C:\\ProgramData\\Milestone\\XProtect Recording Server\\RecorderConfig.xml"
SERVER_CONFIG = "C:\\ProgramData\\Milestone\\XProtect Management Server\\ServerConfig.xml"
MOBILE_FOLDER = "C:\\Program Files\\Milestone\\XProtect Mobile Server"
MOBILE_CONFIG = MOBILE_FOLDER + "\\VideoOS.MobileServer.Service.exe.config"
EVENT_CONFIG = "C:\\ProgramData\\Milestone\\XProtect Event Server\\config\\ServiceEndpoints.xml"
CONFIGURATOR_LOG = "C:\\ProgramData\\Milestone\\Server Configurator\\Logs\\ServerConfigurator.log"

HEADER = '<?xml version="1.0" encoding="utf-8"?>\r\n'


def _bool(value: bool) -> str:
    return "true" if value else "false"


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
        "    <webapiport>9000</webapiport>",
        f"    <authorizationserveraddress>{escape(idp)}</authorizationserveraddress>",
        f"    <serverEncryption enabled={quoteattr(_bool(server.get('enabled')))} "
        f"certificateHash={quoteattr(server.get('thumbprint') or '')} />",
        "  </server>",
        "  <webserver>",
        "    <port>7563</port>",
        "  </webserver>",
        "  <webapi>",
        "    <port>9001</port>",
        "  </webapi>",
        "</recorderconfig>",
    ]
    return HEADER + "\r\n".join(lines) + "\r\n"


def server_config(state: Mapping[str, Any]) -> str:
    https = bool(_group(state, "server").get("enabled"))
    lines = [
        "<server>",
        f"  <Id>{escape(state['id'])}</Id>",
        "  <WebApiConfig>",
        "    <Port>9000</Port>",
        f"    <AuthorizationServerUri>{'https' if https else 'http'}://{escape(state['name'])}/IDP"
        "</AuthorizationServerUri>",
        "  </WebApiConfig>",
        "</server>",
    ]
    return HEADER + "\r\n".join(lines) + "\r\n"


def mobile_config(state: Mapping[str, Any]) -> str:
    del state  # the ports do not change with encryption; only the netsh binding does
    lines = [
        "<configuration>",
        "  <appSettings>",
        '    <add key="ServerType" value="MobileServer" />',
        "  </appSettings>",
        "  <HttpMetaChannel>",
        "    <Address>",
        '      <add key="Port" value="8081" />',
        '      <add key="Ip" value="+" />',
        "    </Address>",
        "  </HttpMetaChannel>",
        "  <HttpSecureMetaChannel>",
        "    <Address>",
        '      <add key="Port" value="8082" />',
        '      <add key="Ip" value="+" />',
        "    </Address>",
        "  </HttpSecureMetaChannel>",
        "</configuration>",
    ]
    return HEADER + "\r\n".join(lines) + "\r\n"


def event_config(state: Mapping[str, Any]) -> str:
    group = _group(state, "event")
    lines = [
        "<eventserverconfig>",
        f"  <CertificateEnabled>{_bool(group.get('enabled'))}</CertificateEnabled>",
        f"  <CertificateHash>{escape(group.get('thumbprint') or '')}</CertificateHash>",
        "  <Port>22331</Port>",
        "</eventserverconfig>",
    ]
    return HEADER + "\r\n".join(lines) + "\r\n"


def render(state: Mapping[str, Any], ms_name: str) -> Dict[str, str]:
    """Windows path -> content, for every config file this host's roles have."""
    roles = state.get("roles") or ()
    files: Dict[str, str] = {}
    if "recording" in roles or "failover" in roles:
        files[RECORDER_CONFIG] = recorder_config(state, ms_name)
    if "management" in roles:
        files[SERVER_CONFIG] = server_config(state)
    if "mobile" in roles:
        files[MOBILE_CONFIG] = mobile_config(state)
    if "event" in roles:
        files[EVENT_CONFIG] = event_config(state)
    return files
