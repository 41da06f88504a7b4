# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The order that runs is the order of the facts: the plays of site.yml, stage.yml and
rollback.yml, read as ansible-playbook reads them (imports expanded, vars_files and import vars
applied to ``hosts:``), against the oracle in tests/phase_order.py.

The playbooks are the one place the order is written; this test is what keeps them honest.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Optional

import jinja2
import phase_order as oracle  # tests/phase_order.py
import pytest
import yaml

PLAYBOOKS = Path(__file__).resolve().parents[3] / "playbooks"
ROLES = PLAYBOOKS.parent / "roles"
ENCRYPTION = "xprotect.encryption.encryption"
TRUST = "xprotect.encryption.trust"
_JINJA = jinja2.Environment(undefined=jinja2.StrictUndefined)  # noqa: S701 - renders no HTML
_EXPR = re.compile(r"^\s*\{\{(.*)\}\}\s*$", re.DOTALL)
_PLACE = re.compile(r"xprotect_event_server_place[^=]*==\s*'(\w+)'")


def _resolve(value, variables: Dict):
    """A templated value the way ansible gives it to ``hosts:`` (a whole expression keeps its type)."""
    if not isinstance(value, str) or "{{" not in value:
        return value
    match = _EXPR.match(value)
    if match:
        return _JINJA.compile_expression(match.group(1))(**variables)
    return _JINJA.from_string(value).render(**variables)


def _variables(*sources: Dict) -> Dict:
    merged: Dict = {}
    for source in sources:
        merged.update(source or {})
    # Variables that are templates of other variables (xprotect_site_groups); those that need
    # ansible's own filters are not needed for ``hosts:`` and stay as they are.
    for _round in range(3):
        for key, value in merged.items():
            try:
                merged[key] = _resolve(value, merged)
            except jinja2.TemplateError:
                pass
    return merged


def plays(name: str, extra_vars: Optional[Dict] = None, import_vars: Optional[Dict] = None) -> List[Dict]:
    """The plays of a playbook in run order, each with ``groups`` (positive inventory groups of
    its ``hosts:``), ``excluded`` (the ``!group`` ones) and ``source`` (the file it is written in)."""
    out = []
    # Imports and vars_files are relative to the playbook that names them (playbooks/phases/ too).
    base = (PLAYBOOKS / name).parent
    for entry in yaml.safe_load((PLAYBOOKS / name).read_text()):
        if "ansible.builtin.import_playbook" in entry:
            inherited = {**(import_vars or {}), **entry.get("vars", {})}
            imported = (base / entry["ansible.builtin.import_playbook"]).resolve().relative_to(PLAYBOOKS.resolve())
            out += plays(str(imported), extra_vars, inherited)
            continue
        files = [yaml.safe_load((base / f).read_text()) for f in entry.get("vars_files", [])]
        # ansible's precedence: import and play vars < vars_files < extra vars.
        variables = _variables(import_vars, entry.get("vars", {}), *files, extra_vars)
        # A play whose hosts depend on an earlier play's finding (ca_continuity.yml's read of the
        # Root stores): the widest case, every host it may take.
        variables.setdefault("hostvars", {"localhost": {"xprotect_ca_continuity_check": True}})
        hosts = _resolve(entry["hosts"], variables)
        patterns = hosts if isinstance(hosts, list) else str(hosts).split(":")
        out.append(
            dict(
                entry,
                source=name,
                groups=[p for p in patterns if not p.startswith("!")],
                excluded=[p[1:] for p in patterns if p.startswith("!")],
            )
        )
    return out


def _tasks(play: Dict) -> List[Dict]:
    found, todo = [], list(play.get("tasks", [])) + list(play.get("pre_tasks", []))
    while todo:
        task = todo.pop(0)
        found.append(task)
        for key in ("block", "rescue", "always"):
            todo += task.get(key, [])
    return found


def switches(play: Dict) -> List[Dict]:
    """The places where a play runs the encryption role's switch (its main or switch tasks): the
    role in ``roles:``, or an include/import of it. Reads (validate, order_guard) do not count."""
    found = [r for r in play.get("roles", []) if r.get("role") == ENCRYPTION]
    for task in _tasks(play):
        for action in ("ansible.builtin.include_role", "ansible.builtin.import_role"):
            spec = task.get(action)
            if spec and spec.get("name") == ENCRYPTION and spec.get("tasks_from", "main") in ("main", "switch"):
                found.append(task)
    return found


def event_place(play: Dict) -> Optional[str]:
    """The ``xprotect_event_server_place`` a play's switch is conditioned on, or None."""
    places = {m for s in switches(play) for m in _PLACE.findall(str(s.get("when", "")))}
    assert len(places) <= 1, (play["name"], places)
    return places.pop() if places else None


