# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CA's files on the controller, written both or neither, and recovered after a crash.

A new CA (created or imported) is written in four steps, each one atomic:

1. ``ca.key.new`` is staged;
2. ``ca.crt.new`` is staged: **the commit point**. From here the pair is complete on disk;
3. ``ca.key.new`` is renamed to ``ca.key``;
4. ``ca.crt.new`` is renamed to ``ca.crt``.

What a kill leaves, and what the next run does (:func:`inspect`):

- before the commit point: a staged key without a staged certificate. That key was never
  paired with a certificate, so nothing can trust it: it is removed (an *orphan*), and the CA is
  created again.
- after it: a staged certificate, with its key staged or already renamed. The pair is
  completed (*roll forward*), after checking that the key belongs to the certificate.
- ``ca.key`` or ``ca.crt`` alone, with nothing staged: not something this protocol leaves (an
  older version, or a file removed by hand). The key may belong to a certificate trusted
  somewhere, so it is never removed: the run refuses and says what to do.

atomic_write's temporary files (``.ca.key.XXXX.tmp``) left by a kill are removed too. All of
this runs under the folder lock, so no other run is writing at the time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from typing import Optional

from ansible_collections.xprotect.encryption.plugins.module_utils import fileutil

STAGED = ".new"


def _step(name: str) -> None:
    """A point between two writes. Does nothing; the crash tests replace it to kill the process there."""


@dataclasses.dataclass(frozen=True)
class Files:
    """Where the CA lives, and the option each path comes from (for error messages)."""

    cert: str
    key: str
    cert_option: str
    key_option: str

    def all(self) -> list:
        return [self.key, self.cert]


@dataclasses.dataclass
class Pending:
    """What an interrupted run left: a pair to complete, and files to remove."""

    cert: Optional[str] = None  # the staged certificate to publish (roll forward)
    key: Optional[str] = None  # the key that goes with it (staged, or already published)
    orphans: list = dataclasses.field(default_factory=list)

    @property
    def roll_forward(self) -> bool:
        return self.cert is not None


def staged(path: str) -> str:
    return path + STAGED


def _temp_files(path: str) -> list:
    folder, name = os.path.split(os.path.abspath(path))
    prefix = f".{name}."
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(os.path.join(folder, n) for n in names if n.startswith(prefix) and fileutil.is_temp_name(n))


def inspect(files: Files) -> Pending:
    """What the folder holds besides a finished CA; PkiError-free: the caller decides."""
    pending = Pending()
    for path in files.all():
        pending.orphans.extend(_temp_files(path))
        pending.orphans.extend(_temp_files(staged(path)))
    if os.path.exists(staged(files.cert)):
        if os.path.exists(files.cert):
            # Create or import run only when there is no ca.crt: a staged certificate next to
            # one was not left by this protocol. Reported by the caller, nothing removed.
            return Pending(cert=staged(files.cert), key=None, orphans=sorted(set(pending.orphans)))
        key = staged(files.key) if os.path.exists(staged(files.key)) else files.key
        pending.cert, pending.key = staged(files.cert), key if os.path.exists(key) else None
        pending.orphans = sorted(set(pending.orphans))
        return pending
    # Before the commit point: staged files never paired with a published certificate.
    if os.path.exists(staged(files.key)):
        pending.orphans.append(staged(files.key))
    pending.orphans = sorted(set(pending.orphans))
    return pending


def remove_orphans(pending: Pending) -> list:
    """Remove what :func:`inspect` found unpaired; the paths removed."""
    removed = []
    for path in pending.orphans:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
            removed.append(path)
    return removed


def complete(files: Files, pending: Pending) -> None:
    """Roll forward: publish the staged key (if not yet), then the certificate."""
    if pending.key == staged(files.key):
        os.replace(pending.key, files.key)
    os.replace(pending.cert, files.cert)
    _sync_folders(files)


def _sync_folders(files: Files) -> None:
    for folder in {os.path.dirname(os.path.abspath(p)) for p in files.all()}:
        fileutil.fsync_dir(folder)


def write_pair(files: Files, key_pem: bytes, cert_pem: bytes) -> None:
    """Write a new CA: both files or neither (see the module docstring for the steps)."""
    _step("start")
    try:
        fileutil.atomic_write(staged(files.key), key_pem, 0o600)
        _step("key_staged")
        fileutil.atomic_write(staged(files.cert), cert_pem, 0o644)
    except BaseException:
        # Before the commit point nothing is kept: the next run starts from nothing.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staged(files.key))
        raise
    _step("cert_staged")
    os.replace(staged(files.key), files.key)
    _step("key_published")
    os.replace(staged(files.cert), files.cert)
    _sync_folders(files)
    _step("cert_published")
