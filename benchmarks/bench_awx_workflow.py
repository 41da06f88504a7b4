# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX workflow, sliced, against the single-job rollout, on lab sites of the same size.

Both are run as AWX runs jobs, with ansible-runner (tests/integration/awx_workflow.py), each on a
fresh lab site of 1 management server, N recording servers (``--recording``, default 12), 1
failover server, 1 mobile server and 2 clients:

- the anchor: ``playbooks/site.yml`` as one job;
- the workflow "encryption rollout" node by node: stage, preflight, (approval granted at once),
  management, recording as ``--slices`` jobs at the same time on the parts of the inventory AWX
  gives them (hosts sorted by name, ``[i::n]``), failover, mobile, verify.

For each: the wall time from the first job's start to the last job's end, and the disconnection
window from the lab's event log (the management server's ``encryption_enabled`` to the last
recording server's). Repeated ``--repeat`` times (default 1), alternating; medians are printed.

On one machine the slices share its CPUs: slicing buys nothing here, and what the workflow costs
over the single job is the price of separate jobs (each starts ansible-playbook, checks the
settings and reads its own hosts again). On AWX the slices run on separate execution nodes.

Run: ``python benchmarks/bench_awx_workflow.py [--recording 12] [--slices 3] [--repeat 1]``.
The last line reads ``workflow_vs_single=<workflow wall / site.yml wall> window_ratio=<workflow
window / site.yml window>`` (both against the single-job anchor measured in the same run).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / ".collections"))
sys.path.insert(0, str(REPO / "tests"))  # the order oracle, tests/phase_order.py
sys.path.insert(0, str(REPO))  # tests/integration/awx_workflow.py, the workflow as the tests run it

import phase_order as plan  # noqa: E402

from tests.integration import awx_workflow as wf  # noqa: E402
from tests.integration.rollout_helpers import events, hosts_in, lab  # noqa: E402


def window(site: Path, since: int) -> float:
    evts = events(site)[since:]
    ms = set(hosts_in(site, "xprotect_management_servers"))
    rs = set(hosts_in(site, "xprotect_recording_servers")) - ms
    on = [e for e in evts if e["event"] == "encryption_enabled" and e.get("group_key") == "server"]
    start = min(e["ts"] for e in on if e["host"] in ms)
    end = max(e["ts"] for e in on if e["host"] in rs)
    roles = {r: hosts_in(site, f"xprotect_{r}_servers") for r in ("management", "recording", "failover", "mobile")}
    broken = plan.check_order(evts, roles)
    if broken:
        sys.exit("order broken: " + "; ".join(broken))
    return end - start


def one(kind: str, sizes: dict, slices: int) -> tuple:
    with tempfile.TemporaryDirectory(prefix=f"bench-awx-{kind}-") as tmp:
        root = Path(tmp)
        site = root / "site"
        lab(site, **sizes)
        try:
            flow = wf.Workflow(site, root / "jobs", slices=slices)
            since = len(events(site))
            if kind == "single":
                jobs = [flow.job("site", site / "inventory.yml")]
            else:
                jobs = flow.run(stage=True)
            failed = [(j.node, j.status) for j in jobs if j.status != "successful"]
            if failed:
                sys.exit(f"{kind}: {failed}\n{jobs[-1].stdout.read()[-3000:]}")
            wall = max(j.ended for j in jobs) - min(j.started for j in jobs)
            return wall, window(site, since), len(jobs)
        finally:
            lab(site, state="absent")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--recording", type=int, default=12)
    parser.add_argument("--slices", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    wf.PLAYBOOK.setdefault("site", "playbooks/site.yml")
    sizes = dict(recording_servers=args.recording, failover_servers=1, mobile_servers=1, event_servers=0, clients=2)
    runs: dict = {"single": [], "workflow": []}
    for i in range(args.repeat):
        for kind in ("single", "workflow"):
            wall, win, count = one(kind, sizes, args.slices)
            runs[kind].append((wall, win))
            print(f"run {i + 1} {kind:8s} jobs={count:2d} wall_s={wall:7.1f} window_s={win:6.2f}", flush=True)
    med = {k: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v)) for k, v in runs.items()}
    print(
        f"site recording={args.recording} slices={args.slices} "
        f"single_wall_s={med['single'][0]:.1f} workflow_wall_s={med['workflow'][0]:.1f} "
        f"single_window_s={med['single'][1]:.2f} workflow_window_s={med['workflow'][1]:.2f}"
    )
    print(
        f"workflow_vs_single={med['workflow'][0] / med['single'][0]:.2f} "
        f"window_ratio={med['workflow'][1] / med['single'][1]:.2f}"
    )


if __name__ == "__main__":
    main()
