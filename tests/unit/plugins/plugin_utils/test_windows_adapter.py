# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""WindowsAdapter against ansible.windows module results reconstructed from its source (fixtures/*.json)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import importlib.util
import os
import pathlib
import sys
import types
import xml.etree.ElementTree as ET

import pytest
from ansible.errors import AnsibleConnectionFailure, AnsibleError

from ansible_collections.xprotect.encryption.plugins.module_utils import _netsh
from ansible_collections.xprotect.encryption.plugins.plugin_utils import encryption_flow, powershell, windows
from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import (
    AdapterError,
    CertificateEntry,
    HostUnreachable,
    RunResult,
    ServiceInfo,
    get_adapter,
)
from ansible_collections.xprotect.encryption.plugins.plugin_utils.powershell import FILE_VERSION, KEY_READ_GRANTED
from ansible_collections.xprotect.encryption.plugins.plugin_utils.windows import WindowsAdapter

_spec = importlib.util.spec_from_file_location(
    "_xprotect_windows_fake_action",
    pathlib.Path(__file__).resolve().parents[2] / "test_data" / "windows_modules" / "fake_action.py",
)
fake = sys.modules.setdefault(_spec.name, importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(fake)

HOST = "rs01"
SC = r"C:\Program Files\Milestone\Server Configurator\ServerConfigurator.exe"
RS_TP = fake.load("win_certificate_store_import")["thumbprints"][0]  # rs01.site.local


def adapter(*replies, check_mode=False, task_args=None):
    action = fake.FakeAction(*replies, check_mode=check_mode, task_args=task_args)
    return WindowsAdapter(action, {"inventory_hostname": HOST}), action


def only_call(action):
    assert len(action.calls) == 1, action.calls
    return action.calls[0]


# -- run -----------------------------------------------------------------------------------------
def test_run_returns_stdout_of_netsh():
    a, action = adapter("win_command_netsh_sslcert")
    result = a.run(["netsh", "http", "show", "sslcert", "ipport=0.0.0.0:9001"])
    assert isinstance(result, RunResult)
    assert result.rc == 0
    assert f"Certificate Hash             : {RS_TP.lower()}" in result.stdout
    call = only_call(action)
    assert call.module == "ansible.windows.win_command"
    assert call.args == {"argv": ["netsh", "http", "show", "sslcert", "ipport=0.0.0.0:9001"]}
    assert a.calls == 1 and a.call_log == ["run"]


def test_run_executes_in_check_mode_and_restores_it():
    # win_command does not support check mode: it would be skipped, so run() turns it off for the call.
    a, action = adapter("win_command_listcertificategroups", check_mode=True)
    result = a.run([SC, "/quiet", "/listcertificategroups"])
    assert "Found 'Server certificate' group with ID = 84430eb7-847c-422d-aa00-7915cd0d7a65" in result.stdout
    assert only_call(action).check_mode is False
    assert action._task.check_mode is True


def test_run_restores_check_mode_when_the_call_raises():
    a, action = adapter(AnsibleConnectionFailure("WinRM timed out"), check_mode=True)
    with pytest.raises(HostUnreachable):
        a.run(["netsh", "http", "show", "sslcert"])
    assert action._task.check_mode is True


def test_run_converts_unsigned_exit_code_of_server_configurator():
    a = adapter("win_command_serverconfigurator_exit_minus4")[0]
    result = a.run([SC, "/quiet", "/enableencryption", "/certificategroup=x", f"/thumbprint={RS_TP}"])
    assert result.rc == -4  # the module reported 4294967292


def test_run_converts_hresult_exit_code_of_certreq():
    a = adapter("win_command_certreq_error")[0]
    result = a.run(["certreq", "-accept", "-machine", r"C:\Windows\Temp\xprotect-rs01.cer"])
    assert result.rc == -2147024894  # 0x80070002
    assert "ERROR_FILE_NOT_FOUND" in result.stdout


def test_run_success_of_server_configurator():
    a = adapter("win_command_serverconfigurator_exit_0")[0]
    assert a.run([SC, "/quiet"]).rc == 0


def test_run_missing_executable_is_an_error_not_an_exit_code():
    a = adapter("win_command_missing_executable")[0]
    with pytest.raises(AdapterError) as err:
        a.run([SC, "/quiet", "/listcertificategroups"])
    assert not isinstance(err.value, HostUnreachable)
    assert HOST in err.value.message
    assert "cannot find the file specified" in err.value.message
    assert err.value.result["rc"] == 2


def test_run_skipped_result_is_an_error():
    a = adapter("win_command_check_mode_skipped")[0]
    with pytest.raises(AdapterError, match="skipped"):
        a.run(["netsh", "http", "show", "sslcert"])


def test_run_needs_a_program():
    a, action = adapter()
    with pytest.raises(AdapterError):
        a.run([])
    assert action.calls == []


# -- unreachable ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "reply", ["unreachable", AnsibleConnectionFailure("psrp connection failure"), windows.RequestException("reset")]
)
def test_unreachable_names_the_host(reply):
    a = adapter(reply)[0]
    with pytest.raises(HostUnreachable) as err:
        a.list_certificates("My")
    assert HOST in err.value.message
    assert err.value.result["unreachable"] is True


