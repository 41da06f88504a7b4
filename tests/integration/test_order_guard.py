"""Order enforced by observed state, and what a failed phase 4 leaves: real runs on lab sites.

Each test has a site of its own. The lab's status.json is the judge of "connected".
"""

from __future__ import annotations

import pytest

from .rollout_helpers import events, fault, hosts_in, lab, playbook, status

pytestmark = pytest.mark.integration


@pytest.fixture
def site(tmp_path):
    path = tmp_path / "site"
    lab(path, recording_servers=2, failover_servers=1, mobile_servers=0, event_servers=0, clients=0)
    yield path
    lab(path, state="absent")


def _switches(site, kind="encryption_enabled"):
    return [e for e in events(site) if e["event"] == kind and not e.get("fault")]


def _server_group_on(site, host):
    return bool(((status(site)[host].get("encryption") or {}).get("Server certificate") or {}).get("enabled"))


def test_recording_servers_limited_away_from_a_plain_management_server_refuse(site):
    # Staged days before, as the runbook says; then a job for the recording servers only. It
    # stops before any switch: the preflight gate needs every server checked in the same run,
    # and the order guard would refuse behind it (the management server is plain).
    playbook("stage.yml", site)
    ms = hosts_in(site, "xprotect_management_servers")[0]
    rs = hosts_in(site, "xprotect_recording_servers")
    proc = playbook("site.yml", site, "--limit", "localhost,xprotect_recording_servers", check=False)
    assert proc.returncode != 0
    assert _switches(site) == []
    out = proc.stdout
    assert f"Preflight failed on {ms}" in out and "--limit left it out" in out
    assert "Traceback" not in out + proc.stderr
    st = status(site)
    assert all(st[h]["connected"] is True for h in rs)


def test_rollback_of_recording_servers_refuses_while_the_management_server_is_encrypted(site):
    playbook("site.yml", site)
    ms = hosts_in(site, "xprotect_management_servers")[0]
    rs = hosts_in(site, "xprotect_recording_servers")
    proc = playbook("rollback.yml", site, "--limit", "localhost,xprotect_recording_servers", check=False)
    assert proc.returncode != 0
    assert _switches(site, "encryption_disabled") == []
    assert f"Refusing to switch encryption off on {', '.join(rs)}" in proc.stdout
    assert f"{ms} is encrypted" in proc.stdout and "rollback.yml" in proc.stdout
    st = status(site)
    assert all(st[h]["connected"] is True and _server_group_on(site, h) for h in rs)


def test_stop_lists_the_disconnected_servers_and_the_next_command(site):
    rs = hosts_in(site, "xprotect_recording_servers")
    fo = hosts_in(site, "xprotect_failover_servers")
    fault(site, rs[1], "configurator_exit", -1)
    proc = playbook("site.yml", site, check=False)
    assert proc.returncode != 0
    out = proc.stdout
    assert "Phase 4 stopped: 1 recording server(s) did not switch: " + rs[1] in out
    assert f"until they switch: {rs[1]}, {fo[0]}." in out
    assert f"Next: fix the cause on {rs[1]}, then run: ansible-playbook -i {site / 'inventory.yml'}" in out
    assert "playbooks/rollback.yml" in out
    st = status(site)
    # The site is left as the summary says: rs[1] and the failover server cut off, rs[0] connected.
    assert st[rs[0]]["connected"] is True
    assert st[rs[1]]["connected"] is False and st[fo[0]]["connected"] is False
    assert [e for e in _switches(site) if e["host"] == fo[0]] == []


def _revert_after_a_failed_recording_server(site):
    """site.yml with revert_management in batches of one: rs[0] switches in the first batch, rs[1]
    fails in the second; both are put back. Returns the management server, the recording servers
    and the run."""
    ms = hosts_in(site, "xprotect_management_servers")[0]
    rs = hosts_in(site, "xprotect_recording_servers")
    fault(site, rs[1], "configurator_exit", -1)
    extra = {"xprotect_recording_failure": "revert_management", "xprotect_recording_batch": 1}
    proc = playbook("site.yml", site, check=False, extra=extra)
    assert proc.returncode != 0
    assert "revert_management: switching back what this run switched, management server first" in proc.stdout
    assert f"{rs[1]} did not switch" in proc.stdout
    return ms, rs, proc


def test_revert_management_leaves_every_recording_server_connected(site):
    ms, rs, _proc = _revert_after_a_failed_recording_server(site)
    fo = hosts_in(site, "xprotect_failover_servers")
    st = status(site)
    for host in rs + fo:
        assert st[host]["connected"] is True, host
        assert not _server_group_on(site, host), host
    assert not _server_group_on(site, ms)
    assert not any(e.get("tls") for e in st[ms]["endpoints"])
    # The management server went back before the recording server it had switched.
    off = {e["host"]: e["ts"] for e in _switches(site, "encryption_disabled")}
    assert off[ms] < off[rs[0]]
    assert [e for e in _switches(site) if e["host"] == fo[0]] == []


def test_with_services_slow_to_come_back_the_gates_and_the_put_back_wait_for_them(tmp_path):
    # After each Server Configurator run the host's ports stay closed for 2 s (services still
    # starting). The management server's gate waits for TLS, so phase 4 starts; after the failed
    # recording server, the put-back waits for the management server to answer plain HTTP again
    # before it switches the recording server back (it used to refuse, leaving rs[0] cut off).
    site = tmp_path / "site"
    lab(
        site,
        recording_servers=2,
        failover_servers=1,
        mobile_servers=0,
        event_servers=0,
        clients=0,
        settings={"endpoint_return_seconds": 2},
    )
    try:
        ms, rs, proc = _revert_after_a_failed_recording_server(site)
        assert "Put back to plain HTTP: " in proc.stdout
        assert "Refusing to switch encryption off" not in proc.stdout
        off = {e["host"]: e["ts"] for e in _switches(site, "encryption_disabled")}
        assert off[ms] < off[rs[0]]
        st = status(site)
        assert all(st[host]["connected"] for host in rs + hosts_in(site, "xprotect_failover_servers"))
        assert not any(e.get("tls") for e in st[ms]["endpoints"])
    finally:
        lab(site, state="absent")


def test_an_unreachable_recording_server_does_not_keep_the_failover_servers_cut_off(site):
    rs = hosts_in(site, "xprotect_recording_servers")
    fo = hosts_in(site, "xprotect_failover_servers")
    fault(site, rs[0], "unreachable")
    blocked = playbook("site.yml", site, check=False)
    assert blocked.returncode != 0 and _switches(site) == []
    assert "xprotect_unreachable_recording_servers=continue" in blocked.stdout

    proc = playbook("site.yml", site, check=False, extra={"xprotect_unreachable_recording_servers": "continue"})
    assert proc.returncode != 0  # a host did not answer
    switched = {e["host"] for e in _switches(site)}
    assert fo[0] in switched and rs[1] in switched and rs[0] not in switched
    assert f"Not switched, did not answer: {rs[0]}" in proc.stdout
    st = status(site)
    assert st[fo[0]]["connected"] is True and st[rs[1]]["connected"] is True
