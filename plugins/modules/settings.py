# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: settings
short_description: Check every variable a playbook of the collection reads, before it acts
description:
  - Checks the current host's values of the variables that O(playbook) reads - extra vars, inventory, group_vars
    and host_vars alike - against an argument spec (type, choices, list elements; the checks of
    M(ansible.builtin.validate_argument_spec)) and against ranges and patterns an argument spec cannot express
    (days from 0 to 36500, retries from 0 to 100, timeouts above 0, a batch size as C(serial) takes it, thumbprints,
    regular expressions, host names).
  - Fails naming each variable, its value and what is allowed. Touches no host; needs no connection.
  - Variables that are not set are not checked; they take the defaults of the roles and playbooks.
  - The table of settings, one entry per variable, is C(plugins/module_utils/settings.py).
  - The first play of C(site.yml) (through C(stage.yml)), C(audit.yml), C(renew.yml) and C(rollback.yml) runs it on
    localhost and on every host of the site with C(any_errors_fatal), so a wrong value stops the run before the CA
    is created and before any host is touched.
author:
  - xprotect.encryption maintainers (@xprotect)
options:
  playbook:
    description: Which playbook's settings to check.
    type: str
    required: true
    choices: [site, audit, renew, rollback]
notes:
  - An action plugin; it runs on the controller. Supports check mode.
"""

EXAMPLES = r"""
- name: "Settings: every variable this run reads is valid"
  hosts: localhost:xprotect_management_servers:xprotect_recording_servers
  gather_facts: false
  any_errors_fatal: true
  tasks:
    - name: Settings | the variables of site.yml, for this host
      xprotect.encryption.settings:
        playbook: site
"""

RETURN = r"""
checked:
  description: The variables that were set for this host, and so checked.
  returned: always
  type: list
  elements: str
problems:
  description: One sentence per value that is not allowed.
  returned: failed
  type: list
  elements: str
"""
