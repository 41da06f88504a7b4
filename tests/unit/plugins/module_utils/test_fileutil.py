# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""fileutil.py: atomic writes leave nothing half-written; the folder lock excludes a second run."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import fileutil


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_atomic_write_creates_with_mode(tmp_path):
    key = tmp_path / "ca.key"
    fileutil.atomic_write(str(key), b"secret", 0o600)
    assert key.read_bytes() == b"secret" and _mode(key) == 0o600
    crt = tmp_path / "ca.crt"
    fileutil.atomic_write(str(crt), b"public", 0o644)
    assert _mode(crt) == 0o644
    assert sorted(os.listdir(tmp_path)) == ["ca.crt", "ca.key"]


def test_atomic_write_replaces_and_resets_mode(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"old")
    os.chmod(path, 0o666)  # noqa: S103 - the point of the test
    fileutil.atomic_write(str(path), b"new", 0o600)
    assert path.read_bytes() == b"new" and _mode(path) == 0o600


def test_atomic_write_failure_at_rename_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "ca.key"
    path.write_bytes(b"old")

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="No space"):
        fileutil.atomic_write(str(path), b"new", 0o600)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["ca.key"]


def test_atomic_write_failure_while_writing_leaves_nothing(tmp_path, monkeypatch):
    def fail(fd):
        raise OSError(5, "I/O error")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError, match="I/O error"):
        fileutil.atomic_write(str(tmp_path / "new.key"), b"data", 0o600)
    assert os.listdir(tmp_path) == []


def test_atomic_write_failure_at_chmod_closes_and_cleans(tmp_path, monkeypatch):
    def fail(fd, mode):
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(os, "fchmod", fail)
    with pytest.raises(OSError, match="not permitted"):
        fileutil.atomic_write(str(tmp_path / "x"), b"data", 0o600)
    assert os.listdir(tmp_path) == []


def test_atomic_write_into_missing_folder_fails_cleanly(tmp_path):
    with pytest.raises(FileNotFoundError):
        fileutil.atomic_write(str(tmp_path / "nope" / "x"), b"data", 0o600)
    assert os.listdir(tmp_path) == []


def test_ensure_dir(tmp_path):
    target = tmp_path / "a" / "b"
    assert fileutil.ensure_dir(str(target)) is True
    assert target.is_dir() and _mode(target) == 0o700
    assert fileutil.ensure_dir(str(target)) is False


def test_locked_creates_lock_and_excludes_a_second_holder(tmp_path):
    with fileutil.locked(str(tmp_path)) as lock_path:
        assert lock_path == str(tmp_path / ".lock")
        assert _mode(lock_path) == 0o600
        # flock treats two open() of the same file as two holders, even in one process.
        with pytest.raises(fileutil.LockError) as e:
            with fileutil.locked(str(tmp_path), timeout=0.2, poll=0.05):
                pass  # pragma: no cover - must not be reached
        assert str(tmp_path) in str(e.value) and "locked by another run" in str(e.value)
    with fileutil.locked(str(tmp_path), timeout=0.2):  # released at the end of the block
        pass


def test_locked_missing_folder(tmp_path):
    with pytest.raises(fileutil.LockError) as e:
        with fileutil.locked(str(tmp_path / "missing")):
            pass  # pragma: no cover
    assert str(tmp_path / "missing") in str(e.value) and "writable" in str(e.value)


def test_locked_unexpected_lock_error(tmp_path, monkeypatch):
    def fail(fd, op):
        raise OSError(9, "Bad file descriptor")

    monkeypatch.setattr(fileutil.fcntl, "flock", fail)
    with pytest.raises(fileutil.LockError, match="cannot lock"):
        with fileutil.locked(str(tmp_path)):
            pass  # pragma: no cover
