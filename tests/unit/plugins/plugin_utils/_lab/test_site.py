# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Site planning, creation, inventory writing, lab_site's states and its bad input."""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import socket
import stat
import time

import pytest
import yaml
from lab_helpers import HOSTS, MS, RS

from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import model, site


def test_plan_from_counts_names_hosts_by_role():
    hosts = site.plan_hosts({"recording_servers": 2, "clients": 1, "event_servers": 1})
    assert [h["name"] for h in hosts] == [
        "mgmt01.lab.xprotect.test",
        "rs001.lab.xprotect.test",
        "rs002.lab.xprotect.test",
        "fo01.lab.xprotect.test",
        "mob01.lab.xprotect.test",
        "ev01.lab.xprotect.test",
        "cl01.lab.xprotect.test",
    ]
    assert (
        site.plan_hosts({"recording_servers": 1200, "failover_servers": 0, "mobile_servers": 0, "clients": 0})[-1][
            "name"
        ]
        == "rs1200.lab.xprotect.test"
    )


@pytest.mark.parametrize(
    "counts, hosts, option, match",
    [
        ({"management_servers": 0}, None, "management_servers", "at least 1"),
        ({"recording_servers": -1}, None, "recording_servers", "whole number"),
        ({"clients": "many"}, None, "clients", "whole number"),
        (None, [{"name": "a", "roles": ["recording"]}], "hosts", "management role"),
        (None, [{"name": "a", "roles": ["boss"]}], "hosts", "boss is not one"),
        (None, [{"name": "a"}], "hosts", "non-empty list"),
        (None, [{"roles": ["management"]}], "hosts", "needs a name"),
        (None, [{"name": "bad_name!", "roles": ["management"]}], "hosts", "not a valid host name"),
        (None, [{"name": "a", "roles": ["management"]}, {"name": "A", "roles": ["client"]}], "hosts", "twice"),
    ],
)
def test_plan_bad_input(counts, hosts, option, match):
    with pytest.raises(model.LabError, match=match) as info:
        site.plan_hosts(counts, hosts)
    assert info.value.option == option


def test_explicit_hosts_get_the_domain_and_sorted_roles():
    hosts = site.plan_hosts(hosts=[{"name": "vms01", "roles": "recording,management"}], domain="corp.test")
    assert hosts == [{"name": "vms01.corp.test", "roles": ["management", "recording"]}]


def test_default_range_is_stable_per_path_and_avoids_127_0_0_1():
    a = site.default_address_range("/x/site", 273)
    assert a == site.default_address_range("/x/site", 273)
    assert a != site.default_address_range("/y/site", 273)
    for i in range(200):
        net = ipaddress.IPv4Network(site.default_address_range(f"/p{i}", 10))
        assert net.prefixlen == 20 and net.subnet_of(ipaddress.IPv4Network("127.0.0.0/8"))
        assert ipaddress.IPv4Address("127.0.0.1") not in net
    assert site.default_address_range("/x", 5000).endswith("/16")


def test_assign_addresses_keeps_existing_and_skips_0_and_255():
    out = site.assign_addresses("127.9.0.0/23", [f"h{i}" for i in range(300)], {"h5": "127.9.1.200"})
    assert out["h5"] == "127.9.1.200"
    assert len(set(out.values())) == 300
    assert all(0 < int(a.rsplit(".", 1)[1]) < 255 for a in out.values())
    with pytest.raises(model.LabError, match="no room"):
        site.assign_addresses("127.9.0.0/30", ["a", "b", "c", "d"], {})
    with pytest.raises(model.LabError, match="outside 127.0.0.0/8"):
        site.assign_addresses("10.0.0.0/24", ["a"], {})
    with pytest.raises(model.LabError, match="not a network"):
        site.parse_range("nonsense")
    assert site.assign_addresses("127.0.0.1/32", ["a", "b"], {}) == {"a": "127.0.0.1", "b": "127.0.0.1"}


