# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for xprotect.encryption.encryption (documentation in plugins/modules)."""

from __future__ import annotations

from ansible_collections.xprotect.encryption.plugins.module_utils import _groups, _roles, hoststate, validate
from ansible_collections.xprotect.encryption.plugins.plugin_utils import encryption_flow as flow
from ansible_collections.xprotect.encryption.plugins.plugin_utils.action import XProtectAction
from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import RUNAS, AdapterError, become_plugin_name


class ActionModule(XProtectAction):
    argument_spec = dict(
        state=dict(type="str", choices=["enabled", "disabled"], default="enabled"),
        thumbprint=dict(type="str"),
        groups=dict(type="list", elements="str", choices=["server", "streaming", "mobile", "event"]),
        roles=dict(type="list", elements="str"),
        fqdn=dict(type="str"),
        address=dict(type="str"),
        port_offset=dict(type="int"),
        configurator_path=dict(type="str"),
        configurator=dict(type="dict"),
        config_paths=dict(type="dict", default={}),
        stop_stale_configurator=dict(type="bool", default=False),
        retries=dict(type="int", default=3),
        retry_delay=dict(type="float", default=10.0),
        probe_timeout=dict(type="float", default=5.0),
        settle_timeout=dict(type="float", default=180.0),
        settle_interval=dict(type="float", default=2.0),
        override_markers=dict(type="list", elements="str"),
        reuse_reading=dict(type="bool", default=False),
    )
    option_rules = {
        **flow.CONTEXT_RULES,
        "thumbprint": validate.thumbprint,
        "retries": validate.bounded(validate.whole_number, 0, 100),
        "retry_delay": validate.bounded(validate.number, 0, 3600),
        "settle_timeout": validate.bounded(validate.number, 0, 3600),
        "settle_interval": validate.bounded(validate.number, above=0, maximum=600),
    }
    # What reuse_reading takes, oldest first: the verify role's preflight reading, then this
    # module's last result in the encryption role (registered as xprotect_encryption).
    earlier_readings = ("xprotect_preflight_encryption", "xprotect_encryption.thumbprints")
    # The encryption role's variables (roles/encryption/defaults/main.yml), and the certificate
    # the certificates role registered.
    host_var_defaults = {
        "state": "xprotect_encryption_state",
        "thumbprint": "xprotect_certificate.thumbprint",
        "groups": "xprotect_encryption_groups",
        "stop_stale_configurator": "xprotect_stop_stale_configurator",
        "retries": "xprotect_encryption_retries",
        "retry_delay": "xprotect_encryption_retry_delay",
        "configurator_path": "xprotect_configurator_path",
        "configurator": "xprotect_server_configurator",
        "override_markers": "xprotect_override_markers",
    }

    def work(self, args, adapter, task_vars):
        fqdn = self.host_fqdn(args, task_vars)
        if args["state"] == "enabled" and not args["thumbprint"]:
            if self.check_mode:
                # The certificates task, in check mode, has only said it would issue one.
                return {"skipped": True, "msg": f"{fqdn}: no certificate yet, so nothing to compare in check mode."}
            raise AdapterError(
                f"{fqdn}: thumbprint is required with state=enabled. In the rollout it is the certificate that phase 1 "
                "(the certificates role) of the same run issued or found for this host: run the whole playbook "
                "(playbooks/site.yml), not only a later phase, or give thumbprint."
            )
        roles = hoststate.roles_from_groups(
            task_vars.get("group_names", []), args["roles"] or task_vars.get("xprotect_roles")
        )
        groups = args["groups"] or _roles.groups_for_roles(roles)
        ctx = flow.context(args, task_vars, fqdn)
        want = args["thumbprint"] if args["state"] == "enabled" else None  # normalised with the arguments
        desired = {g: want for g in groups}
        current = self.earlier_state(task_vars, groups) if args["reuse_reading"] else {}
        reused = list(current)
        unread = [g for g in groups if g not in current]
        if unread:
            current.update(flow.read_state(adapter, ctx, roles, unread))
        current = hoststate.reconcile_unknown(current, desired)
        changes = hoststate.plan_group_changes(current, desired)
        names = {g: _groups.GROUPS[g].name for g in groups}
        result = {
            "thumbprints": {g: current[g] for g in groups},
            "roles": roles,
            "groups": {names[g]: hoststate.describe_group_state(current[g]) for g in groups},
            "reasons": [
                f"encryption {'off' if current[g] is None else 'on with ' + current[g]} for group {names[g]}"
                + (f", wanted {t}" if t else ", wanted off")
                for g, _action, t in changes
            ],
            "changed": bool(changes),
        }
        if reused:
            result["reused"] = [names[g] for g in groups if g in reused]
        notes = {names[g]: why for g, why in (ctx.get("reasons") or {}).items() if g in names}
        if notes:
            result["notes"] = notes
        unknown = [g for g in groups if current[g] == hoststate.UNKNOWN_STATE]
        if unknown:
            result.setdefault("warnings", []).extend(
                f"{fqdn}: the state of group {names[g]} cannot be read ({notes.get(names[g], 'no source')}); "
                "it is not switched. Check it in the Server Configurator GUI on the host."
                for g in unknown
            )
        if "mobile" in groups and want is None:
            result.setdefault("warnings", []).append(
                f"{fqdn}: the mobile server stays on plain HTTP. Push-to-talk in the XProtect Web Client needs "
                "encryption and will not work."
            )
        self.diff(
            result,
            {names[g]: hoststate.describe_group_state(current[g]) for g in groups},
            {names[g]: hoststate.describe_group_state(desired[g]) for g in groups},
        )
        if not changes or self.check_mode:
            return result

        become = become_plugin_name(self)
        if become != RUNAS:
            found = f"become is {become}" if become else "become is off"
            raise AdapterError(
                f"{fqdn}: Server Configurator must run as a Milestone administrator with an interactive logon, "
                f"but {found} for this task. Set become: true, become_method: ansible.builtin.runas (or runas) "
                "and become_user to that account (ansible_become* variables) for this task."
            )
        flow.refuse_override(ctx, args["override_markers"])
        exe, ids, result["looked_up"] = flow.configurator_and_ids(
            adapter,
            fqdn,
            [g for g, _action, _tp in changes],
            path=args["configurator_path"],
            known=args["configurator"],
            stop_stale=args["stop_stale_configurator"],
        )
        applied = []
        try:
            for group, action, thumbprint in changes:
                applied.append(
                    flow.apply_change(
                        adapter,
                        exe,
                        fqdn,
                        guid=ids[group],
                        group=names[group],
                        action=action,
                        thumbprint=thumbprint,
                        retries=args["retries"],
                        retry_delay=args["retry_delay"],
                        stop_stale=args["stop_stale_configurator"],
                    )
                )
        except AdapterError as e:
            e.result.update(changed=bool(applied), applied=applied)
            raise
        # The exit code alone is not to be trusted [L]: read the state back, giving the
        # services Server Configurator restarts time to come back, and judge every run by it.
        after = flow.settle(
            adapter, ctx, roles, groups, desired, timeout=args["settle_timeout"], interval=args["settle_interval"]
        )
        warnings, problems = hoststate.read_back_outcome(
            fqdn, [(g, names[g], run["exit_codes"][-1]) for (g, _a, _t), run in zip(changes, applied)], after, desired
        )
        result["applied"] = applied
        result["thumbprints"] = {g: after[g] for g in groups}
        result["groups"] = {names[g]: hoststate.describe_group_state(after[g]) for g in groups}
        if warnings:
            result["warnings"] = result.get("warnings", []) + warnings
        if problems:
            hint = ""
            if any(r in roles for r in ("recording", "failover")) and "management" not in roles:
                hint = (
                    " Recording and failover servers can only move to the state the management server is already "
                    "in, and Server Configurator then exits without a change and without a reason [L]: check the "
                    "management server first."
                )
            raise AdapterError(result=dict(result, changed=True), message=f"{fqdn}: " + " ".join(problems) + hint)
        return result

    def earlier_state(self, task_vars, groups):
        """The state of ``groups`` as read earlier in this run (see ``earlier_readings``)."""
        known = hoststate.known_group_states(*(self.host_value(task_vars, var) for var in self.earlier_readings))
        return {g: known[g] for g in groups if g in known}
