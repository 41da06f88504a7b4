# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""LabAdapter: every contract method behaves as its ansible.windows module on a Windows host."""

from __future__ import annotations

import datetime
import os
import stat

import pytest
from lab_helpers import ADMIN, CFG, CL, FO, MOB, MS, RS, TEMP, adapter, certreq, events, trust

from ansible_collections.xprotect.encryption.plugins.module_utils import pki
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import adapter as lab_adapter
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import faults, model
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab.adapter import LabAdapter
from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import (
    AdapterError,
    CertificateEntry,
    HostUnreachable,
    get_adapter,
)

PFX_PW = {"pw": "pw", "secret": "secret", "wrong": "wrong"}  # test-only PFX passphrases


def test_get_adapter_builds_a_lab_adapter(lab):
    a = get_adapter(None, {"xprotect_host_adapter": "lab", "xprotect_lab_site": lab.path, "inventory_hostname": RS})
    assert isinstance(a, LabAdapter) and a.host == RS and a.kind == "lab" and a.run_as is None
    b = get_adapter(
        None,
        {
            "xprotect_host_adapter": "lab",
            "xprotect_lab_site": lab.path,
            "inventory_hostname": "alias",
            "xprotect_lab_host": MS,
        },
    )
    assert b.host == MS


def test_from_task_vars_reads_the_lab_variables_and_says_when_the_site_is_missing(lab):
    a = lab_adapter.from_task_vars(RS, {"xprotect_lab_site": lab.path}, run_as=ADMIN)
    assert a.host == RS and a.run_as == ADMIN
    with pytest.raises(AdapterError, match="Host rs9 uses the lab adapter but has no 'xprotect_lab_site'"):
        lab_adapter.from_task_vars("rs9", {"xprotect_host_adapter": "lab"}, None)


def test_the_default_site_is_under_the_current_directory(lab, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert lab_adapter.default_site_path() == str(tmp_path / ".lab" / "site")
    collection = os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(lab_adapter.__file__))))
    )
    assert not lab_adapter.default_site_path().startswith(collection + os.sep)
    # lab_site without a path makes its site there.
    out = lab_adapter.site_task({"path": None, "state": "present", "port_offset": 10000}, check_mode=False)
    assert out["path"] == str(tmp_path / ".lab" / "site") and (tmp_path / ".lab" / "site" / "site.json").is_file()
    assert (tmp_path / ".lab" / "pki" / "passphrase").is_file()
    lab_adapter.site_task({"path": None, "state": "absent"}, check_mode=False)


def _become_action(method, plugin_name, user=ADMIN):
    """An action as ansible-core's task executor leaves it: the method as written, the plugin loaded."""
    import types

    from ansible.playbook.play_context import PlayContext
    from ansible.plugins.loader import become_loader

    pc = PlayContext()
    pc.become, pc.become_method, pc.become_user = True, method, user
    return types.SimpleNamespace(
        _play_context=pc, _connection=types.SimpleNamespace(become=become_loader.get(plugin_name))
    )


@pytest.mark.parametrize(
    ("method", "plugin", "run_as"),
    [("runas", "runas", ADMIN), ("ansible.builtin.runas", "runas", ADMIN), ("sudo", "sudo", None)],
)
def test_the_lab_runs_server_configurator_as_the_runas_user_by_any_spelling(lab, prepared, method, plugin, run_as):
    from lab_helpers import GUID

    host_vars = {"xprotect_host_adapter": "lab", "xprotect_lab_site": lab.path, "inventory_hostname": MS}
    a = get_adapter(_become_action(method, plugin), host_vars)
    assert a.run_as == run_as
    argv = [CFG, "/quiet", "/enableencryption", f"/certificategroup={GUID['server']}", f"/thumbprint={prepared[MS]}"]
    # As the Milestone administrator: registered (0); otherwise a plain network logon (100) [M].
    assert a.run(argv).rc == (0 if run_as else 100)


def test_unknown_host_and_missing_site(lab, tmp_path):
    with pytest.raises(AdapterError, match="is not in the lab site"):
        LabAdapter(lab.path, "nope.example.com")
    with pytest.raises(AdapterError, match="is not a lab site"):
        LabAdapter(str(tmp_path / "nothing"), RS)


