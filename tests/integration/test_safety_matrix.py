"""The rollout-safety matrix: wrong inputs and inventory mistakes, each on a lab site of its own.

The promise under test: whatever the input, a run either stops before anything is switched,
with a message that names the cause, or it ends with every recording and failover server
connected to the management server (the lab's status.json). No Python traceback reaches the
user in any case.

Each case is one row of the table in docs/runbook.md ("What can go wrong, and what the
rollout does").
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import pki

from .rollout_helpers import BIN, REPO, env, events, fault, hosts_in, lab, playbook, status

pytestmark = pytest.mark.integration

SWITCH_EVENTS = ("encryption_enabled", "encryption_disabled")


@pytest.fixture
def site(tmp_path):
    path = tmp_path / "site"
    lab(path, recording_servers=2, failover_servers=1, mobile_servers=1, event_servers=1, clients=1)
    yield path
    lab(path, state="absent")


def _switches(site, since=0):
    return [e for e in events(site)[since:] if e["event"] in SWITCH_EVENTS]


def _connected(site):
    """Every recording and failover server of the site (status.json), connected or not."""
    st = status(site)
    return {h: v["connected"] for h, v in st.items() if {"recording", "failover"} & set(v["roles"])}


def _text(*procs):
    return "\n".join(p.stdout + p.stderr for p in procs)


def _assert_no_traceback(text):
    assert "Traceback (most recent call last)" not in text, text[-4000:]


def _assert_stopped_before_any_switch(site, proc, cause, since=0):
    """The run failed, nothing was switched since ``since``, and the output names the cause."""
    text = _text(proc)
    _assert_no_traceback(text)
    assert proc.returncode != 0, text[-4000:]
    assert _switches(site, since) == [], _switches(site, since)
    assert re.search(cause, text), f"{cause!r} not in output:\n{text[-4000:]}"
    assert all(_connected(site).values()), _connected(site)


def _assert_every_server_connected(site, *procs):
    _assert_no_traceback(_text(*procs))
    assert all(_connected(site).values()), _connected(site)


def _edit_inventory(site, old, new, count=1):
    inv = site / "inventory.yml"
    text = inv.read_text()
    assert old in text, old
    inv.write_text(text.replace(old, new, count))


def _host_block(site, host):
    """The inventory lines of one host (its name line and its indented variables)."""
    lines = (site / "inventory.yml").read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.strip() == f"{host}:")
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = start + 1
    while end < len(lines) and len(lines[end]) - len(lines[end].lstrip()) > indent:
        end += 1
    return "".join(lines[start:end])


# -- wrong values of the run's variables: stop before phase 0 ----------------------------------

BAD_VARIABLES = [
    ("recording_batch_not_a_number", {"xprotect_recording_batch": "abc"}, r"xprotect_recording_batch"),
    ("event_server_place_unknown", {"xprotect_event_server_place": "foo"}, r"xprotect_event_server_place"),
    ("mobile_encryption_maybe", {"xprotect_mobile_encryption": "maybe"}, r"xprotect_mobile_encryption"),
    ("max_fail_percentage_text", {"xprotect_max_fail_percentage": "lots"}, r"xprotect_max_fail_percentage"),
    ("clients_must_trust_unknown", {"xprotect_clients_must_trust": "some"}, r"xprotect_clients_must_trust"),
    ("renew_before_negative", {"xprotect_renew_before": -5}, r"xprotect_renew_before"),
    ("encryption_retries_negative", {"xprotect_encryption_retries": -1}, r"xprotect_encryption_retries"),
    ("probe_timeout_zero", {"xprotect_verify_probe_timeout": 0}, r"xprotect_verify_probe_timeout"),
]


@pytest.mark.parametrize(("extra", "cause"), [c[1:] for c in BAD_VARIABLES], ids=[c[0] for c in BAD_VARIABLES])
def test_a_wrong_variable_stops_before_anything_changes(site, extra, cause):
    proc = playbook("site.yml", site, check=False, extra=extra)
    _assert_stopped_before_any_switch(site, proc, cause)
    # Stopped before phase 0: no CA was made either.
    assert not (site.parent / "pki" / "ca.crt").exists()


def test_a_value_the_settings_play_accepts_passes_every_phase(site):
    """Seconds with a fraction, which the settings play accepts, once stopped the run at the
    management server's gate, after its switch: the verify role validated its own variables
    there, as whole numbers. The settings play now refuses whatever a role's argument spec
    refuses (tests/unit/plugins/module_utils/test_validate.py) and no role validates again in a
    phase (rolespec_validate: false), so the rollout goes through."""
    extra = {
        "xprotect_verify_probe_timeout": 2.5,
        "xprotect_order_probe_timeout": 2.5,
        "xprotect_encryption_retry_delay": 0.5,
    }
    proc = playbook("site.yml", site, check=False, extra=extra)
    assert proc.returncode == 0, _text(proc)[-4000:]
    assert "Validating arguments against arg spec" not in proc.stdout
    _assert_every_server_connected(site, proc)


# -- the inventory against the site the management server knows --------------------------------


def test_recording_group_misnamed_stops_naming_the_missing_servers(site):
    rs = hosts_in(site, "xprotect_recording_servers")
    _edit_inventory(site, "    xprotect_recording_servers:\n", "    recording_servers:\n")
    proc = playbook("site.yml", site, check=False)
    _assert_stopped_before_any_switch(site, proc, re.escape(rs[0]) + r"[\s\S]*" + re.escape(rs[1]))


def test_empty_recording_group_stops(site):
    rs = hosts_in(site, "xprotect_recording_servers")
    for host in rs:
        _edit_inventory(site, _host_block(site, host), "")
    _edit_inventory(site, "    xprotect_recording_servers:\n      hosts:\n", "    xprotect_recording_servers:\n")
    proc = playbook("site.yml", site, check=False)
    _assert_stopped_before_any_switch(site, proc, re.escape(rs[0]))


def test_a_host_the_site_does_not_have_stops_in_preflight(site):
    rs = hosts_in(site, "xprotect_recording_servers")[0]
    block = _host_block(site, rs)
    ghost = block.replace(rs, "rs999.lab.xprotect.test", 2)
    _edit_inventory(site, block, block + ghost)
    proc = playbook("site.yml", site, check=False)
    _assert_stopped_before_any_switch(site, proc, r"rs999\.lab\.xprotect\.test")


def test_a_host_in_two_role_groups_is_safe(site):
    rs = hosts_in(site, "xprotect_recording_servers")[0]
    block = _host_block(site, rs)
    _edit_inventory(
        site, "    xprotect_failover_servers:\n      hosts:\n", "    xprotect_failover_servers:\n      hosts:\n" + block
    )
    proc = playbook("site.yml", site, check=False)
    _assert_no_traceback(_text(proc))
    if _switches(site):
        _assert_every_server_connected(site, proc)
        assert proc.returncode == 0, proc.stdout[-4000:]
    else:
        _assert_stopped_before_any_switch(site, proc, re.escape(rs))


def test_limit_without_the_management_server_switches_no_recording_server(site):
    proc = playbook("site.yml", site, "--limit", "xprotect_recording_servers", check=False)
    _assert_stopped_before_any_switch(site, proc, r"--limit leaves out localhost, the controller")


# -- the CA ---------------------------------------------------------------------------------------


def test_a_lost_ca_folder_is_never_replaced_silently(site):
    playbook("site.yml", site)
    pki_dir = site.parent / "pki"
    old = pki.load_certificate((pki_dir / "ca.crt").read_bytes())
    for name in ("ca.crt", "ca.key"):
        (pki_dir / name).unlink()
    since = len(events(site))
    proc = playbook("site.yml", site, check=False)
    _assert_stopped_before_any_switch(site, proc, pki.thumbprint(old), since=since)
    assert [e for e in events(site)[since:] if e["event"] in ("ca_trusted", "certificate_installed")] == []
    assert not (pki_dir / "ca.crt").exists()


def test_a_wrong_ca_passphrase_stops_before_anything_changes(site):
    pki_dir = site.parent / "pki"
    ca = pki.create_ca(key_size=3072)
    (pki_dir / "ca.crt").write_text(ca.cert_pem if isinstance(ca.cert_pem, str) else pki.cert_pem(ca.cert))
    (pki_dir / "ca.key").write_bytes(pki.serialize_ca_key(ca, b"the-right-one"))
    (pki_dir / "ca.key").chmod(0o600)
    proc = playbook("site.yml", site, check=False, extra={"xprotect_ca_passphrase": "a-wrong-one"})
    _assert_stopped_before_any_switch(site, proc, r"passphrase")


def test_a_pfx_for_another_host_name_is_refused_before_any_switch(site, tmp_path):
    pki_dir = site.parent / "pki"
    passphrase = (pki_dir / "passphrase").read_text().strip().encode()
    ca = pki.create_ca(key_size=3072)
    (pki_dir / "ca.crt").write_text(pki.cert_pem(ca.cert))
    (pki_dir / "ca.key").write_bytes(pki.serialize_ca_key(ca, passphrase))
    (pki_dir / "ca.key").chmod(0o600)
    key = pki.generate_key(2048)
    cert = pki.issue_certificate(ca, key.public_key(), "wrong-host.example.test", [])
    pfx = tmp_path / "wrong.pfx"
    pfx.write_bytes(pki.write_pfx(key, cert, [ca.cert], b"pfx-pass", "wrong-host.example.test"))
    ms = hosts_in(site, "xprotect_management_servers")[0]
    (site / "host_vars").mkdir()
    (site / "host_vars" / f"{ms}.yml").write_text(
        "xprotect_certificates_key_source: pfx\n"
        f"xprotect_certificates_pfx_path: {pfx}\n"
        "xprotect_certificates_pfx_passphrase: pfx-pass\n"
    )
    proc = playbook("site.yml", site, check=False)
    _assert_stopped_before_any_switch(site, proc, re.escape(ms))
    assert "wrong-host.example.test" in _text(proc)


# -- failures during the switch ------------------------------------------------------------------


def test_a_failed_recording_server_with_revert_management_leaves_every_server_connected(site):
    rs = hosts_in(site, "xprotect_recording_servers")[1]
    fault(site, rs, "configurator_exit", -1)
    proc = playbook("site.yml", site, check=False, extra={"xprotect_recording_failure": "revert_management"})
    assert proc.returncode != 0
    _assert_every_server_connected(site, proc)


def _popen_site(site, *args):
    argv = [str(BIN / "ansible-playbook"), "-i", str(site / "inventory.yml"), str(REPO / "playbooks" / "site.yml")]
    return subprocess.Popen(  # noqa: S603 - our own ansible-playbook, fixed arguments
        [*argv, *args],
        cwd=REPO,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _finish(proc, timeout=900):
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_two_runs_at_once_on_one_site(site):
    first = _popen_site(site)
    time.sleep(0.5)
    second = _popen_site(site)
    runs = [_finish(first), _finish(second)]
    _assert_no_traceback(_text(*runs))
    codes = sorted(r.returncode for r in runs)
    assert codes[0] == 0, _text(*runs)[-4000:]
    assert codes[1] != 0, "both runs went through: the site lock did not hold"
    loser = next(r for r in runs if r.returncode != 0)
    assert re.search(r"lock", loser.stdout + loser.stderr, re.I)
    _assert_every_server_connected(site, *runs)


def test_sigint_in_phase_4_then_a_rerun_connects_every_server(site):
    ms = hosts_in(site, "xprotect_management_servers")[0]
    for rs in hosts_in(site, "xprotect_recording_servers"):
        fault(site, rs, "slow_restart", 3)
    proc = _popen_site(site)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if any(e["event"] == "encryption_enabled" and e["host"] == ms for e in events(site)):
            break
        time.sleep(0.1)
    time.sleep(1.0)
    assert proc.poll() is None, "the run ended before phase 4"
    # SIGINT to ansible-playbook itself, as `kill -INT` or a job canceller sends it. (Ctrl-C in a
    # terminal also reaches ansible-core's forked workers, whose own signal handler can then print
    # a KeyboardInterrupt trace of its own: not ours to change.)
    os.kill(proc.pid, signal.SIGINT)
    interrupted = _finish(proc, timeout=300)
    _assert_no_traceback(_text(interrupted))
    assert interrupted.returncode != 0, interrupted.stdout[-3000:]
    assert "PLAY [Phase 5" not in interrupted.stdout, "the run was not interrupted in phase 4"
    for rs in hosts_in(site, "xprotect_recording_servers"):
        fault(site, rs, "clear")
    rerun = playbook("site.yml", site, check=False)
    assert rerun.returncode == 0, _text(rerun)[-4000:]
    _assert_every_server_connected(site, rerun)


# -- the audit -------------------------------------------------------------------------------------


def test_an_audit_with_a_wrong_ca_path_never_says_no_drift(site, tmp_path):
    playbook("site.yml", site)
    proc = playbook("audit.yml", site, check=False, extra={"xprotect_ca_path": str(tmp_path / "nowhere")})
    _assert_no_traceback(_text(proc))
    assert proc.returncode != 0
    assert "No drift" not in proc.stdout
    assert re.search(r"could not check", proc.stdout, re.I)