def test_unreachable_during_write_file():
    a = adapter(AnsibleConnectionFailure("put_file failed"))[0]
    with pytest.raises(HostUnreachable):
        a.write_file(r"C:\Windows\Temp\x.inf", "x")


def test_ansible_error_becomes_adapter_error():
    a = adapter(AnsibleError("The module ansible.windows.win_service_info was not found"))[0]
    with pytest.raises(AdapterError, match="ansible.windows"):
        a.list_services()


# -- read_file -------------------------------------------------------------------------------
def test_read_file_utf8_bom():
    a, action = adapter("slurp_recorderconfig_utf8_bom")
    path = r"C:\ProgramData\Milestone\XProtect Recording Server\RecorderConfig.xml"
    text = a.read_file(path)
    assert not text.startswith("\ufeff")
    assert "München" in text
    assert ET.fromstring(text).findtext("webapi/port") == "9001"  # noqa: S314 - our fixture
    call = only_call(action)
    assert (call.module, call.args) == ("ansible.builtin.slurp", {"src": path})


def test_read_file_utf8_without_bom():
    a = adapter("slurp_serverconfig_utf8")[0]
    text = a.read_file("ServerConfig.xml")
    assert ET.fromstring(text).findtext("WebApiConfig/Port") == "9000"  # noqa: S314 - our fixture


@pytest.mark.parametrize("fixture", ["slurp_utf16le_bom", "slurp_utf16be_bom"])
def test_read_file_utf16_with_bom(fixture):
    a = adapter(fixture)[0]
    text = a.read_file(r"C:\Windows\Temp\xprotect-rs01.inf")
    assert text.startswith("[Version]\r\n")
    assert 'ProviderName = "Microsoft RSA SChannel Cryptographic Provider"' in text


def test_read_file_not_found():
    a = adapter("slurp_not_found")[0]
    with pytest.raises(AdapterError, match="is not found") as err:
        a.read_file(r"C:\ProgramData\Milestone\XProtect Recording Server\RecorderConfig.xml")
    assert HOST in err.value.message


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ("Zürich".encode("utf-16-le"), "Zürich"),  # UTF-16 LE without BOM
        ("Zürich".encode("utf-16-be"), "Zürich"),
        ("Zürich".encode("cp1252"), "Zürich"),  # not UTF-8: the Western ANSI code page
        (b"\xef\xbb\xbfplain", "plain"),
        (b"", ""),
        (b"\xff\xfe\x00\x00" + "ok".encode("utf-32-le"), "ok"),
    ],
)
def test_decode_text(data, text):
    assert windows.decode_text(data) == text


# -- write_file ------------------------------------------------------------------------------
def test_write_file_text_goes_through_the_win_copy_action():
    a, action = adapter("win_copy_action_changed", task_args={"key_source": "host", "ca_path": "/ca.pem"})
    inf = '[NewRequest]\r\nSubject = "CN=rs01.site.local"\r\n'
    assert a.write_file(r"C:\Windows\Temp\xprotect-rs01.inf", inf) is True
    call = only_call(action)
    assert call.kind == "action" and call.module == "ansible.windows.win_copy"
    # exactly these options: the calling task's own options (ca_path ...) must not leak into win_copy
    assert set(call.args) == {"src", "dest", "decrypt"}
    assert call.args["dest"] == r"C:\Windows\Temp\xprotect-rs01.inf"
    assert call.args["decrypt"] is False
    assert call.local_file == inf.encode("utf-8")
    assert call.local_mode == 0o600
    assert os.path.basename(call.args["src"]) == "xprotect-rs01.inf"
    assert not os.path.exists(call.args["src"])  # removed afterwards
    assert not os.path.exists(os.path.dirname(call.args["src"]))