def test_calls_are_counted(lab):
    a = adapter(lab, RS)
    a.list_services()
    a.list_certificates("My")
    a.run(["netsh", "http", "show", "sslcert"])
    assert a.calls == 3 and a.call_log == ["list_services", "list_certificates", "run"]


def test_list_services_with_accounts_and_wildcards(lab):
    svc = adapter(lab, FO).list_services()
    assert [(s.name, s.username, s.state) for s in svc] == [
        ("Milestone XProtect Failover Server", "LAB\\svc-failover", "started")
    ]
    assert svc[0].path == '"C:\\Program Files\\Milestone\\XProtect Recording Server\\VideoOS.Failover.Service.exe"'
    rs = adapter(lab, RS).list_services("milestone xprotect recording*")
    assert rs[0].username == "NT AUTHORITY\\NetworkService"
    assert adapter(lab, MOB).list_services("*Mobile*")[0].username == "LAB\\svc-mobile"
    assert adapter(lab, CL).list_services() == []
    assert adapter(lab, RS).list_services("Other*") == []


def test_configurator_is_found_from_the_services(lab):
    from ansible_collections.xprotect.encryption.plugins.module_utils import _services

    a = adapter(lab, RS)
    exe = _services.configurator_path_from_services(a.list_services())
    assert model.same_windows_path(exe, CFG)
    assert a.file_version(exe) == "24.2.0.1"
    assert a.file_version(a.list_services()[0].path.strip('"')) == "24.2.0.1"
    assert a.file_version("C:\\Windows\\notepad.exe") is None


def test_files_read_write_delete(lab):
    a = adapter(lab, RS)
    path = "%ProgramData%\\Milestone\\notes.txt"
    assert a.write_file(path, "héllo") is True
    assert a.write_file(path, "héllo") is False
    assert a.read_file("c:/programdata/milestone/NOTES.TXT") == "héllo"
    a.write_file(path, b"\xff\xfeh\x00i\x00")
    assert a.read_file(path) == "hi"
    a.write_file(path, b"\xef\xbb\xbfbom")
    assert a.read_file(path) == "bom"
    assert a.delete_file(path) is True
    assert a.delete_file(path) is False
    with pytest.raises(AdapterError, match="is not found"):
        a.read_file(path)
    with pytest.raises(AdapterError, match="Destination directory 'C:\\\\Nowhere' does not exist"):
        a.write_file("C:\\Nowhere\\x.txt", "x")
    with pytest.raises(AdapterError, match="absolute Windows path"):
        a.read_file("relative\\x.txt")
    with pytest.raises(AdapterError, match="refuses '..'"):
        a.write_file("C:\\Windows\\Temp\\..\\..\\..\\escape.txt", "x")
    with pytest.raises(AdapterError, match="is a directory"):
        a.read_file("C:\\Windows\\Temp")
    a.write_file(TEMP + "\\sub.txt", "x")
    with pytest.raises(AdapterError, match="drive root"):
        a.delete_file("C:\\")
    assert a.delete_file("C:\\Windows\\Temp")
    assert not os.path.exists(lab.host_path(RS, TEMP))


def test_config_files_are_in_the_real_places_and_formats(lab):
    from ansible_collections.xprotect.encryption.plugins.module_utils import _configfiles, _services

    rs = _configfiles.parse_recorder_config(adapter(lab, RS).read_file(_configfiles.CONFIG_PATHS["recording"]))
    assert (rs["webserver_port"], rs["webapi_port"], rs["server_webapiport"]) == (7563, 9001, 9000)
    assert rs["server_address"] == MS
    assert rs["server_encryption"] == {"enabled": False, "certificate_hash": None}
    assert rs["recorder_id"] == lab.by_name[RS]["id"]
    fo = _configfiles.parse_recorder_config(adapter(lab, FO).read_file(_configfiles.CONFIG_PATHS["failover"]))
    assert fo["webapi_port"] == 9001
    ms = _configfiles.parse_server_config(adapter(lab, MS).read_file(_configfiles.CONFIG_PATHS["management"]))
    assert ms == {"webapi_port": 9000, "authorization_server_uri": f"http://{MS}/IDP", "version": None}
    mob_path = _services.mobile_config_path_from_services(adapter(lab, MOB).list_services())
    mob = _configfiles.parse_mobile_config(adapter(lab, MOB).read_file(mob_path))
    assert (mob["https_port"], mob["https_ip"], mob["http_port"]) == (8082, "+", 8081)
    assert mob["https_netsh_ipport"] == "0.0.0.0:8082"


