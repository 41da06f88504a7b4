# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CA rotation's gates (playbooks/rotate_ca.yml): hostvars and probes in, the decisions of
module_utils/rotation.py out."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.xprotect.encryption.plugins.module_utils import rotation


def rotation_trust_gate(hostvars, servers, clients, keys, clients_must_trust="all"):
    try:
        return rotation.trust_gate(hostvars, servers or [], clients or [], keys, clients_must_trust)
    except ValueError as e:
        raise AnsibleFilterError(str(e)) from None


def rotation_verify_gate(with_new, with_old):
    return rotation.verify_gate(with_new or [], with_old or [])


def rotation_clients_to_clean(clients, hostvars, key):
    return rotation.clients_to_clean(clients or [], {c: (hostvars.get(c) or {}).get(key) for c in clients or []})


class FilterModule:
    def filters(self):
        return {
            "rotation_trust_gate": rotation_trust_gate,
            "rotation_verify_gate": rotation_verify_gate,
            "rotation_clients_to_clean": rotation_clients_to_clean,
        }
