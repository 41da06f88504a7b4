"""The option checks of module_utils/validate.py and the run-level settings table."""

from __future__ import annotations

import pathlib
import re

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import settings, validate

REPO = pathlib.Path(__file__).resolve().parents[4]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 0), ("5", 5), (" 7 ", 7), ("20%", "20%"), ("100%", "100%"), ([1, "5", "50%"], [1, 5, "50%"])],
)
def test_batch_takes_what_serial_takes(value, expected):
    assert validate.batch(value, "xprotect_recording_batch") == expected


@pytest.mark.parametrize("value", ["abc", -1, "0%", "101%", "-5%", [], [1, "x"], 1.5, True, None, {"a": 1}])
def test_batch_refuses_the_rest_naming_the_variable(value):
    with pytest.raises(validate.ArgumentError) as e:
        validate.batch(value, "xprotect_recording_batch")
    assert e.value.message.startswith("xprotect_recording_batch")
    assert "20%" in e.value.message


def test_thumbprint_ignores_spaces_colons_and_the_left_to_right_mark():
    tp = "\u200e0b 5e:" + "a" * 36
    assert validate.thumbprint(tp, "thumbprint") == "0B5E" + "A" * 36


@pytest.mark.parametrize("value", ["", "A" * 39, "A" * 41, "G" * 40, "A" * 40 + "x", None, 40])
def test_thumbprint_refuses_anything_but_40_hex_digits(value):
    with pytest.raises(validate.ArgumentError, match="^thumbprint: .*40 hex digits"):
        validate.thumbprint(value, "thumbprint")


@pytest.mark.parametrize(
    ("check", "value", "words"),
    [
        (validate.bounded(validate.whole_number, 0, 100), -1, "from 0 to 100"),
        (validate.bounded(validate.whole_number, 0, 100), "3 times", "from 0 to 100"),
        (validate.bounded(validate.whole_number, 0, 100), True, "whole number"),
        (validate.days, 10000000, "from 0 to 36500 days"),
        (validate.bounded(validate.number, above=0, maximum=600), 0, "greater than 0"),
        (validate.bounded(validate.number, above=0, maximum=600), "nan", "greater than 0"),
        (validate.text, "a\nb", "control characters"),
        (validate.text, "", "cannot be empty"),
        (validate.pattern, "(", "not a valid regular expression"),
        (validate.guid, "84430eb7", "GUID"),
        (validate.percentage, "120%", "from 0 to 100, or a percentage"),
        (validate.boolean, "maybe", "true or false"),
    ],
)
def test_each_refusal_names_the_option_the_value_and_what_is_allowed(check, value, words):
    with pytest.raises(validate.ArgumentError) as e:
        check(value, "the_option")
    assert e.value.option == "the_option"
    assert e.value.message.startswith("the_option")
    assert repr(value)[:20] in e.value.message or "not a valid" in e.value.message
    assert words in e.value.message


def test_lists_and_dicts_name_the_element_and_keep_the_option():
    with pytest.raises(validate.ArgumentError) as e:
        validate.list_of(validate.thumbprint)(["A" * 40, "typo"], "retired_thumbprints")
    assert e.value.option == "retired_thumbprints" and "retired_thumbprints[1]" in e.value.message
    with pytest.raises(validate.ArgumentError) as e:
        validate.mapping({"bogus": 1}, "config_paths", ["recording"], validate.text)
    assert "config_paths" in e.value.message and "'bogus'" in e.value.message


def test_good_values_come_back_normalised():
    assert validate.whole_number("3", "x", 0, 5) == 3
    assert validate.number("2.5", "x", 0) == 2.5
    assert validate.percentage("30%", "x") == 30.0
    assert validate.boolean("yes", "x") is True
    assert validate.guid("{84430EB7-847C-422D-AA00-7915CD0D7A65}", "x") == "84430eb7-847c-422d-aa00-7915cd0d7a65"


def test_option_hint_names_the_options_with_sub_options():
    spec = {"hosts": {"type": "list", "options": {"name": {}}}, "path": {"type": "path"}}
    assert "in hosts" in validate.option_hint("dictionary requested, could not parse JSON or key=value", spec)
    assert validate.option_hint("path: missing", spec) == "path: missing"


# ---- the settings table -------------------------------------------------------------------


def _read_variables() -> set:
    """Every xprotect_ variable the playbooks and roles read with a default(...)."""
    found = set()
    for path in list((REPO / "playbooks").rglob("*.yml")) + list((REPO / "roles").rglob("*.yml")):
        found |= set(re.findall(r"(xprotect_[a-z_]+) *\| *default\(", path.read_text()))
    return found


