# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for xprotect.encryption.encryption (documentation in plugins/modules).

The options and their checks; the switch is plugins/plugin_utils/switch_flow.py, its decisions
plugins/module_utils/switch.py and hoststate.py."""

from __future__ import annotations

from ansible_collections.xprotect.encryption.plugins.module_utils import _roles, switch, validate
from ansible_collections.xprotect.encryption.plugins.plugin_utils import encryption_flow, switch_flow
from ansible_collections.xprotect.encryption.plugins.plugin_utils.action import XProtectAction
from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import AdapterError, become_plugin_name


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
        readings=dict(type="list", elements="dict", default=[]),
        mode=dict(type="str", choices=["sync", "start", "collect"], default="sync"),
        started=dict(type="dict"),
        options=dict(type="dict"),  # merged into the others by run(), before the spec is applied
        plan=dict(type="str"),  # the host variable that holds ``options`` (run() reads it)
    )
    # The options a role may also give as one dictionary (``options``, or the variable ``plan`` names).
    options_known = tuple(k for k in argument_spec if k != "plan")
    option_rules = {
        **encryption_flow.CONTEXT_RULES,
        "thumbprint": validate.thumbprint,
        "retries": validate.bounded(validate.whole_number, 0, 100),
        "retry_delay": validate.bounded(validate.number, 0, 3600),
        "settle_timeout": validate.bounded(validate.number, 0, 3600),
        "settle_interval": validate.bounded(validate.number, above=0, maximum=600),
    }

    def run(self, tmp=None, task_vars=None):
        try:
            args = dict(self._task.args)
            if "plan" in args:
                args["options"] = self._planned(args, task_vars or {})
            self._task.args = switch.merged_options(args, self.options_known)
        except validate.ArgumentError as e:
            host = (task_vars or {}).get("inventory_hostname", "")
            return {"failed": True, "changed": False, "msg": f"{host}: {e}" if host else str(e), "option": e.option}
        started = self._task.args.get("started")
        if self._task.args.get("mode") == "collect" and switch_flow.nothing_started(started):
            # Nothing was started (no change, check mode): the start's result as it is, without
            # reaching the host or building an adapter (the rollout's re-run pays this per host).
            return switch_flow.passed_through(started)
        return super().run(tmp, task_vars)

    def _planned(self, args, task_vars):
        """The dictionary of options in the host variable ``plan`` names, as ``set_fact`` left it
        (the role's ``tasks_from: plan``): not templated again inside the disconnection window. A
        template (the role's default, the switch not planned) is templated now."""
        name = args.pop("plan")
        if "options" in args:
            raise validate.refuse("plan", name, "give plan or options, not both")
        if not isinstance(name, str) or name not in task_vars:
            raise validate.refuse("plan", name, switch.NO_PLAN)
        value = task_vars[name]
        return self._templar.template(value) if isinstance(value, str) else value

    def work(self, args, adapter, task_vars):
        ctx = self.host_context(args, task_vars)
        if args["mode"] == "collect":
            if args["started"] is None:
                raise AdapterError(switch.no_started(ctx["fqdn"]))
            return switch_flow.collect(adapter, args["started"])
        if args["state"] == "enabled" and not args["thumbprint"]:
            if self.check_mode:
                # The certificates task, in check mode, has only said it would issue one.
                return {
                    "skipped": True,
                    "msg": f"{ctx['fqdn']}: no certificate yet, so nothing to compare in check mode.",
                }
            raise AdapterError(switch.no_thumbprint(ctx["fqdn"]))
        roles = self.host_roles(args, task_vars)
        groups = args["groups"] or _roles.groups_for_roles(roles)
        become = become_plugin_name(self)
        step = switch_flow.start if args["mode"] == "start" else switch_flow.run
        return step(adapter, ctx, roles, groups, args, check_mode=self.check_mode, become=become, diff=self.diff)
