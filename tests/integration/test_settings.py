"""The run-level settings check on a lab site: a wrong value stops each playbook in its first
play, before the CA is created and before any host is touched, naming the variable, the value
and what is allowed - and never with a traceback."""

from __future__ import annotations

import pytest

from .rollout_helpers import lab, playbook

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    path = tmp_path_factory.mktemp("settings") / "site"
    lab(path, recording_servers=2, failover_servers=1, mobile_servers=1, event_servers=1, clients=1)
    yield path
    lab(path, state="absent")


def untouched(site):
    """The site as it is: the lab's event log, and whether a CA exists."""
    log = site / "events.jsonl"
    return (log.read_text() if log.exists() else ""), (site.parent / "pki" / "ca.crt").exists()


def stopped_in_settings(site, book, extra, *named):
    before = untouched(site)
    proc = playbook(book, site, check=False, extra=extra)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "Traceback" not in out
    assert "Settings | stop on any value that is not allowed" in out
    assert "fatal: [localhost]" in out and out.count("fatal:") == 1, out[-3000:]
    for text in named:
        assert text in out, (text, out[-3000:])
    # Nothing after the settings play ran: no phase, no CA, no event on any host.
    assert "PLAY [Phase 0" not in out and "PLAY [Renew phase 0" not in out and "PLAY [Rollback step" not in out
    assert "PLAY [Audit: read" not in out
    assert untouched(site) == before
    assert "encryption_enabled" not in before[0] and before[1] is False
    return out


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        # Today: the management server switched, then a traceback in phase 4.
        ({"xprotect_recording_batch": "abc"}, ["On every host: xprotect_recording_batch: 'abc'", '"20%"']),
        # Today: the event server was silently skipped.
        (
            {"xprotect_event_server_place": "foo"},
            ["xprotect_event_server_place", "foo", "before_management, after_mobile"],
        ),
        # Today: failed only in phase 6, naming an internal variable.
        ({"xprotect_mobile_encryption": "maybe"}, ["xprotect_mobile_encryption", "'maybe'", "Valid booleans"]),
        ({"xprotect_encryption_retries": -1}, ["xprotect_encryption_retries", "-1", "from 0 to 100"]),
        ({"xprotect_trust_retired_thumbprints": ["0B5E typo"]}, ["xprotect_trust_retired_thumbprints[0]", "40 hex"]),
        ({"xprotect_max_fail_percentage": 120}, ["xprotect_max_fail_percentage", "from 0 to 100"]),
        # The probes' waits for restarted services: a gate must never fail on them after a switch.
        ({"xprotect_verify_settle_timeout": -1}, ["xprotect_verify_settle_timeout", "-1"]),
        ({"xprotect_order_settle_timeout": "soon"}, ["xprotect_order_settle_timeout", "soon"]),
    ],
)
def test_site_stops_before_phase_0_on_a_wrong_value(site, extra, named):
    stopped_in_settings(site, "site.yml", extra, *named)


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("xprotect_verify_probe_timeout: -5\n", "xprotect_verify_probe_timeout: -5 is not allowed"),
        # A value that cannot even be rendered is a problem too: the host must not drop out of the run.
        ('xprotect_fqdn: "{{ no_such_variable }}"\n', "xprotect_fqdn: its value cannot be rendered"),
    ],
)
def test_a_wrong_host_variable_stops_the_run_naming_the_host(site, content, said):
    host_vars = site / "host_vars"
    host_vars.mkdir(exist_ok=True)
    (host_vars / "rs002.lab.xprotect.test.yml").write_text(content)
    try:
        out = stopped_in_settings(site, "site.yml", None, f"On rs002.lab.xprotect.test: {said}")
        assert "On every host" not in out
    finally:
        (host_vars / "rs002.lab.xprotect.test.yml").unlink()


def test_a_limit_without_the_controller_still_stops_on_a_wrong_value(site):
    """--limit that leaves out localhost skips the controller's gate play: each host stops on
    its own problems instead, and one host's failure ends the run for all."""
    before = untouched(site)
    proc = playbook(
        "site.yml", site, "--limit", "rs001.lab.xprotect.test", check=False, extra={"xprotect_encryption_retries": -2}
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Traceback" not in out
    assert "On rs001.lab.xprotect.test: xprotect_encryption_retries: -2 is not allowed" in out
    assert "PLAY [Phase" not in out
    assert untouched(site) == before


def test_a_serial_percentage_and_numbers_as_text_are_accepted(site):
    """What Ansible's serial accepts stays accepted: the run gets past the settings play (and is
    then stopped, in check mode, before anything changes)."""
    proc = playbook(
        "site.yml",
        site,
        "--check",
        check=False,
        extra={
            "xprotect_recording_batch": "50%",
            "xprotect_encryption_retries": "2",
            "xprotect_max_fail_percentage": "0",
        },
    )
    out = proc.stdout + proc.stderr
    assert "Settings this run cannot use" not in out and "Traceback" not in out
    assert "PLAY [Phase 0" in out


def test_audit_validates_before_it_reads(site):
    stopped_in_settings(
        site, "audit.yml", {"xprotect_audit_fail_on_drift": "sometimes"}, "xprotect_audit_fail_on_drift"
    )


def test_renew_validates_before_it_issues(site):
    stopped_in_settings(site, "renew.yml", {"xprotect_renew_before": -30}, "xprotect_renew_before", "-30")


def test_rollback_validates_before_it_switches(site):
    stopped_in_settings(
        site,
        "rollback.yml",
        {"xprotect_rollback_order": ["xprotect_management_servers", "xprotect_nvr_servers"]},
        "xprotect_rollback_order",
        "xprotect_nvr_servers",
    )