def switching_plays(name: str, place: str = "before_management") -> List[Dict]:
    return [p for p in plays(name) if switches(p) and event_place(p) in (None, place)]


def _role(play: Dict) -> str:
    assert len(play["groups"]) == 1, f"{play['name']}: a switching play covers one inventory group"
    return oracle.ROLE_OF_GROUP[play["groups"][0]]


@pytest.mark.parametrize("place", oracle.EVENT_PLACES)
def test_site_switches_in_the_order_of_the_facts(place):
    assert [_role(p) for p in switching_plays("site.yml", place)] == oracle.enable_order(place)


# The workflow "encryption rollout" (playbooks/awx/configure.yml): each node is one job.
WORKFLOW_PHASES = ["preflight", "management", "recording", "failover", "mobile", "verify"]


def _workflow_order():
    variables = yaml.safe_load((PLAYBOOKS / "awx" / "vars" / "templates.yml").read_text())
    templates = {t["key"]: t["playbook"] for t in variables["xprotect_awx_job_templates"]}
    nodes = [n for n in variables["xprotect_awx_workflow_order"] if n in WORKFLOW_PHASES]
    assert nodes == WORKFLOW_PHASES
    return [templates[n].split("playbooks/", 1)[1] for n in nodes]


@pytest.mark.parametrize("place", oracle.EVENT_PLACES)
def test_the_workflows_phase_jobs_switch_in_the_order_of_the_facts(place):
    # One job after another, as the workflow runs them: the same order as site.yml's plays.
    switching = [p for name in _workflow_order() for p in switching_plays(name, place)]
    assert [_role(p) for p in switching] == oracle.enable_order(place)
    # Each switching play excludes the groups of the phases before it, as site.yml's do.
    assert [p["excluded"] for p in switching] == [p["excluded"] for p in switching_plays("site.yml", place)]


@pytest.mark.parametrize("name", [f"phases/{n}.yml" for n in WORKFLOW_PHASES])
def test_a_phase_job_reads_its_hosts_before_the_lock_and_its_first_switch(name):
    every = plays(name)
    first_switch = next((i for i, p in enumerate(every) if switches(p)), len(every))
    lock = next((i for i, p in enumerate(every) if p["name"].startswith("Lock: one rollout")), None)
    checks = [
        i
        for i, p in enumerate(every[:first_switch])
        if "tasks/check.yml" in str(p) or p["name"].startswith("Phase 2: preflight gate")
    ]
    if name == "phases/verify.yml":  # read-only: no lock, no switch
        assert lock is None and first_switch == len(every)
        return
    assert checks, f"{name}: no check of its own hosts before its first switch"
    assert lock is not None and checks[0] < lock < first_switch or first_switch == len(every)
    # Recording and failover servers follow the management server: their job's check includes the order guard.
    for i in checks:
        if every[i]["groups"] in (["xprotect_recording_servers"], ["xprotect_failover_servers"]):
            assert "order_guard" in str(every[i]), every[i]["name"]
    # No play of a phase job asserts that an earlier job's gate passed (site.yml's xprotect_switch_needs_preflight).
    assert "xprotect_switch_needs_preflight" not in str(every)


def test_a_combined_host_switches_its_server_group_with_the_first_of_its_roles():
    # A management + recording box is in both groups; it switches in the management phase
    # (oracle.phase_of), so each later phase of the same certificate group leaves out the
    # groups of the phases before it.
    for play in switching_plays("site.yml"):
        role = _role(play)
        earlier = oracle.ROLE_ORDER[: oracle.ROLE_ORDER.index(role)] if role in oracle.ROLE_ORDER else ()
        same_group = [q for q in earlier if oracle.PHASE_GROUP[q] == oracle.PHASE_GROUP[role]]
        assert sorted(play["excluded"]) == sorted(oracle.GROUP_OF_ROLE[q] for q in same_group), play["name"]


def test_nothing_switches_before_the_stage_and_its_preflight_gate():
    every = plays("site.yml")
    first_switch = next(i for i, p in enumerate(every) if switches(p))
    names = [p["name"] for p in every[:first_switch]]
    assert any(n.startswith("Phase 2: preflight gate") for n in names), names
    # Clients trust the CA before a recording server encrypts streaming media (facts, "Clients").
    trust = [p for p in every[:first_switch] if "xprotect_clients" in p["groups"] and TRUST in str(p)]
    assert trust, "no play trusts the CA on the clients before the first switch"
    assert not [p["name"] for p in plays("stage.yml") if switches(p)]


def test_rollback_switches_off_in_the_order_of_the_facts():
    steps = switching_plays("rollback.yml")
    assert [_role(p) for p in steps] == oracle.disable_order()
    assert {p["source"] for p in steps} == {"rollback_step.yml"}


