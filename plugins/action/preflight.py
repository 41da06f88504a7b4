# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for xprotect.encryption.preflight (documentation in plugins/modules).

The preflight's three reads of one host in one task, so one forked worker per host instead of
three: each read is its module's own action plugin (server_certificate, trusted_ca,
xprotect_info), run here with the options given for it, and returned as it is. The certificate
and the trust are read in check mode; Server Configurator's listing runs in the task's mode, so
that stop_stale_configurator may end a stale instance, as the switch would."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.xprotect.encryption.plugins.action import server_certificate, trusted_ca, xprotect_info

# In this order: a host that does not answer the first read is not asked the others.
PARTS = (("certificate", server_certificate), ("trust", trusted_ca), ("configurator", xprotect_info))
SERVER_ONLY = ("certificate", "configurator")
CHECK_ONLY = ("certificate", "trust")  # never issue, grant or install here


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    argument_spec = dict(
        server=dict(type="bool", default=True),
        certificate=dict(type="dict", default={}),
        trust=dict(type="dict", required=True),
        configurator=dict(type="dict", default={}),
    )

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        args = self.validate_argument_spec(argument_spec=self.argument_spec)[1]
        task = self._task
        saved = task.args, task.check_mode
        gone = None
        try:
            for name, plugin in PARTS:
                if name in SERVER_ONLY and not args["server"]:
                    result[name] = {"skipped": True, "changed": False, "msg": "not read: the host is not a server"}
                elif gone is not None:
                    result[name] = dict(gone)
                else:
                    task.args, task.check_mode = dict(args[name]), saved[1] or name in CHECK_ONLY
                    result[name] = self._part(plugin, task, task_vars)
                    if result[name].get("unreachable"):
                        gone = {"unreachable": True, "changed": False, "msg": result[name].get("msg", "")}
        finally:
            task.args, task.check_mode = saved
        if gone is not None:
            result.update(gone)
        # Only the listing may change the host: a stale Server Configurator instance it ended.
        result["changed"] = bool(result["configurator"].get("changed"))
        return result

    def _part(self, plugin, task, task_vars) -> dict:
        """One read, as its own task would have returned it; its failure is its result's, not this task's."""
        action = plugin.ActionModule(
            task, self._connection, self._play_context, self._loader, self._templar, self._shared_loader_obj
        )
        try:
            return action.run(task_vars=task_vars)
        except AnsibleActionFail as e:  # options its argument spec refuses
            return dict(e.result, failed=True, changed=False, msg=e.message)
