"""Helpers for the rollout integration tests: real ansible-playbook runs against lab sites."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import re
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent


def env() -> dict:
    e = dict(os.environ)
    e.update(
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        PATH=f"{BIN}{os.pathsep}{e.get('PATH', '')}",
    )
    return e


def run(argv, check=True, timeout=900, env_extra=None) -> subprocess.CompletedProcess:
    e = env()
    e.update(env_extra or {})
    proc = subprocess.run(argv, cwd=REPO, env=e, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, argv))} exited {proc.returncode}\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
        )
    return proc


def playbook(name: str, site: pathlib.Path | None = None, *args: str, check=True, extra: dict | None = None):
    argv = [str(BIN / "ansible-playbook")]
    if site is not None:
        argv += ["-i", str(site / "inventory.yml")]
    if extra:
        argv += ["-e", json.dumps(extra)]
    argv += [str(REPO / "playbooks" / name), *args]
    return run(argv, check=check)


def lab(site: pathlib.Path, state: str = "started", **sizes) -> subprocess.CompletedProcess:
    extra = {"lab_path": str(site), "lab_state": state}
    extra.update({f"lab_{k}": v for k, v in sizes.items()})
    return playbook("lab.yml", None, extra=extra)


@contextlib.contextmanager
def lab_site(path: pathlib.Path, **sizes):
    """A lab site of ``sizes`` at ``path``, removed afterwards whatever the test did."""
    try:
        lab(path, **sizes)
        yield path
    finally:
        lab(path, state="absent")


def fault(site: pathlib.Path, host: str, kind: str, value=None) -> subprocess.CompletedProcess:
    args = {"path": str(site), "host": host, "fault": kind}
    if value is not None:
        args["value"] = value
    return run([str(BIN / "ansible"), "localhost", "-m", "xprotect.encryption.lab_fault", "-a", json.dumps(args)])


def events(site: pathlib.Path) -> list:
    path = site / "events.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def status(site: pathlib.Path, timeout: float = 20.0) -> dict:
    """status.json's hosts, once it shows the site's last change. The site process rebuilds the
    file within its poll after a change moves the site's generation, not at once: read right after
    a run, on a loaded machine, it may still show the state before the run's last change."""
    deadline = time.monotonic() + timeout
    while True:
        data = json.loads((site / "status.json").read_text())
        generation = site / "generation"
        current = generation.read_text(encoding="ascii").strip() if generation.exists() else ""
        if data.get("generation", current) == current or time.monotonic() > deadline:
            return data.get("hosts", data)
        time.sleep(0.1)


def inventory(site: pathlib.Path) -> dict:
    proc = run([str(BIN / "ansible-inventory"), "-i", str(site / "inventory.yml"), "--list"])
    return json.loads(proc.stdout)


def hosts_in(site: pathlib.Path, group: str) -> list:
    return sorted(inventory(site).get(group, {}).get("hosts", []))


RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def recap(stdout: str) -> dict:
    """PLAY RECAP per host: {host: {ok, changed, unreachable, failed}}."""
    out = {}
    for m in RECAP.finditer(stdout.split("PLAY RECAP", 1)[-1]):
        out[m.group(1)] = {
            "ok": int(m.group(2)),
            "changed": int(m.group(3)),
            "unreachable": int(m.group(4)),
            "failed": int(m.group(5)),
        }
    return out


def changed_hosts(stdout: str) -> set:
    return {h for h, r in recap(stdout).items() if r["changed"] and h != "localhost"}
