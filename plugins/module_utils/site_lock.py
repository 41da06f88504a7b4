# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One rollout at a time per site: the decisions of the site lock, without I/O.

The lock is a small JSON marker on the management server, so that every controller (two AWX
execution nodes, an operator's laptop) sees it. It names its holder (controller, user, process,
AWX job), when it was taken and when it expires. These functions build and read the marker and
decide, from the marker found and the run asking, whether the run may go on.

A run is one ``ansible-playbook`` process: its ``run`` key is the controller, the process id and
that process's start time, the same in every task of the run and different for any other run.
An AWX workflow is one run across its jobs and slices: given the workflow job's id (``owner``,
from AWX's ``awx_workflow_job_id``), the ``run`` key is ``awx-workflow:<id>``, and the marker lists
the jobs that hold it (``holders``); it is deleted when the last of them gives it back.
"""

from __future__ import annotations

import datetime
import json
from typing import Any, Dict, Mapping, Optional

MARKER_KIND = "xprotect.encryption site lock"
MARKER_VERSION = 1
DEFAULT_PATH = "C:\\ProgramData\\Milestone\\xprotect-encryption.lock"
DEFAULT_EXPIRY_MINUTES = 240
BREAK_VAR = "xprotect_lock_break"

ACQUIRE = "acquire"  # no lock: take it
REENTER = "reenter"  # this run holds it already
TAKE_OVER = "take_over"  # a lock of this controller whose process has ended
BREAK = "break"  # broken on purpose (expired with break true, or named by id)
REFUSE = "refuse"


WORKFLOW_PREFIX = "awx-workflow:"


class LockError(Exception):
    """A setting or a marker the lock cannot use; the message says what to do."""


def _iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(text: Any) -> Optional[datetime.datetime]:
    if not isinstance(text, str):
        return None
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return None


def new_marker(
    lock_id: str, owner: Mapping[str, Any], now: datetime.datetime, expiry_minutes: int, playbook: str = ""
) -> Dict[str, Any]:
    """The marker a run writes. ``owner``: controller, user, pid, run, job_id (or None)."""
    return {
        "kind": MARKER_KIND,
        "version": MARKER_VERSION,
        "id": lock_id,
        "owner": dict(owner),
        "playbook": playbook,
        "since": _iso(now),
        "expires": _iso(now + datetime.timedelta(minutes=expiry_minutes)),
    }


def dump_marker(marker: Mapping[str, Any]) -> str:
    return json.dumps(dict(marker), indent=1, sort_keys=True) + "\n"


def parse_marker(text: Optional[str]) -> Optional[Dict[str, Any]]:
    """The marker in ``text``; None for no marker; ``{"unreadable": reason}`` for a broken one."""
    if text is None or not text.strip():
        return None
    try:
        data = json.loads(text.lstrip("\ufeff"))
    except ValueError as exc:
        return {"unreadable": f"not JSON ({exc.msg})"}
    if not isinstance(data, dict) or data.get("kind") != MARKER_KIND or not data.get("id"):
        return {"unreadable": "not a lock marker of this collection"}
    if _parse_time(data.get("since")) is None or _parse_time(data.get("expires")) is None:
        return {"unreadable": "its times cannot be read"}
    if not isinstance(data.get("owner"), dict):
        return {"unreadable": "it names no owner"}
    return data


def parse_break(value: Any) -> Any:
    """``xprotect_lock_break``: false (default), true (an expired lock), or the id of one lock."""
    if value is None or value is False or value is True:
        return bool(value)
    text = str(value).strip()
    if text.lower() in ("", "false", "no", "0", "off"):
        return False
    if text.lower() in ("true", "yes", "1", "on"):
        return True
    if len(text) > 64 or not all(c.isalnum() or c == "-" for c in text):
        raise LockError(
            f"{BREAK_VAR} (option break_lock) = {value!r} is not allowed: use true (break an expired lock) or the id "
            "of the lock to break, as the message of the refused run shows it."
        )
    return text


def holder(marker: Mapping[str, Any], now: Optional[datetime.datetime] = None) -> str:
    """Who holds a lock and since when, for messages."""
    owner = marker.get("owner") or {}
    who = f"{owner.get('user') or 'an unknown user'}@{owner.get('controller') or 'an unknown controller'}"
    extra = [f"AWX job {owner['job_id']}"] if owner.get("job_id") else []
    if owner.get("pid"):
        extra.append(f"process {owner['pid']}")
    if marker.get("playbook"):
        extra.append(str(marker["playbook"]))
    text = who + (f" ({', '.join(extra)})" if extra else "")
    since = _parse_time(marker.get("since"))
    text += f" since {marker.get('since')}"
    if now is not None and since is not None:
        text += f" ({int((now - since).total_seconds() // 60)} minutes ago)"
    return text + f", lock id {marker.get('id')}"


def is_expired(marker: Mapping[str, Any], now: datetime.datetime) -> bool:
    expires = _parse_time(marker.get("expires"))
    return expires is None or now >= expires


def decide_acquire(
    marker: Optional[Mapping[str, Any]],
    me: Mapping[str, Any],
    now: datetime.datetime,
    *,
    break_lock: Any = False,
    holder_alive: Optional[bool] = None,
    path: str = DEFAULT_PATH,
    host: str = "the management server",
) -> Dict[str, Any]:
    """May the run ``me`` (controller, run) take the lock, given the ``marker`` found?

    ``holder_alive``: whether the holder's process still runs, when the holder is on this
    controller (None when that cannot be known: another controller). Returns ``action`` (one of
    ACQUIRE, REENTER, TAKE_OVER, BREAK, REFUSE), ``expired`` and ``message``.
    """
    if marker is None:
        return {"action": ACQUIRE, "expired": False, "message": ""}
    where = f"{path} on {host}"
    if marker.get("unreadable"):
        if break_lock is True:
            return {"action": BREAK, "expired": True, "message": f"Broke an unreadable lock marker {where}."}
        return {
            "action": REFUSE,
            "expired": False,
            "message": (
                f"The site lock {where} cannot be read ({marker['unreadable']}). Nothing was changed. If no other "
                f"rollout is running on this site, re-run with -e {BREAK_VAR}=true to replace it."
            ),
        }
    owner = marker.get("owner") or {}
    if owner.get("run") and owner.get("run") == me.get("run"):
        return {"action": REENTER, "expired": False, "message": ""}
    expired = is_expired(marker, now)
    who = holder(marker, now)
    if owner.get("controller") == me.get("controller") and holder_alive is False:
        return {
            "action": TAKE_OVER,
            "expired": expired,
            "message": f"Took over the site lock of a run that ended without releasing it: {who}.",
        }
    if break_lock is True and expired:
        return {"action": BREAK, "expired": True, "message": f"Broke the expired site lock of {who}."}
    if isinstance(break_lock, str) and break_lock == marker.get("id"):
        state = "expired" if expired else "not expired"
        return {"action": BREAK, "expired": expired, "message": f"Broke the site lock ({state}) of {who}, as asked."}
    if expired:
        advice = (
            f"It expired at {marker.get('expires')}: its run probably ended without releasing it. If no other "
            f"rollout is running on this site, re-run with -e {BREAK_VAR}=true."
        )
    else:
        advice = (
            f"It expires at {marker.get('expires')}. Wait until that run has finished. If it has ended (failed or "
            f"interrupted on another controller), re-run with -e {BREAK_VAR}={marker.get('id')}."
        )
    return {
        "action": REFUSE,
        "expired": expired,
        "message": f"Another rollout holds the site lock ({where}): {who}. Nothing was changed. {advice}",
    }


def workflow_run(owner: Any) -> str:
    """The ``run`` key shared by every job of one AWX workflow, '' when ``owner`` is not given.

    ``owner`` is the workflow job's id as AWX injects it (``awx_workflow_job_id``): the slices of a
    sliced job template share the id of their sliced workflow job, so they share the lock.
    """
    text = "" if owner is None else str(owner).strip()
    if not text:
        return ""
    if len(text) > 64 or not all(c.isalnum() or c in "-_." for c in text):
        raise LockError(
            f"owner = {owner!r} is not allowed: give the AWX workflow job id (awx_workflow_job_id), letters, digits, "
            "'-', '_' or '.', at most 64 characters."
        )
    return WORKFLOW_PREFIX + text


def is_shared(marker: Optional[Mapping[str, Any]]) -> bool:
    """Whether a marker is held by an AWX workflow (several jobs at once), not by one process."""
    owner = (marker or {}).get("owner") or {}
    return str(owner.get("run", "")).startswith(WORKFLOW_PREFIX)


def with_holder(marker: Mapping[str, Any], job: str) -> Dict[str, Any]:
    """The marker with ``job`` among its holders (the jobs of a workflow that hold the lock now)."""
    holders = [h for h in marker.get("holders") or [] if h != job]
    return dict(marker, holders=holders + [job])


def without_holder(marker: Mapping[str, Any], job: str) -> Optional[Dict[str, Any]]:
    """The marker once ``job`` gave it back: None (delete it) when no other job holds it."""
    holders = [h for h in marker.get("holders") or [] if h != job]
    return dict(marker, holders=holders) if holders else None


def decide_release(marker: Optional[Mapping[str, Any]], run: str) -> str:
    """``delete`` when this run holds the lock, ``absent`` when there is none, ``not_ours`` else."""
    if marker is None:
        return "absent"
    if not marker.get("unreadable") and (marker.get("owner") or {}).get("run") == run:
        return "delete"
    return "not_ours"
