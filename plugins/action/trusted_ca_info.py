# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for xprotect.encryption.trusted_ca_info (documentation in plugins/modules)."""

from __future__ import annotations

from ansible_collections.xprotect.encryption.plugins.module_utils import continuity
from ansible_collections.xprotect.encryption.plugins.plugin_utils.action import XProtectAction


class ActionModule(XProtectAction):
    argument_spec = dict(
        common_names=dict(type="list", elements="str", default=[]),
    )

    def work(self, args, adapter, task_vars):
        names = [n for n in args["common_names"] if n and n.strip()]
        found = continuity.ca_entries(adapter.list_certificates("Root"), names)
        return {"fqdn": self.host_fqdn({}, task_vars), "certificates": found, "changed": False}
