# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark helper (not part of the collection): the CPU time of every forked worker.

Loaded by benchmarks/bench_task_cost.py and bench_rollout.py through ANSIBLE_CALLBACK_PLUGINS. It
wraps the worker's run in the main process before any fork, so each worker appends one line
``<task name>\t<cpu seconds>`` to the file named by XPROTECT_BENCH_WORKER_LOG, and the main
process appends ``start\t<task name>\t<time>`` at every task start.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: worker_cpu
type: aggregate
short_description: Log the CPU time of each forked worker (benchmark helper)
description:
  - Used by benchmarks/bench_task_cost.py and bench_rollout.py only.
options: {}
"""

import os
import time

from ansible.executor.process import worker
from ansible.plugins.callback import CallbackBase

LOG = os.environ.get("XPROTECT_BENCH_WORKER_LOG", "")
# A folder: each worker of a task whose name contains XPROTECT_BENCH_PROFILE_TASK dumps its cProfile there.
PROFILE = os.environ.get("XPROTECT_BENCH_PROFILE", "")
PROFILE_TASK = os.environ.get("XPROTECT_BENCH_PROFILE_TASK", "")
ORIGINAL_RUN = worker.WorkerProcess._run


def _timed_run(self):
    start = time.process_time()
    try:
        if PROFILE and self._task.get_name().endswith(tuple(PROFILE_TASK.split("|"))):
            import cProfile  # noqa: PLC0415 - only when profiling

            profiler = cProfile.Profile(time.process_time)  # CPU, not the wait for the host
            try:
                return profiler.runcall(ORIGINAL_RUN, self)
            finally:
                profiler.dump_stats(os.path.join(PROFILE, f"{self._task._uuid}-{os.getpid()}.prof"))
        return ORIGINAL_RUN(self)
    finally:
        spent = time.process_time() - start
        if LOG:
            with open(LOG, "a", encoding="utf-8") as out:
                out.write(f"{self._task.get_name()}\t{spent:.6f}\n")


if LOG:
    worker.WorkerProcess._run = _timed_run


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "worker_cpu"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_task_start(self, task, is_conditional):
        if LOG:
            with open(LOG, "a", encoding="utf-8") as out:
                out.write(f"start\t{task.get_name()}\t{time.perf_counter():.6f}\n")

    def v2_playbook_on_stats(self, stats):
        if LOG:
            with open(LOG, "a", encoding="utf-8") as out:
                out.write(f"start\tend\t{time.perf_counter():.6f}\n")
