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
    # Inside the disconnection window the first step templates nothing: it names the plan's variable.
    assert first == {"plan": "xprotect_switch_plan"}
    assert second == {"mode": "collect", "started": "{{ xprotect_encryption }}"}
    assert [t["register"] for t in tasks] == ["xprotect_encryption", "xprotect_encryption"]
    defaults = yaml.safe_load((SWITCH.parents[1] / "defaults" / "main.yml").read_text(encoding="utf-8"))
    assert "xprotect_encryption_fan_out" in defaults["xprotect_switch_options"]
    assert defaults["xprotect_switch_plan"] == "{{ xprotect_switch_options }}"  # no plan: as the variables are now
    main = yaml.safe_load((SWITCH.parent / "main.yml").read_text(encoding="utf-8"))
    imports = [t.get("ansible.builtin.import_tasks") for t in main]
    assert imports.index("plan.yml") < imports.index("switch.yml")  # the role plans right before it switches


def _playbook_uses(path: Path):
    """(play index, tasks_from, vars) of every import of the encryption role's tasks, in order."""
    for index, play in enumerate(_plays(path)):
        for task in _tasks(play.get("tasks")):
            spec = task.get("ansible.builtin.import_role") or {}
            if spec.get("name") == ENCRYPTION:
                yield index, spec.get("tasks_from", "main"), task.get("vars") or {}


@pytest.mark.parametrize("name", ["site.yml", "phases/recording.yml", "phases/failover.yml"])
def test_every_switch_of_a_playbook_is_planned_before(name):
    """tasks_from: switch uses the plan (xprotect_switch_plan) as it stands: each one follows a plan
    in its own play, or, for the first switch of a phase (the Server certificate group), a plan of
    that group made in an earlier play, before the management server's switch in site.yml."""
    uses = list(_playbook_uses(PLAYBOOKS / name))
    switches = [i for i, (_p, tasks_from, _v) in enumerate(uses) if tasks_from == "switch"]
    assert switches, uses
    for i in switches:
        play, _tasks_from, variables = uses[i]
        before = [u for u in uses[:i] if u[1] in ("plan", "switch")]
        if before and before[-1][0] == play and before[-1][1] == "plan":
            continue  # planned right before, in the same play
        assert variables.get("xprotect_encryption_groups") == ["server"], uses[i]
        earlier = [u for u in uses[:i] if u[1] == "plan" and u[0] < play]
        assert any(u[2].get("xprotect_encryption_groups") == ["server"] for u in earlier), (name, uses[i])


def test_site_plans_phases_4_and_5_before_the_management_server_switches():
    plays = _plays(PLAYBOOKS / "site.yml")
    names = [p["name"] for p in plays]
    plan = next(i for i, p in enumerate(plays) if any(u[1] == "plan" for u in _role_uses(p)))
    assert plan < names.index("Phase 3: the management server")
    assert "xprotect_recording_servers" in plays[plan]["hosts"] and "xprotect_failover_servers" in plays[plan]["hosts"]
    # One server whose plan fails stops the whole run there, before the management server switches.
    assert plays[plan]["any_errors_fatal"] is True


@pytest.mark.parametrize("name", ["recording.yml", "failover.yml"])
def test_a_phase_job_stops_on_a_plan_that_fails_before_its_lock(name):
    plays = _plays(PLAYBOOKS / "phases" / name)
    check = next(p for p in plays if "check" in p["name"].lower())
    roles = [(t, t.get("ansible.builtin.import_role") or {}) for t in _tasks(check["tasks"])]
    plans = [t for t, spec in roles if spec.get("tasks_from") == "plan"]
    assert plans and all(t.get("any_errors_fatal") is True for t in plans), plans
