# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's ServerConfigurator.exe: switches, output format, exit codes and XProtect's rules."""

from __future__ import annotations

import threading
import time

import pytest
from lab_helpers import ADMIN, CFG, CL, EV, FO, GUID, MOB, MS, RS, adapter, disable, enable, events, group_state

from ansible_collections.xprotect.encryption.plugins.module_utils import _configfiles, _groups, _server_configurator
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import faults, programs
from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import AdapterError

LINE = "Found '{}' group with ID = {}"

PFX_PW = {"pw": "pw", "secret": "secret", "wrong": "wrong"}  # test-only PFX passphrases


@pytest.mark.parametrize(
    "host, groups",
    [
        (MS, ["server"]),
        (RS, ["server", "streaming"]),
        (FO, ["server", "streaming"]),
        (MOB, ["mobile"]),
        (EV, ["event"]),
    ],
)
@pytest.mark.parametrize("quiet", [True, False])
def test_listcertificategroups_prints_the_facts_file_format(lab, host, groups, quiet):
    res = adapter(lab, host).run(_server_configurator.list_groups_argv(CFG, quiet=quiet))
    assert res.rc == 0
    names = {
        "server": "Server certificate",
        "streaming": "Streaming media certificate",
        "mobile": "Mobile streaming media certificate",
        "event": "Event server and add-ons",
    }
    assert res.stdout == "".join(LINE.format(names[g], GUID[g]) + "\r\n" for g in groups)
    # The other helper's parser reads it back to the default GUIDs.
    parsed = _groups.parse_certificate_groups(res.stdout)
    assert _groups.resolve_group_ids(parsed, groups) == {g: GUID[g] for g in groups}


def test_a_successful_listing_is_not_an_event(lab):
    before = open(lab.file("events.jsonl"), "rb").read()
    assert adapter(lab, RS).run(_server_configurator.list_groups_argv(CFG)).rc == 0
    assert open(lab.file("events.jsonl"), "rb").read() == before
    # A refused listing is one: it says Server Configurator was tried and failed.
    assert adapter(lab, RS).run([CFG, "/listcertificategroups", "/enableencryption"]).rc == -2
    assert events(lab, "configurator_run", RS)[-1]["exit_code"] == -2


def test_a_client_has_no_server_configurator(lab):
    a = adapter(lab, CL)
    with pytest.raises(AdapterError, match="Could not locate"):
        a.run([CFG, "/listcertificategroups"])
    assert a.file_version(CFG) is None
    assert adapter(lab, MS).file_version(CFG) == "24.2.0.1"


@pytest.mark.parametrize(
    "args",
    [
        ["/quiet"],
        ["/quiet", "/enableencryption", f"/certificategroup={GUID['server']}"],
        ["/quiet", "/frobnicate"],
        ["/listcertificategroups", "/enableencryption", "/thumbprint=AB"],
        ["-quiet", "/listcertificategroups"],
    ],
)
def test_invalid_arguments_exit_minus_2(lab, args):
    res = adapter(lab, MS).run([CFG, *args])
    assert res.rc == -2
    assert "Usage:" in res.stdout
    assert events(lab, "configurator_run")[-1]["exit_code"] == -2


def test_an_unknown_certificate_group_exits_minus_3(lab, prepared):
    res = adapter(lab, MS).run(
        [CFG, "/quiet", "/enableencryption", "/certificategroup=" + GUID["mobile"], "/thumbprint=" + prepared[MS]]
    )
    assert res.rc == -3
    assert "was not found" in res.stdout
    assert not group_state(lab, MS, "server")["enabled"]


def test_enable_then_disable_the_management_server(lab, prepared):
    tp = prepared[MS]
    res = enable(lab, MS, "server", tp)
    assert (res.rc, res.stdout) == (0, "")
    assert group_state(lab, MS, "server")["thumbprint"] == tp
    ev = events(lab, "encryption_enabled", MS)[-1]
    assert ev["group"] == "Server certificate" and ev["thumbprint"] == tp and isinstance(ev["ts"], float)
    again = enable(lab, MS, "server", tp)
    assert again.rc == 0 and len(events(lab, "encryption_enabled", MS)) == 1
    assert disable(lab, MS, "server").rc == 0
    assert not group_state(lab, MS, "server")["enabled"]
    assert events(lab, "encryption_disabled", MS)[-1]["group"] == "Server certificate"
    runs = events(lab, "configurator_run", MS)
    assert [r["exit_code"] for r in runs] == [0, 0, 0]
    assert runs[0]["args"][1] == "/enableencryption"


def test_the_log_has_the_lines_of_the_facts_file(lab, prepared):
    enable(lab, MS, "server", prepared[MS])
    text = adapter(lab, MS).read_file("C:\\ProgramData\\Milestone\\Server Configurator\\Logs\\ServerConfigurator.log")
    assert "Arguments: /quiet /enableencryption" in text
    assert "'ApplyCertificate' Status = Success" in text
    assert "Registration done with result = Success" in text


