"""One rollout at a time per site: the lock on the management server, with real concurrent runs.

Each test has its own lab site. The lock marker lives in the management server's folder of the
lab (C:\\ProgramData\\Milestone\\xprotect-encryption.lock), where every controller would see it.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import subprocess
import time

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import site_lock
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import model

from .rollout_helpers import BIN, REPO, env, events, hosts_in, lab_site, playbook, status

pytestmark = pytest.mark.integration

SIZE = dict(recording_servers=2, failover_servers=1, mobile_servers=0, event_servers=0, clients=0)


@pytest.fixture
def site(tmp_path):
    with lab_site(tmp_path / "site", **SIZE) as path:
        yield path


def marker_path(site):
    (ms,) = hosts_in(site, "xprotect_management_servers")
    return ms, model.Site(str(site)).host_path(ms, site_lock.DEFAULT_PATH)


def start(site, name="site.yml"):
    argv = [str(BIN / "ansible-playbook"), "-i", str(site / "inventory.yml"), str(REPO / "playbooks" / name)]
    return subprocess.Popen(argv, cwd=REPO, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def text(out):
    return " ".join(out.split())


def test_two_runs_at_once_one_stops_naming_the_holder_the_other_completes(site):
    ms, path = marker_path(site)
    first = start(site)
    deadline = time.monotonic() + 120
    while not os.path.exists(path):  # the first run holds the lock
        assert first.poll() is None and time.monotonic() < deadline, "the first run never took the lock"
        time.sleep(0.2)
    second = start(site)
    began = time.monotonic()
    out2 = second.communicate(timeout=600)[0]
    took = time.monotonic() - began
    out1 = first.communicate(timeout=900)[0]
    assert second.returncode != 0
    said = text(out2)
    assert f"Another rollout holds the site lock (C:\\ProgramData\\Milestone\\xprotect-encryption.lock on {ms})" in said
    assert f"@{socket.gethostname()} (process " in said and "site.yml) since 20" in said
    assert "Nothing was changed" in said and "Traceback" not in said
    # It stopped at once: before phase 0, so it staged nothing.
    assert "PLAY [Phase 0: the site CA" not in out2 and "PLAY [Phase 1" not in out2 and took < 60
    assert first.returncode == 0, out1[-3000:]
    st = status(site)
    for rs in hosts_in(site, "xprotect_recording_servers") + hosts_in(site, "xprotect_failover_servers"):
        assert st[rs]["connected"] is True, rs
    # Each certificate was issued once: the refused run issued none.
    issued = [e for e in events(site) if e["event"] in ("certificate_installed", "certificate_imported")]
    hosts = [e["host"] for e in issued]
    assert len(hosts) == len(set(hosts))
    # The lock is given back at the end of the normal run.
    assert not os.path.exists(path)


def write_marker(path, owner, minutes_ago, expiry=240):
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=minutes_ago)
    marker = site_lock.new_marker("deadbeef01", owner, now, expiry, "site.yml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(site_lock.dump_marker(marker))


def test_a_stale_lock_stops_the_run_until_broken_by_the_setting(site):
    ms, path = marker_path(site)
    other = {"controller": "awx-node-9", "user": "awx", "pid": 4242, "run": "awx-node-9:4242:1", "job_id": "77"}
    write_marker(path, other, minutes_ago=300)
    proc = playbook("stage.yml", site, check=False)
    said = text(proc.stdout)
    assert proc.returncode != 0
    assert "awx@awx-node-9 (AWX job 77, process 4242, site.yml) since" in said
    assert "It expired at" in said and "-e xprotect_lock_break=true" in said
    assert json.loads(open(path, encoding="utf-8").read())["id"] == "deadbeef01"  # left as it was

    proc = playbook("stage.yml", site, "-e", "xprotect_lock_break=true", check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Broke the expired site lock of awx@awx-node-9" in text(proc.stdout)
    assert not os.path.exists(path)


def test_a_lock_not_expired_is_broken_only_by_its_id_and_a_dead_local_run_is_taken_over(site):
    ms, path = marker_path(site)
    other = {"controller": "awx-node-9", "user": "awx", "pid": 4242, "run": "awx-node-9:4242:1", "job_id": None}
    write_marker(path, other, minutes_ago=5)
    proc = playbook("stage.yml", site, "-e", "xprotect_lock_break=true", check=False)
    assert proc.returncode != 0 and "-e xprotect_lock_break=deadbeef01" in text(proc.stdout)
    proc = playbook("stage.yml", site, "-e", "xprotect_lock_break=deadbeef01", check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Broke the site lock (not expired) of awx@awx-node-9" in text(proc.stdout)

    # A run of this controller that ended without giving the lock back (failed, interrupted).
    here = socket.gethostname()
    write_marker(path, {"controller": here, "user": "ops", "pid": 2**22 + 7, "run": f"{here}:{2**22 + 7}:1"}, 5)
    proc = playbook("stage.yml", site, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Took over the site lock of a run that ended without releasing it: ops@" in text(proc.stdout)


def adhoc(site, host, module, args):
    argv = [str(BIN / "ansible"), host, "-i", str(site / "inventory.yml"), "-m", f"xprotect.encryption.{module}"]
    proc = subprocess.run(
        [*argv, "-a", json.dumps(args)],
        cwd=REPO,
        env=dict(env(), ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in proc.stdout + proc.stderr
    return json.JSONDecoder().raw_decode(proc.stdout)[0]["plays"][0]["tasks"][0]["hosts"][host]


def test_bad_arguments_are_named_and_change_nothing(site):
    ms, path = marker_path(site)
    cases = [
        ("site_lock", {"expiry_minutes": 0}, "expiry_minutes=0 is out of range"),
        ("site_lock", {"expiry_minutes": "soon"}, "expiry_minutes"),
        ("site_lock", {"settle": -1}, "settle=-1.0 is out of range"),
        (
            "site_lock",
            {"break_lock": "rm -rf /"},
            "xprotect_lock_break (option break_lock) = 'rm -rf /' is not allowed",
        ),
        ("site_lock", {"path": "C:\\ProgramData\\"}, "is not a file path"),
        ("site_lock", {"state": "held"}, "state"),
        ("site_servers", {"source": "/nonexistent.xprotect.yml"}, "is not a file"),
        ("site_servers", {"url": ["ftp://ms"], "username": "u", "password": "p"}, "is not an http(s) URL"),
        ("site_servers", {"url": ["http://ms"], "username": "u", "password": "p", "timeout": 0}, "out of range"),
        ("site_servers", {"url": ["http://ms"], "username": "u", "password": "p", "auth_type": "x"}, "auth_type"),
    ]
    for module, args, words in cases:
        result = adhoc(site, ms, module, args)
        assert result.get("failed"), (module, args, result)
        assert words in result["msg"], (module, args, result["msg"])
    assert not os.path.exists(path)
    # Good arguments, run on the management server itself: the marker is written, reported ok, not changed.
    taken = adhoc(site, ms, "site_lock", {"settle": 0, "playbook": "adhoc"})
    assert taken["written"] and not taken.get("changed") and os.path.exists(path)
