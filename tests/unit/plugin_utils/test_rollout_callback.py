# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollout callback's preloading at playbook start (its summary is tested on the lab)."""

from __future__ import annotations

import sys

from ansible_collections.xprotect.encryption.plugins.callback import rollout
from ansible_collections.xprotect.encryption.plugins.module_utils import pki


class _Display:
    def __init__(self):
        self.debug = []

    def vvvv(self, msg):
        self.debug.append(msg)


def _callback():
    cb = rollout.CallbackModule()
    cb._display = _Display()
    return cb


def test_playbook_start_imports_the_libraries_and_warms_openssl(monkeypatch):
    calls = []
    monkeypatch.setattr(pki, "warm_up", lambda: calls.append("warm_up"))
    cb = _callback()
    cb.v2_playbook_on_start(None)
    assert calls == ["warm_up"]
    assert all(name in sys.modules for name in rollout._WARM)
    assert cb._display.debug == []


def test_a_failing_warm_up_is_only_a_debug_message(monkeypatch):
    def broken():
        raise RuntimeError("no OpenSSL today")

    monkeypatch.setattr(pki, "warm_up", broken)
    cb = _callback()
    cb.v2_playbook_on_start(None)  # must not raise: preloading is an optimisation only
    assert any("no OpenSSL today" in line for line in cb._display.debug)