def test_write_file_bytes_are_copied_unchanged():
    a, action = adapter("win_copy_action_changed")
    pfx = bytes(range(256)) * 4  # binary, not UTF-8
    a.write_file(r"C:\Windows\Temp\xprotect-rs01.pfx", pfx)
    assert only_call(action).local_file == pfx


def test_write_file_unchanged():
    a = adapter("win_copy_action_unchanged")[0]
    assert a.write_file(r"C:\Windows\Temp\xprotect-rs01.inf", "same") is False


def test_write_file_keeps_check_mode_of_the_task():
    a, action = adapter("win_copy_action_changed", check_mode=True)
    a.write_file(r"C:\Windows\Temp\xprotect-rs01.inf", "x")
    assert only_call(action).check_mode is True


def test_write_file_failure_removes_the_local_copy():
    a, action = adapter("win_copy_action_missing_dir")
    with pytest.raises(AdapterError, match="does not exist") as err:
        a.write_file(r"C:\Missing\xprotect-rs01.inf", "x")
    assert HOST in err.value.message
    assert not os.path.exists(only_call(action).args["src"])


def test_write_file_without_win_copy_installed():
    a, action = adapter()
    action.missing_actions.add("ansible.windows.win_copy")
    with pytest.raises(AdapterError, match="ansible.windows"):
        a.write_file(r"C:\Windows\Temp\x.inf", "x")


# -- delete_file -----------------------------------------------------------------------------
def test_delete_file():
    a, action = adapter("win_file_absent_changed", "win_file_absent_unchanged")
    assert a.delete_file(r"C:\Windows\Temp\xprotect-rs01.pfx") is True
    assert a.delete_file(r"C:\Windows\Temp\xprotect-rs01.pfx") is False
    assert action.calls[0].module == "ansible.windows.win_file"
    assert action.calls[0].args == {"path": r"C:\Windows\Temp\xprotect-rs01.pfx", "state": "absent"}


@pytest.mark.parametrize("path", ["", "C:", "C:\\", "D:/", r"C:\Windows\Temp\\"])
def test_delete_file_refuses_folders_and_drives(path):
    a, action = adapter()
    with pytest.raises(AdapterError, match="refusing"):
        a.delete_file(path)
    assert action.calls == []


# -- list_certificates -----------------------------------------------------------------------
def test_list_certificates_my():
    a, action = adapter("win_certificate_info_my")
    entries = a.list_certificates("My")
    call = only_call(action)
    assert (call.module, call.args) == (
        "ansible.windows.win_certificate_info",
        {"store_name": "My", "store_location": "LocalMachine"},
    )
    assert len(entries) == 2 and all(isinstance(e, CertificateEntry) for e in entries)
    rs = next(e for e in entries if e.thumbprint == RS_TP)
    assert rs.subject == "CN=rs01.site.local"
    assert rs.issuer == "CN=XProtect Encryption CA"
    # the module lists the CN twice (issued_to + SAN): one entry each
    assert rs.dns_names == ("rs01.site.local", "rs01")
    assert rs.not_after == datetime.datetime(2027, 6, 30, 12, 0, tzinfo=datetime.timezone.utc)
    assert rs.not_after.tzinfo is not None
    assert rs.has_private_key is True
    assert hashlib.sha1(rs.der).hexdigest().upper() == rs.thumbprint  # noqa: S324


def test_list_certificates_root_and_empty():
    a = adapter("win_certificate_info_root", "win_certificate_info_empty")[0]
    (ca,) = a.list_certificates("Root")
    assert ca.has_private_key is False
    assert ca.dns_names == ("XProtect Encryption CA",)
    assert a.list_certificates("My") == []


def test_list_certificates_accepts_documented_cert_data():
    a = adapter("win_certificate_info_root", "win_certificate_info_cert_data_variant")[0]
    (from_raw,) = a.list_certificates("Root")
    (from_cert_data,) = a.list_certificates("Root")
    assert from_raw == from_cert_data