def test_ensure_site_is_idempotent_and_keeps_host_state(tmp_path):
    path = str(tmp_path / "site")
    first = site.ensure_site(path, counts={"recording_servers": 2}, port_offset=10000)
    assert first["changed"] and first["created"]
    again = site.ensure_site(path, counts={"recording_servers": 2})
    assert not again["changed"]
    assert not site.ensure_site(path)["changed"]  # no counts: keeps what it has
    lab = model.Site(path)
    with lab.transaction("rs001.lab.xprotect.test") as tx:
        tx.state["faults"]["marker"] = True
        tx.touch()
    grown = site.ensure_site(path, counts={"recording_servers": 3})
    assert grown["changed"] and grown["added"] == ["rs003.lab.xprotect.test"] and not grown["removed"]
    lab = model.Site(path)
    assert lab.read_state("rs001.lab.xprotect.test")["faults"]["marker"] is True
    assert lab.spec["port_offset"] == 10000  # kept
    assert len(lab.hosts) == 8  # the other counts were kept too
    shrunk = site.ensure_site(path, counts={"recording_servers": 1, "clients": 0})
    assert shrunk["removed"] == [
        "rs002.lab.xprotect.test",
        "rs003.lab.xprotect.test",
        "cl01.lab.xprotect.test",
        "cl02.lab.xprotect.test",
    ]
    assert not os.path.exists(os.path.join(path, "hosts", "rs002.lab.xprotect.test"))
    kinds = [e["event"] for e in model.Site(path).events()]
    assert kinds.count("site_created") == 1 and kinds.count("site_changed") == 2


def test_roles_of_a_host_can_change(tmp_path):
    path = str(tmp_path / "site")
    site.ensure_site(path, hosts=[{"name": "a", "roles": ["management"]}, {"name": "b", "roles": ["client"]}])
    r = site.ensure_site(path, hosts=[{"name": "a", "roles": ["management"]}, {"name": "b", "roles": ["recording"]}])
    assert r["updated"] == ["b.lab.xprotect.test"]
    state = model.Site(path).read_state("b.lab.xprotect.test")
    assert set(state["encryption"]) == {"server", "streaming"} and state["configurator"]["installed"]


def test_check_mode_changes_nothing(tmp_path):
    path = str(tmp_path / "site")
    r = site.apply(path, {"state": "started", "recording_servers": 1}, check_mode=True)
    assert r["changed"] and not os.path.exists(path)
    site.ensure_site(path, counts={"recording_servers": 1})
    r = site.apply(path, {"state": "present", "recording_servers": 2}, check_mode=True)
    assert r["changed"] and len(model.Site(path).hosts) == 6


def test_unknown_settings_and_bad_offset_are_refused(tmp_path):
    with pytest.raises(model.LabError, match="unknown lab setting") as info:
        site.ensure_site(str(tmp_path / "s"), settings={"follow_refusal_exitcode": 1})
    assert info.value.option == "settings"
    with pytest.raises(model.LabError) as info:
        site.ensure_site(str(tmp_path / "s"), port_offset=70000)
    assert info.value.option == "port_offset"
    assert not os.path.exists(tmp_path / "s")