def _role_options() -> set:
    import yaml

    names = set()
    for spec in (REPO / "roles").glob("*/meta/argument_specs.yml"):
        for entry in yaml.safe_load(spec.read_text())["argument_specs"].values():
            names |= set(entry.get("options", {}))
    return names


# Read by a playbook but not a setting of the operator's: registered results and per-host facts.
# Set by the playbooks themselves (set_fact, play vars, registered results), never by a user.
NOT_SETTINGS = {
    "xprotect_server_configurator",
    "xprotect_settings_playbook",
    "xprotect_gate",
    "xprotect_ca_continuity_check",
    "xprotect_lock_keep",
    "xprotect_lock_playbook",
    "xprotect_recording_outcome",
    "xprotect_verify_left_out",
    "xprotect_switch_needs_preflight",
    "xprotect_preflight_encryption",  # the preflight's reading, passed to the switch as one of its readings
    "xprotect_certificate",  # the stage's registered result; the preflight reads its 'waiting' (AD CS)
    "xprotect_port_offset",  # an endpoint variable the lab inventory sets; the modules check port_offset
    # Set by the playbooks that import playbooks/report.yml, for it.
    "xprotect_report_drift",
    "xprotect_report_check_mode",
    "xprotect_report_fail_on_expiry",
    "xprotect_audit_rows",  # the audit's drift rows, for the report
    "xprotect_rotation_left",  # trust_clients.yml: the rotation record read on the controller (registered)
}


def test_every_variable_a_playbook_or_role_reads_is_in_the_settings_table():
    missing = (_read_variables() | _role_options()) - set(settings.SETTINGS) - NOT_SETTINGS
    assert missing == set()


def test_every_setting_belongs_to_a_playbook_and_has_a_valid_spec():
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    for playbook in settings.PLAYBOOKS:
        spec = settings.argument_spec(playbook)
        assert spec
        assert list(ArgumentSpecValidator(spec).validate({}).errors) == []
    for name, setting in settings.SETTINGS.items():
        assert set(setting.playbooks) <= set(settings.PLAYBOOKS), name


@pytest.mark.parametrize(
    ("playbook", "values", "named"),
    [
        ("site", {"xprotect_recording_batch": "abc"}, "xprotect_recording_batch"),
        ("site", {"xprotect_ca_validity_days": 0}, "xprotect_ca_validity_days"),
        ("site", {"xprotect_dns_names": ["bad name"]}, "xprotect_dns_names[0]"),
        ("site", {"xprotect_fqdn": "10.0.0.1"}, "xprotect_fqdn"),
        ("rollback", {"xprotect_rollback_retries": -1}, "xprotect_rollback_retries"),
        ("renew", {"xprotect_verify_probe_timeout": 0}, "xprotect_verify_probe_timeout"),
        ("audit", {"xprotect_override_markers": ["("]}, "xprotect_override_markers[0]"),
        ("site", {"xprotect_certificates_adcs_config": "ca01.example.com"}, "xprotect_certificates_adcs_config"),
        (
            "renew",
            {"xprotect_certificates_adcs_template": "CertificateTemplate:X"},
            "xprotect_certificates_adcs_template",
        ),
        # Where a slice of an AWX job finds the management server (docs/awx.md, section 9).
        ("site", {"xprotect_management_server": "ms.example.com"}, "xprotect_management_server"),
        ("site", {"xprotect_management_server": {"address": "10.0.0.1"}}, "xprotect_management_server"),
        ("site", {"xprotect_management_server": {"name": "ms", "port": 443}}, "xprotect_management_server"),
        ("site", {"xprotect_management_server": {"name": "bad name"}}, "xprotect_management_server.name"),
        (
            "site",
            {"xprotect_management_server": {"name": "ms", "address": "a b"}},
            "xprotect_management_server.address",
        ),
        (
            "site",
            {"xprotect_management_server": {"name": "ms", "port_offset": -1}},
            "xprotect_management_server.port_offset",
        ),
        ("site", {"xprotect_lock_settle": 61}, "xprotect_lock_settle"),
    ],
)
def test_problems_name_the_variable(playbook, values, named):
    found = settings.problems(playbook, values)
    assert len(found) == 1 and found[0].startswith(named), found