def test_list_certificates_reads_san_from_der_on_localised_windows():
    a = adapter("win_certificate_info_my_de")[0]
    (rs,) = a.list_certificates("My")
    assert fake.load("win_certificate_info_my_de")["certificates"][0]["dns_names"] == ["rs01.site.local"]
    assert rs.dns_names == ("rs01.site.local", "rs01")


def test_list_certificates_without_cryptography_uses_module_names(monkeypatch):
    monkeypatch.setattr(windows, "HAS_CRYPTOGRAPHY", False)
    a = adapter("win_certificate_info_my")[0]
    rs = next(e for e in a.list_certificates("My") if e.thumbprint == RS_TP)
    assert rs.dns_names == ("rs01.site.local", "rs01")


def test_list_certificates_falls_back_to_iso_date():
    result = fake.load("win_certificate_info_root")
    del result["certificates"][0]["valid_to"]
    a = adapter(result)[0]
    (ca,) = a.list_certificates("Root")
    assert ca.not_after == datetime.datetime(2036, 1, 1, tzinfo=datetime.timezone.utc)


def test_list_certificates_without_der_is_an_error():
    result = fake.load("win_certificate_info_root")
    del result["certificates"][0]["raw"]
    a = adapter(result)[0]
    with pytest.raises(AdapterError, match="raw"):
        a.list_certificates("Root")


# -- import / remove -------------------------------------------------------------------------
def test_import_certificate():
    a, action = adapter("win_certificate_store_import")
    tps = a.import_certificate(r"C:\Windows\Temp\xprotect-rs01.pfx", "My", "s3cret")
    assert tps == [RS_TP]
    call = only_call(action)
    assert call.module == "ansible.windows.win_certificate_store"
    assert call.args == {
        "path": r"C:\Windows\Temp\xprotect-rs01.pfx",
        "state": "present",
        "store_name": "My",
        "store_location": "LocalMachine",
        "key_storage": "machine",
        "key_exportable": False,
        "password": "s3cret",
    }


def test_import_certificate_without_password():
    a, action = adapter("win_certificate_store_import")
    a.import_certificate(r"C:\Windows\Temp\ca.cer", "Root", key_exportable=True)
    assert "password" not in only_call(action).args
    assert only_call(action).args["key_exportable"] is True


def test_import_certificate_bad_password_says_what_to_do():
    a = adapter("win_certificate_store_bad_password")[0]
    with pytest.raises(AdapterError) as err:
        a.import_certificate(r"C:\Windows\Temp\xprotect-rs01.pfx", "My", "wrong")
    assert "network password is not correct" in err.value.message
    assert "PBE-SHA1-3DES" in err.value.message
    assert HOST in err.value.message


def test_remove_certificate_normalises_the_thumbprint():
    a, action = adapter("win_certificate_store_absent")
    ca_tp = fake.load("win_certificate_store_absent")["thumbprints"][0]
    pasted = "\u200e" + " ".join(ca_tp[i : i + 2] for i in range(0, 40, 2)).lower()  # as copied from certlm.msc
    assert a.remove_certificate(pasted, "Root") is True
    assert only_call(action).args == {
        "thumbprint": ca_tp,
        "state": "absent",
        "store_name": "Root",
        "store_location": "LocalMachine",
    }


@pytest.mark.parametrize("bad", ["", "XYZ", "A" * 39, "A" * 41, "*"])
def test_bad_thumbprint_is_refused_before_any_call(bad):
    a, action = adapter()
    with pytest.raises(AdapterError, match="thumbprint"):
        a.remove_certificate(bad, "Root")
    with pytest.raises(AdapterError, match="thumbprint"):
        a.grant_key_read(bad, "NT AUTHORITY\\NetworkService")
    assert action.calls == []


# -- grant_key_read --------------------------------------------------------------------------
def test_grant_key_read_uses_win_acl_with_a_cert_path():
    a, action = adapter("win_acl_changed", "win_acl_unchanged")
    assert a.grant_key_read(RS_TP.lower(), "NT AUTHORITY\\NetworkService") is True
    assert a.grant_key_read(RS_TP, "SITE\\svc-xprotect-fo") is False
    first, second = action.calls
    assert first.module == "ansible.windows.win_acl"
    assert first.args == {
        "path": f"Cert:\\LocalMachine\\My\\{RS_TP}",
        "user": "S-1-5-20",  # StartName "NT AUTHORITY\NetworkService" does not resolve everywhere
        "rights": "Read",
        "type": "allow",
        "state": "present",
    }
    assert second.args["user"] == "SITE\\svc-xprotect-fo"
    assert first.check_mode is False


