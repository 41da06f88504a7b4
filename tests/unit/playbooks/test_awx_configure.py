# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Contract: every awx.awx module call in playbooks/awx/ is valid for the installed awx.awx.

The argument specs are the modules' own: each module's ``main()`` runs until it builds its
``AnsibleModule``, where the test takes the argument spec and the relations (mutually exclusive,
required if ...) and stops it. The tasks' arguments are rendered by ansible-core's Templar with
the playbook's vars files and play vars, once per loop item, as ansible-playbook renders them,
and then validated with ansible-core's ArgumentSpecValidator. No AWX server is needed.
"""

from __future__ import annotations

import importlib
import importlib.util
import pathlib
import re

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.xprotect.encryption.plugins.inventory import xprotect as inventory_plugin
from ansible_collections.xprotect.encryption.plugins.module_utils import settings

if importlib.util.find_spec("ansible_collections.awx.awx") is None:  # pragma: no cover - the ansible package has it
    pytest.skip("awx.awx is not installed (pip install -r requirements-dev.txt)", allow_module_level=True)

REPO = pathlib.Path(__file__).resolve().parents[3]
AWX = REPO / "playbooks" / "awx"
LOADER = DataLoader()
# What an operator gives (docs/awx.md); the rest takes the playbook's defaults.
SAMPLE = {
    "xprotect_awx_project_url": "https://git.example.com/ops/xprotect-encryption.git",
    "xprotect_awx_execution_environment": "xprotect-encryption-ee",
    "xprotect_awx_instance_groups": ["windows-site-a"],
    "xprotect_awx_recording_slices": 3,
    "xprotect_awx_notification_configuration": {"url": "https://hooks.example.com/x", "http_method": "POST"},
    "xprotect_awx_ca_credential_inputs": {"ca_cert": "c", "ca_key": "k", "ca_passphrase": "p"},
    "xprotect_awx_api_credential_inputs": {"username": "u", "password": "p"},
}


class _Captured(Exception):
    def __init__(self, kwargs):
        super().__init__("captured")
        self.kwargs = kwargs


def module_spec(fqcn: str) -> dict:
    """The keyword arguments the installed awx.awx module passes to AnsibleModule."""
    from ansible.module_utils import basic

    name = fqcn.rsplit(".", 1)[-1]
    module = importlib.import_module(f"ansible_collections.awx.awx.plugins.modules.{name}")

    def capture(self, *args, **kwargs):
        raise _Captured(kwargs)

    original = basic.AnsibleModule.__init__
    basic.AnsibleModule.__init__ = capture
    try:
        module.main()
    except _Captured as found:
        return found.kwargs
    finally:
        basic.AnsibleModule.__init__ = original
    raise AssertionError(f"{fqcn} built no AnsibleModule")


def validate(fqcn: str, args: dict) -> list:
    kwargs = module_spec(fqcn)
    validator = ArgumentSpecValidator(
        kwargs["argument_spec"],
        mutually_exclusive=kwargs.get("mutually_exclusive"),
        required_together=kwargs.get("required_together"),
        required_one_of=kwargs.get("required_one_of"),
        required_if=kwargs.get("required_if"),
        required_by=kwargs.get("required_by"),
    )
    return [str(e) for e in validator.validate(dict(args)).errors]


def _load(path: pathlib.Path):
    return LOADER.load_from_file(str(path), trusted_as_template=True)


def play_variables(extra: dict) -> dict:
    (play,) = _load(AWX / "configure.yml")
    variables = {}
    for name in play["vars_files"]:
        variables.update(_load(AWX / name))
    variables.update(play["vars"])
    variables.update(extra)
    return variables


def calls(extra: dict | None = None) -> list:
    """(task name, module, rendered arguments) of every awx.awx call, once per loop item."""
    (play,) = _load(AWX / "configure.yml")
    variables = play_variables(SAMPLE if extra is None else extra)
    found = []
    for task in play["tasks"]:
        module = next((k for k in task if k.startswith("awx.awx.")), None)
        if module is None:
            continue
        conditions = task.get("when", [])
        for condition in [conditions] if isinstance(conditions, str) else conditions:
            if not Templar(loader=LOADER, variables=variables).evaluate_conditional(condition):
                break
        else:
            found.extend(_rendered(task, module, variables))
    return found


def _rendered(task: dict, module: str, variables: dict) -> list:
    """The task's arguments once per loop item (or once), rendered as ansible-playbook renders them."""
    found = []
    items = Templar(loader=LOADER, variables=variables).template(task["loop"]) if "loop" in task else [None]
    index_var = task.get("loop_control", {}).get("index_var")
    for number, item in enumerate(items):
        scope = dict(variables, item=item)
        if index_var:
            scope[index_var] = number
        scope.update(task.get("vars", {}))
        args = Templar(loader=LOADER, variables=scope).template(task[module])
        found.append((task["name"], module, args))
    return found


