# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A controller module's backend, run by its action plugin in the worker Ansible forked for the task.

A module that runs on the controller starts a new Python for every task, which then imports
ansible's module code and cryptography again: about 0.3 to 0.5 s of wall time per task, while
the rest of the run waits (docs/performance.md). The action plugin of the same name runs the
same backend (``module_utils/_backends``) with the same argument spec and checks, in the worker,
as the user who runs ansible-playbook (become does not apply: the CA and the probes are the
controller's own). A refusal is the same failed task, naming the option
(``_backends/common.checked_run``), and no value of a ``no_log`` option appears in the result,
as AnsibleModule guarantees for a module.

A backend module gives: ``ARGUMENT_SPEC``; ``RELATIONS`` (``mutually_exclusive``,
``required_together``, ``required_one_of``, ``required_if``, as AnsibleModule takes them);
``RULES`` (the checks a spec cannot express); ``write_error(OSError) -> str``; and
``run(params, check_mode) -> dict`` (or ``run_task``, when the task's options need a word of
translation first), whose ``failure``, when set, fails the task with it.
"""

from __future__ import annotations

from types import ModuleType

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase

from ansible_collections.xprotect.encryption.plugins.module_utils import validate
from ansible_collections.xprotect.encryption.plugins.module_utils._backends.common import checked_run


class ControllerAction(ActionBase):
    """Template: ``backend`` (a module of ``module_utils/_backends``, see above)."""

    TRANSFERS_FILES = False
    backend: ModuleType

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        spec = self.backend.ARGUMENT_SPEC
        try:
            checked, params = self.validate_argument_spec(argument_spec=dict(spec), **self.backend.RELATIONS)
        except AnsibleActionFail as e:
            return dict(result, failed=True, changed=False, msg=validate.option_hint(e.message, spec))
        work = getattr(self.backend, "run_task", self.backend.run)
        out, failure = checked_run(
            params,
            bool(self._task.check_mode),
            work,
            self.backend.write_error,
            self.backend.RULES,
            diff_mode=bool(self._task.diff),
        )
        if failure is not None:
            out = dict(failure, failed=True, changed=False)
        elif out.get("failure"):
            out.update(failed=True, msg=out["failure"])
        out.pop("failure", None)
        result.update(out)
        return remove_values(result, checked._no_log_values)
