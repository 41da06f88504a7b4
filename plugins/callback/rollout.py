# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: rollout
type: notification
short_description: Say where a rollout stopped, which hosts failed, and that re-running is safe
description:
  - At the end of a playbook run, when any host failed or was unreachable, prints the phase (play) in which the run
    stopped, the failed and unreachable hosts with their last error, and that re-running the same command is safe.
  - Enabled in the collection's ansible.cfg (C(callbacks_enabled)); add it to yours, or to an AWX project's.
  - At the start of a playbook it also imports the collection's controller-side libraries (cryptography, the PKI,
    the host adapters) once, in the main process, renders one small template there, which loads Jinja's
    lexer and the builtin filter and test plugins, and signs and checks one throw-away certificate, which
    loads OpenSSL's algorithms. The forked workers inherit all of it instead of each loading it again for
    every host and task. With many forks this keeps the disconnection window of a rollout short.
author:
  - xprotect.encryption maintainers (@xprotect)
requirements:
  - enable in configuration (callbacks_enabled)
"""

import importlib

from ansible.plugins.callback import CallbackBase

# The controller-side code every per-host task of a rollout needs. Imported once before the
# workers fork; a worker that imports it itself pays for it once per host and task.
_WARM = (
    "ansible_collections.xprotect.encryption.plugins.plugin_utils.action",
    "ansible_collections.xprotect.encryption.plugins.plugin_utils.certificate_flow",
    "ansible_collections.xprotect.encryption.plugins.plugin_utils.encryption_flow",
    "ansible_collections.xprotect.encryption.plugins.plugin_utils.windows",
    "ansible_collections.xprotect.encryption.plugins.plugin_utils.lab",
)
# Its warm_up() signs and checks one throw-away certificate, so OpenSSL's algorithms are loaded too.
_PKI = "ansible_collections.xprotect.encryption.plugins.module_utils.pki"


def _warm_templating():
    """Render a template that uses a filter and a test, in the main process.

    A worker that templates its task's arguments otherwise builds Jinja's lexer and loads every
    builtin filter and test plugin itself (about 10 ms per host and task on a small controller).
    """
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar

    try:
        from ansible.template import trust_as_template
    except ImportError:  # ansible-core < 2.19 templates any string

        def trust_as_template(value):
            return value

    templar = Templar(loader=DataLoader(), variables={"xprotect_warm": "1"})
    return templar.template(trust_as_template("{{ xprotect_warm | default('') | string is not none }}"))


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "xprotect.encryption.rollout"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._play = None
        self._problems = {}

    def v2_playbook_on_start(self, playbook):
        for name in _WARM:
            try:
                importlib.import_module(name)
            except Exception as e:  # noqa: BLE001 - an optimisation only; the workers import what they need
                self._display.vvvv(f"xprotect.encryption: not preloading {name}: {e}")
        try:
            _warm_templating()
        except Exception as e:  # noqa: BLE001 - as above
            self._display.vvvv(f"xprotect.encryption: not preloading the template engine: {e}")
        try:
            importlib.import_module(_PKI).warm_up()
        except Exception as e:  # noqa: BLE001 - as above
            self._display.vvvv(f"xprotect.encryption: not preloading OpenSSL's algorithms: {e}")

    def v2_playbook_on_play_start(self, play):
        self._play = play.get_name().strip()

    def _record(self, result, kind):
        host = result._host.get_name()
        msg = (result._result.get("msg") or "").strip().splitlines()
        self._problems[host] = (kind, self._play, msg[0] if msg else "")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if not ignore_errors:
            self._record(result, "failed")

    def v2_runner_on_unreachable(self, result):
        if not result._task.ignore_unreachable:
            self._record(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        failed = {h: p for h, p in self._problems.items() if stats.failures.get(h) or stats.dark.get(h)}
        if not failed:
            return
        phase = list(failed.values())[-1][1]
        lines = [f"Stopped in: {phase}"]
        for host, (kind, play, msg) in sorted(failed.items()):
            lines.append(f"  {host}: {kind} in '{play}': {msg}")
        lines.append(
            "Later phases did not start. Re-running the same command is safe: every step reads the hosts first "
            "and changes only what differs."
        )
        self._display.display("\n".join(lines), color="bright red", stderr=False)