CALLS = calls()


def _id(call) -> str:
    name, module, args = call
    return f"{module.rsplit('.', 1)[-1]}:{args.get('name') or args.get('identifier')}"


@pytest.mark.parametrize("call", CALLS, ids=_id)
def test_every_call_is_valid_for_the_installed_awx_awx(call):
    _name, module, args = call
    assert validate(module, args) == []


def test_every_call_is_valid_with_the_defaults_alone():
    defaults = calls({"xprotect_awx_project_url": SAMPLE["xprotect_awx_project_url"]})
    assert all(validate(module, args) == [] for _n, module, args in defaults)


def test_the_playbook_makes_every_kind_of_object_the_issue_lists():
    modules = {module for _n, module, _a in CALLS}
    assert modules == {
        f"awx.awx.{m}"
        for m in (
            "organization",
            "credential_type",
            "credential",
            "notification_template",
            "project",
            "inventory",
            "inventory_source",
            "job_template",
            "workflow_job_template",
            "workflow_job_template_node",
            "schedule",
        )
    }


# -- the test can fail -----------------------------------------------------------------------------
def test_a_misspelt_option_fails():
    _n, module, args = next(c for c in CALLS if c[1] == "awx.awx.job_template")
    args = dict(args)  # a copy: CALLS is shared by the tests
    args["job_slice_cuont"] = args.pop("job_slice_count")
    errors = validate(module, args)
    assert errors and "job_slice_cuont" in " ".join(errors)


def test_a_value_outside_the_choices_fails():
    _n, module, args = next(c for c in CALLS if c[1] == "awx.awx.job_template")
    assert validate(module, dict(args, job_type="dry-run"))


def test_two_exclusive_options_fail():
    _n, module, args = next(c for c in CALLS if c[2].get("identifier") == "approval")
    assert validate(module, dict(args, unified_job_template="XProtect | stage"))


# -- what the objects say --------------------------------------------------------------------------
def _templates() -> dict:
    return {a["name"].split(" | ", 1)[1]: a for _n, m, a in CALLS if m == "awx.awx.job_template"}


def test_job_templates_for_every_job_with_forks_and_timeouts():
    templates = _templates()
    for key in ("stage", "site", "audit", "renew", "rollback", "trust_clients"):
        assert key in templates
    for key, args in templates.items():
        assert 1 <= int(args["forks"]) <= 1000 and int(args["timeout"]) > 0, key
        if not args["playbook"].startswith("playbooks/phases/"):
            assert (REPO / args["playbook"]).is_file(), f"{key}: {args['playbook']} is not in the project"
    assert templates["audit"]["job_type"] == "check"
    assert templates["audit"]["extra_vars"] == {
        "xprotect_audit_fail_on_drift": True,
        "xprotect_audit_fail_on_unchecked": True,
    }
    assert templates["recording"]["job_slice_count"] == 3
    assert all(a["job_slice_count"] == 1 for k, a in templates.items() if k != "recording")
    # The CA reaches every job that signs, trusts or verifies; the API credential the inventory check.
    assert all("XProtect site CA" in a["credentials"] for a in templates.values())


def test_every_phase_job_template_has_its_playbook_in_the_project():
    phases = {k: a["playbook"] for k, a in _templates().items() if a["playbook"].startswith("playbooks/phases/")}
    assert set(phases) == {"preflight", "management", "recording", "failover", "mobile", "verify"}
    assert [p for p in phases.values() if not (REPO / p).is_file()] == []


