# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An AWX job, emulated with ansible-runner: a private data directory, the site CA credential
injected as AWX injects it (env/extravars), the Management Server API credential as environment
variables (env/envvars), the inventory from the inventory-plugin source, and the audit job in
check mode. Nothing of the CA is written to disk by the job, and no secret reaches the runner's
artifacts (job_events, stdout)."""

from __future__ import annotations

import json

import pytest

from .awx_helpers import job_env, run_job
from .rollout_helpers import REPO, hosts_in, lab

pytestmark = pytest.mark.integration
SIZES = dict(recording_servers=2, failover_servers=1, mobile_servers=1, event_servers=0, clients=1)


def _files_holding(root, needles):
    """Files under ``root`` whose bytes hold any of ``needles``."""
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found += [f"{path}: {name}" for name, needle in needles.items() if needle.encode() in data]
    return found


def test_an_awx_job_with_the_ca_credential_and_the_inventory_source(tmp_path):
    pytest.importorskip("ansible_runner")
    from ansible_collections.xprotect.encryption.plugins.module_utils import pki

    site = tmp_path / "site"
    lab(site, **SIZES)
    try:
        ca = pki.create_ca(key_size=3072)
        passphrase = "awx-job-passphrase-7f3a"
        key_pem = pki.serialize_ca_key(ca, passphrase.encode()).decode()
        key_body = "".join(key_pem.strip().splitlines()[1:-1])[:64]  # a piece of the key itself
        api_password = json.loads((site / "site.json").read_text())["api"]["password"]
        # The site CA credential (extra_vars injector) and the API credential (env injector).
        extravars = {
            "xprotect_ca_cert_content": ca.cert_pem,
            "xprotect_ca_key_content": key_pem,
            "xprotect_ca_passphrase": passphrase,
        }
        api_env = {
            "XPROTECT_USERNAME": "lab-admin",
            "XPROTECT_PASSWORD": api_password,
            "XPROTECT_CA_CERT": ca.cert_pem,
        }
        # The inventory source as it sits in the project: no credential in it (AWX injects them).
        source = tmp_path / "project-inventory" / "site.xprotect.yml"
        source.parent.mkdir()
        source.write_text(
            "".join(
                line + "\n"
                for line in (site / "site.xprotect.yml").read_text().splitlines()
                if not line.startswith(("username", "password", "ca_path"))
            )
        )
        # The lab's own inventory adds only how each lab host is reached (AWX: host variables).
        inventories = [str(source), str(site / "inventory.yml")]
        envvars = job_env(REPO, REPO / ".collections", **api_env)
        ca_secrets = {"CA key": key_body, "passphrase": passphrase}
        # The lab's own files (site.json, its site.xprotect.yml) hold the lab's API password; the
        # job's artifacts must not.
        needles = dict(ca_secrets, **{"API password": api_password})

        def job(name, playbook, **kwargs):
            pdd = tmp_path / name
            (pdd / "env").mkdir(parents=True)
            (pdd / "env" / "extravars").write_text(json.dumps(extravars))  # as AWX writes it
            r = run_job(pdd, REPO, playbook, inventory=inventories, envvars=envvars, **kwargs)
            return pdd, r

        pdd, rollout = job("rollout", "playbooks/site.yml")
        assert rollout.status == "successful", rollout.stdout.read()[-4000:]
        pdd_audit, audit = job("audit", "playbooks/audit.yml", cmdline="--check --diff")
        out = audit.stdout.read()
        assert audit.status == "successful", out[-4000:]
        assert "No drift" in out

        # The hosts came from the plugin source: every recording server the API lists was audited.
        audited = {e.get("event_data", {}).get("host") for e in audit.events if e.get("event") == "runner_on_ok"}
        assert set(hosts_in(site, "xprotect_recording_servers")) <= audited
        # The plugin read the API over HTTPS after the rollout, trusting the CA from the environment.
        # (ansible-runner runs the job on a terminal: the plugin's stderr line is in stdout.)
        assert "xprotect.encryption.xprotect: read the site from https://" in out

        # Nothing of the CA on disk: no ca.crt or ca.key in the lab's CA folder (it holds only the lab's
        # own passphrase file), and no secret anywhere outside what AWX and ansible-runner write for
        # the job itself and remove with it: env/ (the injected credentials) and artifacts/*/command
        # (the job's command line and environment, which holds the env injector's values).
        assert sorted(p.name for p in (tmp_path / "pki").iterdir()) == ["passphrase"]
        leaks = [
            leak
            for leak in _files_holding(tmp_path, ca_secrets)
            if "/env/" not in leak.split(":")[0] and not leak.split(":")[0].endswith("/command")
        ]
        assert leaks == [], leaks
        # No secret in the runner's artifacts (job_events, stdout) of either job.
        for run_dir in (pdd, pdd_audit):
            (artifacts,) = (run_dir / "artifacts").iterdir()
            assert list((artifacts / "job_events").iterdir()) and (artifacts / "stdout").stat().st_size
            assert _files_holding(artifacts / "job_events", needles) == []
            stdout = (artifacts / "stdout").read_text()
            assert [name for name, needle in needles.items() if needle in stdout] == []
    finally:
        lab(site, state="absent")
