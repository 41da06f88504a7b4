# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""WindowsAdapter.start / status (the fan-out's async Server Configurator run) against reconstructed
results of win_command under ansible-core's async wrapper and of the async_status action
(tests/unit/test_data/windows_modules/async_*.json, win_command_async_started.json)."""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import pytest

from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import AdapterError, HostUnreachable
from ansible_collections.xprotect.encryption.plugins.plugin_utils.windows import WindowsAdapter

_spec = importlib.util.spec_from_file_location(
    "_xprotect_windows_fake_action",
    pathlib.Path(__file__).resolve().parents[2] / "test_data" / "windows_modules" / "fake_action.py",
)
fake = sys.modules.setdefault(_spec.name, importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(fake)

SC = r"C:\Program Files\Milestone\Server Configurator\ServerConfigurator.exe"
ARGV = [SC, "/quiet", "/enableencryption", "/certificategroup=2ee3d3f4-5c41-4f8e-9d6b-7a0c8e2b1f3a"]


def adapter(*replies, check_mode=False):
    action = fake.FakeAction(*replies, check_mode=check_mode)
    return WindowsAdapter(action, {"inventory_hostname": "rs01"}), action


def test_start_runs_win_command_as_an_async_job_of_the_timeout_and_returns_its_id():
    a, action = adapter("win_command_async_started")
    job = a.start(ARGV, 179.2)
    assert job == "j480159737652"
    (call,) = action.calls
    assert call.module == "ansible.windows.win_command"
    assert call.args == {"argv": ARGV}
    assert call.wrap_async is True
    assert call.async_val == 180  # whole seconds, rounded up: the watchdog's limit
    assert call.check_mode is False
    assert action._task.async_val == 0  # the task itself is left as it was
    assert a.calls == 1 and a.call_log == ["start"]


def test_start_turns_check_mode_off_for_its_call_as_run_does():
    # win_command does not support check mode; start() turns it off for its call, as run() does
    a, action = adapter("win_command_async_started", check_mode=True)
    a.start(ARGV, 10)
    assert action.calls[0].check_mode is False
    assert action._task.check_mode is True


def test_a_start_without_a_job_id_is_an_error():
    a, _action = adapter({"changed": True, "started": True})
    with pytest.raises(AdapterError, match="started no async job"):
        a.start(ARGV, 10)


def test_a_start_that_cannot_reach_the_host_is_unreachable():
    a, _action = adapter("unreachable")
    with pytest.raises(HostUnreachable):
        a.start(ARGV, 10)


def test_status_of_a_running_job():
    a, action = adapter("async_status_running")
    status = a.status("j480159737652")
    assert not status.finished and status.result is None
    (call,) = action.calls
    assert (call.module, call.kind, call.args) == (
        "ansible.builtin.async_status",
        "action",
        {"jid": "j480159737652", "mode": "status"},
    )


@pytest.mark.parametrize(
    ("fixture", "rc"),
    [("async_status_finished_0", 0), ("async_status_finished_minus4", -4), ("async_status_finished_20000", 20000)],
)
def test_status_of_a_finished_job_is_the_programs_exit_code_signed(fixture, rc):
    a, _action = adapter(fixture)
    status = a.status("j480159737652")
    assert status.finished
    assert status.result.rc == rc


def test_a_job_the_watchdog_ended_is_an_error_that_says_so():
    a, _action = adapter("async_status_timed_out")
    with pytest.raises(AdapterError, match="timed out waiting for module completion"):
        a.status("j480159737652")