def test_rollback_has_a_step_for_every_server_group():
    # A custom xprotect_rollback_order of all the server groups must run in full.
    groups = yaml.safe_load((PLAYBOOKS / "vars" / "groups.yml").read_text())["xprotect_server_groups"]
    custom = list(reversed(groups))
    steps = [p for p in plays("rollback.yml", {"xprotect_rollback_order": custom}) if switches(p)]
    assert [g for p in steps for g in p["groups"]] == custom


def test_the_site_groups_are_written_once():
    # Every play that names the server groups takes them from vars/groups.yml; none spells
    # all five out, and the roles do not read the playbooks' list (group_vars do not carry it).
    servers = set(yaml.safe_load((PLAYBOOKS / "vars" / "groups.yml").read_text())["xprotect_server_groups"])
    for path in sorted(PLAYBOOKS.glob("*.yml")):
        for entry in yaml.safe_load(path.read_text()):
            if "hosts" not in entry:
                continue
            hosts = entry["hosts"]
            literal = hosts if isinstance(hosts, list) else str(hosts).split(":")
            assert not servers <= set(literal), f"{path.name}: {entry['name']} spells out the server groups"
            if re.search(r"xprotect_(server|site)_groups", yaml.safe_dump(entry)):
                assert "vars/groups.yml" in entry.get("vars_files", []), f"{path.name}: {entry['name']}"
    for path in ROLES.rglob("*.yml"):
        assert not re.search(r"xprotect_(server|site)_groups", path.read_text()), path


# ---- rotate_ca.yml ------------------------------------------------------------------------

ROTATE = "rotate_ca.yml"


def _index(every, prefix):
    return next(i for i, p in enumerate(every) if p["name"].startswith(prefix))


def _trusted_ca_tasks(play):
    return [t for t in _tasks(play) if "xprotect.encryption.trusted_ca" in t]


def test_the_rotation_switches_in_the_order_of_the_facts():
    assert [_role(p) for p in switching_plays(ROTATE)] == oracle.enable_order("before_management")


def test_both_cas_are_trusted_everywhere_and_gated_before_the_first_certificate_from_the_new_one():
    every = plays(ROTATE)
    trust = _index(every, "Rotation step 1: trust the new CA beside the old one")
    gate = _index(every, "Rotation step 2: preflight gate")
    issue = next(i for i, p in enumerate(every) if p["name"].startswith("Phase 1: stage"))
    first_switch = next(i for i, p in enumerate(every) if switches(p))
    assert trust < gate < issue <= first_switch
    assert set(every[trust]["groups"]) >= {"xprotect_clients", "xprotect_management_servers"}
    paths = [t["xprotect.encryption.trusted_ca"]["ca"]["path"] for t in _trusted_ca_tasks(every[trust])]
    assert paths == ["{{ xprotect_rot.site_path }}", "{{ xprotect_rot.new_path }}"]
    tasks = _trusted_ca_tasks(every[trust])
    assert not any(t["xprotect.encryption.trusted_ca"].get("retired_thumbprints") for t in tasks)


def test_the_old_ca_is_retired_only_after_the_verification_and_the_promotion():
    every = plays(ROTATE)
    verify = _index(every, "Rotation step 5: verify")
    retire = _index(every, "Rotation step 6: retire the old CA")
    last_switch = max(i for i, p in enumerate(every) if p in switching_plays(ROTATE))
    assert last_switch < verify < retire
    retiring = [
        i
        for i, p in enumerate(every)
        for t in _trusted_ca_tasks(p)
        if t["xprotect.encryption.trusted_ca"].get("retired_thumbprints")
    ]
    assert retiring == [retire]
    rotation_tasks = [t.get("xprotect.encryption.ca_rotation", {}) for t in _tasks(every[verify])]
    promotion = [t for t in rotation_tasks if t.get("state") == "promoted"]
    assert promotion, "the new CA folder is promoted in the verify play, before the retirement"


def test_the_switch_runs_against_the_new_ca_with_no_import_and_no_retirement():
    entries = yaml.safe_load((PLAYBOOKS / ROTATE).read_text())
    entry = next(e for e in entries if e.get("ansible.builtin.import_playbook") == "site.yml")
    assert entry["vars"]["xprotect_ca_path"] == "{{ hostvars['localhost'].xprotect_rot.ca_path }}"
    assert entry["vars"]["xprotect_ca_cert_content"] == ""
    for option in ("cert_path", "key_path", "pfx_path", "passphrase"):
        assert entry["vars"][f"xprotect_ca_import_{option}"] == ""
    assert entry["vars"]["xprotect_trust_retired_thumbprints"] == []
