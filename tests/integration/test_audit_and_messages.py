"""The audit never passes on what it could not check, and the failure summary tells the truth.

Real ansible-playbook runs against lab sites; each test rolls out a site of its own.
"""

from __future__ import annotations

import re

import pytest

from .rollout_helpers import events, fault, hosts_in, lab, playbook, status

pytestmark = pytest.mark.integration

SIZE = dict(recording_servers=2, failover_servers=1, mobile_servers=1, event_servers=0, clients=1)


@pytest.fixture
def site(tmp_path):
    path = tmp_path / "site"
    lab(path, **SIZE)
    playbook("site.yml", path)
    yield path
    lab(path, state="absent")


def _rows(stdout: str) -> dict:
    """The audit table's rows, per host: {host: [drift, ...]} (the drift task's output only: the
    report's table below it has a line per host too)."""
    rows = {}
    section = stdout.split("TASK [Audit | drift per host]", 1)[-1].split("TASK [", 1)[0]
    for m in re.finditer(r'^\s+"(\S+\.lab\.xprotect\.test)\s+(.+?)",?$', section, re.M):
        rows.setdefault(m.group(1), []).append(m.group(2))
    return rows


def _summary(stdout: str) -> str:
    assert "Stopped in:" in stdout, stdout[-3000:]
    return stdout.split("Stopped in:", 1)[1]


def _audited_hosts(site):
    groups = ("management", "recording", "failover", "mobile")
    return {h for g in groups for h in hosts_in(site, f"xprotect_{g}_servers")} | set(
        hosts_in(site, "xprotect_clients")
    )


def test_a_clean_site_is_no_drift_and_passes(site):
    proc = playbook("audit.yml", site, extra={"xprotect_audit_fail_on_drift": True})
    assert f"No drift: every one of the {len(_audited_hosts(site))} hosts audited" in proc.stdout
    assert _rows(proc.stdout) == {}


def test_a_wrong_ca_path_is_could_not_check_on_every_host_and_fails_the_run(site, tmp_path):
    wrong = {"xprotect_ca_path": str(tmp_path / "no-such-pki")}
    proc = playbook("audit.yml", site, check=False, extra=wrong)
    assert proc.returncode != 0
    assert "No drift" not in proc.stdout
    rows = _rows(proc.stdout)
    assert set(rows) == _audited_hosts(site)
    for host, drift in rows.items():
        assert drift and all(d.startswith("could not check: ") and "no-such-pki" in d for d in drift), (host, drift)
    summary = _summary(proc.stdout)
    assert "could not check" in summary and "Later phases did not start" not in summary
    assert "Traceback" not in proc.stdout + proc.stderr

    # Not failing the job on it is a choice; the report still says what was not checked.
    relaxed = playbook("audit.yml", site, extra=dict(wrong, xprotect_audit_fail_on_unchecked=False))
    assert "No drift" not in relaxed.stdout
    assert set(_rows(relaxed.stdout)) == _audited_hosts(site)


def test_an_unreachable_host_is_a_row_of_its_own(site):
    rs = hosts_in(site, "xprotect_recording_servers")[0]
    fault(site, rs, "unreachable")
    proc = playbook("audit.yml", site, check=False)
    assert proc.returncode != 0
    rows = _rows(proc.stdout)
    assert list(rows) == [rs]
    assert len(rows[rs]) == 1 and rows[rs][0].startswith("could not check: host unreachable")
    assert "No drift" not in proc.stdout
    assert f"could not be checked ({rs})" in proc.stdout


