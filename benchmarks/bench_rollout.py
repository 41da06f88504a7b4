# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of the rollout's disconnection window on lab sites of 10, 50 and 200 recording servers (issue 18).

For each size (1 management server, N recording servers, 1 failover server, 1 mobile server,
2 clients), forks = --forks (default 50), three first rollouts of ``site.yml`` on fresh sites:

- (a) with the lab's Server Configurator taking a realistic time (--run-seconds, default 20,
  with --jitter, default 5: the lab settings ``restart_seconds``/``restart_jitter_seconds``), once
  with the fan-out switch (``xprotect_encryption_fan_out: true``) and once with the synchronous one;
- (b) with the fan-out and runs that take no time: the controller's own share of the window;
- (c) in each fan-out run, (a)'s and (b)'s, the worker CPU per host of phase 4's start step (and
  of its collect step) against a bare ``ansible.builtin.debug`` task on the same recording
  servers, a play run after site.yml by the same ansible-playbook process
  (benchmarks/callback_plugins/worker_cpu.py). The first rollout's time leaves that play out.
  A worker's CPU time varies from one rollout to the next by up to a fifth on this machine, and
  start step and anchor run a minute apart, so task_cost is the mean of the two runs' ratios.

The window is read from the lab's event log: the management server's ``encryption_enabled`` to the
last recording server's. At 50, (b)'s site is re-run (it must change nothing) and audited; the
re-run is compared with the community.crypto anchor, ``../shared/bench/community_crypto_chain/run.sh
50 <forks>`` (skipped with --no-chain). With ``--cpu``, the first rollout is sampled every 50 ms
and the window split into its fixed part and its per-host part, with the CPUs busy in each.

The last line reads ``window_ratio=<fan-out window at the largest size / at the smallest>
sync_ratio=<the same, synchronous> task_cost=<(c) at the largest size: start step / debug, the mean
of the fan-out runs' (a) and (b)>
rerun_vs_chain=<the 50-server re-run / the anchor's re-run>`` (nan where a size is missing).
Goals: window_ratio <= 1.3, task_cost <= 1.5, rerun_vs_chain < 0.5.

Run: ``python benchmarks/bench_rollout.py [--sizes 10,50,200] [--forks 50] [--run-seconds 20]
[--jitter 5] [--no-chain] [--cpu]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parents[1]
CHAIN = REPO.parent / "shared" / "bench" / "community_crypto_chain" / "run.sh"
sys.path.insert(0, str(REPO / ".collections"))
sys.path.insert(0, str(REPO / "tests"))  # the order oracle, tests/phase_order.py

import phase_order as plan  # noqa: E402

BIN = Path(sys.executable).parent


