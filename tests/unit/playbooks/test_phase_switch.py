# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The phase jobs (playbooks/phases/) switch as site.yml does: through the encryption role, whose
switch is two steps (start, then collect) with the fan-out on, and one (mode sync) with it off
(issue 18). No phase calls the encryption action itself, which would bypass the two steps."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
import yaml

PLAYBOOKS = Path(__file__).resolve().parents[3] / "playbooks"
SWITCH = PLAYBOOKS.parent / "roles" / "encryption" / "tasks" / "switch.yml"
ENCRYPTION = "xprotect.encryption.encryption"
PHASES = sorted((PLAYBOOKS / "phases").glob("*.yml"))


def _tasks(items) -> Iterator[dict]:
    for task in items or ():
        yield task
        for key in ("block", "rescue", "always"):
            yield from _tasks(task.get(key))


def _plays(path: Path):
    return [play for play in yaml.safe_load(path.read_text(encoding="utf-8")) if "hosts" in play]


def _role_uses(play: dict):
    """(kind, tasks_from) of every use of the encryption role in a play."""
    for role in play.get("roles") or ():
        name = role if isinstance(role, str) else role.get("role")
        if name == ENCRYPTION:
            yield "roles", "main"
    for task in _tasks(play.get("tasks")):
        for kind in ("ansible.builtin.import_role", "ansible.builtin.include_role"):
            if (task.get(kind) or {}).get("name") == ENCRYPTION:
                yield kind, task[kind].get("tasks_from", "main")


@pytest.mark.parametrize("path", PHASES, ids=[p.name for p in PHASES])
def test_no_phase_calls_the_encryption_action_directly(path):
    for play in _plays(path):
        for task in _tasks(play.get("tasks")):
            assert ENCRYPTION not in task, f"{path.name}: {task.get('name')} calls the action, not the role"


@pytest.mark.parametrize("name", ["management.yml", "recording.yml", "failover.yml", "mobile.yml"])
def test_each_switching_phase_switches_through_the_role(name):
    uses = [u for play in _plays(PLAYBOOKS / "phases" / name) for u in _role_uses(play)]
    assert {tasks_from for _kind, tasks_from in uses} & {"main", "switch"}, uses


def test_the_role_switch_is_start_then_collect():
    tasks = yaml.safe_load(SWITCH.read_text(encoding="utf-8"))
    first, second = (t[ENCRYPTION] for t in tasks)
    assert "xprotect_encryption_fan_out" in str(first)
    assert second == {"mode": "collect", "started": "{{ xprotect_encryption }}"}
    assert [t["register"] for t in tasks] == ["xprotect_encryption", "xprotect_encryption"]
    main = yaml.safe_load((SWITCH.parent / "main.yml").read_text(encoding="utf-8"))
    assert any(t.get("ansible.builtin.import_tasks") == "switch.yml" for t in main)
