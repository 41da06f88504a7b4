# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The repository as an AWX project: a fresh clone, no make, the collections installed from
collections/requirements.yml into a job-local path, and site.yml run by ansible-runner."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from .awx_helpers import BIN, clean_env, fresh_clone, install_requirements, job_env, run_job
from .rollout_helpers import REPO, events, hosts_in, lab

pytestmark = pytest.mark.integration
SIZES = dict(recording_servers=2, failover_servers=1, mobile_servers=1, event_servers=0, clients=1)


def test_requirements_name_ansible_windows_and_this_collection():
    wanted = yaml.safe_load((REPO / "collections" / "requirements.yml").read_text())["collections"]
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    by_name = {item["name"]: item for item in wanted}
    assert by_name["ansible.windows"]["version"] == galaxy["dependencies"]["ansible.windows"]
    # This collection: the project's own folder, which AWX's project update runs the install in.
    assert by_name["."]["type"] == "dir"


def test_a_fresh_clone_runs_site_yml_under_ansible_runner(tmp_path):
    pytest.importorskip("ansible_runner")
    project = fresh_clone(tmp_path / "project")
    collections = tmp_path / "job" / "requirements_collections"
    proc = install_requirements(project, collections)
    assert "xprotect.encryption:0.1.0 was installed successfully" in proc.stdout
    installed = collections / "ansible_collections" / "xprotect" / "encryption"
    assert (installed / "roles" / "encryption").is_dir() and not (installed / "benchmarks").exists()

    site = tmp_path / "site"
    lab(site, **SIZES)
    try:
        pdd = tmp_path / "runner"
        r = run_job(
            pdd,
            project,
            "playbooks/site.yml",
            inventory=str(site / "inventory.yml"),
            envvars=job_env(project, collections),
        )
        out = r.stdout.read()
        assert r.status == "successful" and r.rc == 0, out[-4000:]
        # The roles ran from the job's install, not from this checkout or the clone.
        paths = {
            e["event_data"].get("task_path", "").split(":")[0]
            for e in r.events
            if e.get("event") == "runner_on_ok" and "/roles/" in e["event_data"].get("task_path", "")
        }
        assert paths and all(p.startswith(str(installed)) for p in paths), paths
        enabled = {e["host"] for e in events(site) if e["event"] == "encryption_enabled"}
        servers = {
            h
            for g in ("xprotect_management_servers", "xprotect_recording_servers", "xprotect_failover_servers")
            for h in hosts_in(site, g)
        }
        assert servers <= enabled, servers - enabled
    finally:
        lab(site, state="absent")


def test_a_fresh_clone_finds_its_roles_after_an_install_into_its_collections_folder(tmp_path):
    # The command line on a plain checkout: `ansible-galaxy collection install -r
    # collections/requirements.yml -p collections`, then ansible-playbook finds the roles by FQCN.
    project = fresh_clone(tmp_path / "project")
    env = clean_env(ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="False")
    argv = [str(BIN / "ansible-playbook"), "--syntax-check", "-i", "localhost,", "playbooks/site.yml"]
    before = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert before.returncode != 0 and "xprotect.encryption" in before.stdout + before.stderr
    install_requirements(project, project / "collections")
    after = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert after.returncode == 0, after.stdout[-3000:] + after.stderr[-3000:]