def env(own_config: bool = True) -> dict:
    e = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    e.update(ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="False", PATH=f"{BIN}:{e.get('PATH', '')}")
    if own_config:
        e["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    return e


def timed(argv, own_config=True, extra_env: Optional[dict] = None) -> tuple:
    t0 = time.perf_counter()
    run_env = dict(env(own_config), **(extra_env or {}))
    proc = subprocess.run(argv, cwd=REPO, env=run_env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{' '.join(map(str, argv))} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    return elapsed, proc.stdout


class CpuSampler(threading.Thread):
    """Every 50 ms: the time, the machine's busy and total CPU ticks, and the ticks of one process."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.rows: list = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            with open("/proc/stat", encoding="ascii") as fh:
                ticks = [int(v) for v in fh.readline().split()[1:9]]
            try:
                with open(f"/proc/{self.pid}/stat", encoding="ascii") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                own = int(fields[11]) + int(fields[12])  # utime + stime
            except (OSError, IndexError, ValueError):
                own = None
            self.rows.append((time.time(), sum(ticks) - ticks[3] - ticks[4], sum(ticks), own))
            self.stop.wait(0.05)

    def between(self, start: float, end: float) -> Optional[dict]:
        rows = [r for r in self.rows if start <= r[0] <= end and r[3] is not None]
        if len(rows) < 2 or rows[-1][2] == rows[0][2]:
            return None
        (t0, busy0, total0, own0), (t1, busy1, total1, own1) = rows[0], rows[-1]
        cpus = os.cpu_count() or 1
        tick = os.sysconf("SC_CLK_TCK")
        return {
            "busy": cpus * (busy1 - busy0) / (total1 - total0),
            "main": (own1 - own0) / tick / (t1 - t0),
        }


def first_rollout(argv, sample: bool, extra_env: Optional[dict] = None) -> tuple:
    """Wall time of the first site.yml, and its CPU samples (None unless ``sample``)."""
    t0 = time.perf_counter()
    run_env = dict(env(), **(extra_env or {}))
    proc = subprocess.Popen(argv, cwd=REPO, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sampler = CpuSampler(proc.pid) if sample else None
    if sampler:
        sampler.start()
    out = proc.communicate()[0]
    if sampler:
        sampler.stop.set()
        sampler.join()
    if proc.returncode != 0:
        sys.exit(f"{' '.join(map(str, argv))} failed:\n{out[-3000:]}")
    return time.perf_counter() - t0, sampler


def split_window(sampler: Optional[CpuSampler], found) -> Optional[str]:
    """The window as its fixed part and its per-host part, with the CPUs busy in each."""
    if sampler is None or not found or len(found[1]) < 2:
        return None
    start, enables = found
    fixed, per_host = sampler.between(start, enables[0]), sampler.between(enables[0], enables[-1])
    if not fixed or not per_host:
        return None
    span = enables[-1] - enables[0]
    per_rs = per_host["busy"] * span / (len(enables) - 1) * 1000
    return (
        f"    window = {enables[0] - start:.2f} s to the first recording server ({fixed['busy']:.2f} CPUs busy, "
        f"main process {fixed['main']:.2f}) + {span:.2f} s for the other {len(enables) - 1} "
        f"({per_host['busy']:.2f} CPUs busy, main process {per_host['main']:.2f}; {per_rs:.0f} ms of CPU each)"
    )


def lab(site: Path, state: str, recording: int = 0, settings: Optional[dict] = None) -> None:
    extra = {"lab_path": str(site), "lab_state": state, "lab_recording_servers": recording}
    if settings:
        extra["lab_settings"] = settings
    timed([str(BIN / "ansible-playbook"), "playbooks/lab.yml", "-e", json.dumps(extra)])


def window_of(site: Path, sampler: Optional[CpuSampler]) -> tuple:
    """The disconnection window of the site's first rollout, and its split (see split_window)."""
    events = [json.loads(line) for line in (site / "events.jsonl").read_text().splitlines() if line.strip()]
    names = json.loads((site / "status.json").read_text())
    hosts = names.get("hosts", names)
    by_role = {
        "management": [h for h, v in hosts.items() if "management" in v.get("roles", [])],
        "recording": [h for h, v in hosts.items() if "recording" in v.get("roles", [])],
    }
    # Only the enables of the first rollout count (a re-run enables nothing).
    enables = plan.disconnection_enables(events, by_role)
    return plan.disconnection_window(events, by_role), split_window(sampler, enables)


WORKER_CPU = {
    "ANSIBLE_CALLBACK_PLUGINS": str(REPO / "benchmarks" / "callback_plugins"),
    # As the collection's ansible.cfg, plus the worker CPU log.
    "ANSIBLE_CALLBACKS_ENABLED": "xprotect.encryption.rollout,xprotect.encryption.lab_preload,worker_cpu",
}
DEBUG_PLAY = """
- name: Anchor, a bare debug task on every recording server
  hosts: xprotect_recording_servers
  gather_facts: false
  tasks:
    - name: debug anchor
      ansible.builtin.debug:
        msg: anchor
"""
START_TASK = "Certificate groups of the host's roles"


def worker_tasks(log: Path) -> list:
    """``[(task name, [worker CPU seconds, ...]), ...]`` in the order the tasks ran (linear
    strategy: a task's workers all end before the next task starts)."""
    tasks: list = []
    for line in log.read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if fields[0] == "start":
            tasks.append((fields[1], []))
        elif tasks and len(fields) == 2:
            tasks[-1][1].append(float(fields[1]))
    return tasks


def anchor_seconds(log: Path) -> float:
    """How long the anchor play took, from its task's start to the end of the run (0 without it)."""
    lines = (line.split("\t") for line in log.read_text(encoding="utf-8").splitlines())
    marks = {f[1]: float(f[2]) for f in lines if f[0] == "start" and len(f) == 3}
    return marks["end"] - marks["debug anchor"] if "debug anchor" in marks and "end" in marks else 0.0


def phase4_start_cpu(log: Path, recording: int) -> tuple:
    """Worker CPU per host (ms) of phase 4's first switch step on the recording servers (the
    Server certificate group: the first switch task run by ``recording`` workers), and of the
    collect step that follows it."""
    tasks = worker_tasks(log)
    for i, (name, cpus) in enumerate(tasks):
        if name.endswith(START_TASK) and len(cpus) == recording:
            collect = tasks[i + 1][1] if i + 1 < len(tasks) else []
            return statistics.mean(cpus) * 1000, (statistics.mean(collect) * 1000 if collect else float("nan"))
    return float("nan"), float("nan")


def measure(size: int, forks: int, work: Path, *, kind: str, settings: dict, cpu: bool = False) -> dict:
    """A fresh site's first rollout and its window. ``kind``: ``fan-out`` or ``sync`` (the
    switch), or ``zero`` (the fan-out, runs taking no time). The fan-out runs (``fan-out`` and
    ``zero``) also measure (c); ``zero`` at 50 the re-run and the audit."""
    site = work / f"site{size}-{kind}" / "site"
    lab(site, "started", size, settings)
    row = {"size": size, "forks": forks, "kind": kind}
    try:
        inv = ["-i", str(site / "inventory.yml"), "-f", str(forks)]
        fan_out = ["-e", json.dumps({"xprotect_encryption_fan_out": kind != "sync"})]
        log = work / f"workers-{size}-{kind}.log"
        task_cpu = kind != "sync"  # (c), in the fan-out runs
        run_env = dict(WORKER_CPU, XPROTECT_BENCH_WORKER_LOG=str(log)) if task_cpu else None
        argv = [str(BIN / "ansible-playbook"), *inv, *fan_out, "playbooks/site.yml"]
        if task_cpu:
            # The anchor in the same run: a bare debug task on the same hosts, after the rollout,
            # in the same ansible-playbook process (the same inventory, facts and forks).
            anchor = work / "debug.yml"
            anchor.write_text(DEBUG_PLAY, encoding="utf-8")
            argv.append(str(anchor))
        row["first"], sampler = first_rollout(argv, cpu, run_env)
        row["window"], row["split"] = window_of(site, sampler)
        if task_cpu:
            row["first"] -= anchor_seconds(log)
            row["start_cpu"], row["collect_cpu"] = phase4_start_cpu(log, size)
            row["debug_cpu"] = (
                statistics.mean(c for name, found in worker_tasks(log) if name == "debug anchor" for c in found) * 1000
            )
            if size == 50 and kind == "zero":
                rerun, out = timed([str(BIN / "ansible-playbook"), *inv, *fan_out, "playbooks/site.yml"])
                if re.search(r"changed=[1-9]", out.split("PLAY RECAP", 1)[-1]):
                    sys.exit(f"the re-run of the {size}-server site changed something")
                row["rerun"] = rerun
                row["audit"] = timed([str(BIN / "ansible-playbook"), *inv, "playbooks/audit.yml"])[0]
    finally:
        lab(site, "absent")
    return row


def chain(forks: int) -> tuple:
    """The anchor, run as bench_pki.py runs it (from a scratch folder, its inventory checked)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from bench_pki import run_chain  # noqa: PLC0415 - the same anchor code for both benchmarks

    with tempfile.TemporaryDirectory(prefix="bench-chain-") as work:
        return run_chain(50, forks, Path(work))


def ratio(rows: dict, kind: str, sizes: list) -> float:
    low, high = min(sizes), max(sizes)
    a, b = rows.get((low, kind)), rows.get((high, kind))
    return b["window"] / a["window"] if a and b and a["window"] and b["window"] else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", default="10,50,200")
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--run-seconds", type=float, default=20.0, help="modelled Server Configurator run (a)")
    parser.add_argument("--jitter", type=float, default=5.0, help="uniform jitter of each run, seconds")
    parser.add_argument("--no-chain", action="store_true", help="skip the community.crypto anchor")
    parser.add_argument("--cpu", action="store_true", help="split the window and show the CPUs busy in it")
    parser.add_argument("--kinds", default="fan-out,sync,zero", help="which rollouts of each size (of the three)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    realistic = {"restart_seconds": args.run_seconds, "restart_jitter_seconds": args.jitter}
    wanted = set(args.kinds.split(","))
    kinds = [(k, s) for k, s in (("fan-out", realistic), ("sync", realistic), ("zero", {})) if k in wanted]
    rows: dict = {}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-rollout-") as tmp:
        for size in sizes:
            for kind, settings in kinds:
                row = measure(size, args.forks, Path(tmp), kind=kind, settings=settings, cpu=args.cpu)
                rows[(size, kind)] = row
                extra = ""
                if "start_cpu" in row:
                    extra = (
                        f"; phase 4 start step {row['start_cpu']:.1f} ms worker CPU per host (collect "
                        f"{row['collect_cpu']:.1f} ms), debug {row['debug_cpu']:.1f} ms"
                    )
                    if "rerun" in row:
                        extra += f"; re-run {row['rerun']:.1f} s, audit {row['audit']:.1f} s"
                print(
                    f"N={size:>4} forks={args.forks:>3} {kind:>7}: first rollout {row['first']:6.1f} s, "
                    f"disconnection window {row['window']:.2f} s{extra}",
                    flush=True,
                )
                if row["split"]:
                    print(row["split"], flush=True)
    rerun_vs_chain = float("nan")
    if not args.no_chain and (50, "zero") in rows:
        c_first, c_rerun = chain(args.forks)
        rerun_vs_chain = rows[(50, "zero")]["rerun"] / c_rerun
        print(f"community.crypto chain, N=50 forks={args.forks}: first run {c_first:.1f} s, re-run {c_rerun:.1f} s")
    top = [rows[(max(sizes), k)] for k in ("fan-out", "zero") if (max(sizes), k) in rows]
    task_cost = statistics.mean(r["start_cpu"] / r["debug_cpu"] for r in top) if top else float("nan")
    print(f"benchmark wall time {time.perf_counter() - t0:.0f} s", flush=True)
    print(
        f"window_ratio={ratio(rows, 'fan-out', sizes):.2f} sync_ratio={ratio(rows, 'sync', sizes):.2f} "
        f"task_cost={task_cost:.2f} rerun_vs_chain={rerun_vs_chain:.2f}"
    )


if __name__ == "__main__":
    main()
