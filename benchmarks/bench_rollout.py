# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of the rollout on lab sites of 10, 50 and 200 recording servers.

For each size (1 management server, N recording servers, 1 failover server, 1 mobile server,
2 clients), with forks = min(N, 50) unless --forks is given:

- wall time of the first ``site.yml``, of the idempotent re-run, and of ``audit.yml``;
- the disconnection window, from the lab's event log: the management server's
  ``encryption_enabled`` to the last recording server's.

With ``--cpu``, the first rollout is sampled every 50 ms (``/proc/stat`` and the CPU time of
ansible-playbook's main process), and the window is split into its fixed part (the management
server's enable to the first recording server's: its read-back, its gate, the start of phase 4)
and its per-host part (the first recording server's enable to the last), each with the CPUs
busy and the main process's share; the per-host part also as CPU time per recording server.

The window goal compares two short spans, so the first rollouts of the 10- and 50-server sites
are repeated on fresh sites (``--repeat``, default 3, alternating 10 and 50) and the ratio is
taken of the median windows; every window and the ratio of each pair are printed too.

Anchor, in the same run: ``../shared/bench/community_crypto_chain/run.sh 50 <forks of the 50
site>``, whose re-run only checks certificates. The last line reads
``window_ratio=<window at 50 / window at 10> rerun_vs_chain=<our 50-site re-run / chain re-run>``.
Goals: window_ratio <= 2 and rerun_vs_chain < 1.

Run: ``python benchmarks/bench_rollout.py [--sizes 10,50,200] [--no-chain] [--cpu] [--repeat 3]``.
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


def timed(argv, own_config=True) -> tuple:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=REPO, env=env(own_config), capture_output=True, text=True, check=False)
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


def first_rollout(argv, sample: bool) -> tuple:
    """Wall time of the first site.yml, and its CPU samples (None unless ``sample``)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=REPO, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
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


def lab(site: Path, state: str, recording: int = 0) -> None:
    extra = {"lab_path": str(site), "lab_state": state, "lab_recording_servers": recording}
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


def measure(size: int, forks: int, work: Path, cpu: bool = False, full: bool = True) -> dict:
    """A fresh site's first rollout and its window; with ``full``, its re-run and audit too."""
    site = work / f"site{size}" / "site"
    lab(site, "started", size)
    row = {"size": size, "forks": forks}
    try:
        inv = ["-i", str(site / "inventory.yml"), "-f", str(forks)]
        row["first"], sampler = first_rollout([str(BIN / "ansible-playbook"), *inv, "playbooks/site.yml"], cpu)
        row["window"], row["split"] = window_of(site, sampler)
        if full:
            rerun, out = timed([str(BIN / "ansible-playbook"), *inv, "playbooks/site.yml"])
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", default="10,50,200")
    parser.add_argument("--forks", type=int, default=0, help="forks for every size (default min(N, 50))")
    parser.add_argument("--no-chain", action="store_true", help="skip the community.crypto anchor")
    parser.add_argument("--cpu", action="store_true", help="split the window and show the CPUs busy in it")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="first rollouts of fresh 10- and 50-server sites, alternating, for the median window (default 3)",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-rollout-") as tmp:
        for size in sizes:
            forks = args.forks or min(size, 50)
            row = measure(size, forks, Path(tmp), args.cpu)
            row["windows"] = [row["window"]]
            rows.append(row)
            print(
                f"N={size:>4} forks={forks:>3}: first rollout {row['first']:6.1f} s, idempotent re-run "
                f"{row['rerun']:6.1f} s, audit {row['audit']:6.1f} s, disconnection window {row['window']:.2f} s",
                flush=True,
            )
            if row["split"]:
                print(row["split"], flush=True)
        by = {r["size"]: r for r in rows}
        # The window goal compares two short spans: one rollout each is at the mercy of the machine's
        # noise. More fresh sites of the two sizes, alternating so that any drift hits both alike.
        goal = [by[n] for n in (10, 50) if n in by]
        for _repeat in range(1, max(args.repeat, 1) if len(goal) == 2 else 1):
            for row in goal:
                again = measure(row["size"], row["forks"], Path(tmp), args.cpu, full=False)
                row["windows"].append(again["window"])
                print(f"N={row['size']:>4} forks={row['forks']:>3}: window {again['window']:.2f} s", flush=True)
                if again["split"]:
                    print(again["split"], flush=True)
    for row in goal:
        row["window"] = statistics.median(row["windows"])
        shown = " ".join(f"{w:.2f}" for w in row["windows"])
        print(f"N={row['size']:>4}: windows {shown} s, median {row['window']:.2f} s")
    window_ratio = by[50]["window"] / by[10]["window"] if 50 in by and 10 in by else float("nan")
    if len(goal) == 2:
        pairs = " ".join(f"{b / a:.2f}" for a, b in zip(by[10]["windows"], by[50]["windows"]))
        print(f"window ratio of each pair of runs: {pairs}")
    rerun_vs_chain = float("nan")
    if not args.no_chain and 50 in by:
        c_first, c_rerun = chain(by[50]["forks"])
        rerun_vs_chain = by[50]["rerun"] / c_rerun
        print(
            f"community.crypto chain, N=50 forks={by[50]['forks']}: first run {c_first:.1f} s, re-run {c_rerun:.1f} s"
        )
    print(f"window_ratio={window_ratio:.2f} rerun_vs_chain={rerun_vs_chain:.2f}")


if __name__ == "__main__":
    main()
