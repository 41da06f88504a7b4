# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for xprotect.encryption.site_lock (documentation in plugins/modules/site_lock.py)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail

from ansible_collections.xprotect.encryption.plugins.module_utils import site_lock
from ansible_collections.xprotect.encryption.plugins.plugin_utils import site_lock_flow
from ansible_collections.xprotect.encryption.plugins.plugin_utils.action import XProtectAction


class ActionModule(XProtectAction):
    argument_spec = dict(
        state=dict(type="str", choices=["acquired", "released"], default="acquired"),
        path=dict(type="str", default=site_lock.DEFAULT_PATH),
        expiry_minutes=dict(type="int", default=site_lock.DEFAULT_EXPIRY_MINUTES),
        break_lock=dict(type="raw", default=False),
        playbook=dict(type="str", default=""),
        settle=dict(type="float", default=2.0),
        owner=dict(type="str", default=""),
    )

    def run(self, tmp=None, task_vars=None):
        # Run on the controller and delegated to the management server: the adapter is the
        # management server's, built from its variables (Ansible hands them in
        # ansible_delegated_vars, with inventory_hostname of the task's host).
        task_vars = task_vars or {}
        delegated = task_vars.get("ansible_delegated_vars") or {}
        if self._task.delegate_to and len(delegated) == 1:
            name, host_vars = next(iter(delegated.items()))
            task_vars = dict(host_vars, inventory_hostname=name)
        return super().run(tmp, task_vars)

    def work(self, args, adapter, task_vars):
        if not 1 <= args["expiry_minutes"] <= 7 * 24 * 60:
            raise AnsibleActionFail(
                f"expiry_minutes={args['expiry_minutes']} is out of range: give minutes from 1 to 10080 (one week)."
            )
        if not 0 <= args["settle"] <= 60:
            raise AnsibleActionFail(f"settle={args['settle']} is out of range: give seconds from 0 to 60.")
        path = args["path"].strip()
        if not path or path.endswith(("\\", "/")):
            raise AnsibleActionFail(f"path={args['path']!r} is not a file path: give the full path of the marker file.")
        try:
            args["break_lock"] = site_lock.parse_break(args["break_lock"])
        except site_lock.LockError as error:
            raise AnsibleActionFail(str(error))
        args["path"] = path
        try:
            site_lock.workflow_run(args["owner"])
        except site_lock.LockError as error:
            raise AnsibleActionFail(str(error))
        if args["state"] == "released":
            return site_lock_flow.release(adapter, args, self.check_mode)
        return site_lock_flow.acquire(adapter, args, self.check_mode)
