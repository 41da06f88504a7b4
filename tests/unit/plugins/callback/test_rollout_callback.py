# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollout callback: it loads nothing at playbook start (it only reports), and the failure summary for every
result shape, run_once checks, and the advice per phase (also run on the lab)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import textwrap

import pytest
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.xprotect.encryption.plugins.callback import rollout

COLLECTIONS = pathlib.Path(__file__).resolve().parents[4] / ".collections"


class _Display:
    def __init__(self):
        self.debug = []

    def vvvv(self, msg):
        self.debug.append(msg)


def _callback():
    cb = rollout.CallbackModule()
    cb._display = _Display()
    return cb


# The callback as ansible-playbook loads it, in a child so that the collection finder stays out
# of this process and the child starts with nothing of the collection loaded.
_CHILD = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from ansible.plugins.loader import callback_loader, init_plugin_loader
    init_plugin_loader([sys.argv[1]])
    cb = callback_loader.get("xprotect.encryption.rollout")
    cb.set_options()
    cb.v2_playbook_on_start(None)
    print(json.dumps(sorted(m for m in sys.modules if m.startswith("ansible_collections.xprotect"))))
    """
)


def test_playbook_start_loads_nothing_but_what_the_summary_needs():
    out = subprocess.run([sys.executable, "-c", _CHILD, str(COLLECTIONS)], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    prefix = "ansible_collections.xprotect.encryption.plugins."
    ours = {m[len(prefix) :] for m in loaded if m.startswith(prefix)}
    # The callback itself and the pure module that builds the summary (and its own imports).
    assert ours >= {"callback.rollout", "module_utils.run_summary"}
    assert not [m for m in ours if m.startswith(("plugin_utils", "action", "modules"))], sorted(ours)
    assert not [m for m in loaded if "_lab" in m or m.endswith(".pki")]


# -- the failure summary ---------------------------------------------------------------------
# Ansible hands the callback TaskResult objects; these stand-ins carry the same attributes
# the callback reads (_host.get_name(), _task.get_name()/run_once/ignore_unreachable, _result).


class _Host:
    def __init__(self, name):
        self.name = name

    def get_name(self):
        return self.name


class _Task:
    def __init__(self, name="Some task", run_once=False, ignore_unreachable=False):
        self.name = name
        self.run_once = run_once
        self.ignore_unreachable = ignore_unreachable

    def get_name(self):
        return self.name


class _Result:
    def __init__(self, host, result, task=None):
        self._host = _Host(host)
        self._task = task or _Task()
        self._result = result


class _Play:
    def __init__(self, name):
        self.name = name

    def get_name(self):
        return self.name


class _Stats:
    def __init__(self, failures=(), dark=()):
        self.failures = dict.fromkeys(failures, 1)
        self.dark = dict.fromkeys(dark, 1)


class _Screen(_Display):
    def __init__(self):
        super().__init__()
        self.shown = []

    def display(self, msg, color=None, stderr=False):
        self.shown.append(msg)


def _summary_of(plays, failures, stats):
    """Run the callback through plays and failures; return what it printed at the end."""
    cb = rollout.CallbackModule()
    cb._display = _Screen()
    for play in plays:
        cb.v2_playbook_on_play_start(_Play(play))
        for kind, result in failures.get(play, ()):
            if kind == "unreachable":
                cb.v2_runner_on_unreachable(result)
            else:
                cb.v2_runner_on_failed(result)
    cb.v2_playbook_on_stats(stats)
    return "\n".join(cb._display.shown)


class _Unsafe(str):
    """Like AnsibleUnsafeText: a str subclass."""


class _Unprintable:
    def __str__(self):
        raise RuntimeError("cannot print me")


@pytest.mark.parametrize(
    "msg, shown",
    [
        ("Server Configurator on rs1 exited -1\nsecond line", "Server Configurator on rs1 exited -1"),
        (["rs1 (127.0.0.2:7563): certificate not trusted", "rs2 (127.0.0.3:7563): unreachable"], "rs2 (127.0.0.3"),
        ({"code": 7, "why": "odd"}, '"why": "odd"'),
        (None, "(no message)"),
        (b"bytes \xe2\x9c\x93 message", "bytes \u2713 message"),
        (_Unsafe("unsafe text"), "unsafe text"),
        (wrap_var("wrapped by ansible"), "wrapped by ansible"),
        (wrap_var({"msg": ["wrapped", "list"]}), '"msg": ["wrapped", "list"]'),
        (42, "42"),
        ([], "(no message)"),
        (_Unprintable(), "(a message that cannot be shown)"),
    ],
    ids=[
        "text",
        "list",
        "dict",
        "none",
        "bytes",
        "unsafe",
        "wrap_var",
        "wrap_var-dict",
        "int",
        "empty-list",
        "unprintable",
    ],
)
def test_the_summary_survives_any_message_shape(msg, shown):
    play = "Phase 4: all recording servers, in parallel"
    failures = {play: [("failed", _Result("rs1", {"failed": True, "msg": msg}))]}
    out = _summary_of([play], failures, _Stats(failures=["rs1"]))
    assert "Stopped in: Phase 4: all recording servers" in out
    assert "rs1: failed in 'Phase 4" in out
    assert shown in out


def test_a_result_that_is_not_a_mapping_still_gets_its_line():
    play = "Phase 3: the management server"
    out = _summary_of([play], {play: [("failed", _Result("ms", ["not", "a", "dict"]))]}, _Stats(failures=["ms"]))
    assert "ms: failed in 'Phase 3: the management server': not; a; dict" in out


def test_loop_results_give_the_failed_items_message():
    play = "Phase 1: stage the CA on every server and client, and certificates on the servers"
    result = {
        "failed": True,
        "msg": "One or more items failed",
        "results": [{"failed": False, "msg": "fine"}, {"failed": True, "msg": "item two broke"}],
    }
    out = _summary_of([play], {play: [("failed", _Result("rs1", result))]}, _Stats(failures=["rs1"]))
    assert "rs1: failed in 'Phase 1" in out and "item two broke" in out and "fine" not in out


def test_a_long_list_is_cut_to_three_items_and_a_count():
    play = "Phase 4: all recording servers"
    msg = [f"rs{i} (127.0.0.{i}:7563): unreachable" for i in range(1, 8)]
    out = _summary_of([play], {play: [("failed", _Result("rs1", {"msg": msg}))]}, _Stats(failures=["rs1"]))
    assert "rs3 (127.0.0.3:7563)" in out and "rs4 (" not in out and "(and 4 more)" in out


def test_a_run_once_gate_is_not_blamed_on_the_healthy_host_that_carried_it():
    play = "Phase 4: all recording servers, in parallel"
    gate = _Task("Gate | every host of this phase got through", run_once=True)
    failures = {
        play: [
            ("failed", _Result("rs2", {"failed": True, "msg": "Server Configurator on rs2 exited -1"})),
            ("failed", _Result("rs1", {"failed": True, "msg": "These hosts failed: rs2."}, gate)),
        ]
    }
    out = _summary_of([play], failures, _Stats(failures=["rs1", "rs2"]))
    assert "  rs2: failed in 'Phase 4" in out
    assert "rs1:" not in out
    assert "the check 'Gate | every host of this phase got through' (run once for the play)" in out
    assert "These hosts failed: rs2." in out


def test_a_failure_on_the_controller_is_named_by_its_task():
    play = "Phase 2: preflight gate - nothing is switched unless every host is ready"
    gate = _Task("Gate | stop before any switch when something is missing")
    result = _Result("localhost", {"failed": True, "msg": "Preflight failed on rs1; this run switched nothing."}, gate)
    out = _summary_of(["Phase 0: the site CA", play], {play: [("failed", result)]}, _Stats(failures=["localhost"]))
    assert "localhost:" not in out
    assert "the controller, task 'Gate | stop before any switch when something is missing'" in out


def test_hosts_that_only_failed_with_ignore_errors_or_ignore_unreachable_are_not_listed():
    cb = rollout.CallbackModule()
    cb._display = _Screen()
    cb.v2_playbook_on_play_start(_Play("Audit: read every server and client, change nothing"))
    cb.v2_runner_on_failed(_Result("rs1", {"failed": True, "msg": "x"}), ignore_errors=True)
    cb.v2_runner_on_unreachable(_Result("rs2", {"unreachable": True, "msg": "y"}, _Task(ignore_unreachable=True)))
    cb.v2_playbook_on_stats(_Stats())
    assert cb._display.shown == []


def test_no_summary_when_nothing_failed():
    assert _summary_of(["Phase 4: all recording servers"], {}, _Stats()) == ""


def test_a_host_recorded_as_failed_but_not_in_the_stats_is_not_blamed():
    # e.g. a failure Ansible later rescued: the stats are the truth about who failed
    play = "Phase 4: all recording servers"
    failures = {play: [("failed", _Result("rs1", {"msg": "rescued"})), ("failed", _Result("rs2", {"msg": "real"}))]}
    out = _summary_of([play], failures, _Stats(failures=["rs2"]))
    assert "rs2: failed" in out and "rs1" not in out


def test_unreachable_hosts_are_listed_as_unreachable():
    play = "Phase 5: failover recording servers"
    result = _Result("fo1", {"unreachable": True, "msg": "Failed to connect to the host via winrm"})
    out = _summary_of([play], {play: [("unreachable", result)]}, _Stats(dark=["fo1"]))
    assert "fo1: unreachable in 'Phase 5" in out and "Failover servers that have not switched" in out


@pytest.mark.parametrize(
    "plays, truth, lie",
    [
        (["Validate the run", "Phase 0: the site CA"], "This run switched no encryption setting", "is encrypted"),
        (
            ["Phase 0: x", "Phase 2: preflight gate", "Phase 3a: event servers", "Phase 3: the management server"],
            "The management server may already be encrypted",
            "switched no encryption",
        ),
        (["Phase 2: x", "Phase 3: x", "Phase 4: all recording servers"], "playbooks/rollback.yml", "is safe"),
        (["Renew phase 0: x", "Renew phase 1: re-issue"], "playbooks/renew.yml", "rollback.yml"),
        (["Rollback step 1: encryption off on xprotect_management_servers"], "rollback.yml again", "renew.yml"),
        (["Audit: read every server", "Audit: drift summary"], "The audit changed nothing", "Later phases"),
    ],
    ids=["before-any-switch", "management", "recording", "renew", "rollback", "audit"],
)
def test_the_advice_follows_the_phase_the_run_stopped_in(plays, truth, lie):
    failures = {plays[-1]: [("failed", _Result("h1", {"msg": "boom"}))]}
    out = _summary_of(plays, failures, _Stats(failures=["h1"]))
    assert f"Stopped in: {plays[-1]}" in out
    assert truth in out and lie not in out


def test_a_broken_summary_still_says_where_the_run_stopped(monkeypatch):
    def broken(*_a, **_k):
        raise RuntimeError("bug in the advice")

    monkeypatch.setattr(rollout.run_summary, "advice", broken)
    play = "Phase 4: all recording servers"
    out = _summary_of([play], {play: [("failed", _Result("rs1", {"msg": "x"}))]}, _Stats(failures=["rs1"]))
    assert "Stopped in: Phase 4: all recording servers" in out and "bug in the advice" in out


def test_a_host_the_stats_count_as_failed_is_listed_even_without_a_failure_seen():
    play = "Phase 5: failover recording servers"
    out = _summary_of(["Phase 4: x", play], {}, _Stats(failures=["fo1"]))
    assert "Stopped in: Phase 5: failover recording servers" in out
    assert "fo1: failed in 'Phase 5: failover recording servers': (see the errors above)" in out
