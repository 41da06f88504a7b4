# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's asynchronous start and status (the adapter's start/status, as ansible-core's async and
async_status on Windows) and the modelled duration of a Server Configurator run: the host's services
are down for it, its endpoints and its link to the management server show it."""

from __future__ import annotations

import json
import os
import random
import socket
import time

import pytest
from lab_helpers import CFG, GUID, HOSTS, MS, RS, adapter, enable, events, group_state

from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import faults, jobs, model, programs, site
from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import AdapterError


def _enable_argv(group, thumbprint):
    return [CFG, "/quiet", "/enableencryption", f"/certificategroup={GUID[group]}", f"/thumbprint={thumbprint}"]


def _wait(a, job, limit=10.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        status = a.status(job)
        if status.finished:
            return status
        time.sleep(0.05)
    raise AssertionError(f"job {job} did not finish in {limit} s")


def _status(lab, host):
    return json.loads(open(lab.file("status.json"), encoding="utf-8").read())["hosts"][host]


def test_start_returns_at_once_and_status_gives_the_result_when_the_run_ends(lab, prepared):
    faults.inject(lab, MS, "slow_restart", 0.6)
    a = adapter(lab, MS)
    t0 = time.monotonic()
    job = a.start(_enable_argv("server", prepared[MS]), timeout=30)
    assert time.monotonic() - t0 < 0.5  # the run is in the background
    assert job.startswith("j") and job[1:].isdigit()
    running = a.status(job)
    assert not running.finished and running.result is None
    assert not group_state(lab, MS, "server")["enabled"]
    done = _wait(a, job)
    assert time.monotonic() - t0 >= 0.6
    assert done.result.rc == 0
    assert group_state(lab, MS, "server")["enabled"]
    assert events(lab, "encryption_enabled", MS)
    assert lab.read_state(MS)["configurator"]["running"] is None
    assert a.call_log == ["start", "status", *["status"] * (len(a.call_log) - 2)]


def test_a_second_run_during_an_async_one_exits_minus_4(lab, prepared):
    faults.inject(lab, MS, "slow_restart", 0.6)
    a = adapter(lab, MS)
    job = a.start(_enable_argv("server", prepared[MS]), timeout=30)
    time.sleep(0.2)
    assert a.run([CFG, "/listcertificategroups"]).rc == -4  # one instance at a time, across processes
    assert _wait(a, job).result.rc == 0


def test_the_hosts_services_are_down_while_server_configurator_runs(lab, prepared):
    # the management server encrypted first, then the recording server follows: while its run
    # lasts, it has no endpoint and no link to the management server; afterwards both are back
    assert enable(lab, MS, "server", prepared[MS]).rc == 0
    faults.inject(lab, RS, "slow_restart", 0.8)
    a = adapter(lab, RS)
    job = a.start(_enable_argv("server", prepared[RS]), timeout=30)
    time.sleep(0.3)
    during = _status(lab, RS)
    assert during["restarting"] is True
    assert during["endpoints"] == []
    assert during["connected"] is False
    assert _wait(a, job).result.rc == 0
    after = _status(lab, RS)
    assert "restarting" not in after
    assert {e["name"] for e in after["endpoints"]} == {"image-server", "webapi"}
    assert after["connected"] is True


def test_the_management_servers_run_disconnects_every_recording_server_for_its_duration(lab, prepared):
    faults.inject(lab, MS, "slow_restart", 0.8)
    assert _status(lab, RS)["connected"] is True  # both on plain HTTP
    a = adapter(lab, MS)
    job = a.start(_enable_argv("server", prepared[MS]), timeout=30)
    time.sleep(0.3)
    assert _status(lab, MS)["endpoints"] == []
    assert _status(lab, RS)["connected"] is False
    _wait(a, job)
    assert _status(lab, MS)["endpoints"][0]["port"] == 443


def test_a_job_past_its_time_limit_is_ended_and_fails_as_the_watchdog_says(lab, prepared):
    faults.inject(lab, MS, "slow_restart", 5)
    a = adapter(lab, MS)
    job = a.start(_enable_argv("server", prepared[MS]), timeout=0.3)
    time.sleep(0.5)
    with pytest.raises(AdapterError, match="time limit"):
        a.status(job)
    # the killed run changed nothing, and the next run is not refused as a stale instance
    assert not group_state(lab, MS, "server")["enabled"]
    faults.inject(lab, MS, "slow_restart", 0)
    assert enable(lab, MS, "server", prepared[MS]).rc == 0


def _parent_of(pid):
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[1])


def test_with_its_site_process_running_the_site_process_starts_the_run_not_the_caller(lab, prepared):
    """As on a real site the host starts the run: the caller sends one request and forks nothing."""
    started = site.start(lab.path)
    try:
        faults.inject(lab, MS, "slow_restart", 0.8)
        a = adapter(lab, MS)
        before = set(jobs._CHILDREN)  # runs earlier tests of this process forked, not yet reaped
        job = a.start(_enable_argv("server", prepared[MS]), timeout=30)
        assert not jobs._CHILDREN - before  # the caller forked nothing
        # The site process wrote the job's record before it confirmed the start.
        assert jobs.status(lab, MS, job)["finished"] == 0
        pid_file = jobs.job_path(lab, MS, job) + ".pid"
        deadline = time.monotonic() + 5
        while not os.path.exists(pid_file) and time.monotonic() < deadline:
            time.sleep(0.02)
        with open(pid_file, encoding="ascii") as fh:
            run = int(fh.read())
        assert _parent_of(run) == started["pid"]
        assert _wait(a, job).result.rc == 0
        assert group_state(lab, MS, "server")["enabled"]
    finally:
        site.stop(lab.path)


def test_a_run_that_outlives_its_site_process_keeps_none_of_its_ports(lab, prepared):
    site.start(lab.path)
    faults.inject(lab, MS, "slow_restart", 3)
    a = adapter(lab, MS)
    job = a.start(_enable_argv("server", prepared[MS]), timeout=30)
    site.stop(lab.path)
    try:
        assert site.start(lab.path)["changed"] is True  # the ports are free for the next site process
    finally:
        site.stop(lab.path)
    assert _wait(a, job).result.rc == 0


def test_the_spawner_refuses_what_is_not_a_start_request_of_its_site(lab, prepared):
    started = site.start(lab.path)
    try:
        job = {"argv": [CFG], "run_as": None, "jid": "j1"}
        bad = [b"not json", json.dumps({"host": MS}).encode()]
        bad += [
            json.dumps(dict(job, host="nobody.test", path="/tmp/x")).encode(),  # not a host of the site
            json.dumps(dict(job, host=MS, path="/tmp/elsewhere")).encode(),  # not the host's job record
        ]
        record = jobs.job_path(lab, MS, "j1")
        bad += [json.dumps(dict(job, host=MS, path=record, deadline=d)).encode() for d in ("soon", None)]
        for request in bad:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(10)
                sock.connect(jobs.spawner_address(lab.path, started["pid"]))
                sock.sendall(request + b"\n")
                assert sock.makefile("rb").readline().startswith(b"error: "), request
        assert not os.path.exists(os.path.join(lab.host_dir(MS), jobs.ASYNC_DIR, "j1"))
        # and it still serves a real request
        a = adapter(lab, MS)
        assert _wait(a, a.start(_enable_argv("server", prepared[MS]), timeout=30)).result.rc == 0
    finally:
        site.stop(lab.path)


def test_a_start_the_site_process_does_not_confirm_is_an_error_and_is_not_forked_again(lab, prepared, monkeypatch):
    site.start(lab.path)
    try:
        # a request the site process refuses: the caller says so and does not fork the run itself
        monkeypatch.setattr(jobs, "job_path", lambda site_, host, jid: os.path.join(str(lab.path), "elsewhere", jid))
        before = set(jobs._CHILDREN)
        with pytest.raises(AdapterError, match="did not confirm the start of job j[0-9]+ on " + MS):
            adapter(lab, MS).start(_enable_argv("server", prepared[MS]), timeout=30)
        assert not jobs._CHILDREN - before
    finally:
        site.stop(lab.path)


def test_status_of_an_unknown_job_is_an_error(lab):
    with pytest.raises(AdapterError, match="could not find job j42"):
        adapter(lab, MS).status("j42")
    with pytest.raises(AdapterError, match="not a job id"):
        adapter(lab, MS).status("../../etc/passwd")


def test_the_run_time_is_restart_seconds_with_jitter_never_below_zero():
    random.seed(18)
    draws = [programs.restart_delay({"restart_seconds": 20, "restart_jitter_seconds": 5}) for _draw in range(200)]
    assert 15 <= min(draws) < 16 and 24 < max(draws) <= 25
    assert programs.restart_delay({"restart_seconds": 0.1, "restart_jitter_seconds": 1}) >= 0
    assert programs.restart_delay({}) == 0
    assert programs.restart_delay({"restart_seconds": 2}) == 2


def test_the_jitter_is_a_checked_site_setting(tmp_path):
    path = str(tmp_path / "site")
    site.ensure_site(path, hosts=HOSTS, settings={"restart_seconds": 20, "restart_jitter_seconds": "5"})
    assert model.Site(path).settings["restart_jitter_seconds"] == 5
    with pytest.raises(model.LabError, match="settings.restart_jitter_seconds"):
        site.ensure_site(path, hosts=HOSTS, settings={"restart_jitter_seconds": -1})


# -- the switch's fan-out on a lab host (switch_flow.start, then collect) ---------------------------
def _switch_args(thumbprint, **extra):
    args = {
        "state": "enabled",
        "thumbprint": thumbprint,
        "readings": [],
        "configurator_path": None,
        "configurator": {},
        "override_markers": None,
        "stop_stale_configurator": False,
        "retries": 0,
        "retry_delay": 0,
        "settle_timeout": 10,
        "settle_interval": 0.05,
        "probe_timeout": 2,
        "port_offset": 0,
        "config_paths": {},
    }
    args.update(extra)
    return args


def _start(lab, host, args, check_mode=False):
    from ansible_collections.xprotect.encryption.plugins.plugin_utils import encryption_flow, switch_flow
    from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import RUNAS

    a = adapter(lab, host)
    ctx = encryption_flow.context(args, host, "127.0.0.1")
    started = switch_flow.start(
        a, ctx, ["management"], ["server"], args, check_mode=check_mode, become=RUNAS, diff=lambda *_args: None
    )
    return a, switch_flow, started


def test_the_fan_out_switches_a_lab_host_and_reads_it_back(lab, prepared):
    faults.inject(lab, MS, "slow_restart", 0.5)
    a, switch_flow, started = _start(lab, MS, _switch_args(prepared[MS]))
    assert started["job"]["id"].startswith("j") and not group_state(lab, MS, "server")["enabled"]
    result = switch_flow.collect(a, started)
    assert result["thumbprints"] == {"server": prepared[MS]}
    assert result["applied"] == [{"group": "Server certificate", "action": "enable", "exit_codes": [0]}]
    assert group_state(lab, MS, "server")["enabled"]


def test_check_mode_starts_nothing_on_a_lab_host(lab, prepared):
    a, switch_flow, started = _start(lab, MS, _switch_args(prepared[MS]), check_mode=True)
    assert "job" not in started and started["changed"] is True
    assert switch_flow.collect(a, started)["thumbprints"] == {"server": None}
    assert "start" not in a.call_log and not events(lab, "configurator_run", MS)


def test_a_lab_host_that_never_settles_fails_naming_it_and_the_state_it_shows(lab, prepared):
    # Server Configurator exits 0 and changes nothing: the read-back decides, as in the sync path
    faults.inject(lab, MS, "configurator_exit", 0, applied=False)
    a, switch_flow, started = _start(lab, MS, _switch_args(prepared[MS], settle_timeout=0.3))
    with pytest.raises(AdapterError) as raised:
        switch_flow.collect(a, started)
    assert raised.value.message.startswith(f"{MS}: ")
    assert raised.value.result["changed"] is True and raised.value.result["thumbprints"] == {"server": None}
    assert not group_state(lab, MS, "server")["enabled"]
