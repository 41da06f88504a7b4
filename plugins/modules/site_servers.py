# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: site_servers
short_description: The recording and failover servers the XProtect management server knows
version_added: 0.1.0
description:
  - Reads every recording server and failover recording server of the site, enabled or not, from the Management
    Server REST API, with the code of the M(xprotect.encryption.xprotect) inventory plugin (same log-on, same errors).
  - The preflight gate compares the result with the inventory's groups (filter
    C(xprotect.encryption.inventory_coverage)), so that no server is left out of the rollout.
  - Settings come from O(source), an inventory plugin config file; options set here win over it; the environment
    variables C(XPROTECT_URL), C(XPROTECT_USERNAME), C(XPROTECT_PASSWORD), C(XPROTECT_TLS_SERVER_NAME) fill the rest,
    as for the plugin.
  - Runs on the controller only; read-only, the same in check mode.
author:
  - xprotect.encryption maintainers (@xprotect)
options:
  source:
    description: An inventory plugin config file (C(*.xprotect.yml)) whose url and credentials to use.
    type: path
  url:
    description:
      - The management server's base URL, as the plugin's C(url). A list is tried in order; the next one only when
        the previous one accepts no connection (refused, timed out, no TLS), so that one setting serves before the
        rollout (C(http://ms)) and after it (C(https://ms)).
    type: list
    elements: str
  username:
    description: The user to log on as (the plugin's C(username)).
    type: str
  password:
    description: The user's password; never logged or returned.
    type: str
  auth_type:
    description: V(basic) or V(windows), as the plugin's C(auth_type). Default V(basic).
    type: str
    choices: [basic, windows]
  validate_certs:
    description: Check the server's TLS certificate. Default true.
    type: bool
  ca_path:
    description: PEM file of the CA that signed the management server's certificate (HTTPS only).
    type: path
  tls_server_name:
    description: The name on the management server's certificate, when the URL uses an address (HTTPS only).
    type: str
  timeout:
    description: Seconds per request. Default 30.
    type: float
  management_server_name:
    description:
      - The management server's inventory name, when neither the host in O(url) nor O(tls_server_name) is one of its
        names in the inventory (the plugin's option of the same name).
    type: str
notes:
  - Fails, saying why, when the API cannot be read; it never returns an empty list for a site it could not read.
seealso:
  - plugin: xprotect.encryption.xprotect
    plugin_type: inventory
"""

EXAMPLES = r"""
- name: What the management server knows
  xprotect.encryption.site_servers:
    source: inventory/site.xprotect.yml
  register: site

- name: Before and after the rollout, one setting
  xprotect.encryption.site_servers:
    url: [http://ms.example.com, https://ms.example.com]
    username: ansible-inventory
    password: "{{ vault_xprotect_api_password }}"
    ca_path: /srv/xprotect/pki/ca.crt
"""

RETURN = r"""
url:
  description: The URL that was read.
  returned: success
  type: str
servers:
  description: One item per server, with C(kind) (V(recording_server) or V(failover_server)), C(host) (the name the
    inventory plugin gives it), C(name), C(id) and C(enabled).
  returned: success
  type: list
  elements: dict
management:
  description: Names of the management server that was read (O(management_server_name) or its certificate name, and the
    host in the URL).
  returned: success
  type: list
  elements: str
"""
