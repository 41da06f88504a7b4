# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for xprotect.encryption.settings (documentation in plugins/modules/settings.py)."""

from __future__ import annotations

from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.xprotect.encryption.plugins.module_utils import settings

ARGUMENT_SPEC = {
    "playbook": {"type": "str", "required": True, "choices": list(settings.PLAYBOOKS)},
    "fail_on_problems": {"type": "bool", "default": True},
}


# The playbook a name stands for, where it is not playbooks/<name>.yml.
PLAYBOOK_FILES = {"awx": "awx/configure"}


class ActionModule(ActionBase):
    """Checks the host's values of the settings a playbook reads; touches no host."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        spec = settings.argument_spec(args["playbook"])
        # Only what is set: an unset variable takes the role's or the playbook's default.
        values, problems = {}, []
        for name in (n for n in spec if n in task_vars):
            try:
                values[name] = self._templar.template(task_vars[name])
            except AnsibleError as e:
                # A problem like any other: a host failing here alone would drop out of the run.
                problems.append(f"{name}: its value cannot be rendered ({e.message}).")
        # The argument spec first (types, choices, list elements), with ansible-core's own
        # messages; then the ranges and patterns of settings.py on the values it coerced.
        checked = ArgumentSpecValidator({n: spec[n] for n in values}).validate(values)
        problems += [str(e) if str(e).endswith(".") else f"{e}." for e in checked.errors]
        if not problems:
            problems = settings.problems(args["playbook"], checked.validated_parameters)
        result.update(changed=False, checked=sorted(values), problems=problems)
        if problems and args["fail_on_problems"]:
            result.update(
                failed=True,
                msg=f"Settings that playbooks/{PLAYBOOK_FILES.get(args['playbook'], args['playbook'])}.yml cannot use; "
                "nothing was changed. "
                + " ".join(problems)
                + " Fix them where they are set (-e, inventory, group_vars or host_vars) and run again.",
            )
        return result
