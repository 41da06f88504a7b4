# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Asynchronous runs on a lab host: what ansible-core's ``async`` and ``async_status`` do on Windows.

On Windows, ``win_command`` with ``async`` starts the program under the async wrapper and
returns a job id at once; the result is written to ``~/.ansible_async/<jid>`` when the program
ends, and ``async_status`` reads it (``finished: 0`` until then). The watchdog ends a job that
outlives its time limit and writes that as a failure.

The lab does the same with a detached process, which runs the program (Server Configurator's
simulated run, with its modelled duration) and writes the result to ``<host folder>/.async/<jid>``.
The site process (server.py), which stands for the hosts, starts it: the calling worker sends the
request to the site process's spawner (a Unix socket of the abstract namespace named after the
site and the site process's pid) and the site process writes the job's record and forks. So the
controller's worker pays what a worker pays on a real site, one request, and neither a fork of
itself (about 3 ms of CPU per host in the disconnection window, docs/performance.md) nor a file
written. Where no site process runs (a unit test, a stopped site), the caller writes the record
and forks the run itself, once, in a session of its own; a process that stays reaps the runs it
started at its next start or status, and the site process reaps its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import signal
import socket
import time
from typing import Any, Dict, Optional, Sequence, Set

from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import model, programs

ASYNC_DIR = ".async"
# What a start request (start, to the site process's spawner) carries.
REQUEST_KEYS = ("host", "argv", "run_as", "path", "jid", "deadline")


def job_path(site: model.Site, host: str, jid: str) -> str:
    """Where the job ``jid`` of ``host`` keeps its record."""
    if not jid.startswith("j") or not jid[1:].isdigit():
        raise model.LabError(f"{jid!r} is not a job id of this lab (j followed by digits).", option="job")
    return os.path.join(site.host_dir(host), ASYNC_DIR, jid)


def start(site: model.Site, host: str, argv: Sequence[str], run_as: Optional[str], timeout: float) -> str:
    """Start ``argv`` on ``host`` in the background; the job id (``j<digits>``, as ansible-core's)."""
    if not argv:
        raise model.LabError("start: argv is empty; give the program and its arguments as a list.", option="argv")
    jid = f"j{secrets.randbelow(999999999999)}"
    path = job_path(site, host, jid)
    request = {"host": host, "argv": list(argv), "run_as": run_as, "path": path, "jid": jid}
    request["deadline"] = time.time() + timeout
    # Whoever forks the run writes its record first (record_start), so that a quick child's
    # result is never overwritten by it: the site process, before it answers, or this process.
    if not _ask_site_process(site, request):
        record_start(request)
        spawn(site.path, request)
    return jid


def record_start(request: Dict[str, Any]) -> None:
    """The job's record while it runs (``finished: 0``), as async_status reads it."""
    os.makedirs(os.path.dirname(request["path"]), exist_ok=True)
    model.write_json(
        request["path"],
        {"started": 1, "finished": 0, "ansible_job_id": request["jid"], "deadline": float(request["deadline"])},
    )


def spawner_address(site_path: str, pid: int) -> str:
    """The abstract Unix socket of the site process ``pid`` of the site at ``site_path``."""
    digest = hashlib.sha256(os.path.realpath(site_path).encode("utf-8")).hexdigest()[:24]
    return f"\0xprotect-lab-{digest}-{pid}"


def _ask_site_process(site: model.Site, request: Dict[str, Any]) -> bool:
    """Have the site process start the run; False when no site process listens (the caller forks)."""
    pid = site.server_pid()
    if not pid:
        return False
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(10)
        try:
            sock.connect(spawner_address(site.path, pid))
        except OSError:
            return False  # a site process without a spawner, or one that just stopped
        try:
            sock.sendall(json.dumps(request).encode("utf-8") + b"\n")
            reply = _line(sock)
        except OSError as e:
            reply = str(e).encode("utf-8")
    finally:
        sock.close()
    if reply.strip() != b"ok":
        # Sent, so it may have started: never start it a second time.
        raise model.LabError(
            f"the lab's site process did not confirm the start of job {request['jid']} on {request['host']} "
            f"({reply.strip().decode('utf-8', 'replace') or 'no answer'}); see its server.log."
        )
    return True


def _line(sock: socket.socket) -> bytes:
    """The site process's one-line answer (it closes the connection after it)."""
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = sock.recv(256)
        if not chunk:
            break
        reply += chunk
    return reply


def spawn(site_path: str, request: Dict[str, Any]) -> int:
    """Fork the run of ``request`` (as ``start`` builds it) in a session of its own; its pid. Called by
    ``start`` without a site process, and by the site process for a worker's request."""
    reap()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the forked child (the lab tests read what it writes)
        try:
            os.setsid()
            _close_inherited()
            _run_detached(
                site_path,
                request["host"],
                list(request["argv"]),
                request["run_as"],
                path=request["path"],
                jid=request["jid"],
            )
        finally:
            os._exit(1)
    _CHILDREN.add(pid)
    return pid


def failed_to_start(request: Dict[str, Any], message: str) -> None:
    """Record a run that could not be started as a failed job, for its status to say so."""
    model.write_json(request["path"], {"failed": True, "msg": message, "finished": 1, "ansible_job_id": request["jid"]})


def _close_inherited() -> None:  # pragma: no cover - runs in the forked child
    """Close what the parent had open (the site process's listeners among them: a run that outlives
    its site process must not keep its ports)."""
    try:
        fds = [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:
        return
    for fd in fds:
        if fd > 2:
            try:
                os.close(fd)
            except OSError:
                pass


# The runs this process started and has not reaped yet (see the module's docstring).
_CHILDREN: Set[int] = set()


def reap() -> None:
    """Reap the runs this process started that have ended, without waiting for any; only its own
    (``start`` and ``status`` call it, and the site process as it polls)."""
    for pid in list(_CHILDREN):
        try:
            done, _status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _CHILDREN.discard(pid)


def _run_detached(site_path: str, host: str, argv, run_as, *, path: str, jid: str) -> None:  # pragma: no cover
    """The detached run: run the program, write its result, and leave without Ansible's exit handlers."""
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
    path = job_path(site, host, jid)
    reap()
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
        return int(model.read_ascii(path + ".pid").strip() or 0) or None
    except (OSError, ValueError):
        return None
