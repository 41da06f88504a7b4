# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of the per-host cost of the rollout's switch task, against a bare debug task.

On a lab site of N recording servers (default 50, forks N), one play runs, on every recording
server, three times each: ``ansible.builtin.debug`` (the anchor: Ansible's own per-host cost)
and the encryption role's ``switch`` tasks in check mode (what phase 4 runs inside the
disconnection window, up to the first Server Configurator call), planned first as site.yml
does (``tasks_from: plan``, not measured). A helper callback
(benchmarks/callback_plugins/worker_cpu.py) logs the CPU time of every forked worker and the
start of every task.

Prints, per kind, the mean worker CPU per host and the mean wall time per host of a task; the
last line reads ``switch_vs_debug_cpu=<x> switch_vs_debug_wall=<y>``.

The role's switch is two tasks (issue 18): the first (mode start, or sync) is reported as
``switch``, the second (mode collect; in check mode it returns the first's result) as ``collect``.

Run: ``python benchmarks/bench_task_cost.py [--recording-servers 50] [--no-lab-preload]
[--phase4-keywords]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PLAYBOOK = """
- name: Per-host task cost
  hosts: xprotect_recording_servers
  gather_facts: false
%(keywords)s  vars:
    xprotect_certificate: {thumbprint: "%(thumbprint)s"}
    xprotect_encryption_groups: [server]
  tasks:
%(tasks)s
"""
DEBUG = """    - name: debug %(n)d
      ansible.builtin.debug:
        msg: anchor
"""
# The templated keywords of site.yml's phase 4 play (--phase4-keywords). The main process templates
# them before it forks the task's workers, so the workers inherit what that loaded: the Jinja
# lexer and the builtin filter plugins. Without them, the first template and the first filter of
# every worker pay for both (docs/performance.md).
PHASE4_KEYWORDS = """  serial: "{{ xprotect_recording_batch | default(0) }}"
  max_fail_percentage: "{{ xprotect_max_fail_percentage | default(0) }}"
"""
# As site.yml's phase 4: the switch planned before (roles/encryption/tasks/plan.yml, not measured).
SWITCH = """    - name: plan %(n)d
      ansible.builtin.import_role:
        name: xprotect.encryption.encryption
        tasks_from: plan
    - name: switch %(n)d
      ansible.builtin.import_role:
        name: xprotect.encryption.encryption
        tasks_from: switch
      check_mode: true
"""


def run(argv, extra_env=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), PATH=f"{BIN}:{env.get('PATH', '')}")
    env.update(extra_env or {})
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(map(str, argv))} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    return proc.stdout


def lab(site: Path, state: str, recording: int = 0) -> None:
    extra = {"lab_path": str(site), "lab_state": state, "lab_recording_servers": recording}
    run([str(BIN / "ansible-playbook"), "playbooks/lab.yml", "-e", json.dumps(extra)])


def kind_of(task_name: str):
    if task_name.startswith("debug"):
        return "debug"
    if "Certificate groups" not in task_name:
        return None
    # The fan-out's second step (mode collect) has "wait for" in its name; the first is the switch.
    return "collect" if "wait for" in task_name else "switch"


def parse(log: Path, hosts: int) -> dict:
    """Mean worker CPU (ms) and wall time per host (ms) for the tasks named debug* and switch*."""
    cpu = {"debug": [], "switch": [], "collect": []}
    wall = {"debug": [], "switch": [], "collect": []}
    starts = []
    for line in log.read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if fields[0] == "start":
            starts.append((fields[1], float(fields[2])))
        elif kind_of(fields[0]):
            cpu[kind_of(fields[0])].append(float(fields[1]) * 1000)
    for (name, begin), (_next_name, end) in zip(starts, starts[1:]):
        if kind_of(name):
            wall[kind_of(name)].append((end - begin) * 1000 / hosts)
    # The first task of each kind pays one-time costs (plugin loading in the main process).
    return {k: (statistics.mean(cpu[k]), statistics.mean(wall[k][1:] or wall[k])) for k in cpu if cpu[k]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--recording-servers", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--no-lab-preload", action="store_true", help="without the lab_preload callback (each worker imports the lab)"
    )
    parser.add_argument(
        "--phase4-keywords",
        action="store_true",
        help="give the play the templated keywords of site.yml's phase 4 (serial, max_fail_percentage)",
    )
    args = parser.parse_args()
    n = args.recording_servers
    with tempfile.TemporaryDirectory(prefix="bench-task-cost-") as tmp:
        work = Path(tmp)
        site = work / "site"
        lab(site, "started", n)
        try:
            tasks = "".join(DEBUG % {"n": i} + SWITCH % {"n": i} for i in range(args.repeat))
            playbook = work / "cost.yml"
            playbook.write_text(
                PLAYBOOK
                % {
                    "thumbprint": "AB" * 20,
                    "tasks": tasks,
                    "keywords": PHASE4_KEYWORDS if args.phase4_keywords else "",
                },
                encoding="utf-8",
            )
            log = work / "workers.log"
            run(
                [str(BIN / "ansible-playbook"), "-i", str(site / "inventory.yml"), "-f", str(n), str(playbook)],
                {
                    "ANSIBLE_CALLBACK_PLUGINS": str(REPO / "benchmarks" / "callback_plugins"),
                    # As the collection's ansible.cfg, plus the worker CPU log.
                    "ANSIBLE_CALLBACKS_ENABLED": ",".join(
                        ("xprotect.encryption.rollout", "worker_cpu")
                        if args.no_lab_preload
                        else ("xprotect.encryption.rollout", "xprotect.encryption.lab_preload", "worker_cpu")
                    ),
                    "XPROTECT_BENCH_WORKER_LOG": str(log),
                },
            )
            found = parse(log, n)
        finally:
            lab(site, "absent")
    for kind, (cpu, wall) in found.items():
        print(f"{kind:>6}: worker CPU {cpu:5.1f} ms per host, wall {wall:5.1f} ms per host ({n} hosts, forks {n})")
    print(
        f"switch_vs_debug_cpu={found['switch'][0] / found['debug'][0]:.2f} "
        f"switch_vs_debug_wall={found['switch'][1] / found['debug'][1]:.2f}"
    )


if __name__ == "__main__":
    main()