def test_grant_key_read_on_a_pending_request_uses_its_request_store_path():
    # win_acl opens any Certificate-provider path's key (_CertACLHelper), REQUEST as well as My.
    a, action = adapter("win_acl_changed")
    assert a.grant_key_read(RS_TP, "NT AUTHORITY\\NetworkService", store="REQUEST") is True
    assert only_call(action).args["path"] == f"Cert:\\LocalMachine\\REQUEST\\{RS_TP}"


@pytest.mark.parametrize("store", ["My\\..\\Root", "", "My Store", None])
def test_grant_key_read_refuses_a_store_that_is_not_a_name(store):
    a, action = adapter()
    with pytest.raises(AdapterError, match="store: .* is not a certificate store name"):
        a.grant_key_read(RS_TP, "NT AUTHORITY\\NetworkService", store=store)
    assert action.calls == []


@pytest.mark.parametrize(
    ("fixture", "needed"), [("win_powershell_key_read_missing", True), ("win_powershell_key_read_granted", False)]
)
def test_grant_key_read_check_probes_without_win_acl(fixture, needed):
    a, action = adapter(fixture)
    assert a.grant_key_read(RS_TP, "NT AUTHORITY\\NETWORK SERVICE", check=True) is needed
    call = only_call(action)
    assert call.module == "ansible.windows.win_powershell"
    assert call.args == {
        "script": KEY_READ_GRANTED,
        "parameters": {"Thumbprint": RS_TP, "Account": "S-1-5-20", "Store": "My"},
        "error_action": "stop",
    }


def test_grant_key_read_in_a_check_mode_task_never_calls_win_acl():
    # win_acl would answer `skipped` in check mode (Parse-Args without -supports_check_mode).
    a, action = adapter("win_powershell_key_read_missing", check_mode=True)
    assert a.grant_key_read(RS_TP, "NT AUTHORITY\\NetworkService") is True
    assert only_call(action).module == "ansible.windows.win_powershell"


def test_grant_key_read_unknown_account():
    a = adapter("win_acl_invalid_user")[0]
    with pytest.raises(AdapterError) as err:
        a.grant_key_read(RS_TP, "SITE\\svc-missing")
    assert "svc-missing" in err.value.message
    assert "does not exist" in err.value.message


def test_grant_key_read_check_unknown_account_reports_the_powershell_error():
    a = adapter("win_powershell_key_read_no_account")[0]
    with pytest.raises(AdapterError) as err:
        a.grant_key_read(RS_TP, "SITE\\svc-missing", check=True)
    assert "could not be translated" in err.value.message
    assert "does not exist" in err.value.message
    assert "SITE\\svc-missing" in err.value.message  # says which account


def test_grant_key_read_win_acl_skipped_is_never_taken_for_no_change():
    a = adapter("win_acl_check_mode_skipped")[0]
    with pytest.raises(AdapterError, match="skipped"):
        a.grant_key_read(RS_TP, "S-1-5-20")


@pytest.mark.parametrize(
    ("account", "principal"),
    [
        ("LocalSystem", "S-1-5-18"),
        ("NT AUTHORITY\\SYSTEM", "S-1-5-18"),
        ("NT AUTHORITY\\LocalService", "S-1-5-19"),
        ("nt authority\\network service", "S-1-5-20"),
        (" NT AUTHORITY\\NetworkService ", "S-1-5-20"),
        ("SITE\\svc-xprotect", "SITE\\svc-xprotect"),
        (".\\xprotect", ".\\xprotect"),
        ("S-1-5-21-1-2-3-1001", "S-1-5-21-1-2-3-1001"),
        ("NT-AUTORITÄT\\NETZWERKDIENST", "S-1-5-20"),
        ("AUTORITE NT\\Service réseau", "S-1-5-20"),
        ("NT-AUTORITÄT\\SYSTEM", "S-1-5-18"),
    ],
)
def test_acl_principal(account, principal):
    assert windows.acl_principal(account) == principal


