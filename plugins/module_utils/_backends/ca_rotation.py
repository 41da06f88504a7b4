# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backend of the ``xprotect.encryption.ca_rotation`` module: the controller's part of a CA
rotation. It reads the two CA folders and the rotation record, asks ``rotation`` what to do,
writes the record and promotes the new folder. Every decision is in ``module_utils/rotation.py``.

Only certificates are read here: the CA keys stay with the ``ca`` module, which creates or
imports the new CA and checks its passphrase.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
from typing import Any, Dict, Optional

from ansible_collections.xprotect.encryption.plugins.module_utils import fileutil, pki, rotation, validate

# The options, as the module (plugins/modules/ca_rotation.py) and the action plugin of the same
# name (plugins/action/ca_rotation.py, what a task runs) both check them.
ARGUMENT_SPEC = {
    "state": {"type": "str", "choices": ["plan", "record", "promoted"], "default": "plan"},
    "path": {"type": "path", "required": True},
    "new_path": {"type": "path", "required": True},
    "new_certificate": {"type": "str", "default": ""},
    "min_days": {"type": "int", "default": 365},
    "step": {"type": "str", "choices": list(rotation.STEPS)},
    "old_thumbprint": {"type": "str"},
    "new_thumbprint": {"type": "str"},
    "clients_pending": {"type": "list", "elements": "str"},
}
_REQUIRED_IF = [
    ("state", "record", ("step", "old_thumbprint", "new_thumbprint")),
    ("state", "promoted", ("old_thumbprint",)),
]
RULES = {
    "path": validate.text,
    "new_path": validate.text,
    "min_days": validate.days,
    "old_thumbprint": validate.thumbprint,
    "new_thumbprint": validate.thumbprint,
}
RELATIONS = {"required_if": _REQUIRED_IF}


def write_error(e: OSError) -> str:
    return f"path: cannot write in the CA folders ({e}). Check that both are writable and on one file system."


def run_task(p: dict, check_mode: bool) -> dict:
    """:func:`run` with the task's ``state`` (``promoted`` is the step ``promote``)."""
    return run(dict(p, state="promote" if p["state"] == "promoted" else p["state"]), check_mode)


def _cert(folder: str, option: str) -> Optional[Any]:
    path = os.path.join(folder, "ca.crt")
    if not os.path.isfile(path):
        return None
    return pki.load_certificate(pki.read_input_file(path, option), option)


def _retired_in(folder: str) -> Optional[str]:
    """The thumbprint of a ``ca-retired-<thumbprint>`` folder inside ``folder``, if any."""
    if not os.path.isdir(folder):
        return None
    for name in sorted(os.listdir(folder)):
        if name.startswith(rotation.RETIRED_PREFIX) and os.path.isdir(os.path.join(folder, name)):
            return name[len(rotation.RETIRED_PREFIX) :]
    return None


def _read_record(folder: str) -> Optional[Dict[str, Any]]:
    path = os.path.join(folder, rotation.RECORD_NAME)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as e:
        raise rotation.RotationError(
            f"xprotect_ca_new_path: the rotation record {path} cannot be read ({e}). Restore it, or remove it to "
            "start the rotation's record afresh (the hosts still say how far the switch went).",
            "xprotect_ca_new_path",
        )
    return data if isinstance(data, dict) else None


def _record_folder(p: dict) -> str:
    """Where the record is: in the new folder until it is promoted, then in the site's."""
    return p["new_path"] if os.path.isdir(p["new_path"]) else p["path"]


def _half_promoted(p: dict) -> bool:
    return not os.path.exists(os.path.join(p["path"], "ca.crt")) and _retired_in(p["new_path"]) is not None


