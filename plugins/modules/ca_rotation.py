#!/usr/bin/python
# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ca_rotation
version_added: 0.1.0
short_description: The controller's part of a rotation of the site CA
description:
  - Used by C(playbooks/rotate_ca.yml) (docs/runbook.md, "Rotate the site CA"); the hosts' part is done by the
    roles.
  - O(state=plan) reads the site's CA folder O(path), the new CA folder O(new_path) and the rotation record, and
    says what the run does (RV(phase)). It refuses a new CA that is the site's CA or has its key, that is not valid
    yet, has expired or expires within O(min_days), and a site folder without a CA. It writes nothing.
  - O(state=record) writes the rotation record C(rotation.json) (the step done, the clients still holding the old
    CA) in O(new_path), or in O(path) once the new folder is promoted. Steps only go forward.
  - O(state=promoted) makes O(new_path) the site's CA folder O(path) - the old folder is kept inside it as
    C(ca-retired-<thumbprint>) - with two atomic renames; a run killed between them is finished by the next.
  - Reads certificates only; the C(xprotect.encryption.ca) module creates or imports the new CA and checks its
    passphrase.
author:
  - xprotect.encryption maintainers (@xprotect)
requirements:
  - cryptography >= 42.0
attributes:
  check_mode:
    support: full
    description: Says what would be written or renamed; writes nothing.
  diff_mode:
    support: none
    description: The record and the promotion are reported in RV(record) and RV(promoted).
  platform:
    support: full
    platforms: posix
    description:
      - Runs on the controller, in the worker Ansible forks for the task (an action plugin of the same name runs
        the module's code there, without starting a new Python), as the user who runs ansible-playbook.
      - C(delegate_to) and C(become) do not change where or as whom it runs.
options:
  state:
    description: What to do.
    type: str
    choices: [plan, record, promoted]
    default: plan
  path:
    description: The site's CA folder (C(xprotect_ca_path)).
    type: path
    required: true
  new_path:
    description: The new CA's folder (C(xprotect_ca_new_path)); it must differ from O(path).
    type: path
    required: true
  new_certificate:
    description:
      - With O(state=plan), the new CA certificate (PEM) when O(new_path) holds none yet, as the C(ca) module
        returns it in check mode for an import. Empty when the new CA is to be created.
    type: str
    default: ""
  min_days:
    description: With O(state=plan), the fewest days the new CA must still be valid.
    type: int
    default: 365
  step:
    description: With O(state=record), the step done.
    type: str
    choices: [started, trusted, issued, switched, verified, retired, promoted, complete]
  old_thumbprint:
    description: With O(state=record) or O(state=promoted), the thumbprint of the old CA.
    type: str
  new_thumbprint:
    description: With O(state=record), the thumbprint of the new CA.
    type: str
  clients_pending:
    description: With O(state=record), the clients that still hold the old CA in Root (replaces the list).
    type: list
    elements: str
notes:
  - Run it against C(localhost).
seealso:
  - module: xprotect.encryption.ca
"""

EXAMPLES = r"""
- name: What this rotation run does
  xprotect.encryption.ca_rotation:
    path: ~/.xprotect/pki
    new_path: ~/.xprotect/pki-new
  register: rotation
"""

RETURN = r"""
phase:
  description: >-
    With O(state=plan): C(rotate) (steps 1-6, then the promotion), C(promote) (finish a promotion killed half-way)
    or C(finish) (the rotation is complete; only the old CA's retirement is applied again).
  returned: state is plan
  type: str
old_thumbprint:
  description: The CA the rotation retires.
  returned: state is plan
  type: str
new_thumbprint:
  description: The CA the rotation moves to; null while it is still to be created.
  returned: state is plan
  type: str
step:
  description: The last step the record says is done.
  returned: state is plan or record
  type: str
clients_pending:
  description: Clients that still hold the old CA in Root, for C(playbooks/trust_clients.yml).
  returned: state is plan or record
  type: list
  elements: str
record:
  description: The rotation record.
  returned: state is plan or record
  type: dict
in_progress:
  description:
    - A rotation away from the CA in O(path) is under way (started, not yet promoted).
    - C(site.yml) and C(renew.yml) stop then, in C(playbooks/ca_continuity.yml), because they would issue from the old
      CA again.
  returned: state is plan
  type: bool
promoted:
  description: The copies and renames done (or, in check mode, to do).
  returned: state is promoted
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.xprotect.encryption.plugins.module_utils._backends import ca_rotation as backend
from ansible_collections.xprotect.encryption.plugins.module_utils._backends.common import run_module


def main() -> None:
    # Ansible runs the action plugin of the same name (plugins/action/ca_rotation.py), in its worker
    # on the controller; this entry point is the same work as a module (its tests and ansible-test).
    module = AnsibleModule(argument_spec=backend.ARGUMENT_SPEC, supports_check_mode=True, **backend.RELATIONS)
    module.exit_json(**run_module(module, backend.run_task, backend.write_error, backend.RULES))


if __name__ == "__main__":
    main()