def test_refuses_a_thumbprint_not_in_my(lab, prepared):
    res = enable(lab, MS, "server", "AB" * 20)
    assert res.rc == -3
    assert "was not found in LocalMachine\\My" in res.stdout
    assert not group_state(lab, MS, "server")["enabled"]


def test_refuses_a_certificate_without_its_key(lab, prepared, ca):
    # The CA certificate imported into My: a certificate without private key.
    a = adapter(lab, MS)
    a.write_file("C:\\Windows\\Temp\\ca.crt", ca.cert_pem)
    a.import_certificate("C:\\Windows\\Temp\\ca.crt", "My")
    res = enable(lab, MS, "server", ca.thumbprint)
    assert res.rc == -3 and "no private key" in res.stdout


def test_refuses_an_untrusted_chain_with_minus_4(lab, prepared):
    a = adapter(lab, MS)
    ca_tp = next(c.thumbprint for c in a.list_certificates("Root") if "XProtect" in c.subject)
    assert a.remove_certificate(ca_tp, "Root")
    res = enable(lab, MS, "server", prepared[MS])
    assert res.rc == -4
    assert "not trusted" not in res.stdout or "LocalMachine\\Root" in res.stdout
    assert not group_state(lab, MS, "server")["enabled"]


def test_refuses_a_key_the_service_account_cannot_read(lab, prepared, ca):
    from lab_helpers import certreq

    enable(lab, MS, "server", prepared[MS])
    tp = certreq(lab, FO, ca, grant=False)
    res = enable(lab, FO, "server", tp)
    assert res.rc == -1
    assert "LAB\\svc-failover cannot read the private key" in res.stdout
    assert not group_state(lab, FO, "server")["enabled"]
    assert adapter(lab, FO).grant_key_read(tp, "LAB\\svc-failover")
    assert enable(lab, FO, "server", tp).rc == 0


def test_refuses_an_expired_certificate(lab, prepared, ca):
    enable(lab, MS, "server", prepared[MS])
    faults.inject(lab, MS, "expire_certificate")
    new_tp = group_state(lab, MS, "server")["thumbprint"]
    disable(lab, MS, "server")
    res = enable(lab, MS, "server", new_tp)
    assert res.rc == -3 and "not valid at this time" in res.stdout


def test_recording_server_cannot_move_before_the_management_server(lab, prepared):
    """Exit 0, nothing changed, no reason printed [L]: only reading back reveals it."""
    res = enable(lab, RS, "server", prepared[RS])
    assert (res.rc, res.stdout) == (0, "")
    assert not group_state(lab, RS, "server")["enabled"]
    assert not events(lab, "encryption_enabled", RS)
    assert enable(lab, MS, "server", prepared[MS]).rc == 0
    assert enable(lab, RS, "server", prepared[RS]).rc == 0
    assert group_state(lab, RS, "server")["enabled"]
    # ... and cannot switch off while the management server is still encrypted.
    res = disable(lab, RS, "server")
    assert (res.rc, res.stdout) == (0, "")
    assert group_state(lab, RS, "server")["enabled"]


def test_follow_refusal_exit_code_is_a_setting(tmp_path, ca, lab, prepared):
    import json

    spec = json.loads(open(lab.site_json).read())
    spec["settings"]["follow_refusal_exit_code"] = 7
    open(lab.site_json, "w").write(json.dumps(spec))
    assert enable(lab, FO, "server", prepared[FO]).rc == 7
    assert not group_state(lab, FO, "server")["enabled"]


def test_streaming_media_does_not_follow_the_management_server(lab, prepared):
    assert enable(lab, RS, "streaming", prepared[RS]).rc == 0
    assert group_state(lab, RS, "streaming")["enabled"]


def test_without_certificategroup_every_group_changes(lab, prepared):
    enable(lab, MS, "server", prepared[MS])
    res = adapter(lab, RS).run([CFG, "/quiet", "/enableencryption", "/thumbprint=" + prepared[RS]])
    assert res.rc == 0
    assert group_state(lab, RS, "server")["enabled"] and group_state(lab, RS, "streaming")["enabled"]
    assert {e["group"] for e in events(lab, "encryption_enabled", RS)} == {
        "Server certificate",
        "Streaming media certificate",
    }


def test_event_server_changes_only_while_the_management_server_is_unencrypted(lab, prepared):
    assert enable(lab, EV, "event", prepared[EV]).rc == 0
    assert enable(lab, MS, "server", prepared[MS]).rc == 0
    res = disable(lab, EV, "event")
    assert res.rc == 1 and "cannot be changed while the management server is encrypted" in res.stdout
    assert group_state(lab, EV, "event")["enabled"]
    cfg = _configfiles.parse_event_config(adapter(lab, EV).read_file(_configfiles.CONFIG_PATHS["event"]))
    assert cfg["certificate_enabled"] is True