def plan(p: dict, now: datetime.datetime) -> dict:
    site = _cert(p["path"], "path")
    new = _cert(p["new_path"], "new_path")
    busy = rotation.in_progress(
        _read_record(_record_folder(p)), pki.thumbprint(site) if site else None, _half_promoted(p)
    )
    if new is None and p["new_certificate"] and not _half_promoted(p):
        new = pki.load_certificate(pki.to_bytes(p["new_certificate"]), "new_certificate")
    record = _read_record(_record_folder(p))
    site_tp = pki.thumbprint(site) if site is not None else None
    new_tp = pki.thumbprint(new) if new is not None else None
    what = rotation.phase(site_tp, new_tp, record, _half_promoted(p), p["path"])
    if what == rotation.PROMOTE:
        old_tp = _retired_in(p["new_path"])
    elif what == rotation.FINISH:
        old_tp, new_tp = record["old"], site_tp
    else:
        old_tp = site_tp
        if new is not None:
            problem = rotation.new_ca_problem(site, new, now, p["min_days"])
            if problem:
                raise rotation.RotationError(problem, "xprotect_ca_new_path")
    return {
        "changed": False,
        "phase": what,
        "old_thumbprint": old_tp,
        "new_thumbprint": new_tp,  # None: the new CA is still to be created
        "record": record or {},
        "step": (record or {}).get("step", ""),
        "clients_pending": list((record or {}).get("clients_pending") or []),
        "in_progress": busy,
    }


def _without_time(record: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    return {k: v for k, v in (record or {}).items() if k != "updated"}


def write_record(p: dict, check_mode: bool, now: datetime.datetime) -> dict:
    folder = _record_folder(p)
    before = _read_record(folder)
    after = rotation.record_update(
        before, p["step"], p["old_thumbprint"], p["new_thumbprint"], now, clients_pending=p["clients_pending"]
    )
    changed = _without_time(before) != _without_time(after)
    if changed and not check_mode:
        with fileutil.locked(folder):
            fileutil.atomic_write(
                os.path.join(folder, rotation.RECORD_NAME), json.dumps(after, indent=1).encode(), 0o600
            )
    return {"changed": changed, "record": after, "step": after["step"], "clients_pending": after["clients_pending"]}


def promote(p: dict, check_mode: bool) -> dict:
    site, new = p["path"].rstrip(os.sep), p["new_path"].rstrip(os.sep)
    if not os.path.isdir(new):
        return {"changed": False, "promoted": [], "retired_path": None}
    old_tp = p["old_thumbprint"]
    extra = os.listdir(site) if os.path.isdir(site) else []
    done = []
    for op, src, dst in rotation.promotion_steps(site, new, old_tp, extra):
        if op == "copy" and os.path.isfile(src) and not os.path.exists(dst):
            done.append(f"copy {src} -> {dst}")
            if not check_mode:
                shutil.copy2(src, dst)
        elif op == "rename" and os.path.exists(src) and not os.path.exists(dst):
            done.append(f"rename {src} -> {dst}")
            if not check_mode:
                os.rename(src, dst)
    return {"changed": bool(done), "promoted": done, "retired_path": os.path.join(site, rotation.retired_name(old_tp))}


def run(p: dict, check_mode: bool, now: Optional[datetime.datetime] = None) -> dict:
    now = pki.utcnow(now)
    p = dict(p, path=os.path.abspath(os.path.expanduser(p["path"])))
    p["new_path"] = os.path.abspath(os.path.expanduser(p["new_path"]))
    if p["path"] == p["new_path"]:
        raise rotation.RotationError(
            "xprotect_ca_new_path: it is the site's CA folder (xprotect_ca_path); give the new CA a folder of its own.",
            "xprotect_ca_new_path",
        )
    inside = [(a, b) for a, b in ((p["new_path"], p["path"]), (p["path"], p["new_path"])) if a.startswith(b + os.sep)]
    if inside:
        raise rotation.RotationError(
            f"xprotect_ca_new_path: {inside[0][0]} is inside {inside[0][1]}; the promotion renames one folder into "
            "the other's place, so give the new CA a folder beside the site's (the default is <xprotect_ca_path>-new).",
            "xprotect_ca_new_path",
        )
    if p["state"] == "plan":
        result = plan(p, now)
    elif p["state"] == "record":
        result = write_record(p, check_mode, now)
    else:
        result = promote(p, check_mode)
    result.update(path=p["path"], new_path=p["new_path"])
    return result
