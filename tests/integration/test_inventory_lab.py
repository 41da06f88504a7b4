# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: the inventory plugin against a running lab site's Management Server REST API.

A small site is created and started with ``playbooks/lab.yml``; its ``site.xprotect.yml`` points
the plugin at the lab's REST API. ``ansible-inventory`` must then list exactly the site's
recording and failover servers (as the lab's own ``inventory.yml`` has them) in the right groups.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LAB_PLAYBOOK = REPO / "playbooks" / "lab.yml"
SITE_SIZE = {"lab_recording_servers": 4, "lab_failover_servers": 2, "lab_mobile_servers": 1, "lab_clients": 1}
CONTRACT = ("xprotect_recording_servers", "xprotect_failover_servers")


def run(*args, check=True, env=None):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("XPROTECT_")}
    full_env.update(ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", **(env or {}))
    proc = subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if check:
        assert proc.returncode == 0, f"{' '.join(args)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def lab(site, state):
    extra = [f"-e{k}={v}" for k, v in SITE_SIZE.items()]
    return run("ansible-playbook", str(LAB_PLAYBOOK), f"-elab_path={site}", f"-elab_state={state}", *extra)


def groups_of(source):
    data = json.loads(run("ansible-inventory", "-i", str(source), "--list").stdout)
    return data, {name: sorted(body.get("hosts", [])) for name, body in data.items() if name != "_meta"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    path = tmp_path_factory.mktemp("inventory-lab") / "site"
    lab(path, "started")
    try:
        yield path
    finally:
        lab(path, "absent")


def test_the_lab_writes_a_plugin_config(site):
    config = (site / "site.xprotect.yml").read_text()
    assert "plugin: xprotect.encryption.xprotect" in config
    assert "url:" in config


def test_plugin_lists_exactly_the_labs_recording_and_failover_servers(site):
    _lab_data, expected = groups_of(site / "inventory.yml")
    assert len(expected["xprotect_recording_servers"]) == SITE_SIZE["lab_recording_servers"]
    assert len(expected["xprotect_failover_servers"]) == SITE_SIZE["lab_failover_servers"]
    data, found = groups_of(site / "site.xprotect.yml")
    for group in CONTRACT:
        assert found[group] == expected[group], group
    assert len(found["xprotect_management_servers"]) == 1
    # Mobile servers and clients are not in that API: they come from a static file.
    assert not found.get("xprotect_mobile_servers") and not found.get("xprotect_clients")
    hostvars = data["_meta"]["hostvars"]
    for host in found["xprotect_recording_servers"] + found["xprotect_failover_servers"]:
        assert hostvars[host]["xprotect_id"]
        assert hostvars[host]["xprotect_web_server_uri"]
    # With failover servers in the site, the lab gives every recording server a failover group.
    assert all("xprotect_failover_group" in hostvars[h] for h in found["xprotect_recording_servers"])


def test_graph_of_the_lab_site(site):
    proc = run("ansible-inventory", "-i", str(site / "site.xprotect.yml"), "--graph")
    for group in ("@xprotect_management_servers:", "@xprotect_recording_servers:", "@xprotect_failover_servers:"):
        assert group in proc.stdout
    print(proc.stdout)  # the docs show this output


def test_static_file_beside_the_plugin_adds_mobile_servers_and_clients(site, tmp_path):
    folder = tmp_path / "inventory"
    folder.mkdir()
    (folder / "site.xprotect.yml").write_text((site / "site.xprotect.yml").read_text())
    _lab_data, lab_groups = groups_of(site / "inventory.yml")
    static = {
        "xprotect_mobile_servers": {"hosts": {h: None for h in lab_groups["xprotect_mobile_servers"]}},
        "xprotect_clients": {"hosts": {h: None for h in lab_groups["xprotect_clients"]}},
    }
    (folder / "static.yml").write_text(json.dumps({"all": {"children": static}}))
    _data, found = groups_of(folder)
    for group in CONTRACT + ("xprotect_mobile_servers", "xprotect_clients"):
        assert found[group] == lab_groups[group], group


def test_wrong_password_is_reported_against_the_lab(site, tmp_path):
    config = (site / "site.xprotect.yml").read_text().splitlines()
    config = [line for line in config if not line.startswith("password:")] + ["password: not-the-lab-password"]
    source = tmp_path / "wrong.xprotect.yml"
    source.write_text("\n".join(config) + "\n")
    proc = run(
        "ansible-inventory", "-i", str(source), "--list", check=False, env={"ANSIBLE_INVENTORY_UNPARSED_FAILED": "1"}
    )
    assert proc.returncode != 0
    assert "refused the credentials" in " ".join(proc.stderr.split())
    assert "not-the-lab-password" not in proc.stderr
