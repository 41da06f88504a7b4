"""The inventory must cover the site: the preflight compares it with the management server's REST API.

Each test has its own lab site (1 management, 2 recording, 1 failover server). A mistake in the
inventory stops the run in the preflight gate, before the management server switches, naming the
servers; the exclusion list and the skip setting are the only ways past.
"""

from __future__ import annotations

import json

import pytest
import yaml

from .rollout_helpers import BIN, REPO, events, lab_site, run, status

pytestmark = pytest.mark.integration

SIZE = dict(recording_servers=2, failover_servers=1, mobile_servers=0, event_servers=0, clients=0)
MS_GROUP, RS_GROUP = "xprotect_management_servers", "xprotect_recording_servers"


@pytest.fixture
def site(tmp_path):
    with lab_site(tmp_path / "site", **SIZE) as path:
        yield path


def edited_inventory(site, tmp_path, edit):
    data = yaml.safe_load((site / "inventory.yml").read_text())
    edit(data["all"])
    path = tmp_path / "edited.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run_site(inventory, *args, extra=None):
    argv = [str(BIN / "ansible-playbook"), "-i", str(inventory)]
    if extra:
        argv += ["-e", json.dumps(extra)]
    return run([*argv, str(REPO / "playbooks" / "site.yml"), *args], check=False)


def switched(site):
    return [e for e in events(site) if e["event"] == "encryption_enabled"]


def text(proc):
    return " ".join((proc.stdout + proc.stderr).split())


def test_wrong_group_name_stops_before_the_management_server_switches(site, tmp_path):
    def rename(inv):
        inv["children"]["recording_servers"] = inv["children"].pop(RS_GROUP)

    recording = sorted(yaml.safe_load((site / "inventory.yml").read_text())["all"]["children"][RS_GROUP]["hosts"])
    proc = run_site(edited_inventory(site, tmp_path, rename))
    out = text(proc)
    assert proc.returncode != 0
    assert f"not in group {RS_GROUP}: {', '.join(recording)}" in out
    assert f"group {RS_GROUP} is empty (the inventory has recording_servers: rename it to {RS_GROUP})" in out
    assert "Nothing was switched" in out and "Traceback" not in out
    assert switched(site) == []
    # The run stopped before any switch: it gave the site lock back.
    assert list(site.glob("hosts/*/fs/**/xprotect-encryption.lock")) == []


def test_a_recording_server_left_out_is_named_then_excluded_on_purpose(site, tmp_path):
    rs = sorted(yaml.safe_load((site / "inventory.yml").read_text())["all"]["children"][RS_GROUP]["hosts"])
    kept, dropped = rs[0], rs[1]

    def drop(inv):
        hosts = inv["children"][RS_GROUP]["hosts"]
        hosts.pop(dropped)

    inventory = edited_inventory(site, tmp_path, drop)
    proc = run_site(inventory)
    out = text(proc)
    assert proc.returncode != 0
    finding = out.split("The inventory does not cover the site: ", 1)[1].split(" Nothing was switched", 1)[0]
    assert finding == f"the management server knows recording servers that are not in group {RS_GROUP}: {dropped}."
    assert switched(site) == []

    # The same inventory with the server named in the exclusion list: the rollout goes on, and says so.
    proc = run_site(inventory, extra={"xprotect_inventory_exclude": [dropped]})
    out = text(proc)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert f"excluded (xprotect_inventory_exclude: {dropped})" in out
    assert f"Excluded from the inventory check: {dropped}" in out.split("Phase 7: summary", 1)[1]
    st = status(site)
    assert st[kept]["connected"] is True
    assert st[dropped]["connected"] is False  # the price of the exclusion, which the operator chose
    assert {e["host"] for e in switched(site)} >= {kept}
    assert dropped not in {e["host"] for e in switched(site)}


def test_an_unreadable_api_stops_and_says_so_unless_the_check_is_skipped(site, tmp_path):
    inventory = site / "inventory.yml"
    api = yaml.safe_load(inventory.read_text())["all"]["vars"]["xprotect_inventory_api"]
    closed = dict(api, url=["http://127.0.0.1:9"])
    proc = run_site(inventory, extra={"xprotect_inventory_api": closed})
    out = text(proc)
    assert proc.returncode != 0
    assert "Cannot read the Management Server REST API, so the inventory cannot be compared with the site" in out
    assert "Connection to http://127.0.0.1:9/API/IDP/connect/token refused" in out
    assert "xprotect_inventory_check: false" in out and "Traceback" not in out
    assert switched(site) == []

    proc = run_site(inventory, extra={"xprotect_inventory_api": closed, "xprotect_inventory_check": False})
    assert proc.returncode == 0, proc.stdout[-3000:]
    st = status(site)
    for host, state in st.items():
        if "recording" in state.get("roles", []) or "failover" in state.get("roles", []):
            assert state["connected"] is True, host