def test_the_ad_cs_settings_may_be_empty_outside_that_mode_and_take_good_values():
    assert (
        settings.problems("site", {"xprotect_certificates_adcs_config": "", "xprotect_certificates_adcs_template": ""})
        == []
    )
    good = {
        "xprotect_certificates_adcs_config": "ca01.example.com\\Example CA",
        "xprotect_certificates_adcs_template": "Web",
    }
    assert (
        settings.problems("site", dict(good, xprotect_certificates_key_source="adcs", xprotect_trust_install=False))
        == []
    )


def test_the_management_server_of_a_slice_as_the_lab_and_the_inventory_plugin_set_it():
    good = {"name": "ms.example.com", "address": "10.0.0.1", "fqdn": "ms.example.com", "port_offset": 0}
    assert settings.problems("site", {"xprotect_management_server": good}) == []


def test_a_playbook_checks_only_what_it_reads():
    assert settings.problems("audit", {"xprotect_recording_batch": "abc"}) == []
    assert settings.problems("site", {"xprotect_recording_batch": "25%", "xprotect_renew_before": 30}) == []


def test_the_gate_says_a_problem_of_every_host_once_and_names_the_hosts_of_the_others():
    everywhere = "xprotect_recording_batch: 'abc' is not allowed; ..."
    found = {f"rs{i:03}": [everywhere] for i in range(1, 9)}
    found["rs002"] = [everywhere, "xprotect_fqdn: bad"]
    found["localhost"] = [everywhere]
    assert settings.gate(found) == [f"On every host: {everywhere}", "On rs002: xprotect_fqdn: bad"]
    seven = {f"h{i}": ["x"] for i in range(7)}
    seven["ok"] = []
    assert settings.gate(seven) == ["On h0, h1, h2, h3, h4 and 2 more: x"]
    assert settings.gate({"localhost": []}) == []


class _HostVars(dict):
    """hostvars as the filter sees it: host -> that host's variables."""


def test_the_gate_filter_reports_a_host_whose_check_failed_and_skips_hosts_outside_the_limit():
    from ansible_collections.xprotect.encryption.plugins.filter.settings import settings_gate

    hostvars = _HostVars(
        localhost={"xprotect_settings": {"problems": []}},
        rs001={"xprotect_settings": {"problems": ["xprotect_fqdn: bad"]}},
        rs002={"xprotect_settings": {"failed": True, "msg": "boom"}},
        rs003={},  # outside --limit: nothing registered
    )
    assert settings_gate(hostvars, ["localhost", "rs001", "rs002", "rs003", "unknown"]) == [
        "On rs001: xprotect_fqdn: bad",
        "On rs002: its settings could not be checked: boom",
    ]


# Values of every kind, well and badly formed, for the comparison below.
_PROBES = [
    None, "", "abc", "10", "2.5", "-1", "yes", "maybe", 0, 1, -1, 2.5, 10**6, True, False,
    [], ["a"], [1], [2.5], [{}], ["enabled"], ["server", "zzz"], {}, {"a": 1}, "enabled", "zzz",
]  # fmt: skip


def _refused(spec: dict, name: str, value) -> bool:
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    keep = {k: v for k, v in spec.items() if k in ("type", "choices", "elements", "required")}
    return bool(ArgumentSpecValidator({name: keep}).validate({name: value}).error_messages)


def _table_refuses(name: str, value) -> bool:
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    checked = ArgumentSpecValidator({name: settings.SETTINGS[name].spec}).validate({name: value})
    return bool(checked.error_messages) or bool(settings.problems("site", checked.validated_parameters))


def test_the_settings_play_refuses_every_value_a_role_argument_spec_refuses():
    """site.yml validates every variable in its settings play, before anything is created or
    switched, and runs the roles without their own argument validation (rolespec_validate:
    false): a role's validation inside a phase would stop the rollout after the management
    server switched. So nothing a role's argument spec refuses may pass the settings table."""
    import yaml

    passed = []
    for spec_file in sorted((REPO / "roles").glob("*/meta/argument_specs.yml")):
        for entry_point, entry in yaml.safe_load(spec_file.read_text())["argument_specs"].items():
            for name, spec in entry.get("options", {}).items():
                if name in NOT_SETTINGS:
                    continue
                assert "site" in settings.SETTINGS[name].playbooks, name
                for value in _PROBES:
                    if _refused(spec, name, value) and not _table_refuses(name, value):
                        passed.append((spec_file.parts[-3], entry_point, name, value))
    assert passed == []


def test_the_comparison_sees_a_role_stricter_than_the_table():
    # The check above would catch a role spec that says int where the table takes any number.
    assert _refused({"type": "int"}, "xprotect_verify_probe_timeout", 2.5)
    assert not _table_refuses("xprotect_verify_probe_timeout", 2.5)