def test_recorder_config_follows_the_server_group(lab, prepared):
    from lab_helpers import enable

    from ansible_collections.xprotect.encryption.plugins.module_utils import _configfiles

    enable(lab, MS, "server", prepared[MS])
    enable(lab, RS, "server", prepared[RS])
    rs = _configfiles.parse_recorder_config(adapter(lab, RS).read_file(_configfiles.CONFIG_PATHS["recording"]))
    assert rs["server_encryption"] == {"enabled": True, "certificate_hash": prepared[RS]}
    assert rs["authorization_server"] == f"https://{MS}/IDP"


def test_list_certificates_matches_win_certificate_info(lab, ca):
    trust(lab, RS, ca)
    tp = certreq(lab, RS, ca)
    a = adapter(lab, RS)
    roots = a.list_certificates("Root")
    ours = [c for c in roots if c.thumbprint == ca.thumbprint]
    assert len(roots) == 2 and ours and not ours[0].has_private_key  # plus the stand-in for Windows' roots
    assert ours[0].subject == "CN=XProtect VMS Root CA" == ours[0].issuer
    (mine,) = a.list_certificates("my")
    assert isinstance(mine, CertificateEntry)
    assert mine.thumbprint == tp and mine.has_private_key and mine.issuer == "CN=XProtect VMS Root CA"
    assert mine.not_after.tzinfo is not None and mine.not_after > datetime.datetime.now(datetime.timezone.utc)
    assert pki.thumbprint(pki.load_certificate(mine.der)) == tp
    assert a.list_certificates("TrustedPeople") == []
    # keys are files of mode 0600
    entry = model.find(lab.read_state(RS), "My", tp)
    mode = os.stat(lab.key_path(RS, entry["key"])).st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_import_pem_into_root_is_idempotent_and_logged(lab, ca):
    a = adapter(lab, CL)
    a.write_file(TEMP + "\\ca.pem", ca.cert_pem)
    assert a.import_certificate(TEMP + "\\ca.pem", "Root") == [ca.thumbprint]
    assert a.import_certificate(TEMP + "\\ca.pem", "Root") == [ca.thumbprint]
    assert len(events(lab, "ca_trusted", CL)) == 1
    assert a.remove_certificate(ca.thumbprint, "Root") is True
    assert a.remove_certificate(ca.thumbprint, "Root") is False
    assert events(lab, "ca_removed", CL)[-1]["thumbprint"] == ca.thumbprint


def test_import_pfx_with_key_and_chain(lab, ca):
    key = pki.generate_key(2048)
    cert = pki.issue_certificate(ca, key.public_key(), MOB, pki.host_names(MOB), clamp_to_ca=True)
    a = adapter(lab, MOB)
    a.write_file(TEMP + "\\m.pfx", pki.write_pfx(key, cert, [ca.cert], b"secret", MOB))
    with pytest.raises(AdapterError, match="The specified network password is not correct"):
        a.import_certificate(TEMP + "\\m.pfx", "My", password=PFX_PW["wrong"])
    tps = a.import_certificate(TEMP + "\\m.pfx", "My", password=PFX_PW["secret"], key_exportable=False)
    assert tps == [pki.thumbprint(cert), ca.thumbprint]
    by_tp = {c.thumbprint: c.has_private_key for c in a.list_certificates("My")}
    assert by_tp == {pki.thumbprint(cert): True, ca.thumbprint: False}
    ev = events(lab, "certificate_installed", MOB)
    assert ev[0]["has_private_key"] is True and ev[0]["store"] == "My"


