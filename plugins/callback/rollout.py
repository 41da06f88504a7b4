# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: rollout
type: notification
short_description: Say where a rollout stopped, which hosts failed, what the site was left in and what to run
version_added: 0.1.0
description:
  - At the end of a playbook run, when any host failed or was unreachable, prints the phase (play) in which the run
    stopped, the failed and unreachable hosts with their last error, what the site may have been left in, and what
    to run next. That depends on the furthest phase the run entered, read from the play names ("Phase 4", "Rollback
    step", "Audit"); re-running the same command is called safe only where it is.
  - A task that ran once for the whole play (C(run_once), such as a phase gate) or on the controller is named by its
    task, not blamed on the host that carried it; its message names the hosts it found.
  - A result of any shape is shown (text, list, mapping, bytes, no message); the summary never fails the run.
  - Enabled in the collection's ansible.cfg (C(callbacks_enabled)); add it to yours, or to an AWX project's.
  - It only reports. It used to preload the collection's libraries before Ansible forks its workers; measured, that
    saved nothing (ansible-core loads each action plugin, and so its imports, in the main process anyway) except
    for the lab, which production must not load; the lab preloads itself, in runs against a lab site, with the
    P(xprotect.encryption.lab_preload#callback) callback (docs/performance.md, "The rollout callback only reports").
author:
  - xprotect.encryption maintainers (@xprotect)
requirements:
  - enable in configuration (callbacks_enabled)
"""

from ansible import context
from ansible.plugins.callback import CallbackBase

from ansible_collections.xprotect.encryption.plugins.module_utils import run_summary


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "xprotect.encryption.rollout"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._play = None
        self._playbook = None
        self._phases = []
        # who (a host, or a check that ran once) -> (order, kind, play, reason, host that ran it)
        self._problems = {}
        self._seq = 0

    def v2_playbook_on_start(self, playbook):
        self._playbook = getattr(playbook, "_file_name", None)

    def v2_playbook_on_play_start(self, play):
        try:
            self._play = str(play.get_name() or "").strip()
        except Exception:  # noqa: BLE001 - the summary must not break the run
            self._play = None
        self._phases.append(run_summary.phase_of(self._play))

    def _record(self, result, kind):
        try:
            host = result._host.get_name()
            task = result._task
            run_once = bool(getattr(task, "run_once", False))
            who = host
            if run_once or run_summary.is_controller(host):
                who = run_summary.gate_label(task.get_name() if task is not None else None, run_once)
            why = run_summary.reason(result._result)
        except Exception as e:  # noqa: BLE001 - a result of an unexpected shape still gets a line
            host = who = getattr(getattr(result, "_host", None), "name", None) or "(unknown host)"
            why = f"(the result could not be read: {e})"
        self._seq += 1
        self._problems[who] = (self._seq, kind, self._play, why, host)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if not ignore_errors:
            self._record(result, "failed")

    def v2_runner_on_unreachable(self, result):
        if not getattr(getattr(result, "_task", None), "ignore_unreachable", False):
            self._record(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        try:
            lines = self._summary(stats)
        except Exception as e:  # noqa: BLE001 - never a traceback instead of the summary
            lines = [
                f"Stopped in: {self._play or 'an unnamed play'}",
                f"  (the summary could not be built: {e}; read the errors above)",
            ]
            if not self._problems:
                return
        if lines:
            self._display.display("\n".join(lines), color="bright red", stderr=False)

    def _summary(self, stats):
        def hit(host):
            return bool((stats.failures or {}).get(host) or (stats.dark or {}).get(host))

        entries = sorted((p for p in self._problems.items() if hit(p[1][4])), key=lambda p: p[1][0])
        stopped_play = entries[-1][1][2] if entries else self._play
        # A host the stats count as failed without a failure this callback saw (another plugin's
        # doing, say) is still listed: the summary is there on every failure.
        seen = {p[1][4] for p in entries}
        for host in sorted(set(stats.failures or {}) | set(stats.dark or {})):
            if host not in seen and hit(host):
                kind = "unreachable" if (stats.dark or {}).get(host) else "failed"
                entries.append((host, (0, kind, self._play, "(see the errors above)", host)))
        if not entries:
            return []
        advice = run_summary.advice(
            self._phases,
            run_summary.phase_of(stopped_play),
            bool(context.CLIARGS.get("check", False)),
            self._playbook,
        )
        rows = [{"who": who, "kind": kind, "play": play, "reason": why} for who, (_s, kind, play, why, _h) in entries]
        return run_summary.render(stopped_play, rows, advice)
