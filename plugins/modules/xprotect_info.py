# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: xprotect_info
version_added: 0.1.0
short_description: Read what an XProtect host has, for encryption
description:
  - Read-only facts about one host, returned as C(xprotect) and as the fact C(ansible_facts.xprotect).
  - Installed Milestone components, their versions and service accounts; the accounts that must read the server
    certificate's key; Server Configurator's path, version and whether it is usable (20.3 or newer).
  - The encryption state of each certificate group for the host's roles, and the bound thumbprints.
  - The server certificates in C(LocalMachine\My) with their expiry (only those issued by the CA when one is given),
    and whether the CA is in C(LocalMachine\Root). CA and self-signed certificates in My are listed apart.
author:
  - xprotect.encryption maintainers (@xprotect)
options:
  fqdn:
    description: The host's name. Default C(xprotect_fqdn), then C(inventory_hostname).
    type: str
  roles:
    description: The host's XProtect roles; default from C(xprotect_roles) or the inventory groups.
    type: list
    elements: str
  address:
    description: Address for the TLS handshake that reads streaming media. Default C(ansible_host).
    type: str
  port_offset:
    description:
      - Added to probed ports (a host reached through port translation, and the lab).
      - The roles pass C(xprotect_port_offset). Default 0.
    type: int
  config_paths:
    description: Override configuration file locations, by kind.
    type: dict
    default: {}
  configurator_path:
    description: Path of C(ServerConfigurator.exe). Default, found from the Milestone services.
    type: str
  probe_timeout:
    description: Timeout of the TLS handshake, in seconds; more than 0, at most 600.
    type: float
    default: 5.0
  certificate_groups:
    description:
      - Run C(ServerConfigurator.exe /listcertificategroups) (read-only) and return the IDs of the host's certificate
        groups as C(server_configurator.group_ids).
      - It proves that Server Configurator runs for this task's user (set become as for
        M(xprotect.encryption.encryption)) and knows every group of the host's roles. When it fails,
        C(server_configurator.usable) is false and C(server_configurator.error) says why.
      - Server Configurator runs one instance at a time; do not list while another run is under way.
    type: bool
    default: false
  stop_stale_configurator:
    description:
      - When the listing of O(certificate_groups) finds another Server Configurator instance running (exit -4), end it
        (C(taskkill /F /IM ServerConfigurator.exe)) and list once more, as M(xprotect.encryption.encryption) does with
        its option of the same name. The result is then C(changed) and C(server_configurator.stale_instance_ended) is
        true.
      - The rollout's preflight passes C(xprotect_stop_stale_configurator), so the setting its advice names works there
        too. In check mode nothing is ended; the error says so.
    type: bool
    default: false
  override_markers:
    description:
      - Regular expressions (case-insensitive) that show, in the configuration files read, that
        C(/overridelocalmanagementserver) was used on the host; what matched is returned as C(override).
      - The same setting as M(xprotect.encryption.encryption)'s, so the preflight finds a host the switch would refuse.
      - Empty means the module's defaults (docs/troubleshooting.md); the rollout's preflight passes
        C(xprotect_override_markers).
    type: list
    elements: str
  ca_cert_path:
    description: The CA certificate, to report whether it is trusted and which certificates it issued.
    type: path
  ca_cert_content:
    description: The CA certificate as PEM text.
    type: str
extends_documentation_fragment:
  - xprotect.encryption.raw_record
  - xprotect.encryption.site_ca
notes:
  - Read-only, and runs the same in check mode (the listing of O(certificate_groups) included), unless
    O(stop_stale_configurator) ends a stale Server Configurator instance.
"""

EXAMPLES = r"""
- name: What does this host have?
  xprotect.encryption.xprotect_info:
    ca_cert_path: /etc/xprotect/pki/ca.crt
  register: info
"""

RETURN = r"""
xprotect:
  description: The facts.
  returned: always
  type: dict
  contains:
    roles:
      description: XProtect roles of the host.
      type: list
    components:
      description: Milestone services with display name, account, state and file version.
      type: list
    server_configurator:
      description:
        - Path, version and C(usable); with O(certificate_groups), C(group_ids) (group key to GUID) or C(error).
        - Pass it to M(xprotect.encryption.encryption) as O(xprotect.encryption.encryption#module:configurator).
      type: dict
    encryption:
      description:
        - Bound thumbprint (or null when off) per certificate group name; C(UNKNOWN) when the state cannot be read
          (the streaming media group of a cold-standby failover server, which does not listen on 7563).
        - The server and mobile groups are read from the HTTP.sys binding on the port the component's own
          configuration names (registry C(SslBindingInfo) first, C(netsh http show sslcert) when the registry does
          not show it); a binding of another port, such as an IIS site on 443, is never taken.
      type: dict
    encryption_notes:
      description: Why a group reads as it does, where that needs saying, by group name (may be empty).
      type: dict
    encryption_error:
      description: Why the encryption state could not be read (then C(encryption) is missing).
      type: str
    override:
      description:
        - Where the configuration read shows the override mode (C(/overridelocalmanagementserver)), quoting the line;
          null when it does not. In that mode only the Server Configurator GUI can change encryption.
      type: str
    certificates:
      description:
        - Server certificates in My with thumbprint, names, expiry, days left and whether the key is there.
        - A CA certificate (basicConstraints CA=true) or a self-signed certificate is never one;
          see C(other_certificates).
      type: list
    other_certificates:
      description:
        - Certificates in My that are no server certificate, with thumbprint, subject and C(reason)
          (C(CA certificate (basicConstraints CA=true)) or C(self-signed)).
        - A CA certificate here usually came in with a PFX that carried its chain; it belongs in Root.
      type: list
    ca:
      description: The CA thumbprint and whether it is trusted (in Root).
      type: dict
"""
