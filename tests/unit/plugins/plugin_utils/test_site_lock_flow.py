"""The site lock's read/write cycle through a host adapter, and the settings of site_servers."""

from __future__ import annotations

import json
import os
import socket
import subprocess

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import inventory as inv
from ansible_collections.xprotect.encryption.plugins.module_utils import site_lock
from ansible_collections.xprotect.encryption.plugins.plugin_utils import site_lock_flow as flow
from ansible_collections.xprotect.encryption.plugins.plugin_utils import site_servers
from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import AdapterError

PATH = site_lock.DEFAULT_PATH
ARGS = {"path": PATH, "expiry_minutes": 60, "break_lock": False, "playbook": "site.yml", "settle": 0}


class Files:
    """The three adapter methods the lock uses, over a dict; ``on_write`` runs after each write."""

    host = "ms.example.com"

    def __init__(self, on_write=None):
        self.files = {}
        self.on_write = on_write

    def read_file(self, path):
        if path not in self.files:
            raise AdapterError(f"Path {path} is not found")
        return self.files[path]

    def write_file(self, path, content):
        self.files[path] = content
        if self.on_write:
            self.on_write(self)
        return True

    def delete_file(self, path):
        return self.files.pop(path, None) is not None


def test_identity_is_this_process_parent_with_its_start_time():
    me = flow.identity()
    assert me["pid"] == os.getppid() and me["controller"] == socket.gethostname()
    assert me["run"].startswith(f"{me['controller']}:{me['pid']}:")


def test_acquire_then_release():
    files = Files()
    out = flow.acquire(files, dict(ARGS), check_mode=False)
    assert out["action"] == site_lock.ACQUIRE and out["written"] and not out["changed"]
    marker = json.loads(files.files[PATH])
    assert marker["owner"]["run"] == flow.identity()["run"] and marker["playbook"] == "site.yml"
    # the same run again: nothing written
    again = flow.acquire(files, dict(ARGS), check_mode=False)
    assert again["action"] == site_lock.REENTER and not again["written"]
    released = flow.release(files, dict(ARGS), check_mode=False)
    assert released["deleted"] and PATH not in files.files


def test_check_mode_writes_nothing():
    files = Files()
    out = flow.acquire(files, dict(ARGS), check_mode=True)
    assert out["action"] == site_lock.ACQUIRE and not out["written"] and files.files == {}


def test_a_marker_overwritten_at_the_same_moment_stops_this_run():
    other = site_lock.new_marker("0th3r", {"controller": "b", "user": "u", "run": "b:1:1"}, flow_now(), 60)

    def race(files):
        files.files[PATH] = site_lock.dump_marker(other)

    out = flow.acquire(Files(on_write=race), dict(ARGS), check_mode=False)
    assert out["failed"] and "took the site lock" in out["msg"] and "u@b" in out["msg"]


def flow_now():
    import datetime

    return datetime.datetime.now(datetime.timezone.utc)


def test_release_leaves_another_runs_lock_and_warns():
    files = Files()
    other = site_lock.new_marker("0th3r", {"controller": "b", "user": "u", "run": "b:1:1"}, flow_now(), 60)
    files.files[PATH] = site_lock.dump_marker(other)
    out = flow.release(files, dict(ARGS), check_mode=False)
    assert out["action"] == "not_ours" and PATH in files.files and "not this run's" in out["warnings"][0]


def test_a_read_error_other_than_missing_is_reported():
    class Broken(Files):
        def read_file(self, path):
            raise AdapterError("Access is denied")

    with pytest.raises(AdapterError, match="Cannot read the site lock .* Access is denied"):
        flow.acquire(Broken(), dict(ARGS), check_mode=False)


def test_process_alive():
    me = flow.identity()
    ended = subprocess.Popen(["true"])  # noqa: S607
    ended.wait()
    assert flow.process_alive({"controller": me["controller"], "pid": ended.pid}, me) is False
    assert flow.process_alive({"controller": me["controller"], "pid": os.getpid()}, me) is True
    assert flow.process_alive({"controller": "elsewhere", "pid": os.getpid()}, me) is None


# ---- site_servers -----------------------------------------------------------------------


def test_settings_explicit_wins_then_source_then_environment(monkeypatch):
    monkeypatch.setenv("XPROTECT_PASSWORD", "from-env")
    source = {"url": "http://ms", "username": "src-user", "password": None, "timeout": 10}
    merged = site_servers.settings(source, {"url": ["http://a", "https://a"], "username": None}, "s.xprotect.yml")
    assert merged["url"] == ["http://a", "https://a"] and merged["username"] == "src-user"
    assert merged["password"] == "from-env" and merged["timeout"] == 10.0 and merged["auth_type"] == "basic"


