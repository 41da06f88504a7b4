# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions of a CA rotation (playbooks/rotate_ca.yml), pure: no file or host access.

A rotation has two CA folders on the controller: the site's (``xprotect_ca_path``, the old CA)
and the new one (``xprotect_ca_new_path``). The hosts say how far the switch went (every step
reads them); the rotation record (``rotation.json``, in the new folder, then in the promoted
one) says what the hosts cannot: which CA was the old one once the new one is promoted, and
which clients still hold the old CA in Root.

- :func:`new_ca_problem`: why a new CA cannot replace the old one (the same CA, the same key,
  not valid yet, expired, not valid long enough).
- :func:`phase`: what this run does, from the two folders and the record: ``rotate`` (steps 1-6,
  then promotion), ``promote`` (an interrupted promotion, finished), ``finish`` (the rotation
  is done: only the old CA's retirement is applied again, which cleans a client back online).
- :func:`promotion_steps`: the renames that make the new folder the site's, each one atomic, so
  that a run killed between two of them is recognised and finished by the next.
- :func:`clients_to_clean`: the clients that still hold the old CA.
"""

from __future__ import annotations

import datetime
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.xprotect.encryption.plugins.module_utils import pki

RECORD_NAME = "rotation.json"
RETIRED_PREFIX = "ca-retired-"
ROTATE, PROMOTE, FINISH = "rotate", "promote", "finish"
# Steps recorded in rotation.json, in order. The hosts are read again at every step; the record
# only says how far a run got, for the operator and for the step that cannot be read back.
STEPS = ("started", "trusted", "issued", "switched", "verified", "retired", "promoted", "complete")
# Files of a CA folder that belong to one CA, never carried over to the new folder.
CA_FILES = ("ca.crt", "ca.key", ".lock", RECORD_NAME)


class RotationError(pki.PkiError):
    """A rotation that must not start or go on; the message names the variable and what to do."""


def retired_name(thumbprint: str) -> str:
    return RETIRED_PREFIX + thumbprint


def new_ca_problem(
    old: Any, new: Any, now: datetime.datetime, min_days: int, new_key_matches_old: bool = False
) -> Optional[str]:
    """Why the certificate ``new`` cannot replace the CA ``old`` (both ``x509.Certificate``), or None.

    ``min_days``: the new CA must stay valid at least that long (its server certificates are
    clamped to it, and the next rotation needs time)."""
    if pki.thumbprint(old) == pki.thumbprint(new):
        return (
            f"xprotect_ca_new_path: the new CA is the site's CA ({pki.thumbprint(new)}); a rotation needs another CA. "
            "Remove the new CA folder to create one, or import another (xprotect_ca_new_import_cert_path)."
        )
    if new_key_matches_old or pki.public_key_der(old.public_key()) == pki.public_key_der(new.public_key()):
        return (
            "xprotect_ca_new_path: the new CA has the same key as the site's CA: that is a renewal, not a rotation. "
            "site.yml renews the CA certificate with its key (xprotect_ca_renew_before); rotate to a new key here."
        )
    start, end = pki.not_before(new), pki.not_after(new)
    if now < start:
        return (
            f"xprotect_ca_new_path: the new CA ({pki.thumbprint(new)}) is not valid before {pki.iso_z(start)}. "
            "Check the controller's clock, or import a CA that is valid now."
        )
    if now >= end:
        return f"xprotect_ca_new_path: the new CA ({pki.thumbprint(new)}) expired on {pki.iso_z(end)}. Use a valid CA."
    if end - now < datetime.timedelta(days=min_days):
        return (
            f"xprotect_ca_new_path: the new CA ({pki.thumbprint(new)}) expires in {pki.days_left(new, now)} days, "
            f"less than xprotect_ca_rotation_min_days ({min_days}). Use a CA valid for longer."
        )
    return None


def phase(
    site_thumbprint: Optional[str],
    new_thumbprint: Optional[str],
    record: Optional[Mapping[str, Any]],
    half_promoted: bool,
    site_path: str,
) -> str:
    """What this run does (see the module docstring).

    ``site_thumbprint``/``new_thumbprint``: the CA in each folder (None: no CA there);
    ``half_promoted``: the new folder already holds the old one as ``ca-retired-<thumbprint>``
    (a promotion killed between its two renames)."""
    if site_thumbprint is None:
        if half_promoted and new_thumbprint:
            return PROMOTE
        raise RotationError(
            f"xprotect_ca_path: {site_path} holds no CA (ca.crt and ca.key). A rotation replaces the site's CA and "
            "needs it: restore the folder from its backup. A site without a CA yet gets one from site.yml.",
            "xprotect_ca_path",
        )
    if record and record.get("new") == site_thumbprint and new_thumbprint is None:
        if record.get("step") in ("promoted", "complete"):
            return FINISH
    return ROTATE


def in_progress(record: Optional[Mapping[str, Any]], site_thumbprint: Optional[str], half_promoted: bool) -> bool:
    """Is a rotation away from the CA in ``xprotect_ca_path`` under way? Then site.yml and
    renew.yml must not run with it: they would issue from the old CA again. A run against the
    new CA (rotate_ca.yml's own switch) is not stopped: the record's old CA is not its CA."""
    if half_promoted:
        return True
    if not record or site_thumbprint is None:
        return False
    return record.get("old") == site_thumbprint and record.get("step") not in ("promoted", "complete")


def promotion_steps(site_path: str, new_path: str, old_thumbprint: str, extra_files: Iterable[str]) -> List[Tuple]:
    """The operations that make ``new_path`` the site's CA folder, from a rotation not yet promoted.

    The old folder's other files (say, a passphrase file the inventory reads) are copied into the
    new folder first; then the old folder moves into the new one as ``ca-retired-<thumbprint>``,
    and the new folder takes the old one's name. Each rename is atomic; a run killed between the
    two leaves the new folder holding the retired one, which :func:`phase` calls ``promote``."""
    site_path, new_path = site_path.rstrip(os.sep) or os.sep, new_path.rstrip(os.sep) or os.sep
    steps: List[Tuple] = [
        ("copy", os.path.join(site_path, name), os.path.join(new_path, name))
        for name in sorted(extra_files)
        if name not in CA_FILES and not name.startswith(RETIRED_PREFIX) and not name.endswith(".tmp")
    ]
    steps.append(("rename", site_path, os.path.join(new_path, retired_name(old_thumbprint))))
    steps.append(("rename", new_path, site_path))
    return steps


def clients_to_clean(clients: Sequence[str], results: Mapping[str, Optional[Mapping[str, Any]]]) -> List[str]:
    """The clients whose retirement step did not run to the end: unreachable, failed, or no result."""
    pending = []
    for client in clients:
        result = results.get(client) or {}
        if not result or result.get("unreachable") or result.get("failed") or result.get("skipped"):
            pending.append(client)
    return pending


def record_update(
    record: Optional[Mapping[str, Any]],
    step: str,
    old: str,
    new: str,
    now: datetime.datetime,
    *,
    clients_pending: Optional[Sequence[str]] = None,
) -> Dict[str, Any]:
    """The record after ``step``: steps only go forward (a re-run of an earlier play does not
    move it back); ``clients_pending`` replaces the list when given."""
    if step not in STEPS:
        raise ValueError(f"step: {step!r} is not one of {', '.join(STEPS)}")
    rec = dict(record or {})
    if rec.get("old") not in (None, old) or rec.get("new") not in (None, new):
        rec = {}  # a record of another rotation: this one starts afresh
    rec.update(old=old, new=new)
    rec.setdefault("started", pki.iso_z(now))
    done = rec.get("step")
    if done not in STEPS or STEPS.index(step) >= STEPS.index(done):
        rec["step"] = step
    rec["updated"] = pki.iso_z(now)
    if clients_pending is not None:
        rec["clients_pending"] = sorted(set(clients_pending))
    rec.setdefault("clients_pending", [])
    return rec


def _passed(result: Any) -> bool:
    return (
        isinstance(result, Mapping)
        and bool(result)
        and not any(result.get(k) for k in ("failed", "unreachable", "skipped"))
    )


def trust_gate(
    hostvars: Mapping[str, Any],
    servers: Sequence[str],
    clients: Sequence[str],
    keys: Sequence[str],
    clients_must_trust: str = "all",
) -> Dict[str, Any]:
    """Step 2 of the rotation: does every host trust both CAs, as the results registered under
    ``keys`` (one trusted_ca result per CA) say? Servers always block; clients that did not
    answer block with ``clients_must_trust`` ``all`` and are ``deferred`` with ``reachable``."""
    if clients_must_trust not in ("all", "reachable"):
        raise ValueError("xprotect_clients_must_trust must be 'all' or 'reachable'")
    blocking: List[str] = []
    deferred: List[str] = []
    for host in list(dict.fromkeys(list(servers) + list(clients))):
        hv = hostvars.get(host) or {}
        results = [hv.get(k) for k in keys]
        if all(_passed(r) for r in results):
            continue
        gone = any(isinstance(r, Mapping) and r.get("unreachable") for r in results) or not any(results)
        if host not in servers and gone and clients_must_trust == "reachable":
            deferred.append(host)
        else:
            blocking.append(host)
    message = ""
    if blocking:
        message = (
            f"Rotation preflight: {', '.join(blocking)} do not trust both the old and the new CA (failed or did not "
            "answer). No certificate was issued from the new CA and nothing was switched; the new CA stays trusted "
            "beside the old one where it was added. Fix those hosts and run playbooks/rotate_ca.yml again"
            + (
                "; offline clients may be left for later with xprotect_clients_must_trust=reachable."
                if any(h in clients for h in blocking)
                else "."
            )
        )
    return {"ok": not blocking, "blocking": blocking, "deferred": deferred, "message": message}


def _where(ep: Mapping[str, Any]) -> str:
    return f"{ep.get('label') or ep.get('host')}:{ep.get('port')}"


def verify_gate(with_new: Sequence[Mapping[str, Any]], with_old: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    """Step 5: every endpoint verifies with the new CA, and none with the old one (both lists are
    tls_probe ``endpoints``, one probe per CA)."""
    not_new = [
        f"{_where(ep)} ({ep.get('verify_error') or ep.get('error') or 'not verified'})"
        for ep in with_new
        if not ep.get("verified")
    ]
    still_old = [_where(ep) for ep in with_old if ep.get("verified")]
    lines = []
    if not_new:
        lines.append(f"Endpoints that do not verify with the new CA: {', '.join(not_new)}.")
    if still_old:
        lines.append(f"Endpoints that still verify with the old CA: {', '.join(still_old)}.")
    if lines:
        lines.append(
            "The old CA stays trusted everywhere and the rotation stops before retiring it; fix those servers and "
            "run playbooks/rotate_ca.yml again."
        )
    return {"ok": not lines, "not_new": not_new, "still_old": still_old, "message": " ".join(lines)}