@pytest.mark.parametrize("lang", ["de", "fr"])
def test_localised_service_accounts_need_one_grant_by_sid(lang):
    # The localised SYSTEM name (LocalSystem translated by win_service_info) is never granted; the
    # localised NetworkService is granted by its SID.
    from ansible_collections.xprotect.encryption.plugins.module_utils import _accounts, hoststate

    a = adapter(f"win_service_info_milestone_{lang}")[0]
    services = a.list_services()
    accounts = hoststate.key_reader_accounts(services)
    assert accounts == ["NT AUTHORITY\\NETWORK SERVICE"]
    assert [windows.acl_principal(x) for x in accounts] == ["S-1-5-20"]
    assert any(_accounts.well_known_sid(s.username) == "S-1-5-18" for s in services)


REQUEST_TP = "5E0C6D2A1B3F4E5D6C7B8A9F0E1D2C3B4A596877"


@pytest.mark.parametrize(
    ("fixture", "rc", "stderr"),
    [
        ("win_command_remove_request_with_key", 0, ""),
        ("win_command_remove_request_with_key_missing", 1, "PathNotFound"),
    ],
)
def test_removing_a_pending_request_with_its_key_is_one_win_command(fixture, rc, stderr):
    a, action = adapter(fixture)
    result = a.run(powershell.remove_with_key_argv("REQUEST", REQUEST_TP))
    assert result.rc == rc and stderr in result.stderr
    assert only_call(action).module == "ansible.windows.win_command"
    assert only_call(action).args == {"argv": fake.load(fixture)["invocation"]["module_args"]["argv"]}


# -- services / file version -----------------------------------------------------------------
def test_list_services():
    a, action = adapter("win_service_info_milestone")
    services = a.list_services()
    call = only_call(action)
    assert (call.module, call.args) == ("ansible.windows.win_service_info", {"name": "Milestone*"})
    assert [s.name for s in services] == [
        "Milestone XProtect Recording Server",
        "Milestone XProtect Mobile Server",
        "Milestone XProtect Failover Server",
    ]
    assert services[0] == ServiceInfo(
        name="Milestone XProtect Recording Server",
        display_name="Milestone XProtect Recording Server",
        username="NT AUTHORITY\\NetworkService",
        path='"C:\\Program Files\\Milestone\\XProtect Recording Server\\VideoOS.Recorder.Service.exe"',
        state="started",
    )
    assert services[2].state == "stopped"


def test_list_services_none():
    a = adapter("win_service_info_none")[0]
    assert a.list_services("Milestone XProtect Event*") == []


def test_file_version():
    a, action = adapter("win_powershell_file_version", "win_powershell_file_version_missing")
    assert a.file_version(SC) == "23.2.47.1"
    assert a.file_version(SC) is None
    assert action.calls[0].module == "ansible.windows.win_powershell"
    assert action.calls[0].args == {"script": FILE_VERSION, "parameters": {"Path": SC}, "error_action": "stop"}


# -- registry: the locale-free source of HTTP.sys bindings ------------------------------------------
SSL_KEY_9001 = r"HKLM:\SYSTEM\CurrentControlSet\Services\HTTP\Parameters\SslBindingInfo\0.0.0.0:9001"


def test_read_registry_maps_win_reg_stat_binary():
    a, action = adapter("win_reg_stat_sslcerthash", "win_reg_stat_absent")
    reg = a.read_registry(SSL_KEY_9001, "SslCertHash")
    assert action.calls[0].module == "ansible.windows.win_reg_stat"
    assert action.calls[0].args == {"path": SSL_KEY_9001, "name": "SslCertHash"}
    assert (reg.exists, reg.type) == (True, "REG_BINARY")
    assert _netsh.thumbprint_from_registry(reg.value) == RS_TP
    absent = a.read_registry(SSL_KEY_9001.replace("9001", "9000"), "SslCertHash")
    assert (absent.exists, absent.type, absent.value) == (False, None, None)
    assert a.call_log == ["read_registry", "read_registry"]


def test_read_registry_runs_in_check_mode():
    a, action = adapter("win_reg_stat_sslcerthash", check_mode=True)
    assert a.read_registry(SSL_KEY_9001, "SslCertHash").exists
    assert action.calls[0].check_mode is True


