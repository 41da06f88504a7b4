# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files on the controller: atomic writes with a mode, and a folder lock.

A key file must never exist half-written, nor readable by others even for a moment: the
temporary file gets its mode before the first byte is written, is fsynced, and only then
replaces the target in one rename.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import time
from typing import Iterator

try:
    import fcntl

    HAS_FCNTL = True
except ImportError:  # pragma: no cover - Ansible controllers are POSIX
    HAS_FCNTL = False

LOCK_NAME = ".lock"


class LockError(Exception):
    """The folder lock could not be taken; the message names the folder and what to do."""


def atomic_write(path: str, data: bytes, mode: int) -> None:
    """Replace ``path`` with ``data`` in one rename; on any failure nothing is left behind."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        # chmod before writing: a 0600 key is never, even briefly, readable by others.
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            fd = -1
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


def _fsync_dir(folder: str) -> None:
    # The rename itself is durable only once the folder is synced.
    with contextlib.suppress(OSError):
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def ensure_dir(path: str, mode: int = 0o700) -> bool:
    """Create the folder (and parents) if missing; True when it was created."""
    if os.path.isdir(path):
        return False
    os.makedirs(path, mode=mode, exist_ok=True)
    return True


@contextlib.contextmanager
def locked(path: str, timeout: float = 60.0, poll: float = 0.1) -> Iterator[str]:
    """Hold an exclusive lock on folder ``path`` (file ``<path>/.lock``) for the block.

    Two runs on the same folder (two playbooks, or forks of one) then never interleave their
    writes. The lock is released when the block ends or the process dies.
    """
    lock_path = os.path.join(path, LOCK_NAME)
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as e:
        raise LockError(f"cannot create the lock file {lock_path} ({e.strerror}). Check that {path} is writable.")
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if HAS_FCNTL:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise LockError(f"cannot lock {path} ({e.strerror}).")
                if time.monotonic() >= deadline:
                    raise LockError(
                        f"{path} is locked by another run (lock file {lock_path}) for more than {timeout:.0f} s. "
                        "Wait for it to finish, or end it if it hangs, then run again."
                    )
                time.sleep(poll)
        yield lock_path
    finally:
        os.close(fd)
