# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plays' hosts as ansible-playbook itself resolves them (--list-hosts, nothing runs).

The host groups are written once, in playbooks/vars/groups.yml, and the rollback steps take
theirs from xprotect_rollback_order: both only work if ansible templates ``hosts:`` from
vars_files and import vars, which this checks on the real ansible-playbook.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GROUPS = {
    "xprotect_management_servers": ["box01"],  # a combined management + recording server
    "xprotect_recording_servers": ["box01", "rs01"],
    "xprotect_failover_servers": ["fo01"],
    "xprotect_mobile_servers": ["mob01"],
    "xprotect_event_servers": ["ev01"],
    "xprotect_clients": ["cl01"],
}
SERVERS = {"box01", "rs01", "fo01", "mob01", "ev01"}
_PLAY = re.compile(r"^\s*play #\d+ \((?P<pattern>.*)\): (?P<name>.*?)\tTAGS")


@pytest.fixture(scope="module")
def inventory(tmp_path_factory):
    path = tmp_path_factory.mktemp("inventory") / "hosts.yml"
    children = {group: {"hosts": {h: None for h in hosts}} for group, hosts in GROUPS.items()}
    path.write_text(yaml.safe_dump({"all": {"children": children}}))
    return path


def list_hosts(playbook: str, inventory: Path, extra: dict | None = None) -> list:
    """[(play name, [hosts])] in run order."""
    argv = [str(BIN / "ansible-playbook"), "-i", str(inventory), "--list-hosts", str(REPO / "playbooks" / playbook)]
    if extra:
        argv += ["-e", json.dumps(extra)]
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=True)
    plays, lines = [], proc.stdout.splitlines()
    for i, line in enumerate(lines):
        match = _PLAY.match(line)
        if match:
            count = int(re.search(r"hosts \((\d+)\)", lines[i + 2]).group(1))
            plays.append((match["name"], sorted(h.strip() for h in lines[i + 3 : i + 3 + count])))
    return plays


def test_the_rollback_steps_follow_the_off_order(inventory):
    order = yaml.safe_load((REPO / "playbooks" / "vars" / "rollback.yml").read_text())["xprotect_rollback_order"]
    steps = [(n, h) for n, h in list_hosts("rollback.yml", inventory) if n.startswith("Rollback step")]
    names = [f"Rollback step {i}: encryption off on {g}" for i, g in enumerate(order, 1)]
    assert [name for name, _hosts in steps] == names
    assert [hosts for _name, hosts in steps] == [sorted(GROUPS[g]) for g in order]


def test_a_custom_rollback_order_from_extra_vars(inventory):
    custom = {"xprotect_rollback_order": ["xprotect_event_servers", "xprotect_management_servers"]}
    steps = [h for n, h in list_hosts("rollback.yml", inventory, custom) if n.startswith("Rollback step")]
    assert steps == [["ev01"], ["box01"], [], [], []]


# The plays whose hosts are the groups of vars/groups.yml (xprotect_server_groups, or
# xprotect_site_groups with the clients), by name.
CHECK_CA_CONTINUITY = {"site.yml", "renew.yml"}  # they import ca_continuity.yml
# The CA continuity play's read of the Root stores ("Phase 0 check: the CAs every host trusts")
# has its hosts only once the run found that phase 0 would create a CA: --list-hosts decides
# nothing, so it lists none (test_a_missing_ca_folder_stops_before_any_host_changes reads them all).
WIDE = {
    "site.yml": ["Settings", "Phase 1", "Phase 2: preflight,", "Phase 7: final", "Report:"],
    "audit.yml": ["Settings", "Audit: read", "Audit: drift summary", "Report:", "Audit: the verdict"],
    "renew.yml": ["Settings", "Renew phase 1", "Renew: read the final state", "Report:"],
    "rollback.yml": ["Settings", "Rollback: final", "Report:"],
}


@pytest.mark.parametrize("playbook", sorted(WIDE))
def test_the_plays_on_the_site_groups_reach_every_host(playbook, inventory):
    plays = list_hosts(playbook, inventory)
    continuity = [hosts for name, hosts in plays if name.startswith("Phase 0 check: the CAs every host trusts")]
    assert continuity == ([[]] if playbook in CHECK_CA_CONTINUITY else [])
    wide = [(name, set(hosts)) for name, hosts in plays if SERVERS <= set(hosts)]
    assert len(wide) == len(WIDE[playbook]), [name for name, _hosts in wide]
    for (name, hosts), start in zip(wide, WIDE[playbook]):
        assert name.startswith(start), name
        # Clients with the servers where the play names xprotect_site_groups, nothing else.
        assert hosts - SERVERS <= {"cl01", "localhost"}, name
