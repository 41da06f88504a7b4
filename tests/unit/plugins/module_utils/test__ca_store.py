# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_ca_store.py: a CA creation killed at any point leaves what the next run completes or removes,
and check-mode readers never see a CA half-written by a concurrent writer (real processes)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import time

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import _ca_store, fileutil, pki
from ansible_collections.xprotect.encryption.plugins.module_utils._backends import ca as backend

HELPER = pathlib.Path(__file__).with_name("ca_store_helper.py")
COLLECTIONS = pathlib.Path(__file__).resolve().parents[4] / ".collections"
STEPS = ["start", "mid_key_write", "key_staged", "cert_staged", "key_published", "cert_published"]
# Killed before the commit point (ca.crt.new written), the pair is made again; after it, completed.
BEFORE_COMMIT = {"start", "mid_key_write", "key_staged"}

sys.path.insert(0, str(HELPER.parent))
from ca_store_helper import PASS, params  # noqa: E402


def helper(*argv, stdout=subprocess.PIPE) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(COLLECTIONS))
    return subprocess.Popen([sys.executable, str(HELPER), *map(str, argv)], env=env, stdout=stdout, text=True)


def contents(folder) -> list:
    return sorted(n for n in os.listdir(folder) if n != fileutil.LOCK_NAME)


def load(folder) -> pki.CA:
    return pki.load_ca(
        (folder / "ca.crt").read_bytes(), (folder / "ca.key").read_bytes(), PASS.encode(), trusted_key=True
    )


@pytest.mark.parametrize("step", STEPS)
def test_killed_creation_is_completed_or_undone_by_the_next_run(tmp_path, step):
    folder = tmp_path / "pki"
    proc = helper("kill", folder, step)
    proc.communicate(timeout=120)
    assert proc.returncode == -9, f"the helper was not killed at {step}"
    left = contents(folder)
    staged_cert = folder / ("ca.crt" + _ca_store.STAGED)
    staged = pki.load_certificate(staged_cert.read_bytes()) if staged_cert.exists() else None

    # An audit first: it reads the leftovers, says what the next run does, and writes nothing.
    audit = backend.run(params(str(folder)), check_mode=True)
    assert contents(folder) == left
    if step == "cert_published":
        assert not audit["changed"] and left == ["ca.crt", "ca.key"]
    elif step in BEFORE_COMMIT:
        assert audit["created"] and audit["thumbprint"] is None
    else:
        assert audit["thumbprint"] == pki.thumbprint(staged) and "interrupted run left staged" in audit["reasons"][0]

    res = backend.run(params(str(folder)), check_mode=False)
    assert contents(folder) == ["ca.crt", "ca.key"], f"leftovers after the run following a kill at {step}"
    ca = load(folder)
    assert res["thumbprint"] == ca.thumbprint
    if step in BEFORE_COMMIT:
        # Nothing was committed: no certificate was ever made for the staged key, a new CA is made.
        assert res["created"] and staged is None
        if step != "start":
            assert any("left unpaired" in r for r in res["reasons"]), res["reasons"]
    elif step != "cert_published":
        # Committed: the staged pair is completed, never replaced by a new CA.
        assert res["changed"] and not res["created"] and ca.thumbprint == pki.thumbprint(staged)
    # And the run after that changes nothing.
    assert not backend.run(params(str(folder)), check_mode=False)["changed"]


def test_a_staged_certificate_whose_key_is_gone_is_explained_and_kept(tmp_path):
    folder = tmp_path / "pki"
    proc = helper("kill", folder, "key_published")
    proc.communicate(timeout=120)
    (folder / "ca.key").unlink()
    with pytest.raises(pki.PkiError) as e:
        backend.run(params(str(folder)), check_mode=False)
    assert e.value.option == "path" and "its key is missing" in str(e.value) and "ca.crt.new" in str(e.value)
    assert contents(folder) == ["ca.crt.new"]


def test_a_staged_certificate_that_does_not_match_its_key_moves_nothing(tmp_path):
    folder = tmp_path / "pki"
    proc = helper("kill", folder, "cert_staged")
    proc.communicate(timeout=120)
    other = pki.create_ca("Someone else", key_size=3072)
    (folder / "ca.crt.new").write_text(other.cert_pem)
    with pytest.raises(pki.PkiError) as e:
        backend.run(params(str(folder)), check_mode=False)
    assert e.value.option == "path" and "does not belong" in str(e.value)
    assert contents(folder) == ["ca.crt.new", "ca.key.new"]


def test_check_mode_readers_never_see_a_half_written_ca(tmp_path):
    """A slow writer (0.3 s at each step) and three check-mode readers in their own processes.

    Without the shared lock, readers would catch the staged files: an audit saying a run was
    interrupted, or a key without its certificate.
    """
    folder = tmp_path / "pki"
    os.makedirs(folder, mode=0o700)
    # Files, not pipes: a full pipe would stop a reader while the writer works.
    logs = [tmp_path / f"reader{i}.jsonl" for i in range(3)]
    readers = []
    for log in logs:
        with open(log, "w") as out:
            readers.append(helper("read", folder, 4, stdout=out))
    time.sleep(0.5)
    writer = helper("slow", folder, 0.3)
    writer.communicate(timeout=120)
    assert writer.returncode == 0
    final = load(folder).thumbprint
    for r in readers:
        assert r.wait(timeout=120) == 0
    outcomes = [json.loads(line) for log in logs for line in log.read_text().splitlines()]
    assert outcomes
    seen = set()
    for o in outcomes:
        assert "error" not in o, o
        assert not any("interrupted" in r for r in o["reasons"]), o
        if o["created"]:
            assert o["thumbprint"] is None
            seen.add("none")
        else:
            assert o["thumbprint"] == final
            seen.add("done")
    assert seen == {"none", "done"}, "the readers did not overlap the writer; the test proves nothing"
