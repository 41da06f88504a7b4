# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""settings in-process: it checks the variables a playbook reads, where they are set, and touches
no host."""

from __future__ import annotations

from .conftest import Host


def test_good_and_unset_values_pass_and_only_set_ones_are_checked(run_action):
    host = Host()
    result = run_action("settings", {"playbook": "site"}, host, xprotect_encryption_retries=2)
    assert not result.get("failed") and result["problems"] == [] and result["changed"] is False
    assert "xprotect_encryption_retries" in result["checked"] and "xprotect_recording_batch" not in result["checked"]
    assert host.call_log == []


def test_a_bad_value_fails_naming_the_variable_or_is_only_reported(run_action):
    bad = {"xprotect_encryption_retries": -1}
    failed = run_action("settings", {"playbook": "site"}, Host(), **bad)
    assert failed["failed"] is True and "xprotect_encryption_retries" in failed["msg"]
    assert "nothing was changed" in failed["msg"]
    quiet = run_action("settings", {"playbook": "site", "fail_on_problems": False}, Host(), **bad)
    assert not quiet.get("failed") and quiet["problems"] == failed["problems"]


def test_the_ad_cs_mode_and_its_settings_are_checked_naming_the_variable(run_action):
    ok = {
        "xprotect_certificates_key_source": "adcs",
        "xprotect_certificates_adcs_config": "ca01.example.com\\Example CA",
        "xprotect_certificates_adcs_template": "XProtectServer",
        "xprotect_trust_install": False,
    }
    assert not run_action("settings", {"playbook": "site"}, Host(), **ok).get("failed")
    for name, value in (
        ("xprotect_certificates_key_source", "enterprise"),
        ("xprotect_certificates_adcs_config", "ca01.example.com/Example CA"),
        ("xprotect_certificates_adcs_template", "   "),
    ):
        bad = run_action("settings", {"playbook": "site"}, Host(), **dict(ok, **{name: value}))
        assert bad["failed"] is True and name in bad["msg"] and "Traceback" not in bad["msg"], (name, bad["msg"])