def test_the_workflow_runs_the_phases_in_order_with_an_approval_and_failure_paths():
    nodes = {a["identifier"]: a for _n, m, a in CALLS if m == "awx.awx.workflow_job_template_node"}
    order, node = [], "stage"
    while node:
        order.append(node)
        following = nodes[node]["success_nodes"]
        assert len(following) <= 1
        node = following[0] if following else None
    assert order == ["stage", "preflight", "approval", "management", "recording", "failover", "mobile", "verify"]
    assert nodes["approval"]["approval_node"]["name"] == "Maintenance window"
    assert "unified_job_template" not in nodes["approval"]
    assert nodes["recording"]["job_slice_count"] == 3
    assert all(nodes[n]["failure_nodes"] == ["stopped"] for n in order if n != "approval")
    assert nodes["stopped"]["unified_job_template"] == "XProtect | audit"
    (workflow,) = [a for _n, m, a in CALLS if m == "awx.awx.workflow_job_template"]
    assert workflow["notification_templates_error"] == ["XProtect rollout failed"]


def test_schedules_for_the_audit_and_the_renewal():
    schedules = {a["unified_job_template"]: a for _n, m, a in CALLS if m == "awx.awx.schedule"}
    assert set(schedules) == {"XProtect | audit", "XProtect | renew"}
    assert all(a["rrule"].startswith("DTSTART") and "RRULE:" in a["rrule"] for a in schedules.values())


def test_every_survey_answer_with_choices_is_a_fixed_list_of_exactly_those_choices():
    (site,) = [a for k, a in _templates().items() if k == "site"]
    assert site["survey_enabled"] is True
    questions = site["survey_spec"]["spec"]
    assert questions
    for question in questions:
        setting = settings.SETTINGS[question["variable"]]  # every answer is a setting, checked by the run
        assert question["type"] == "multiplechoice", question["variable"]
        assert question["choices"] == setting.spec["choices"], question["variable"]
        assert question["default"] in question["choices"]


def test_the_credential_types_are_in_awx_format_and_inject_what_the_collection_reads():
    types = {a["name"]: a for _n, m, a in CALLS if m == "awx.awx.credential_type"}
    assert set(types) == {"XProtect site CA", "XProtect Management Server API"}
    for name, args in types.items():
        fields = {f["id"]: f for f in args["inputs"]["fields"]}
        assert all(f["type"] in ("string", "boolean") and f["label"] for f in fields.values()), name
        assert set(args["inputs"]["required"]) <= set(fields)
        for kind, values in args["injectors"].items():
            assert kind in ("extra_vars", "env", "file"), name
            for value in values.values():
                used = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", value))
                assert used and used <= set(fields), (name, value)
    ca = types["XProtect site CA"]
    assert {f["id"] for f in ca["inputs"]["fields"] if f.get("secret")} == {"ca_key", "ca_passphrase"}
    injected = ca["injectors"]["extra_vars"]
    assert set(injected) == {"xprotect_ca_cert_content", "xprotect_ca_key_content", "xprotect_ca_passphrase"}
    assert settings.SETTINGS["xprotect_ca_key_content"].spec.get("no_log")
    assert settings.SETTINGS["xprotect_ca_passphrase"].spec.get("no_log")
    assert "file" not in ca["injectors"]  # never on disk
    api = types["XProtect Management Server API"]
    env = {e["name"] for o in inventory_plugin_options().values() for e in o.get("env", [])}
    assert set(api["injectors"]["env"]) <= env
    assert {f["id"] for f in api["inputs"]["fields"] if f.get("secret")} == {"password"}


def inventory_plugin_options() -> dict:
    import yaml

    return yaml.safe_load(inventory_plugin.DOCUMENTATION)["options"]


def test_secrets_pass_configure_yml_only_under_no_log():
    (play,) = _load(AWX / "configure.yml")
    for task in play["tasks"]:
        text = repr(task)
        if any(k in text for k in ("_inputs", "notification_configuration }}")):
            assert task.get("no_log") is True, task["name"]
