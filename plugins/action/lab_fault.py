# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for xprotect.encryption.lab_fault (documentation in plugins/modules/lab_fault.py)."""

from __future__ import annotations

from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.action import ActionBase

from ansible_collections.xprotect.encryption.plugins.action.lab_site import default_site_path
from ansible_collections.xprotect.encryption.plugins.module_utils.lab import spec

try:
    from ansible_collections.xprotect.encryption.plugins.module_utils.lab import faults, model

    HAS_LAB = True
    LAB_ERROR = None
except ImportError as e:  # pragma: no cover - cryptography missing
    HAS_LAB = False
    LAB_ERROR = to_native(e)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        _validated, args = self.validate_argument_spec(argument_spec=spec.LAB_FAULT_ARGS)
        if not HAS_LAB:
            result.update(
                failed=True, msg=f"The lab needs the Python library cryptography on the controller ({LAB_ERROR})."
            )
            return result
        try:
            lab = model.Site(args["path"] or default_site_path())
            name = lab.require_host(args["host"])["name"]
            if self._task.check_mode:
                result.update(
                    changed=True, host=name, fault=args["fault"], value=args["value"], detail="not injected: check mode"
                )
                return result
            result.update(faults.inject(lab, name, args["fault"], args["value"]))
        except model.LabError as e:
            result.update(failed=True, msg=e.message)
            if e.option:
                result["option"] = e.option
        return result
