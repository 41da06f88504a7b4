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
from typing import Iterator, Optional

try:
    import fcntl

    HAS_FCNTL = True
except ImportError:  # pragma: no cover - Ansible controllers are POSIX
    HAS_FCNTL = False

LOCK_NAME = ".lock"
TEMP_SUFFIX = ".tmp"


class LockError(Exception):
    """The folder lock could not be taken; the message names the folder and what to do."""


def is_temp_name(name: str) -> bool:
    """Whether a file name is one of :func:`atomic_write`'s temporary files (left only by a crash)."""
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def atomic_write(path: str, data: bytes, mode: int, *, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` in one rename; on any failure nothing is left behind.

    ``durable`` fsyncs the file and its folder, so the new content survives a power cut. The
    lab's scratch state turns it off: hundreds of files per change, none worth the wait.
    """
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=TEMP_SUFFIX)
    try:
        # chmod before writing: a 0600 key is never, even briefly, readable by others.
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            fd = -1
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_dir(folder)


def fsync_dir(folder: str) -> None:
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


def wait_for_lock(
    fd: int, timeout: float, poll: float = 0.1, first_poll: Optional[float] = None, *, shared: bool = False
) -> bool:
    """Take an exclusive (``shared``: a shared) ``flock`` on ``fd``, retrying until ``timeout``; False
    when the time ran out.

    The wait between tries starts at ``first_poll`` (default ``poll``) and doubles up to ``poll``.
    An OSError other than "held by someone else" is raised as it is.
    """
    deadline = time.monotonic() + timeout
    delay = poll if first_poll is None else first_poll
    while True:
        try:
            if HAS_FCNTL:
                fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
            return True
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, poll)


@contextlib.contextmanager
def locked(path: str, timeout: float = 60.0, poll: float = 0.1, *, shared: bool = False) -> Iterator[Optional[str]]:
    """Hold an exclusive lock on folder ``path`` (file ``<path>/.lock``) for the block.

    Two runs on the same folder (two playbooks, or forks of one) then never interleave their
    writes. The lock is released when the block ends or the process dies.

    ``shared`` is for readers (check mode): they exclude writers, not each other, so they never
    see a half-written state. A reader that may not create the lock file (a read-only audit
    account) opens it read-only; when it does not exist either, no writer has ever run there
    and the block runs without a lock (yields None).
    """
    lock_path = os.path.join(path, LOCK_NAME)
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as e:
        fd = -1
        if shared and e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            with contextlib.suppress(OSError):
                fd = os.open(lock_path, os.O_RDONLY)
            if fd < 0 and not os.path.exists(lock_path):
                yield None
                return
        if fd < 0:
            raise LockError(
                f"cannot create the lock file {lock_path} ({e.strerror}). Check that {path} is writable."
            ) from None
    try:
        try:
            got = wait_for_lock(fd, timeout, poll, shared=shared)
        except OSError as e:
            raise LockError(f"cannot lock {path} ({e.strerror}).")
        if not got:
            raise LockError(
                f"{path} is locked by another run (lock file {lock_path}) for more than {timeout:.0f} s. "
                "Wait for it to finish, or end it if it hangs, then run again."
            )
        yield lock_path
    finally:
        os.close(fd)
