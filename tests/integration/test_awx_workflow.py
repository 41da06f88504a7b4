"""The AWX workflow "encryption rollout" node by node (issue 15, item 5), each node one
ansible-runner job, the recording servers' node as 3 slices at the same time on the parts of the
inventory AWX gives them. One lab site for the file, rolled out once by the module fixture:

1. the stage node, then the recording job launched alone, out of order (it must stop, switching nothing);
2. the workflow after its stage node: preflight, management, recording (3 slices), failover, mobile, verify;
3. those nodes again, which must change nothing.

The stage node is stage.yml, whose re-run is site.yml's (tests/integration/test_rollout.py holds a
second site.yml to changed=0); it runs once here, to keep this file within its time budget.
"""

from __future__ import annotations

import phase_order as plan  # tests/phase_order.py, the test oracle of the order
import pytest

from .awx_workflow import Workflow, changed, sliced_inventories
from .rollout_helpers import events, hosts_in, lab, status

# Small: one recording server per slice. Sorted by name (fo01, mgmt01, mob01, rs001-rs003), two of
# the three slices do not hold the management server.
SIZES = dict(recording_servers=3, failover_servers=1, mobile_servers=1, event_servers=0, clients=0)
ROLES = ("management", "recording", "failover", "mobile")


@pytest.fixture(scope="module")
def rollout(tmp_path_factory):
    pytest.importorskip("ansible_runner")
    root = tmp_path_factory.mktemp("awx-workflow")
    site = root / "site"
    lab(site, **SIZES)
    try:
        flow = Workflow(site, root / "jobs")
        stage = flow.job("stage", site / "inventory.yml", {"awx_workflow_job_id": 90})
        assert stage.status == "successful", stage.stdout.read()[-3000:]
        # Out of order: the recording servers' job before the management server's.
        mark = len(events(site))
        alone = flow.job("recording", site / "inventory.yml", {"awx_workflow_job_id": 91}, "recording-alone")
        alone_events = events(site)[mark:]
        mark = len(events(site))
        first = flow.run(stage=False)
        first_events = events(site)[mark:]
        again = flow.run(stage=False)
        yield {
            "site": site,
            "alone": alone,
            "alone_events": alone_events,
            "first": first,
            "first_events": first_events,
            "again": again,
            "roles": {r: hosts_in(site, f"xprotect_{r}_servers") for r in ROLES},
        }
    finally:
        lab(site, state="absent")


def _switches(evts):
    return [e for e in evts if e["event"] in ("encryption_enabled", "encryption_disabled")]


def test_a_phase_job_launched_out_of_order_stops_and_switches_nothing(rollout):
    alone = rollout["alone"]
    out = alone.stdout.read()
    assert alone.status == "failed"
    assert _switches(rollout["alone_events"]) == []
    assert "Refusing to enable encryption on" in out and "is plain" in out
    assert "Switch the management server first" in out
    # It stopped before taking the site lock, so nothing is left held.
    assert "Lock | take the site lock" not in out


def test_the_slices_are_the_parts_awx_gives_and_run_at_the_same_time(rollout, tmp_path):
    site = rollout["site"]
    slices = [s for s in rollout["first"] if s.node == "recording"]
    assert len(slices) == 3 and all(s.status == "successful" for s in slices)
    # Disjoint, and together every recording server: hosts[i::3] of the inventory sorted by name.
    parts = [set(hosts) for hosts in (_slice_hosts(p) for p in sliced_inventories(site, tmp_path, 3))]
    assert set.union(*parts) >= set(rollout["roles"]["recording"])
    assert all(not (a & b) for i, a in enumerate(parts) for b in parts[i + 1 :])
    # Most slices do not hold the management server: their order guard found it from xprotect_management_server.
    assert sum(rollout["roles"]["management"][0] in p for p in parts) == 1
    # At the same time: each slice started before any other had ended (they shared the site lock).
    assert max(s.started for s in slices) < min(s.ended for s in slices)


def _slice_hosts(path):
    import yaml

    data = yaml.safe_load(path.read_text())["all"]["children"]
    return sorted({h for g in data.values() for h in (g.get("hosts") or {})})


def test_the_workflow_switches_in_the_order_of_the_facts(rollout):
    evts = rollout["first_events"]
    assert all(j.status == "successful" for j in rollout["first"]), [(j.node, j.status) for j in rollout["first"]]
    assert plan.check_order(evts, rollout["roles"]) == []
    enabled = {
        r: [e["ts"] for e in evts if e["event"] == "encryption_enabled" and e["host"] in hosts]
        for r, hosts in rollout["roles"].items()
    }
    assert all(enabled.values()), enabled
    # management before every recording server, every recording server before failover, before mobile
    assert max(enabled["management"]) < min(enabled["recording"])
    assert max(enabled["recording"]) < min(enabled["failover"])
    assert max(enabled["failover"]) < min(enabled["mobile"])


def test_the_site_converges_with_real_tls(rollout):
    verify = rollout["first"][-1]
    assert verify.node == "verify" and verify.status == "successful"
    hosts = status(rollout["site"])
    for rs in rollout["roles"]["recording"] + rollout["roles"]["failover"]:
        assert hosts[rs]["connected"], rs
    # The verify job's gate shook hands with every endpoint, verified by the site CA.
    gate = "Gate | TLS handshake on every endpoint of this phase"
    probes = [e for e in verify.events if e.get("event") == "runner_on_ok" and e["event_data"].get("task") == gate]
    assert probes, "the verify job made no TLS handshake"
    endpoints = probes[0]["event_data"]["res"]["endpoints"]
    assert endpoints and all(ep["tls"] and ep["verified"] for ep in endpoints)
    # Every job of the workflow gave the site lock back.
    assert not list(rollout["site"].glob("hosts/*/fs/C/ProgramData/Milestone/xprotect-encryption.lock"))


def test_a_second_run_of_the_workflow_changes_nothing(rollout):
    again = rollout["again"]
    assert [j.node for j in again] == [j.node for j in rollout["first"]]
    assert all(j.status == "successful" for j in again), [(j.node, j.status) for j in again]
    assert {j.node + str(i): changed(j) for i, j in enumerate(again) if changed(j)} == {}
