# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for xprotect.encryption.xprotect_info (documentation in plugins/modules)."""

from __future__ import annotations

import datetime

from ansible_collections.xprotect.encryption.plugins.module_utils import (
    _groups,
    _roles,
    _server_configurator,
    _services,
    hoststate,
    pki,
)
from ansible_collections.xprotect.encryption.plugins.plugin_utils import ca_source
from ansible_collections.xprotect.encryption.plugins.plugin_utils import encryption_flow as flow
from ansible_collections.xprotect.encryption.plugins.plugin_utils.action import XProtectAction
from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import AdapterError


class ActionModule(XProtectAction):
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
        **ca_source.CA_CERT_ONLY_OPTIONS,
    )
    option_rules = flow.CONTEXT_RULES
    # The encryption role's setting, so that the preflight checks what the switch would refuse.
    host_var_defaults = {"override_markers": "xprotect_override_markers"}

    def check_arguments(self, args):
        given = args.get("ca_cert_path") or args.get("ca_cert_content")
        self.ca_cert = ca_source.load_ca_certificate(args) if given else None

    def work(self, args, adapter, task_vars):
        fqdn = self.host_fqdn(args, task_vars)
        roles = hoststate.roles_from_groups(
            task_vars.get("group_names", []), args["roles"] or task_vars.get("xprotect_roles")
        )
        now = datetime.datetime.now(datetime.timezone.utc)
        services = adapter.list_services("Milestone*")
        components = []
        for svc in services:
            exe_of_service = _services.service_executable(svc.path)
            components.append(
                {
                    "name": svc.name,
                    "display_name": svc.display_name,
                    "account": svc.username,
                    "state": svc.state,
                    "version": adapter.file_version(exe_of_service) if exe_of_service else None,
                }
            )
        exe = args["configurator_path"] or _services.configurator_path_from_services(services)
        configurator = {"path": exe, "version": adapter.file_version(exe) if exe else None}
        configurator["usable"] = bool(configurator["version"]) and _server_configurator.configurator_version_ok(
            configurator["version"]
        )
        groups = _roles.groups_for_roles(roles)
        changed = False
        if args["certificate_groups"] and configurator["usable"] and groups:
            # Proves Server Configurator runs (as this task's user) and knows the host's groups;
            # the switch then takes the IDs from here instead of listing inside the window.
            try:
                configurator["group_ids"], ended = flow.list_group_ids(
                    adapter,
                    exe,
                    fqdn,
                    groups,
                    stop_stale=args["stop_stale_configurator"],
                    check_mode=self.check_mode,
                )
            except AdapterError as e:
                configurator.update(usable=False, error=e.message)
            else:
                if ended:
                    # Asked for (stop_stale_configurator): a change on the host, reported as one.
                    configurator["stale_instance_ended"] = True
                    changed = True

        info = {
            "fqdn": fqdn,
            "roles": roles,
            "components": components,
            "service_accounts": sorted({c["account"] for c in components if c["account"]}),
            "key_readers": hoststate.key_reader_accounts(services),
            "server_configurator": configurator,
        }
        if groups:
            ctx = flow.context(args, task_vars, fqdn)
            try:
                state = flow.read_state(adapter, ctx, roles, groups)
                info["encryption"] = {_groups.GROUPS[g].name: state[g] for g in groups}
                # Why a group reads as it does, where that needs saying (no binding on the port
                # the configuration names; a state that cannot be read).
                info["encryption_notes"] = {_groups.GROUPS[g].name: why for g, why in ctx["reasons"].items()}
                # What M(xprotect.encryption.encryption) would refuse, found before any switch.
                info["override"] = flow.override_evidence(ctx, args["override_markers"])
            except AdapterError as e:
                info["encryption_error"] = e.message
        # Only server certificates count: a CA certificate (from a PFX that carried its chain) or a
        # self-signed one in My is listed apart, with the reason.
        my, info["other_certificates"] = [], []
        for e in adapter.list_certificates("My"):
            reason = pki.not_a_server_certificate(pki.load_certificate(e.der))
            if reason:
                info["other_certificates"].append({"thumbprint": e.thumbprint, "subject": e.subject, "reason": reason})
            else:
                my.append(e)
        info["certificates"] = [
            {
                "thumbprint": e.thumbprint,
                "subject": e.subject,
                "dns_names": list(e.dns_names),
                "not_after": e.not_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "days_left": (e.not_after - now).days,
                "has_private_key": e.has_private_key,
            }
            for e in my
        ]
        if self.ca_cert is not None:
            ca_cert = self.ca_cert
            tp = pki.thumbprint(ca_cert)
            root = adapter.list_certificates("Root")
            info["ca"] = {"thumbprint": tp, "trusted": any(e.thumbprint == tp for e in root)}
            info["certificates"] = [
                c
                for c, e in zip(info["certificates"], my)
                if pki.verify_issued_by(pki.load_certificate(e.der), ca_cert)
            ]
        return {"ansible_facts": {"xprotect": info}, "xprotect": info, "changed": changed}
