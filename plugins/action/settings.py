# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for xprotect.encryption.settings (documentation in plugins/modules/settings.py)."""

from __future__ import annotations

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.xprotect.encryption.plugins.module_utils import settings


class ActionModule(ActionBase):
    """Checks the host's values of the settings a playbook reads; touches no host."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("playbook",))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        playbook = self._task.args.get("playbook")
        if playbook not in settings.PLAYBOOKS:
            return dict(
                result,
                failed=True,
                msg=f"playbook: {playbook!r} is not allowed; use one of {', '.join(settings.PLAYBOOKS)}.",
            )
        spec = settings.argument_spec(playbook)
        # Only what is set: an unset variable takes the role's or playbook's default.
        values = {name: self._templar.template(task_vars[name]) for name in spec if name in task_vars}
        checked = ArgumentSpecValidator(spec).validate(values)
        found = [str(e) if str(e).endswith(".") else f"{e}." for e in checked.errors]
        if not found:
            found = settings.problems(playbook, checked.validated_parameters)
        result["checked"] = sorted(values)
        if found:
            host = task_vars.get("inventory_hostname", "")
            result.update(
                failed=True,
                problems=found,
                msg=f"Settings of {host} that playbooks/{playbook}.yml cannot use; nothing was changed. "
                + " ".join(f"({i}) {p}" for i, p in enumerate(found, 1))
                + " Fix them where they are set (-e, inventory, group_vars or host_vars) and run again.",
            )
        result.setdefault("changed", False)
        return result
