# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The encryption action's fan-out (mode start, then mode collect) against a scripted management
server whose Server Configurator runs as an async job: start, collect, the retries of 10000/20000,
the stale-instance stop, a host that never settles, a run that never ends, and check mode."""

from __future__ import annotations

import pytest

from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import JobStatus

from .conftest import BINDING_9000, EXE, FQDN, MS_CONFIG, SERVER_CONFIG, Host, RunResult, bound, ok

TP = "0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C"
OLD = "AB" * 20
GUID = "84430eb7-847c-422d-aa00-7915cd0d7a65"
KNOWN = {"path": EXE, "version": "24.2.0.1", "group_ids": {"server": GUID}}
ARGS = {"thumbprint": TP, "configurator": KNOWN, "settle_interval": 0.01, "retry_delay": 0}
ENABLE = [EXE, "/quiet", "/enableencryption", f"/certificategroup={GUID}", f"/thumbprint={TP}"]


class AsyncHost(Host):
    """A scripted host whose started runs answer ``polls`` times "running", then finish with ``rc``
    (binding the certificate when ``rc`` is 0, as Server Configurator does)."""

    def __init__(self, thumbprint=None, *, rc=0, polls=1, applies=True, **kw):
        registry = {BINDING_9000: bound(thumbprint)} if thumbprint else {}
        super().__init__(files={MS_CONFIG: SERVER_CONFIG}, registry=registry, **kw)
        self.rc, self.polls, self.applies = rc, polls, applies
        self.started = []

    def _start(self, argv, timeout):
        self.started.append((argv, timeout))
        return f"j{len(self.started)}"

    def _status(self, job):
        if self.polls is None or self.polls > 0:
            self.polls = None if self.polls is None else self.polls - 1
            return JobStatus(job, False)
        if self.rc == 0 and self.applies:
            self.registry[BINDING_9000] = bound(TP)
        return JobStatus(job, True, RunResult(self.rc, "", ""))


def binds(host):
    def run(argv):
        host.registry[BINDING_9000] = bound(TP)
        return RunResult(0, "", "")

    return run


def fan_out(run_action, host, args=None, **kw):
    started = run_action("encryption", dict(args or ARGS, mode="start"), host, **kw)
    # as the role's second task: nothing but the start's result
    collected = run_action("encryption", {"mode": "collect", "started": started}, host, **kw)
    return started, collected


def test_start_starts_server_configurator_and_returns_at_once(run_action):
    host = AsyncHost(OLD)
    started = run_action("encryption", dict(ARGS, mode="start", settle_timeout=300), host)
    assert started["changed"] is True and started["round_trips"] == 3
    assert host.call_log == ["read_file", "read_registry", "start"]
    assert host.started == [(ENABLE, 300.0)] and host.argvs == []
    assert started["job"]["id"] == "j1" and started["job"]["changes"] == [["server", "enable", TP]]
    assert started["thumbprints"] == {"server": OLD}  # not switched yet: collect reads it back


def test_collect_waits_for_the_run_then_reads_the_state_back(run_action):
    host = AsyncHost(OLD, polls=2)
    _started, result = fan_out(run_action, host)
    assert result.get("failed") is not True, result
    assert result["changed"] is True and "job" not in result
    assert result["applied"] == [{"group": "Server certificate", "action": "enable", "exit_codes": [0]}]
    assert result["thumbprints"] == {"server": TP}
    assert host.call_log[3:] == ["status", "status", "status", "read_file", "read_registry"]
    assert host.argvs == []  # nothing ran synchronously


def test_exit_codes_10000_and_20000_are_retried_as_the_synchronous_path_does(run_action):
    host = AsyncHost(OLD, rc=20000)
    host.runs = [RunResult(10000, "", ""), binds(host)]
    _started, result = fan_out(run_action, host, dict(ARGS, retries=2))
    assert result.get("failed") is not True, result
    assert result["applied"][0]["exit_codes"] == [20000, 10000, 0]
    assert host.argvs == [ENABLE, ENABLE] and len(host.started) == 1


def test_retries_used_up_fail_with_every_code_seen(run_action):
    host = AsyncHost(OLD, rc=20000)
    host.runs = [RunResult(20000, "", "")]
    _started, result = fan_out(run_action, host, dict(ARGS, retries=1))
    assert result["failed"] is True and result["changed"] is False and result["applied"] == []
    assert "Exit codes seen: [20000, 20000]" in result["msg"] and "on ms01.example.com" in result["msg"]


def test_a_stale_instance_is_ended_and_the_run_made_again_when_asked(run_action):
    host = AsyncHost(OLD, rc=-4)
    host.runs = [ok("SUCCESS"), binds(host)]  # taskkill, then the run again
    _started, result = fan_out(run_action, host, dict(ARGS, stop_stale_configurator=True))
    assert result.get("failed") is not True, result
    assert host.argvs[0][0] == "taskkill.exe" and host.argvs[1] == ENABLE
    assert result["applied"][0]["exit_codes"] == [-4, 0]


def test_a_stale_instance_without_the_setting_fails_and_says_what_to_set(run_action):
    host = AsyncHost(OLD, rc=-4)
    _started, result = fan_out(run_action, host)
    assert result["failed"] is True and "stop_stale_configurator" in result["msg"] and host.argvs == []


def test_a_host_that_never_settles_fails_naming_the_host(run_action):
    host = AsyncHost(OLD, applies=False)  # exit 0, but the binding stays the old one
    _started, result = fan_out(run_action, host, dict(ARGS, settle_timeout=0.05))
    assert result["failed"] is True and result["changed"] is True
    assert result["msg"].startswith("ms01.example.com: ") and result["thumbprints"] == {"server": OLD}


def test_a_run_that_never_ends_fails_naming_the_host_and_the_job(run_action):
    host = AsyncHost(OLD, polls=None)
    _started, result = fan_out(run_action, host, dict(ARGS, settle_timeout=0.05))
    assert result["failed"] is True and result["changed"] is True
    assert result["msg"].startswith("ms01.example.com: Server Configurator, started for group Server certificate")
    assert "async job j1" in result["msg"] and "had not finished" in result["msg"]


def test_check_mode_starts_nothing_and_collect_returns_the_reading_as_it_is(run_action):
    host = AsyncHost(OLD)
    started, collected = fan_out(run_action, host, check=True, diff=True)
    assert started["changed"] is True and "job" not in started and host.started == []
    assert started["diff"]["after"] == {"Server certificate": f"enabled ({TP})"}
    assert host.call_log == ["read_file", "read_registry"]  # collect touched nothing
    assert collected["changed"] is True and collected["reasons"] == started["reasons"]
    assert "diff" not in collected  # shown once, by the start


def test_a_host_in_the_state_asked_starts_nothing_and_collect_passes_it_through(run_action):
    host = AsyncHost(TP)
    started, collected = fan_out(run_action, host)
    assert started["changed"] is False and "job" not in started
    assert collected["changed"] is False and collected["thumbprints"] == {"server": TP}
    assert host.call_log == ["read_file", "read_registry"]


def test_collect_without_the_start_result_fails_naming_it(run_action):
    result = run_action("encryption", dict(ARGS, mode="collect"), AsyncHost(OLD))
    assert result["failed"] is True and "mode=collect needs started" in result["msg"]


def test_without_runas_the_start_starts_nothing(run_action):
    host = AsyncHost(OLD)
    result = run_action("encryption", dict(ARGS, mode="start"), host, runas=False)
    assert result["failed"] is True and "become is off" in result["msg"] and host.started == []


def test_the_plan_the_role_set_is_read_from_the_host_variable_it_names(run_action):
    host = AsyncHost(OLD)
    plan = dict(ARGS, mode="start", settle_timeout=300)
    started = run_action("encryption", {"plan": "xprotect_switch_plan"}, host, xprotect_switch_plan=plan)
    assert started["changed"] is True and host.started == [(ENABLE, 300.0)]
    assert plan == dict(ARGS, mode="start", settle_timeout=300)  # the host's variable is left as it was


def test_a_plan_not_worked_out_is_the_role_default_template_rendered_once(run_action):
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template

    host = AsyncHost(OLD)
    started = run_action(
        "encryption",
        {"plan": "xprotect_switch_plan"},
        host,
        templar=lambda variables: Templar(loader=DataLoader(), variables=variables),
        xprotect_switch_plan=trust_as_template("{{ xprotect_switch_options }}"),
        xprotect_switch_options=dict(ARGS, mode="start"),
    )
    assert started["changed"] is True and host.started == [(ENABLE, 180.0)]


@pytest.mark.parametrize(
    "args, task_vars, said",
    [
        ({"plan": "xprotect_switch_plan"}, {}, "tasks_from: plan sets xprotect_switch_plan"),
        ({"plan": "xprotect_switch_plan", "options": {"mode": "start"}}, {"xprotect_switch_plan": ARGS}, "not both"),
        ({"plan": "xprotect_switch_plan"}, {"xprotect_switch_plan": ["start"]}, "give a dictionary"),
    ],
    ids=["undefined", "with-options", "not-a-dictionary"],
)
def test_a_plan_that_cannot_be_used_fails_naming_the_option_and_touches_nothing(run_action, args, task_vars, said):
    host = AsyncHost(OLD)
    result = run_action("encryption", args, host, **task_vars)
    assert result["failed"] is True and said in result["msg"], result
    assert result["option"] in ("plan", "options") and result["msg"].startswith(FQDN)
    assert host.call_log == [] and host.started == []
