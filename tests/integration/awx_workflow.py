"""The AWX workflow "encryption rollout" run node by node with ansible-runner, as AWX runs it:
each node one job, the recording servers' node as slices at the same time (issue 15, item 5).
Shared by tests/integration/test_awx_workflow.py and benchmarks/bench_awx_workflow.py."""

from __future__ import annotations

import json
import pathlib
import threading
import time
from typing import Dict, List, Optional

import yaml

from .awx_helpers import job_env
from .rollout_helpers import BIN, REPO, run

# The nodes of the workflow after the approval node, and the node before it (playbooks/awx/vars/templates.yml).
BEFORE_APPROVAL = ["stage", "preflight"]
AFTER_APPROVAL = ["management", "recording", "failover", "mobile", "verify"]
PHASES = ["preflight", "management", "recording", "failover", "mobile", "verify"]
PLAYBOOK = {"stage": "playbooks/stage.yml", **{n: f"playbooks/phases/{n}.yml" for n in PHASES}}


def sliced_inventories(site: pathlib.Path, dest: pathlib.Path, count: int) -> List[pathlib.Path]:
    """The inventory of each slice as AWX builds it (awx/main/models/inventory.py, get_script_data):
    the hosts sorted by name, slice ``i`` holding ``hosts[i::count]``; every group keeps its
    variables (the group all's too) but holds only the slice's hosts."""
    data = json.loads(
        run([str(BIN / "ansible-inventory"), "-i", str(site / "inventory.yml"), "--list", "--export"]).stdout
    )
    hostvars = data.get("_meta", {}).get("hostvars", {})
    groups = {g: v for g, v in data.items() if g != "_meta"}
    every = sorted({h for g in groups.values() for h in g.get("hosts", [])})
    paths = []
    for index in range(count):
        mine = set(every[index::count])
        children = {}
        for name, group in groups.items():
            if name in ("all", "ungrouped"):
                continue
            children[name] = {
                "hosts": {h: hostvars.get(h, {}) for h in group.get("hosts", []) if h in mine},
                "vars": group.get("vars", {}),
            }
        text = {"all": {"vars": groups.get("all", {}).get("vars", {}), "children": children}}
        path = dest / f"slice{index + 1}of{count}.yml"
        path.write_text(yaml.safe_dump(text, sort_keys=True))
        paths.append(path)
    return paths


class Workflow:
    """Runs the workflow's jobs on one lab site; each job its own ansible-runner private data dir."""

    def __init__(self, site: pathlib.Path, work: pathlib.Path, slices: int = 3):
        self.site, self.work, self.slices = site, work, slices
        self.envvars = job_env(REPO, REPO / ".collections")
        self.count = 0
        self.workflow_id = 100

    def job(self, node: str, inventory, extravars: Optional[Dict] = None, name: Optional[str] = None):
        import ansible_runner

        self.count += 1
        pdd = self.work / f"{self.count:02d}-{name or node}"
        pdd.mkdir(parents=True)
        # A lab site on one machine: the lock's read-back after its write needs no 2 s there.
        vars_ = {"awx_job_id": 1000 + self.count, "xprotect_lock_settle": 0.3, **(extravars or {})}
        started = time.time()
        r = ansible_runner.run(
            private_data_dir=str(pdd),
            project_dir=str(REPO),
            playbook=PLAYBOOK[node],
            inventory=[str(p) for p in (inventory if isinstance(inventory, list) else [inventory])],
            envvars=self.envvars,
            extravars=vars_,
            quiet=True,
        )
        r.started, r.ended, r.node = started, time.time(), node
        return r

    def sliced(self, node: str, inventories: List[pathlib.Path], workflow_id: int):
        """The slices of a sliced job template, at the same time: AWX runs them as the jobs of one
        sliced workflow job, so they share its id (awx_workflow_job_id), not the outer workflow's."""
        results: List = [None] * len(inventories)

        def one(i):
            results[i] = self.job(node, inventories[i], {"awx_workflow_job_id": workflow_id}, f"{node}-slice{i + 1}")

        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(inventories))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    def run(self, stage: bool = True) -> List:
        """Every node in order (the approval node is granted); stops at the first failed job.
        ``stage=False`` starts at the preflight node (the site is staged already)."""
        self.workflow_id += 10
        outer = {"awx_workflow_job_id": self.workflow_id}
        inventory = self.site / "inventory.yml"
        self.work.mkdir(parents=True, exist_ok=True)
        slices = sliced_inventories(self.site, self.work, self.slices) if self.slices > 1 else None
        done = []
        for node in (BEFORE_APPROVAL if stage else BEFORE_APPROVAL[1:]) + AFTER_APPROVAL:
            if node == "recording" and slices:
                jobs = self.sliced(node, slices, self.workflow_id + 1)
            else:
                jobs = [self.job(node, inventory, outer)]
            done += jobs
            if any(j.status != "successful" for j in jobs):
                break
        return done


def changed(job) -> Dict[str, int]:
    """Hosts with changed tasks in a job's recap."""
    return {h: n for h, n in (job.stats or {}).get("changed", {}).items() if n}
