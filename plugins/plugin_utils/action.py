# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every per-host action plugin of the collection shares.

An action plugin here is short: an argument spec, then one call to ``work()``, which talks
to the host only through the adapter and leaves every decision to ``module_utils``. This
base class validates the arguments, builds the adapter, turns adapter and PKI errors into
failed (or unreachable) results, and reports how many module round-trips the task took.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.xprotect.encryption.plugins.module_utils import validate
from ansible_collections.xprotect.encryption.plugins.plugin_utils import raw_record
from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import (
    AdapterError,
    HostUnreachable,
    get_adapter,
)

try:
    from ansible_collections.xprotect.encryption.plugins.module_utils.pki import PkiError
except ImportError:  # pragma: no cover - cryptography missing; pki import guarded

    class PkiError(Exception):  # type: ignore[no-redef]
        option = None


# Every action of this template takes this option (doc fragment xprotect.encryption.raw_record).
RAW_RECORD_OPTIONS = {"raw_record_file": dict(type="path")}


def _may_be_template(value) -> bool:
    """Whether a host variable's value holds anything Jinja would render; most hold none
    (``3``, ``enabled``, a GUID), and templating those costs a worker more than this check."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value or "{#" in value
    if isinstance(value, Mapping):
        return any(_may_be_template(k) or _may_be_template(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_may_be_template(v) for v in value)
    return False


def _plain(value):
    """A templated value as plain JSON data, without the origin tags Ansible attaches to each
    string: the argument spec validation deep-copies its input, and a tagged string costs a
    pickle-style copy where a plain one costs nothing. Anything JSON cannot carry stays as it is."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return value


class XProtectAction(ActionBase):
    """Template: ``argument_spec`` (+ ``option_rules``, ``check_arguments``) + ``work(args, adapter, task_vars)``."""

    TRANSFERS_FILES = False
    argument_spec: dict = {}
    mutually_exclusive: list = []
    required_one_of: list = []
    required_if: list = []
    # Ranges and patterns the argument spec cannot express: ``{option: check(value, option)}``
    # with the checks of module_utils/validate.py. They run before the host is touched.
    option_rules: dict = {}
    # Options that, when the task does not set them, take the value of a host variable (the
    # matching role variable), so that a role's task inside the disconnection window has no
    # template of its own to compile and render in every forked worker. "name.key" takes one key
    # of a dict variable (a registered result). Empty values (None, "", [], {}) mean "not set".
    host_var_defaults: dict = {}

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        from_vars = self._defaults_from_host_vars(task_vars)
        try:
            args = self.validate_argument_spec(
                argument_spec=dict(self.argument_spec, **RAW_RECORD_OPTIONS),
                mutually_exclusive=self.mutually_exclusive,
                required_one_of=self.required_one_of,
                required_if=self.required_if,
            )[1]
        except AnsibleActionFail as e:
            if not from_vars:
                raise
            used = ", ".join(f"{option} from {var}" for option, var in from_vars.items())
            raise AnsibleActionFail(f"{e.message} (options taken from host variables: {used})") from e
        try:
            validate.apply(args, self.option_rules)
            self.check_arguments(args)
        except (validate.ArgumentError, PkiError) as e:
            host = task_vars.get("inventory_hostname", "")
            msg = f"{host}: {e}" if host else str(e)
            if e.option in from_vars:
                msg += f" (taken from the host variable {from_vars[e.option]})"
            result.update(failed=True, msg=msg, option=e.option, changed=False)
            return result
        adapter = recorder = None
        try:
            adapter = get_adapter(self, task_vars)
            if args.get("raw_record_file"):
                recorder = self.raw_recorder(args["raw_record_file"], task_vars)
                recorder.attach(adapter)
            result.update(self.work(args, adapter, task_vars))
        except HostUnreachable as e:
            result.update(e.result)
            result.update(unreachable=True, msg=e.message)
        except AdapterError as e:
            result.update(e.result)
            result.update(failed=True, msg=e.message)
        except PkiError as e:
            result.update(failed=True, msg=str(e))
        except AnsibleActionFail:
            raise
        if recorder is not None:
            problem = recorder.save(result)
            if problem:
                result["warnings"] = list(result.get("warnings") or []) + [problem]
        if adapter is not None:
            result["round_trips"] = adapter.calls
        result.setdefault("changed", False)
        return result

    def _defaults_from_host_vars(self, task_vars: dict) -> dict:
        used = {}
        for option, var in self.host_var_defaults.items():
            if option in self._task.args:
                continue
            value = self.host_value(task_vars, var)
            if value is None or (isinstance(value, (str, list, dict)) and not value):
                continue
            self._task.args[option] = _plain(value)
            used[option] = var
        return used

    def raw_recorder(self, path: str, task_vars: dict) -> raw_record.RawRecorder:
        """The recorder of ``raw_record_file``: every adapter call of this task, for a bug report."""
        return raw_record.RawRecorder(
            path,
            host=task_vars.get("inventory_hostname", ""),
            task=self._task.get_name(),
            action=self._task.action,
            check_mode=self.check_mode,
        )

    def check_arguments(self, args: dict) -> None:
        """Checks between options, or of files on the controller, before the host is touched;
        raise :class:`validate.ArgumentError` (or ``PkiError``) naming the option."""

    # -- helpers for subclasses ---------------------------------------------------------
    def host_value(self, task_vars: dict, var: str):
        """The host variable ``var`` (``name``, or ``name.key`` for one key of a registered
        result), or None when it is not set.

        Host variables reach an action plugin untemplated ("{{ xprotect_rollback_retries }}"):
        a value is templated only when it holds a template, and of a dict (a registered result)
        only the one key, not the whole result.
        """
        name, _dot, key = var.partition(".")
        if name not in task_vars:
            return None
        value = task_vars[name]
        if key:
            if not isinstance(value, Mapping) and _may_be_template(value):
                value = self._templar.template(value)
            value = value.get(key) if isinstance(value, Mapping) else None
        if _may_be_template(value):
            value = self._templar.template(value)
        return value

    @property
    def check_mode(self) -> bool:
        return bool(self._task.check_mode)

    @property
    def diff_mode(self) -> bool:
        return bool(self._task.diff)

    def diff(self, result: dict, before: dict, after: dict) -> None:
        """Attach a diff (in diff mode) whose header carries the reasons, so that
        ``--check --diff`` says per host what differs and why."""
        if self.diff_mode and result.get("changed"):
            result["diff"] = {
                "before": before,
                "after": after,
                "before_header": result.get("fqdn") or "current state",
                "after_header": "; ".join(result.get("reasons") or []) or "desired state",
            }

    def host_fqdn(self, args: dict, task_vars: dict) -> str:
        return (args.get("fqdn") or task_vars.get("xprotect_fqdn") or task_vars.get("inventory_hostname", "")).lower()

    def work(self, args: dict, adapter, task_vars: dict) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError
