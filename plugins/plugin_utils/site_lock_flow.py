# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The site lock on the management server: who this run is, and the marker's read/write cycle.

Host access goes through the adapter only (read_file, write_file, delete_file); the decisions
are in module_utils/site_lock.py. The adapter has no "create if absent", so a run writes its
marker, waits ``settle`` seconds and reads it back: of two runs that found no lock at the same
moment, the one whose marker was overwritten sees the other's and stops.

The lock is the run's bookkeeping, not the site's state: taking and giving it back report ok,
not changed (``written`` and ``deleted`` say what was done), so that a re-run on a site in its
desired state still reports no change.
"""

from __future__ import annotations

import datetime
import getpass
import os
import socket
import time
import uuid
from typing import Any, Dict, Optional

from ansible_collections.xprotect.encryption.plugins.module_utils import site_lock
from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import AdapterError

_MISSING = ("not found", "does not exist", "cannot find", "could not find")


def _start_time(pid: int) -> str:
    """The start time of a process in clock ticks since boot (Linux), '' where it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def identity(owner: Any = None) -> Dict[str, Any]:
    """This run: the ansible-playbook process (the parent of the worker running the task), or the
    AWX workflow ``owner`` names, of which this process is one job (``job``)."""
    pid = os.getppid()
    controller = socket.gethostname()
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    process = f"{controller}:{pid}:{_start_time(pid)}"
    me = {
        "controller": controller,
        "user": user,
        "pid": pid,
        "run": site_lock.workflow_run(owner) or process,
        "job_id": os.environ.get("JOB_ID") or os.environ.get("AWX_JOB_ID") or None,
    }
    if me["run"] != process:
        me.update(job=process, workflow_job_id=str(owner).strip())
    return me


def process_alive(owner: Dict[str, Any], me: Dict[str, Any]) -> Optional[bool]:
    """Whether the holder's process still runs; None when it is on another controller."""
    if owner.get("controller") != me.get("controller") or not owner.get("pid"):
        return None
    try:
        pid = int(owner["pid"])
        os.kill(pid, 0)
    except (ValueError, TypeError):
        return None
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # The pid may have been reused: the run key carries the start time of the holder's process.
    start = str(owner.get("run", "")).rsplit(":", 1)[-1]
    return not start or _start_time(pid) in ("", start)


def read_marker(adapter, path: str) -> Optional[Dict[str, Any]]:
    try:
        text = adapter.read_file(path)
    except AdapterError as error:
        if any(word in error.message.lower() for word in _MISSING):
            return None
        raise AdapterError(
            f"Cannot read the site lock {path} on {adapter.host}: {error.message}. Nothing was changed.", error.result
        )
    return site_lock.parse_marker(text)


def _join(adapter, path: str, marker: Dict[str, Any], job: str, settle: float) -> Optional[Dict[str, Any]]:
    """Add ``job`` to the holders of a workflow's marker. Jobs of one workflow (slices) start at
    the same moment: a write that another job's overwrote is made again, up to three times."""
    for _attempt in range(3):
        adapter.write_file(path, site_lock.dump_marker(site_lock.with_holder(marker, job)))
        time.sleep(settle)
        back = read_marker(adapter, path)
        if not back or back.get("unreadable") or back.get("id") != marker["id"]:
            return back
        if job in (back.get("holders") or []):
            return back
        marker = back
    return None


def acquire(adapter, args: Dict[str, Any], check_mode: bool) -> Dict[str, Any]:
    path, me = args["path"], identity(args.get("owner"))
    now = datetime.datetime.now(datetime.timezone.utc)
    found = read_marker(adapter, path)
    # A workflow's jobs run on any execution node, in containers: no process of theirs can be looked up.
    shared = site_lock.is_shared(found) or "job" in me
    readable = found and not found.get("unreadable")
    alive = process_alive(found.get("owner") or {}, me) if readable and not shared else None
    decision = site_lock.decide_acquire(
        found, me, now, break_lock=args["break_lock"], holder_alive=alive, path=path, host=adapter.host
    )
    result: Dict[str, Any] = {
        "changed": False,
        "written": False,
        "path": path,
        "action": decision["action"],
        "expired": False,
    }
    if decision["action"] == site_lock.REFUSE:
        result.update(failed=True, msg=decision["message"], holder=found, expired=decision["expired"])
        return result
    if decision["message"]:
        result["broken"] = decision["message"]
        result["previous"] = found
        result["expired"] = decision["expired"]
    if decision["action"] == site_lock.REENTER:
        result["lock"] = found
        if "job" not in me or check_mode or me["job"] in (found.get("holders") or []):
            return result
        # Another job of this workflow (a slice) holds it: this job becomes one more holder.
        back = _join(adapter, path, found, me["job"], args["settle"])
        result["written"] = True
        if back and back.get("id") == found["id"] and me["job"] in (back.get("holders") or []):
            result["lock"] = back
            return result
        marker = found
    else:
        owner = {k: v for k, v in me.items() if k != "job"}
        marker = site_lock.new_marker(uuid.uuid4().hex[:16], owner, now, args["expiry_minutes"], args["playbook"])
        if "job" in me:
            marker["holders"] = [me["job"]]
        result["lock"] = marker
        if check_mode:
            return result
        adapter.write_file(path, site_lock.dump_marker(marker))
        result["written"] = True
        time.sleep(args["settle"])
        back = read_marker(adapter, path)
        if "job" in me and back and back.get("id") != marker["id"] and site_lock.is_shared(back):
            # A job of the same workflow wrote its marker at the same moment: join that one.
            if (back.get("owner") or {}).get("run") == me["run"]:
                back = _join(adapter, path, back, me["job"], args["settle"])
                if back and me["job"] in (back.get("holders") or []):
                    result["lock"] = back
                    return result
    if not back or back.get("id") != marker["id"]:
        held = site_lock.holder(back, now) if back and not back.get("unreadable") else "another run"
        result.update(
            failed=True,
            lock=None,
            msg=f"Another rollout took the site lock ({path} on {adapter.host}) at the same moment: {held}. Nothing "
            "was changed. Wait until that run has finished.",
        )
    return result


def _leave(adapter, args: Dict[str, Any], found: Dict[str, Any], me: Dict[str, Any], result: Dict[str, Any]):
    """Take this job out of a workflow's marker; the last holder deletes it. Slices end at about
    the same time and each rewrites the marker it read: a write that puts this job back (read
    before this job's) is undone after ``settle`` seconds, up to three times."""
    path, settle = args["path"], args["settle"]
    marker: Optional[Dict[str, Any]] = found
    for _attempt in range(3):
        rest = site_lock.without_holder(marker, me["job"])
        if rest is None:
            result.update(action="delete", deleted=adapter.delete_file(path))
        else:
            # Other jobs of this workflow (slices still running) hold it: they give it back.
            adapter.write_file(path, site_lock.dump_marker(rest))
            result.update(action="left", holders=rest["holders"])
        time.sleep(settle)
        marker = read_marker(adapter, path)
        mine = marker and not marker.get("unreadable") and (marker.get("owner") or {}).get("run") == me["run"]
        if not mine or me["job"] not in (marker.get("holders") or []):
            return result
    result["warnings"] = [f"The site lock {path} on {adapter.host} still names this job after three attempts."]
    return result


def release(adapter, args: Dict[str, Any], check_mode: bool) -> Dict[str, Any]:
    path, me = args["path"], identity(args.get("owner"))
    found = read_marker(adapter, path)
    outcome = site_lock.decide_release(found, me["run"])
    result: Dict[str, Any] = {"changed": False, "deleted": False, "path": path, "action": outcome}
    if outcome == "not_ours":
        who = site_lock.holder(found) if not found.get("unreadable") else "an unreadable marker"
        result["warnings"] = [
            f"The site lock {path} on {adapter.host} is not this run's ({who}); it was left as it is."
        ]
    if outcome == "delete" and "job" in me and not check_mode:
        return _leave(adapter, args, found, me, result)
    if outcome == "delete" and "job" in me and site_lock.without_holder(found, me["job"]) is not None:
        result.update(action="left", holders=site_lock.without_holder(found, me["job"])["holders"])
        return result
    if outcome == "delete" and not check_mode:
        result["deleted"] = adapter.delete_file(path)
    return result