def test_network_logon_applies_but_cannot_register(lab, prepared):
    res = enable(lab, MS, "server", prepared[MS], run_as=None)
    assert res.rc == 100
    assert "not authorized" in res.stdout
    assert group_state(lab, MS, "server")["enabled"]
    assert "applied locally" in _server_configurator.explain_exit(100, MS) or _server_configurator.explain_exit(100, MS)


def test_a_user_outside_milestone_administrators_cannot_register(lab, prepared):
    assert enable(lab, MS, "server", prepared[MS], run_as="LAB\\someone").rc == 100
    assert enable(lab, MS, "server", prepared[MS], run_as=ADMIN.lower()).rc == 0


def test_a_certificate_without_the_host_name_binds_but_registration_fails(lab, prepared, ca):
    from ansible_collections.xprotect.encryption.plugins.module_utils import pki

    key = pki.generate_key(2048)
    cert = pki.issue_certificate(
        ca, key.public_key(), "other.lab.xprotect.test", ["other.lab.xprotect.test"], clamp_to_ca=True
    )
    a = adapter(lab, MS)
    a.write_file("C:\\Windows\\Temp\\o.pfx", pki.write_pfx(key, cert, [ca.cert], b"pw", "other"))
    tp = a.import_certificate("C:\\Windows\\Temp\\o.pfx", "My", password=PFX_PW["pw"])[0]
    res = enable(lab, MS, "server", tp)
    assert res.rc == 100000
    assert group_state(lab, MS, "server")["thumbprint"] == tp


def test_register_switch(lab):
    a = adapter(lab, RS)
    assert a.run([CFG, "/quiet", "/register", "/managementserveraddress=http://mgmt01"]).rc == 0
    assert adapter(lab, RS, None).run([CFG, "/quiet", "/register"]).rc == 100


@pytest.mark.parametrize(
    "code, applied",
    [(100, True), (100000, True), (300000, True), (20, True), (10000, False), (20000, False), (-1, False), (-4, False)],
)
def test_configurator_exit_fault_applies_per_code(lab, prepared, code, applied):
    faults.inject(lab, MS, "configurator_exit", code)
    # A listing does not use the fault up: it is meant for the change.
    assert adapter(lab, MS).run([CFG, "/listcertificategroups"]).rc == 0
    res = enable(lab, MS, "server", prepared[MS])
    assert res.rc == code
    assert group_state(lab, MS, "server")["enabled"] is applied
    # Used up: the next run behaves.
    assert enable(lab, MS, "server", prepared[MS]).rc == 0
    assert group_state(lab, MS, "server")["enabled"]


def test_stale_instance_exits_minus_4_until_killed(lab, prepared):
    faults.inject(lab, MS, "stale_configurator", 5)
    a = adapter(lab, MS)
    assert a.run([CFG, "/listcertificategroups"]).rc == -4
    res = enable(lab, MS, "server", prepared[MS])
    assert res.rc == -4 and "Another instance" in res.stdout
    assert not group_state(lab, MS, "server")["enabled"]
    kill = a.run(["taskkill.exe", "/F", "/IM", "ServerConfigurator.exe"])
    assert kill.rc == 0 and kill.stdout.startswith('SUCCESS: The process "ServerConfigurator.exe" with PID')
    assert a.run(["taskkill.exe", "/F", "/IM", "ServerConfigurator.exe"]).rc == 128
    assert enable(lab, MS, "server", prepared[MS]).rc == 0


def test_stale_instance_default_is_one_run(lab, prepared):
    faults.inject(lab, MS, "stale_configurator")
    assert enable(lab, MS, "server", prepared[MS]).rc == -4
    assert enable(lab, MS, "server", prepared[MS]).rc == 0


def test_slow_restart_runs_one_instance_at_a_time(lab, prepared):
    faults.inject(lab, MS, "slow_restart", 0.6)
    results = {}

    def first():
        results["first"] = enable(lab, MS, "server", prepared[MS])

    t = threading.Thread(target=first)
    t0 = time.monotonic()
    t.start()
    time.sleep(0.2)
    results["second"] = adapter(lab, MS).run([CFG, "/listcertificategroups"])
    t.join()
    assert time.monotonic() - t0 >= 0.6
    assert results["second"].rc == -4
    assert results["first"].rc == 0
    assert group_state(lab, MS, "server")["enabled"]
    assert lab.read_state(MS)["configurator"]["running"] is None


def test_taskkill_other_images_and_syntax(lab):
    a = adapter(lab, MS)
    assert a.run(["taskkill", "/F", "/IM", "notepad.exe"]).rc == 128
    bad = a.run(["taskkill", "/F"])
    assert bad.rc == 1 and "Invalid syntax" in bad.stderr


def test_parse_configurator_args_is_case_insensitive():
    parsed = programs.parse_configurator_args(
        ["/QUIET", "/EnableEncryption", "/CertificateGroup={ABC}", "/Thumbprint=aa bb"]
    )
    assert parsed == programs.ConfiguratorArgs("enable", "abc", "AABB", None)