def _ctx():
    return {"fqdn": "rs01", "address": "127.0.0.1", "port_offset": 0, "config_paths": {}, "timeout": 1}


def test_read_state_on_windows_takes_the_registry_first():
    a, action = adapter("slurp_recorderconfig_utf8_bom", "win_reg_stat_sslcerthash")
    assert encryption_flow.read_state(a, _ctx(), ["recording"], ["server"]) == {"server": RS_TP}
    assert [c.module for c in action.calls] == ["ansible.builtin.slurp", "ansible.windows.win_reg_stat"]


@pytest.mark.parametrize(
    "registry",
    ["win_reg_stat_absent", {"failed": True, "msg": "Requested registry access is not allowed."}],
    ids=["absent", "not-readable"],
)
def test_read_state_on_windows_falls_back_to_netsh(registry):
    a, action = adapter("slurp_recorderconfig_utf8_bom", registry, "win_command_netsh_sslcert")
    assert encryption_flow.read_state(a, _ctx(), ["recording"], ["server"]) == {"server": RS_TP}
    assert action.calls[-1].module == "ansible.windows.win_command"
    assert action.calls[-1].args == {"argv": ["netsh", "http", "show", "sslcert"]}


def test_read_state_reads_the_mobile_config_from_the_service_path():
    exe = r"D:\Milestone\XProtect Mobile Server\VideoOS.MobileServer.Service.exe"
    config = (
        '<?xml version="1.0" encoding="utf-8"?>\r\n<configuration><HttpSecureMetaChannel><Address>'
        '<add key="Port" value="8082" /><add key="Ip" value="+" /></Address></HttpSecureMetaChannel></configuration>'
    )
    slurp = {"changed": False, "content": base64.b64encode(config.encode()).decode(), "encoding": "base64"}
    a, action = adapter("win_service_info_mobile_d_drive", slurp, "win_reg_stat_sslcerthash")
    assert encryption_flow.read_state(a, _ctx(), ["mobile"], ["mobile"]) == {"mobile": RS_TP}
    assert action.calls[1].args == {"src": exe + ".config"}
    key = action.calls[2].args["path"]
    assert key.endswith(r"\SslBindingInfo\0.0.0.0:8082")


# -- counting, selection, helpers ------------------------------------------------------------
def test_every_method_is_one_round_trip_and_counted():
    replies = [
        "win_command_netsh_sslcert",
        "slurp_serverconfig_utf8",
        "win_copy_action_changed",
        "win_file_absent_changed",
        "win_certificate_info_my",
        "win_certificate_store_import",
        "win_certificate_store_absent",
        "win_acl_changed",
        "win_service_info_milestone",
        "win_powershell_file_version",
    ]
    a, action = adapter(*replies)
    a.run(["netsh"])
    a.read_file("C:\\x.xml")
    a.write_file("C:\\Windows\\Temp\\x.inf", "x")
    a.delete_file("C:\\Windows\\Temp\\x.inf")
    a.list_certificates("My")
    a.import_certificate("C:\\Windows\\Temp\\x.pfx", "My", "pw")
    a.remove_certificate(RS_TP, "My")
    a.grant_key_read(RS_TP, "LocalSystem")
    a.list_services()
    a.file_version(SC)
    assert a.calls == len(replies) == len(action.calls)
    assert a.call_log == [
        "run",
        "read_file",
        "write_file",
        "delete_file",
        "list_certificates",
        "import_certificate",
        "remove_certificate",
        "grant_key_read",
        "list_services",
        "file_version",
    ]


def test_get_adapter_defaults_to_windows():
    action = fake.FakeAction()
    a = get_adapter(action, {"inventory_hostname": HOST})
    assert isinstance(a, WindowsAdapter) and a.kind == "windows" and a.host == HOST


@pytest.mark.parametrize(
    ("rc", "signed"), [(0, 0), (1, 1), (100000, 100000), (4294967292, -4), (4294967295, -1), (2147942402, -2147024894)]
)
def test_signed_exit_code(rc, signed):
    assert windows.signed_exit_code(rc) == signed