@pytest.mark.parametrize(
    "source, explicit, message",
    [
        ({}, {}, "has no management server to ask"),
        ({"url": "http://ms"}, {}, "has no username"),
        ({"url": "http://ms", "username": "u", "password": "p", "auth_type": "kerberos"}, {}, "not one of basic"),
        ({"url": "http://ms", "username": "u", "password": "p", "timeout": "soon"}, {}, "not a number"),
        ({"url": "http://ms", "username": "u", "password": "p", "timeout": -1}, {}, "out of range"),
    ],
)
def test_settings_refuse_what_cannot_work(monkeypatch, source, explicit, message):
    for var in site_servers.ENV.values():
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(site_servers.SiteServersError, match=message):
        site_servers.settings(source, explicit)


def test_read_falls_through_on_refused_connection_only():
    merged = {
        "url": ["http://ms", "https://ms"],
        "username": "u",
        "password": "p",
        "auth_type": "basic",
        "validate_certs": True,
        "ca_path": None,
        "tls_server_name": "ms.example.com",
        "timeout": 5.0,
    }
    seen = []

    def fetch(opts):
        seen.append((opts["url"], opts["tls_server_name"]))
        if opts["url"].startswith("http://"):
            raise inv.InventoryError(inv.msg_connection(opts["url"] + "/API/IDP/connect/token", "Connection refused"))
        return [{"kind": "recording_server", "host": "rs01", "name": "RS01", "id": "1", "enabled": True}]

    out = site_servers.read(merged, fetch)
    assert seen == [("http://ms", None), ("https://ms", "ms.example.com")]
    assert out["url"] == "https://ms" and out["servers"][0]["host"] == "rs01"
    assert out["management"] == ["ms", "ms.example.com"]

    def refuse(opts):
        raise inv.InventoryError("The identity provider refused the credentials of basic user 'u'.")

    with pytest.raises(site_servers.SiteServersError, match="refused the credentials.*Nothing was switched"):
        site_servers.read(merged, refuse)


def test_settings_refuse_a_url_that_is_not_http():
    with pytest.raises(
        site_servers.SiteServersError, match=r"'ftp://ms' is not an http\(s\) URL.*xprotect_inventory_api"
    ):
        site_servers.settings({}, {"url": ["http://ok", "ftp://ms"], "username": "u", "password": "p"})


def test_jobs_of_one_awx_workflow_share_the_lock_and_the_last_one_deletes_it(monkeypatch):
    # Three slices of one sliced job (one awx_workflow_job_id), each its own ansible-playbook process.
    adapter = Files()
    pids = iter([101, 102, 103, 101, 102, 103])
    monkeypatch.setattr(flow.os, "getppid", lambda: next(pids))
    taken = [flow.acquire(adapter, _args(owner="4711"), False) for _slice in range(3)]
    assert [t.get("failed", False) for t in taken] == [False, False, False]
    assert [t["action"] for t in taken] == ["acquire", "reenter", "reenter"]
    marker = site_lock.parse_marker(adapter.files[PATH])
    assert marker["owner"]["run"] == "awx-workflow:4711" and len(marker["holders"]) == 3
    # Another workflow and a command-line run are refused while the slices hold it.
    monkeypatch.setattr(flow.os, "getppid", lambda: 200)
    assert flow.acquire(adapter, _args(owner="4800"), False)["failed"]
    assert flow.acquire(adapter, _args(), False)["failed"]
    pids = iter([101, 102, 103])
    monkeypatch.setattr(flow.os, "getppid", lambda: next(pids))
    given = [flow.release(adapter, _args(state="released", owner="4711"), False) for _slice in range(3)]
    assert [g["action"] for g in given] == ["left", "left", "delete"]
    assert PATH not in adapter.files


def _args(**changes):
    return {**ARGS, "state": "acquired", "owner": "", **changes}


def test_an_owner_that_is_not_a_workflow_id_is_refused():
    with pytest.raises(site_lock.LockError, match="owner"):
        site_lock.workflow_run("4711; rm -rf /")
    assert site_lock.workflow_run("") == "" and site_lock.workflow_run(None) == ""


def test_a_slice_that_gives_the_lock_back_undoes_a_sibling_s_stale_write(monkeypatch):
    # Slices 101 and 102 end together: 102 read the marker before 101 took itself out, and
    # writes it back with 101 in it. 101 reads back, finds itself, and takes itself out again.
    adapter = Files()
    pids = iter([101, 102, 103])
    monkeypatch.setattr(flow.os, "getppid", lambda: next(pids))
    for _slice in range(3):
        flow.acquire(adapter, _args(owner="4711"), False)
    stale = adapter.files[PATH]

    def sibling_writes_what_it_read(files):
        files.on_write = None
        marker = site_lock.parse_marker(stale)
        files.files[PATH] = site_lock.dump_marker(site_lock.without_holder(marker, marker["holders"][1]))

    adapter.on_write = sibling_writes_what_it_read
    monkeypatch.setattr(flow.os, "getppid", lambda: 101)
    given = flow.release(adapter, _args(state="released", owner="4711"), False)
    holders = site_lock.parse_marker(adapter.files[PATH])["holders"]
    assert given["action"] == "left" and len(holders) == 1 and holders[0].split(":")[1] == "103"