def test_windows_server_2016_rejects_an_aes_pfx(lab, ca):
    import json

    spec = json.loads(open(lab.site_json).read())
    spec["settings"]["reject_aes_pfx"] = True
    open(lab.site_json, "w").write(json.dumps(spec))
    key = pki.generate_key(2048)
    cert = pki.issue_certificate(ca, key.public_key(), MOB, [MOB], clamp_to_ca=True)
    a = adapter(lab, MOB)
    a.write_file(TEMP + "\\aes.pfx", pki.write_pfx(key, cert, [], b"pw", MOB, encryption="aes256"))
    a.write_file(TEMP + "\\3des.pfx", pki.write_pfx(key, cert, [], b"pw", MOB))
    with pytest.raises(AdapterError, match="network password is not correct"):
        a.import_certificate(TEMP + "\\aes.pfx", "My", password=PFX_PW["pw"])
    assert a.import_certificate(TEMP + "\\3des.pfx", "My", password=PFX_PW["pw"]) == [pki.thumbprint(cert)]


def test_import_garbage_and_der(lab, ca):
    a = adapter(lab, RS)
    a.write_file(TEMP + "\\bad.cer", "not a certificate")
    with pytest.raises(AdapterError, match="Failed to load cert from file"):
        a.import_certificate(TEMP + "\\bad.cer", "Root")
    a.write_file(TEMP + "\\ca.der", pki.cert_der(ca.cert))
    assert a.import_certificate(TEMP + "\\ca.der", "Root") == [ca.thumbprint]
    with pytest.raises(AdapterError, match="is not found"):
        a.import_certificate(TEMP + "\\none.cer", "Root")


def test_grant_key_read_check_mode_and_errors(lab, ca):
    trust(lab, RS, ca)
    tp = certreq(lab, RS, ca, grant=False)
    a = adapter(lab, RS)
    assert a.grant_key_read(tp, "NT AUTHORITY\\NetworkService", check=True) is True
    assert a.grant_key_read(tp, "NT AUTHORITY\\NetworkService", check=True) is True  # check changed nothing
    assert a.grant_key_read(tp, "NT AUTHORITY\\NETWORK SERVICE") is True
    assert a.grant_key_read(tp, "NT AUTHORITY\\NetworkService") is False  # the same account, other spelling
    assert a.grant_key_read(tp, "NT AUTHORITY\\SYSTEM") is False
    assert events(lab, "key_access_granted", RS)[-1]["account"] == "NT AUTHORITY\\NETWORK SERVICE"
    with pytest.raises(AdapterError, match="does not exist"):
        a.grant_key_read("00" * 20, "LAB\\svc-failover")
    with pytest.raises(AdapterError, match="LAB\\\\nobody is not a valid account"):
        a.grant_key_read(tp, "LAB\\nobody")
    with pytest.raises(AdapterError, match="has no private key"):
        a.write_file(TEMP + "\\ca.crt", ca.cert_pem)
        a.import_certificate(TEMP + "\\ca.crt", "My")
        a.grant_key_read(ca.thumbprint, "LAB\\svc-failover")


def test_unreachable_host_fails_every_call(lab):
    faults.inject(lab, RS, "unreachable")
    a = adapter(lab, RS)
    calls = [
        lambda: a.run(["netsh", "http", "show", "sslcert"]),
        lambda: a.read_file(TEMP + "\\x"),
        lambda: a.write_file(TEMP + "\\x", "x"),
        lambda: a.delete_file(TEMP + "\\x"),
        lambda: a.list_certificates("My"),
        lambda: a.import_certificate(TEMP + "\\x", "Root"),
        lambda: a.remove_certificate("AB", "Root"),
        lambda: a.grant_key_read("AB", "x"),
        a.list_services,
        lambda: a.file_version(CFG),
    ]
    for call in calls:
        with pytest.raises(HostUnreachable) as info:
            call()
        assert "HTTPSConnectionPool(host='rs001.lab.xprotect.test', port=5986)" in info.value.message
        assert info.value.result["unreachable"] is True
    assert a.calls == len(calls)
    faults.inject(lab, RS, "unreachable", False)
    assert a.list_services()


def test_run_as_is_the_become_user(lab, prepared):
    from lab_helpers import GUID

    argv = [CFG, "/quiet", "/enableencryption", f"/certificategroup={GUID['server']}", f"/thumbprint={prepared[MS]}"]
    assert LabAdapter(lab.path, MS).run(argv).rc == 100
    assert LabAdapter(lab.path, MS, run_as=ADMIN).run(argv).rc == 0