def test_failure_message_prefers_msg_then_powershell_error():
    assert windows.failure_message({"msg": "boom"}) == "boom"
    assert "could not be translated" in windows.failure_message(fake.load("win_powershell_key_read_no_account"))
    assert windows.failure_message({"failed": True}) == "the module failed without a message"
    crashed = {"failed": True, "msg": "MODULE FAILURE", "module_stderr": "trace\r\nSomething broke"}
    assert windows.failure_message(crashed) == "MODULE FAILURE: Something broke"


def test_fixture_certificates_are_real():
    # the recorded DER, thumbprint and SAN agree with each other (the fixtures cannot drift apart)
    from cryptography import x509

    for info in fake.load("win_certificate_info_my")["certificates"]:
        der = base64.b64decode(info["raw"])
        assert hashlib.sha1(der).hexdigest().upper() == info["thumbprint"]  # noqa: S324
        cert = x509.load_der_x509_certificate(der)
        assert int(cert.not_valid_after_utc.timestamp()) == info["valid_to"]


# -- write_file through the real ansible.windows.win_copy action plugin ------------------------
@pytest.fixture
def real_win_copy(monkeypatch):
    """The installed win_copy action, with only its host I/O replaced by a recorder."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.playbook.play_context import PlayContext
    from ansible.playbook.task import Task
    from ansible.plugins.action import ActionBase
    from ansible.plugins.loader import action_loader, shell_loader
    from ansible.template import Templar

    record = []

    def execute_module(self, module_name=None, module_args=None, task_vars=None, **kwargs):
        record.append(("module", module_name, dict(module_args), self._task.check_mode))
        if module_args.get("_copy_mode") == "query":  # the file differs: send it
            files = [{"src": f["src"], "dest": f["dest"]} for f in module_args["files"]]
            return {"changed": False, "files": files, "directories": [], "symlinks": []}
        return {"changed": True, "dest": module_args["dest"], "operation": "file_copy"}

    monkeypatch.setattr(ActionBase, "_execute_module", execute_module)
    monkeypatch.setattr(
        ActionBase,
        "_transfer_file",
        lambda self, local, remote: record.append(("put", local, pathlib.Path(local).read_bytes())),
    )
    monkeypatch.setattr(
        ActionBase, "_make_tmp_path", lambda self, remote_user=None: r"C:\Users\admin\AppData\Local\Temp\t"
    )
    monkeypatch.setattr(ActionBase, "_remove_tmp_path", lambda self, tmp_path, force=False: None)

    def make(check_mode=False):
        task = Task()
        task.args = {"key_source": "host", "ca_path": "/pki"}  # the calling action's own options
        task.check_mode = check_mode
        loader = DataLoader()
        connection = types.SimpleNamespace(_shell=shell_loader.get("powershell"), transport="psrp")
        action = types.SimpleNamespace(
            _task=task,
            _connection=connection,
            _play_context=PlayContext(),
            _loader=loader,
            _templar=Templar(loader=loader),
            _shared_loader_obj=types.SimpleNamespace(action_loader=action_loader),
        )
        return WindowsAdapter(action, {"inventory_hostname": HOST})

    return make, record


def test_write_file_through_the_real_win_copy_action(real_win_copy):
    make, record = real_win_copy
    pfx = b"\x30\x82\x01\x00" + bytes(range(256))
    assert make().write_file(r"C:\Windows\Temp\xprotect-rs01.pfx", pfx) is True
    modules = [r for r in record if r[0] == "module"]
    puts = [r for r in record if r[0] == "put"]
    assert [m[2]["_copy_mode"] for m in modules] == ["query", "single"]
    assert puts and puts[0][2] == pfx
    for _kind, name, args, _check in modules:
        assert name == "ansible.windows.win_copy"
        assert not {"key_source", "ca_path"} & set(args)  # the caller's options never reach win_copy
    assert modules[1][2]["dest"] == r"C:\Windows\Temp\xprotect-rs01.pfx"
    assert not os.path.exists(puts[0][1])


def test_write_file_through_the_real_win_copy_action_in_check_mode(real_win_copy):
    make, record = real_win_copy
    assert make(check_mode=True).write_file(r"C:\Windows\Temp\xprotect-rs01.inf", "x") is True
    assert [r[2]["_copy_mode"] for r in record if r[0] == "module"] == ["query"]
    assert not [r for r in record if r[0] == "put"]  # nothing is sent to the host
