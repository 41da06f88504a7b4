"""Helpers for the AWX tests: a fresh clone, collections installed as an AWX project update
installs them, and jobs run by ansible-runner (the engine AWX runs every job with)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess

from .rollout_helpers import BIN, REPO

try:  # the `ansible` package: a stand-in for Galaxy, which this machine cannot reach
    import ansible_collections.ansible.windows as _windows

    WINDOWS_SOURCE = pathlib.Path(next(iter(_windows.__path__)))
except ImportError:  # pragma: no cover - requirements-dev.txt installs it
    WINDOWS_SOURCE = None


def clean_env(**extra: str) -> dict:
    """The environment of a job: nothing of this checkout's make setup (ANSIBLE_CONFIG, .collections)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "XPROTECT_"))}
    environ.update(PATH=f"{BIN}{os.pathsep}{environ.get('PATH', '')}", ANSIBLE_NOCOLOR="1")
    environ.update(extra)
    return environ


def fresh_clone(dest: pathlib.Path) -> pathlib.Path:
    """A plain `git clone` of this repository's HEAD: no make, no .collections link, no venv link."""
    subprocess.run(["git", "clone", "-q", str(REPO), str(dest)], check=True, timeout=300)
    assert not (dest / ".collections").exists()
    return dest


def install_requirements(project: pathlib.Path, path: pathlib.Path) -> subprocess.CompletedProcess:
    """``ansible-galaxy collection install -r collections/requirements.yml`` into ``path``, in the
    project's folder, as an AWX project update runs it. ansible.windows comes from the installed
    ``ansible`` package first (no Galaxy here), so the offline install finds it in place."""
    environ = clean_env(ANSIBLE_COLLECTIONS_PATH=str(path), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="False")
    galaxy = str(BIN / "ansible-galaxy")
    subprocess.run(
        [galaxy, "collection", "install", str(WINDOWS_SOURCE), "-p", str(path)],
        cwd=project,
        env=environ,
        capture_output=True,
        check=True,
        timeout=300,
    )
    return subprocess.run(
        [galaxy, "collection", "install", "-r", "collections/requirements.yml", "-p", str(path), "--offline"],
        cwd=project,
        env=environ,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )


def job_env(project: pathlib.Path, collections: pathlib.Path, **extra: str) -> dict:
    """What AWX sets for a job: the project's ansible.cfg, the job's collections first."""
    env = {
        "ANSIBLE_CONFIG": str(project / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(collections),
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "False",
        "ANSIBLE_NOCOLOR": "1",
        "PATH": clean_env()["PATH"],
    }
    env.update(extra)
    return env


def run_job(pdd: pathlib.Path, project: pathlib.Path, playbook: str, *, envvars: dict, **kwargs):
    """One AWX job: ansible-runner in its own private data directory."""
    import ansible_runner

    pdd.mkdir(parents=True, exist_ok=True)
    return ansible_runner.run(
        private_data_dir=str(pdd),
        project_dir=str(project),
        playbook=playbook,
        envvars=envvars,
        quiet=True,
        **kwargs,
    )


def job_events(pdd: pathlib.Path) -> list:
    return [
        json.loads(p.read_text())
        for p in sorted((pdd / "artifacts").glob("*/job_events/*.json"), key=lambda p: int(p.name.split("-")[0]))
    ]
