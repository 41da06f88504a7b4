# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for xprotect.encryption.lab_site (documentation in plugins/modules/lab_site.py).

An action plugin, because it runs on the controller and starts the site process from the
collection's real files.
"""

from __future__ import annotations

import os

from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.action import ActionBase

from ansible_collections.xprotect.encryption.plugins.module_utils.lab import spec

try:
    from ansible_collections.xprotect.encryption.plugins.module_utils.lab import model, site

    HAS_LAB = True
    LAB_ERROR = None
except ImportError as e:  # pragma: no cover - cryptography missing
    HAS_LAB = False
    LAB_ERROR = to_native(e)


def default_site_path() -> str:
    """``.lab/site`` under the collection's root (the repository root of a checkout)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
    return os.path.join(root, ".lab", "site")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        _validated, args = self.validate_argument_spec(
            argument_spec=spec.LAB_SITE_ARGS, mutually_exclusive=spec.LAB_SITE_MUTUALLY_EXCLUSIVE
        )
        if not HAS_LAB:
            result.update(
                failed=True, msg=f"The lab needs the Python library cryptography on the controller ({LAB_ERROR})."
            )
            return result
        try:
            result.update(site.apply(args["path"] or default_site_path(), args, check_mode=bool(self._task.check_mode)))
        except model.LabError as e:
            result.update(failed=True, msg=e.message)
            if e.option:
                result["option"] = e.option
        warning = result.pop("warning", None)
        if warning:
            result.setdefault("warnings", []).append(warning)
        return result