def test_a_host_switched_off_behind_our_back_is_drift_and_fails_with_fail_on_drift(site):
    rs = hosts_in(site, "xprotect_recording_servers")[1]
    fault(site, rs, "disable_encryption")
    # without the setting: reported, the job passes
    proc = playbook("audit.yml", site)
    assert list(_rows(proc.stdout)) == [rs]
    assert all(d.startswith("encryption: encryption off for group") for d in _rows(proc.stdout)[rs])
    assert "No drift" not in proc.stdout
    # with it: the job fails, and the run's summary says it is drift and what corrects it
    proc = playbook("audit.yml", site, check=False, extra={"xprotect_audit_fail_on_drift": True})
    assert proc.returncode != 0
    summary = _summary(proc.stdout)
    # The verdict is the audit's last play, after the report (docs/report.md) is written.
    assert summary.startswith(" Audit: the verdict")
    assert f"Drift on {rs}. Run playbooks/site.yml to correct it" in summary
    assert "The audit changed nothing on any host" in summary
    assert "Later phases did not start" not in summary and "Re-running the same command is safe" not in summary
    # an audit limited to that host still reports and fails; limited to another, it is clean
    proc = playbook("audit.yml", site, "--limit", rs, check=False, extra={"xprotect_audit_fail_on_drift": True})
    assert proc.returncode != 0 and f"Drift on {rs}." in proc.stdout
    other = hosts_in(site, "xprotect_recording_servers")[0]
    proc = playbook("audit.yml", site, "--limit", other, extra={"xprotect_audit_fail_on_drift": True})
    assert "No drift: every one of the 1 hosts audited" in proc.stdout


def test_a_tls_gate_failure_is_summarised_naming_the_host_not_the_one_that_carried_the_check(site):
    # As a firewall between the controller and one recording server, after the rollout: the
    # renewal's TLS gate (a run_once check) cannot reach it. Its message used to be a list, which
    # broke the summary; and the failure was blamed on the first host of the play.
    rs = hosts_in(site, "xprotect_recording_servers")[1]
    first = hosts_in(site, "xprotect_management_servers")[0]
    (site / "host_vars").mkdir()
    (site / "host_vars" / f"{rs}.yml").write_text("xprotect_port_offset: 1000\n")
    # The gate probes the unreachable ports again for up to xprotect_verify_settle_timeout, and says so.
    proc = playbook("renew.yml", site, check=False, extra={"xprotect_verify_settle_timeout": 2})
    assert proc.returncode != 0
    summary = _summary(proc.stdout)
    waited = rf"Probed again for [23] s \(xprotect_verify_settle_timeout\), {re.escape(rs)} still did not answer"
    assert re.search(waited, summary), summary
    assert summary.startswith(" Renew phase 2")
    assert "Gate | endpoints serve the right certificate' (run once for the play)" in summary
    assert f"TLS gate: the endpoints of {rs} do not serve" in summary
    assert f"  {first}:" not in summary
    assert "Renewal switches no encryption setting" in summary
    assert "object has no attribute" not in proc.stdout + proc.stderr
    # and it was only the controller's view: every recording server is still connected
    st = status(site)
    assert all(st[h]["connected"] for h in hosts_in(site, "xprotect_recording_servers"))


def test_a_stale_configurator_is_ended_by_the_setting_the_preflight_advises(tmp_path):
    path = tmp_path / "site"
    lab(path, **SIZE)
    try:
        rs = hosts_in(path, "xprotect_recording_servers")[0]
        fault(path, rs, "stale_configurator", 50)  # hung: only taskkill ends it
        proc = playbook("site.yml", path, check=False)
        assert proc.returncode != 0
        assert "Preflight failed on " + rs in proc.stdout
        assert "xprotect_stop_stale_configurator: true" in proc.stdout
        assert [e for e in events(path) if e["event"] == "encryption_enabled"] == []
        assert "This run switched no encryption setting" in _summary(proc.stdout)

        # check mode ends nothing, and says a real run would
        proc = playbook("site.yml", path, "--check", check=False, extra={"xprotect_stop_stale_configurator": True})
        assert "Check mode ends no process" in proc.stdout
        assert not [e for e in events(path) if e["event"] == "configurator_killed"]

        # following the advice works: the preflight ends the stale instance, the rollout completes
        proc = playbook("site.yml", path, extra={"xprotect_stop_stale_configurator": True})
        assert [e["host"] for e in events(path) if e["event"] == "configurator_killed"] == [rs]
        st = status(path)
        for host in hosts_in(path, "xprotect_recording_servers") + hosts_in(path, "xprotect_failover_servers"):
            assert st[host]["connected"] is True, host
        assert "Stopped in:" not in proc.stdout
    finally:
        lab(path, state="absent")
