# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Asynchronous runs on a lab host: what ansible-core's ``async`` and ``async_status`` do on Windows.

On Windows, ``win_command`` with ``async`` starts the program under the async wrapper and
returns a job id at once; the result is written to ``~/.ansible_async/<jid>`` when the program
ends, and ``async_status`` reads it (``finished: 0`` until then). The watchdog ends a job that
outlives its time limit and writes that as a failure.

The lab does the same with a detached process: the calling worker forks once, and the child
(in a session of its own) runs the program (Server Configurator's simulated run, with its modelled
duration) and writes the result to ``<host folder>/.async/<jid>``. Nothing waits for it: a forked
Ansible worker ends with its task, and its child then belongs to init, which reaps it; a process
that stays (a test, the lab's own tools) reaps the children it started at its next start or
status. The fork costs the worker about a millisecond and no import: the child has everything
the worker had loaded. (It forked twice before, waiting for the middle process: one more fork of
a large worker per host, in the window.)
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import time
from typing import Any, Dict, Optional, Sequence, Set

from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import model, programs

ASYNC_DIR = ".async"


def _path(site: model.Site, host: str, jid: str) -> str:
    if not jid.startswith("j") or not jid[1:].isdigit():
        raise model.LabError(f"{jid!r} is not a job id of this lab (j followed by digits).", option="job")
    return os.path.join(site.host_dir(host), ASYNC_DIR, jid)


def start(site: model.Site, host: str, argv: Sequence[str], run_as: Optional[str], timeout: float) -> str:
    """Start ``argv`` on ``host`` in the background; the job id (``j<digits>``, as ansible-core's)."""
    if not argv:
        raise model.LabError("start: argv is empty; give the program and its arguments as a list.", option="argv")
    jid = f"j{secrets.randbelow(999999999999)}"
    path = _path(site, host, jid)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # Written before the fork, so that a quick child's result is never overwritten by it.
    model.write_json(path, {"started": 1, "finished": 0, "ansible_job_id": jid, "deadline": time.time() + timeout})
    _reap()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the forked child (the lab tests read what it writes)
        try:
            os.setsid()
            _run_detached(site.path, host, list(argv), run_as, path=path, jid=jid)
        finally:
            os._exit(1)
    _CHILDREN.add(pid)
    return jid


# The runs this process started and has not reaped yet (see the module's docstring).
_CHILDREN: Set[int] = set()


def _reap() -> None:
    """Reap the runs of this process that have ended, without waiting for any; only its own."""
    for pid in list(_CHILDREN):
        try:
            done, _status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _CHILDREN.discard(pid)


def _run_detached(site_path: str, host: str, argv, run_as, *, path: str, jid: str) -> None:  # pragma: no cover
    """The grandchild: run the program, write its result, and leave without Ansible's exit handlers."""
    code = 0
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        model.atomic_write(path + ".pid", str(os.getpid()).encode("ascii"))
        try:
            out = programs.run(model.Site(site_path), host, argv, run_as)
            result: Dict[str, Any] = {"rc": out.rc, "stdout": out.stdout, "stderr": out.stderr}
            if out.rc != 0:
                result.update(failed=True, msg="non-zero return code")
        except model.LabError as e:
            result = {"failed": True, "msg": e.message}
        result.update(ansible_job_id=jid, finished=1, changed=True)
        model.write_json(path, result)
    except BaseException:  # noqa: BLE001 - a detached process has no one to raise to
        code = 1
    finally:
        os._exit(code)


def status(site: model.Site, host: str, jid: str) -> Dict[str, Any]:
    """The job's record, as async_status returns it. A job past its deadline is ended and fails,
    as the async watchdog ends it; a job whose process died without a result fails too."""
    path = _path(site, host, jid)
    _reap()
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise model.LabError(f"could not find job {jid} on {host} (async_status: no such job file).", option="job")
    if data.get("finished"):
        if data.get("failed") and "rc" not in data:
            raise model.LabError(f"job {jid} on {host} failed: {data.get('msg')}")
        return data
    pid = _pid(path)
    if time.time() > float(data.get("deadline") or 0):
        if pid and model.pid_alive(pid):
            _end(pid)
        raise model.LabError(f"job {jid} on {host} reached its time limit and was ended (async watchdog).")
    if pid and not model.pid_alive(pid):
        # Written just after the child's exit? Read once more before calling it lost.
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        if not data.get("finished"):
            raise model.LabError(f"job {jid} on {host} ended without writing a result.")
        return data
    return data


def _end(pid: int) -> None:
    """End a run and wait until it is gone, so that the next run does not find it as a stale instance."""
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        return
    if pid in _CHILDREN:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        _CHILDREN.discard(pid)
        return
    deadline = time.time() + 2
    while model.pid_alive(pid) and time.time() < deadline:
        time.sleep(0.01)


def _pid(path: str) -> Optional[int]:
    try:
        with open(path + ".pid", encoding="ascii") as fh:
            return int(fh.read().strip() or 0) or None
    except (OSError, ValueError):
        return None
