# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""run_module: every refusal of a backend becomes one failed task naming the option."""

from __future__ import annotations

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import fileutil, pki, validate
from ansible_collections.xprotect.encryption.plugins.module_utils._backends.common import run_module


class Failed(Exception):
    pass


class FakeModule:
    """The three things run_module uses of an AnsibleModule; fail_json raises, as exit does."""

    def __init__(self, params, check_mode=False, diff=False):
        self.params, self.check_mode, self._diff = params, check_mode, diff

    def fail_json(self, **kwargs):
        raise Failed(kwargs)


def fail(module, run, rules=None) -> dict:
    with pytest.raises(Failed) as e:
        run_module(module, run, lambda err: f"path: cannot write ({err})", rules)
    return e.value.args[0]


def raising(error):
    def run(params, check_mode):
        raise error

    return run


@pytest.mark.parametrize(
    ("error", "option", "msg"),
    [
        (pki.PkiError("ca_key_path: wrong key", "ca_key_path"), "ca_key_path", "ca_key_path: wrong key"),
        (validate.ArgumentError("hosts: bad", "hosts"), "hosts", "hosts: bad"),
        (fileutil.LockError("/x is locked by another run"), "path", "/x is locked by another run"),
        (PermissionError(13, "Permission denied"), "path", "path: cannot write ([Errno 13] Permission denied)"),
    ],
)
def test_each_refusal_fails_naming_the_option(error, option, msg):
    assert fail(FakeModule({}), raising(error)) == {"msg": msg, "option": option}


def test_the_rules_run_before_the_backend_and_name_the_option():
    called = []
    module = FakeModule({"days": -1})
    result = fail(module, lambda p, c: called.append(p), {"days": validate.days})
    assert result["option"] == "days" and "days: -1 is not allowed" in result["msg"] and called == []


def test_the_backend_gets_the_checked_params_and_check_mode():
    module = FakeModule({"days": "7"}, check_mode=True, diff=True)
    result = run_module(module, lambda p, c: {"p": dict(p), "check": c, "diff": {}}, str, {"days": validate.days})
    assert result == {"p": {"days": 7}, "check": True, "diff": {}}


def test_diff_is_dropped_unless_asked_for():
    result = run_module(FakeModule({}), lambda p, c: {"changed": True, "diff": {"before": {}}}, str)
    assert result == {"changed": True}


def test_no_cryptography_fails_with_the_requirement(monkeypatch):
    monkeypatch.setattr(pki, "HAS_CRYPTOGRAPHY", False)
    result = fail(FakeModule({}), raising(AssertionError("never run")))
    assert "cryptography" in result["msg"]
