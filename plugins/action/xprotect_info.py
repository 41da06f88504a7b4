# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for xprotect.encryption.xprotect_info (documentation in plugins/modules).

The reading is plugin_utils/info_flow.py; this file is the options and their checks."""

from __future__ import annotations

from ansible_collections.xprotect.encryption.plugins.module_utils import pki
from ansible_collections.xprotect.encryption.plugins.plugin_utils import action, info_flow
from ansible_collections.xprotect.encryption.plugins.plugin_utils import encryption_flow as flow


class ActionModule(action.XProtectAction):
    argument_spec = dict(
        fqdn=dict(type="str"),
        roles=dict(type="list", elements="str"),
        address=dict(type="str"),
        port_offset=dict(type="int"),
        config_paths=dict(type="dict", default={}),
        configurator_path=dict(type="str"),
        probe_timeout=dict(type="float", default=5.0),
        certificate_groups=dict(type="bool", default=False),
        stop_stale_configurator=dict(type="bool", default=False),
        override_markers=dict(type="list", elements="str"),
        ca_cert_path=dict(type="path"),
        ca_cert_content=dict(type="str"),
        **action.CA_OPTION,
    )
    mutually_exclusive = [["ca_cert_path", "ca_cert_content", "ca"]]
    option_rules = flow.CONTEXT_RULES

    def check_arguments(self, args):
        given = args.get("ca") or args.get("ca_cert_path") or args.get("ca_cert_content")
        self.ca_cert = action.ca_certificate(args) if given else None
        # An intermediate site CA is trusted through its root (Root), not itself.
        chain = action.ca_chain(args, self.ca_cert, pki.utcnow()) if given else []
        self.anchor = chain[-1] if chain else self.ca_cert

    def work(self, args, adapter, task_vars):
        ctx = self.host_context(args, task_vars)
        roles = self.host_roles(args, task_vars)
        info, changed = info_flow.gather(
            adapter, ctx, roles, args, ca_cert=self.ca_cert, check_mode=self.check_mode, anchor=self.anchor
        )
        return {"ansible_facts": {"xprotect": info}, "xprotect": info, "changed": changed}