def test_a_folder_with_something_else_is_refused(tmp_path):
    (tmp_path / "mine.txt").write_text("precious")
    for state in ("present", "started", "absent", "stopped", "status"):
        with pytest.raises(model.LabError) as info:
            site.apply(str(tmp_path), {"state": state})
        assert info.value.option == "path"
    assert os.listdir(tmp_path) == ["mine.txt"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(model.LabError, match="is a file"):
        site.ensure_site(str(tmp_path / "file"))


def test_absent_removes_only_what_the_lab_made(tmp_path):
    path = tmp_path / "site"
    site.ensure_site(str(path), counts={"recording_servers": 1})
    (path / "notes.txt").write_text("mine")
    assert site.apply(str(path), {"state": "absent"})["changed"]
    assert os.listdir(path) == ["notes.txt"]
    assert os.path.exists(tmp_path / "pki" / "passphrase")  # the rollout's PKI folder is not ours to remove
    with pytest.raises(model.LabError, match="something other than a lab site"):
        site.apply(str(path), {"state": "absent"})  # what is left is not ours
    os.unlink(path / "notes.txt")
    site.ensure_site(str(path))
    site.destroy(str(path))
    assert not os.path.exists(path)
    assert not site.apply(str(tmp_path / "never"), {"state": "absent"})["changed"]


def test_passphrase_is_made_once_with_mode_0600(tmp_path):
    site.ensure_site(str(tmp_path / "site"))
    pf = tmp_path / "pki" / "passphrase"
    assert stat.S_IMODE(os.stat(pf).st_mode) == 0o600 and len(pf.read_text()) >= 32
    pf.write_text("kept")
    site.ensure_site(str(tmp_path / "site"), counts={"clients": 1})
    assert pf.read_text() == "kept"
    assert not os.path.exists(tmp_path / "pki" / "ca.crt")  # the CA is the rollout's job


def test_inventory_follows_the_contract(tmp_path):
    path = tmp_path / "site"
    site.ensure_site(
        str(path), hosts=[*HOSTS, {"name": "combo", "roles": ["management", "recording"]}], port_offset=10000
    )
    inv = yaml.safe_load((path / "inventory.yml").read_text())
    groups = inv["all"]["children"]
    assert set(groups) == set(site.INVENTORY_GROUPS.values())
    assert groups["xprotect_event_servers"]["hosts"] == {
        "ev01.lab.xprotect.test": groups["xprotect_event_servers"]["hosts"]["ev01.lab.xprotect.test"]
    }
    avars = inv["all"]["vars"]
    assert avars["xprotect_port_offset"] == 10000
    assert avars["xprotect_ca_path"] == str(tmp_path / "pki")
    assert avars["xprotect_ca_passphrase"] == "{{ lookup('ansible.builtin.file', '%s') }}" % (
        tmp_path / "pki" / "passphrase"
    )
    assert "ansible_become" not in avars  # per host, so that implicit localhost does not inherit runas
    ms = groups["xprotect_management_servers"]["hosts"][MS]
    assert ms["ansible_connection"] == "local" and ms["xprotect_host_adapter"] == "lab"
    assert ms["ansible_python_interpreter"] == "{{ ansible_playbook_python }}"
    assert ms["xprotect_lab_site"] == str(path) and ms["xprotect_fqdn"] == MS
    assert ms["ansible_become"] is True and ms["ansible_become_method"] == "runas"
    assert ms["ansible_become_user"] == "LAB\\milestone-admin"
    assert ms["xprotect_lab_ports"] == {80: 10080, 443: 10443}
    assert ipaddress.IPv4Address(ms["ansible_host"]).is_loopback
    # a host in two groups carries its variables once
    assert (
        groups["xprotect_recording_servers"]["hosts"]["combo.lab.xprotect.test"] is None
        or groups["xprotect_recording_servers"]["hosts"]["combo.lab.xprotect.test"] == {}
    )
    xp = yaml.safe_load((path / "site.xprotect.yml").read_text())
    assert xp["plugin"] == "xprotect.encryption.xprotect"
    assert xp["url"] == f"http://{ms['ansible_host']}:10080"
    assert xp["username"] == "lab-admin" and xp["password"] == model.Site(str(path)).spec["api"]["password"]
    # Written before the CA exists: HTTPS with the site CA first once ca.crt is there, then url.
    assert xp["https_url"] == f"https://{ms['ansible_host']}:10443"
    assert xp["tls_server_name"] == MS
    assert xp["ca_path"] == os.path.join(model.Site(str(path)).pki_dir, "ca.crt")
    assert not os.path.exists(xp["ca_path"])
    assert stat.S_IMODE(os.stat(path / "site.xprotect.yml").st_mode) == 0o600


def test_site_json_holds_the_api_secrets_and_is_the_owners_only(tmp_path):
    path = tmp_path / "site"
    site.ensure_site(str(path), port_offset=0)
    spec = json.loads((path / "site.json").read_text())
    assert spec["api"]["password"] and spec["api"]["token_secret"]
    assert stat.S_IMODE(os.stat(path / "site.json").st_mode) == 0o600
    # A site written world-readable (by an earlier version) is tightened by the next run,
    # even one that changes nothing else.
    os.chmod(path / "site.json", 0o644)
    assert site.ensure_site(str(path))["changed"] is False
    assert stat.S_IMODE(os.stat(path / "site.json").st_mode) == 0o600
    # A change rewrites it atomically with the same mode (no temporary file left behind).
    assert site.ensure_site(str(path), counts={"clients": 3})["changed"] is True
    assert stat.S_IMODE(os.stat(path / "site.json").st_mode) == 0o600
    assert not [p.name for p in path.iterdir() if p.name.startswith(".site.json.")]


def test_site_xprotect_gets_ca_path_once_the_ca_exists(tmp_path, ca):
    from lab_helpers import write_pki

    path = tmp_path / "site"
    site.ensure_site(str(path), port_offset=0)
    write_pki(tmp_path / "pki", ca)
    site.apply(str(path), {"state": "present"})
    xp = yaml.safe_load((path / "site.xprotect.yml").read_text())
    assert xp["ca_path"] == str(tmp_path / "pki" / "ca.crt")
    ms = model.Site(str(path)).by_name["mgmt01.lab.xprotect.test"]["address"]
    assert xp["url"] == f"http://{ms}"  # port 80: the default, not written


def test_api_records_for_the_rest_handler(lab):
    records = site.api_records(lab)
    by = {r["name"]: r for r in records}
    assert by[RS]["failover_group"] == "Failover group 1" == by["fo01.lab.xprotect.test"]["failover_group"]
    assert by[MS]["failover_group"] is None and by[RS]["enabled"] is True and by[RS]["hot_standby"] is None
    assert by[RS]["id"] == lab.by_name[RS]["id"]
    assert site.api_settings(lab)["api_user"] == "lab-admin"


def test_check_ports_names_the_busy_address(tmp_path):
    path = str(tmp_path / "site")
    site.ensure_site(path, hosts=[{"name": "m", "roles": ["management"]}], port_offset=12000)
    lab = model.Site(path)
    address = lab.hosts[0]["address"]
    with socket.socket() as s:
        s.bind((address, 12080))
        s.listen()
        busy = site.check_ports(lab)
        assert busy == [f"{address}:12080 (m.lab.xprotect.test, in use)"]
        with pytest.raises(model.LabError, match=f"{address}:12080") as info:
            site.start(path)
        assert info.value.option == "port_offset"
    assert site.check_ports(lab) == []


def test_a_port_in_use_on_a_new_site_leaves_nothing(tmp_path):
    path = tmp_path / "site"
    rng = site.default_address_range(str(path), 1)
    address = str(ipaddress.IPv4Network(rng).network_address + 1)
    with socket.socket() as s:
        s.bind((address, 12080))
        s.listen()
        with pytest.raises(model.LabError, match="cannot be bound"):
            site.apply(
                str(path), {"state": "started", "hosts": [{"name": "m", "roles": ["management"]}], "port_offset": 12000}
            )
    assert not path.exists()


def test_status_of_a_missing_site(tmp_path):
    with pytest.raises(model.LabError, match="There is no lab site"):
        site.apply(str(tmp_path / "none"), {"state": "status"})


def test_start_stop_status_with_the_real_process(tmp_path):
    path = str(tmp_path / "site")
    r = site.apply(
        path,
        {
            "state": "started",
            "hosts": [{"name": "m", "roles": ["management"]}, {"name": "r", "roles": ["recording"]}],
            "port_offset": 13000,
        },
    )
    try:
        pid = r["pid"]
        assert r["changed"] and r["running"] and model.pid_alive(pid)
        assert site.running_pid(path) == pid
        assert not site.apply(path, {"state": "started"})["changed"]
        st = site.apply(path, {"state": "status"})
        assert st["running"] and st["status"]["ready"] and st["status"]["pid"] == pid
        ms = st["status"]["hosts"]["m.lab.xprotect.test"]
        assert ms["endpoints"][0]["listening"] and ms["endpoints"][0]["port"] == 13080
        with socket.create_connection((ms["address"], 13080), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: m\r\n\r\n")
            reply = s.recv(4096)
        assert reply.startswith(b"HTTP/1.1 200 OK") and b'"endpoint": "management"' in reply
        assert site.apply(path, {"state": "stopped"})["changed"]
    finally:
        site.stop(path)
    assert not model.pid_alive(pid)
    assert not site.apply(path, {"state": "stopped"})["changed"]
    assert not os.path.exists(os.path.join(path, "server.pid"))
    kinds = [e["event"] for e in model.Site(path).events()]
    assert "site_started" in kinds and "site_stopped" in kinds
    status = json.loads(open(os.path.join(path, "status.json")).read())
    assert status["ready"] is False


def test_a_killed_site_process_is_not_reported_ready(tmp_path):
    """kill -9 leaves status.json saying ready with a dead pid; readers check the pid."""
    path = str(tmp_path / "site")
    r = site.apply(path, {"state": "started", "hosts": [{"name": "m", "roles": ["management"]}], "port_offset": 15000})
    pid = r["pid"]
    try:
        assert site.read_status(path)["ready"] is True
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while model.pid_alive(pid) and time.monotonic() < deadline:
            site._reap(pid)
            time.sleep(0.02)
        stale = json.loads(open(os.path.join(path, "status.json")).read())
        assert stale["ready"] is True and stale["pid"] == pid  # what the killed process left
        checked = site.read_status(path)
        assert checked["ready"] is False and checked["pid"] is None
        assert f"pid {pid}" in checked["error"] and "state=started" in checked["error"]
        # The file itself now tells the truth, and so does lab_site state=status.
        assert json.loads(open(os.path.join(path, "status.json")).read())["ready"] is False
        assert not os.path.exists(os.path.join(path, "server.pid"))
        st = site.apply(path, {"state": "status"})
        assert st["running"] is False and st["status"]["ready"] is False
        # It starts again.
        again = site.apply(path, {"state": "started"})
        assert again["changed"] and again["pid"] != pid and site.read_status(path)["ready"] is True
    finally:
        site.stop(path)
    assert site.read_status(path)["ready"] is False


def test_changing_a_running_site_restarts_it(tmp_path):
    path = str(tmp_path / "site")
    first = site.apply(
        path, {"state": "started", "hosts": [{"name": "m", "roles": ["management"]}], "port_offset": 14000}
    )
    try:
        second = site.apply(
            path,
            {"state": "started", "hosts": [{"name": "m", "roles": ["management"]}, {"name": "c", "roles": ["client"]}]},
        )
        assert second["changed"] and second["pid"] != first["pid"] and second["running"]
        third = site.apply(path, {"state": "present", "hosts": [{"name": "m", "roles": ["management"]}]})
        assert not third["running"] and "warning" in third
    finally:
        site.destroy(path)
    assert not model.pid_alive(first["pid"])


def test_collections_root_is_the_unresolved_folder():
    root = site.collections_root()
    assert os.path.isdir(os.path.join(root, "ansible_collections", "xprotect", "encryption", "plugins"))


def test_settings_are_checked_and_normalised(tmp_path):
    path = str(tmp_path / "s")
    site.ensure_site(path, settings={"restart_seconds": "1.5", "renewal_pickup": "no", "not_in_store_exit_code": "-3"})
    assert model.Site(path).spec["settings"] == {
        "restart_seconds": 1.5,
        "renewal_pickup": False,
        "not_in_store_exit_code": -3,
    }
    for bad in ({"restart_seconds": float("nan")}, {"connectivity_poll_seconds": -1}, {"restart_seconds": 1e20}):
        with pytest.raises(model.LabError, match=r"settings\.\w+_seconds: .* is not allowed") as e:
            site.ensure_site(path, settings=bad)
        assert e.value.option == "settings"
    assert model.Site(path).spec["settings"]["restart_seconds"] == 1.5  # refused input changed nothing
