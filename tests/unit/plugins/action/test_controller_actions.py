# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ca and ca_rotation as a task runs them: their action plugins, which run the modules' backends in
the worker on the controller (plugin_utils/controller.py). The modules' own tests (tests/unit/
plugins/modules) cover the backends through main(); these cover what the action adds: the same
checks and failures, check and diff mode, warnings, and no value of a no_log option in the result."""

from __future__ import annotations

import json
import os
import stat

from ansible_collections.xprotect.encryption.plugins.module_utils import pki

PASS = "action ca pass phrase"  # noqa: S105 - a test value


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_ca_is_created_on_the_controller_once_key_0600_and_encrypted(run_action, tmp_path, fast_create):
    folder = str(tmp_path / "pki")
    first = run_action("ca", {"path": folder, "passphrase": PASS}, None, diff=True)
    assert first["changed"] is True and first["created"] is True and not first.get("failed")
    key = os.path.join(folder, "ca.key")
    assert mode(key) == 0o600 and mode(folder) == 0o700
    with open(key, "rb") as fh:
        pem = fh.read()
    assert b"ENCRYPTED PRIVATE KEY" in pem
    with open(os.path.join(folder, "ca.crt"), "rb") as fh:
        assert pki.load_ca(fh.read(), pem, PASS.encode()).thumbprint == first["thumbprint"]
    assert first["diff"]["after"]["thumbprint"] == first["thumbprint"]
    again = run_action("ca", {"path": folder, "passphrase": PASS}, None)
    assert again["changed"] is False and again["thumbprint"] == first["thumbprint"] and "diff" not in again


def test_check_mode_writes_nothing(run_action, tmp_path, fast_create):
    folder = tmp_path / "pki"
    result = run_action("ca", {"path": str(folder), "passphrase": PASS}, None, check=True)
    assert result["changed"] is True and result["created"] is True and not folder.exists()


def test_no_value_of_a_no_log_option_is_in_the_result(run_action, tmp_path, fast_create):
    # The passphrase is also the CA's name here: wherever a value shows, it is masked.
    result = run_action("ca", {"path": str(tmp_path / "pki"), "passphrase": PASS, "common_name": PASS}, None)
    assert not result.get("failed") and PASS not in json.dumps(result)
    assert result["subject"] == "CN=********"


def test_a_wrong_passphrase_fails_naming_the_option_not_its_value(run_action, tmp_path, fast_create):
    folder = str(tmp_path / "pki")
    assert run_action("ca", {"path": folder, "passphrase": PASS}, None)["created"] is True
    wrong = "not the pass phrase at all"
    result = run_action("ca", {"path": folder, "passphrase": wrong}, None)
    assert result["failed"] is True and result["option"] == "passphrase" and wrong not in json.dumps(result)


def test_warnings_reach_the_result(run_action, tmp_path, fast_create):
    result = run_action("ca", {"path": str(tmp_path / "pki"), "passphrase": "short phrase"}, None)
    assert any(w.startswith("passphrase: the CA passphrase has 12 characters") for w in result["warnings"])


def test_the_declared_relations_and_rules_are_checked(run_action, tmp_path):
    both = run_action("ca", {"path": str(tmp_path), "cert_content": "x", "key_content": "y"}, None)
    assert both["failed"] is True and "mutually exclusive" in both["msg"] and "cert_content" in both["msg"]
    small = run_action("ca", {"path": str(tmp_path / "pki"), "passphrase": PASS, "key_size": 1024}, None)
    assert small["failed"] is True and small["option"] == "key_size" and not (tmp_path / "pki").exists()
    unknown = run_action("ca", {"path": str(tmp_path), "passphrase": PASS, "colour": "red"}, None)
    assert unknown["failed"] is True and "colour" in unknown["msg"]


def test_a_rotation_is_planned_and_its_promotion_needs_the_old_thumbprint(run_action, tmp_path, fast_create):
    site, new = str(tmp_path / "pki"), str(tmp_path / "pki-new")
    assert run_action("ca", {"path": site, "passphrase": PASS}, None)["created"] is True
    plan = run_action("ca_rotation", {"path": site, "new_path": new, "min_days": 1}, None, check=True)
    assert plan["in_progress"] is False and plan["new_thumbprint"] is None and not plan.get("failed")
    promoted = run_action("ca_rotation", {"path": site, "new_path": new, "state": "promoted"}, None)
    assert promoted["failed"] is True and "old_thumbprint" in promoted["msg"]
