#!/usr/bin/python
# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of xprotect.encryption.lab_site, nothing else: its action plugin
(plugins/action/lab_site.py) does the work on the controller, with the argument spec of
plugins/plugin_utils/_lab/spec.py, which tests/unit/plugins/plugin_utils/_lab/test_spec.py
holds equal to the options below. A module may import only module_utils, so no code here."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lab_site
short_description: Create, start, stop and destroy a simulated XProtect site (the lab)
description:
  - Manages a lab site, a simulated Milestone XProtect VMS site on one Linux machine, in a folder.
  - Each simulated host has certificate stores (C(My), C(Root), pending requests), Milestone services with
    their accounts, the XProtect configuration files, and runs Server Configurator, certreq and netsh with
    their real arguments, output and exit codes through the collection's host adapter.
  - One background process per site serves every host's endpoints on its own loopback address with real TLS
    (management server 80/443, recording servers 7563 and 9001, mobile servers 8081/8082), and the Management
    Server REST API.
  - The site folder gets C(inventory.yml), the inventory the rollout playbooks run against unchanged, and
    C(site.xprotect.yml) for the P(xprotect.encryption.xprotect#inventory) inventory plugin.
  - Runs on the controller (it is an action plugin). Nothing leaves 127.0.0.0/8.
  - See docs/lab.md for what is modelled, every setting and how to rehearse a maintenance window.
version_added: 0.1.0
author:
  - xprotect.encryption maintainers (@xprotect)
options:
  path:
    description:
      - The site folder. It is created if missing; a folder that holds anything else than a lab site is refused.
      - Defaults to C(.lab/site) under the current directory (where C(ansible-playbook) runs); never inside the
        installed collection.
    type: path
  state:
    description:
      - C(present) creates the site, or brings it to the size given (hosts that stay keep their state).
      - C(started) does the same and starts the site process, then waits until it serves.
      - C(stopped) ends the site process. C(absent) ends it and removes what the lab created, nothing else.
      - C(status) only reads, and returns the site's status.
    type: str
    choices: [present, started, stopped, absent, status]
    default: present
  management_servers:
    description:
      - Number of management servers (C(mgmt01...)). At least 1.
      - For a new site the defaults are 1 management, 3 recording, 1 failover, 1 mobile, 0 event servers and 2
        clients; an existing site keeps its count for every role not given.
    type: int
  recording_servers:
    description: Number of recording servers (C(rs001...)).
    type: int
  failover_servers:
    description: Number of failover recording servers (C(fo01...)).
    type: int
  mobile_servers:
    description: Number of mobile servers (C(mob01...)).
    type: int
  event_servers:
    description: Number of event servers (C(ev01...)).
    type: int
  clients:
    description: Number of client workstations (C(cl01...)) that only trust the CA and pull video.
    type: int
  hosts:
    description:
      - An explicit host list instead of counts. A name without a dot gets the lab domain (setting C(domain)).
      - Exactly one host should have the C(management) role; one host may have several roles.
    type: list
    elements: dict
    suboptions:
      name:
        description: The host's FQDN (its inventory name).
        type: str
        required: true
      roles:
        description: Its roles.
        type: list
        elements: str
        required: true
        choices: [management, recording, failover, mobile, event, client]
      install_folder:
        description:
          - Where XProtect is installed on this host instead of C(C:\\Program Files\\Milestone), for example
            C(D:\\Milestone). The services, Server Configurator and the mobile server's C(.exe.config) move there.
        type: str
      standby:
        description:
          - For a failover server, C(cold) makes it a cold-standby failover server, which does not listen on the
            image server port 7563 until it takes over. C(hot) (the default) listens as a recording server does.
        type: str
        choices: [hot, cold]
      customer_binding:
        description:
          - An HTTP.sys SSL binding of the customer's own on this host, with a certificate of its own, as an IIS
            HTTPS site adds it. A C(host:port) (SNI, for example C(intranet.lab.xprotect.test:443)) or an
            C(ip:port) (for example C(0.0.0.0:443)). XProtect's own binding on the same key replaces it.
        type: str
      locale:
        description:
          - The language of the host's console programs. C(de-DE) prints C(netsh) in German, in code page 850, as
            M(ansible.windows.win_command) hands it over (decoded as UTF-8, so the umlauts arrive broken).
        type: str
        choices: [en-US, de-DE]
  address_range:
    description:
      - The loopback network the hosts get their addresses from, for example C(127.42.0.0/20).
      - By default a /20 derived from a hash of the site path, so that two sites can run side by side.
      - A C(/32) (C(127.0.0.1/32)) puts every host on one address with distinct ports; the lab falls back to it
        where only 127.0.0.1 exists (macOS).
    type: str
  port_offset:
    description:
      - Added to every default port. Defaults to 0 when run as root (the real ports) and 10000 otherwise.
      - C(status.json) and the inventory (C(xprotect_port_offset), C(xprotect_lab_ports)) record the real ports.
    type: int
  pki_dir:
    description:
      - Where the rollout keeps its CA; the inventory points C(xprotect_ca_path) here. Defaults to C(<path>/../pki).
      - The lab creates C(<pki_dir>/passphrase) (random, mode 0600) when absent; it never creates the CA.
    type: path
  settings:
    description:
      - Lab settings that stand for uncertain XProtect behaviour, by name; see docs/lab.md for each one, its
        default and the fact (with its confidence) it models. Unknown names are refused.
    type: dict
  timeout:
    description: Seconds to wait for the site process to serve after starting it.
    type: float
    default: 60
notes:
  - Supports check mode (nothing is created, started or stopped) but not diff mode.
  - Idempotent. The event log C(events.jsonl) and C(status.json) in the site folder are stable contracts.
seealso:
  - module: xprotect.encryption.lab_fault
"""

EXAMPLES = r"""
- name: Create and start a lab site of 1 + 50 recording + 5 failover + 1 mobile + 20 clients
  xprotect.encryption.lab_site:
    path: .lab/site
    state: started
    recording_servers: 50
    failover_servers: 5
    clients: 20
  delegate_to: localhost
  run_once: true

- name: A combined management and recording box, with the event server group left free
  xprotect.encryption.lab_site:
    path: /srv/lab/combined
    state: started
    hosts:
      - {name: vms01, roles: [management, recording]}
      - {name: ws01, roles: [client]}
    settings:
      event_requires_unencrypted_management: false

- name: Destroy it (stops the site process and removes only what the lab made)
  xprotect.encryption.lab_site:
    path: /srv/lab/combined
    state: absent
"""

RETURN = r"""
path:
  description: The site folder.
  returned: always
  type: str
inventory:
  description: The Ansible inventory of the site.
  returned: unless state is absent
  type: str
  sample: /work/.lab/site/inventory.yml
xprotect_inventory:
  description: The config file of the xprotect.encryption.xprotect inventory plugin, pointing at the lab's REST API.
  returned: unless state is absent
  type: str
xprotect_inventory_https:
  description:
    - The config file of the xprotect.encryption.xprotect inventory plugin for the lab's REST API over HTTPS, trusted
      with the site CA (C(site-https.xprotect.yml) in the site folder). It answers once the rollout has encrypted the
      management server.
    - V(null) until the site CA exists (the rollout's phase 0 creates it; the next lab_site run writes the file).
  returned: unless state is absent
  type: str
  sample: /work/.lab/site/site-https.xprotect.yml
hosts:
  description: The simulated hosts.
  returned: unless state is absent
  type: list
  elements: dict
  sample: [{"name": "mgmt01.lab.xprotect.test", "roles": ["management"], "address": "127.42.16.1"}]
address_range:
  description: The loopback network of the site.
  returned: unless state is absent
  type: str
port_offset:
  description: Added to every default port.
  returned: unless state is absent
  type: int
running:
  description: Whether the site process runs after the task.
  returned: unless state is absent
  type: bool
pid:
  description: Its process id.
  returned: when state is started or status and it runs
  type: int
startup_seconds:
  description: How long the site process took to serve, when this task started it.
  returned: when started by this task
  type: float
created:
  description: Whether the site was created by this task.
  returned: when state is present or started
  type: bool
added:
  description: Hosts added to an existing site.
  returned: when state is present or started
  type: list
  elements: str
removed:
  description: Hosts removed from an existing site.
  returned: when state is present or started
  type: list
  elements: str
status:
  description: The content of status.json (per host address, roles, endpoints, encryption, connectivity).
  returned: when state is status
  type: dict
"""
