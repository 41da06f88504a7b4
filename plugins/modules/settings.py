# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: settings
short_description: Check every variable a playbook of the collection reads, before it acts
version_added: 0.1.0
description:
  - Checks the current host's values of the variables that O(playbook) reads - extra vars, inventory, group_vars
    and host_vars alike - against an argument spec (type, choices, list elements; the checks of
    M(ansible.builtin.validate_argument_spec)) and against ranges and patterns an argument spec cannot express
    (days from 0 to 36500, retries from 0 to 100, timeouts above 0, a batch size as C(serial) takes it, thumbprints,
    regular expressions, host names).
  - Fails naming each variable, its value and what is allowed. Touches no host; needs no connection.
  - Variables that are not set are not checked; they take the defaults of the roles and playbooks.
  - The table of settings, one entry per variable, is C(plugins/module_utils/settings.py).
  - C(site.yml) (through C(stage.yml)), C(audit.yml), C(renew.yml) and C(rollback.yml) first import
    C(playbooks/settings.yml), which runs it on localhost and on every host of the site with
    O(fail_on_problems=false), then stops on the controller when any host has a problem
    (P(xprotect.encryption.settings_gate#filter) says each problem once). A wrong value so stops the run before the
    CA is created and before any host is touched.
author:
  - xprotect.encryption maintainers (@xprotect)
options:
  playbook:
    description:
      - Which playbook's settings to check; V(awx) is C(playbooks/awx/configure.yml), the AWX configuration.
    type: str
    required: true
    choices: [site, audit, renew, rollback, rotate, awx]
  fail_on_problems:
    description:
      - Fail the task when a value is not allowed. With V(false) the task only returns RV(problems), for a gate that
        decides once for every host.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: It only reads variables; it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing is changed.
  platform:
    support: full
    platforms: posix
    description: Runs on the controller; touches no host.
notes:
  - An action plugin; it runs on the controller. Supports check mode.
"""

EXAMPLES = r"""
- name: Settings | the variables of site.yml, as this host sees them
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
  description: One sentence per value that is not allowed, naming the variable, the value and what is allowed.
  returned: always
  type: list
  elements: str
"""
