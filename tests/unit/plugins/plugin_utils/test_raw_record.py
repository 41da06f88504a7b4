# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The raw record: every adapter call recorded, secrets left out, one file per host written atomically."""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import stat
import sys

import pytest

from ansible_collections.xprotect.encryption.plugins.plugin_utils import raw_record
from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import AdapterError, HostAdapter
from ansible_collections.xprotect.encryption.plugins.plugin_utils.windows import WindowsAdapter

_spec = importlib.util.spec_from_file_location(
    "_xprotect_windows_fake_action",
    pathlib.Path(__file__).resolve().parents[2] / "test_data" / "windows_modules" / "fake_action.py",
)
fake = sys.modules.setdefault(_spec.name, importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(fake)

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "test_data" / "windows_modules"
SC = r"C:\Program Files\Milestone\Server Configurator\ServerConfigurator.exe"


def recorded(tmp_path, *replies, check_mode=True):
    action = fake.FakeAction(*replies, check_mode=check_mode)
    adapter = WindowsAdapter(action, {"inventory_hostname": "rs01"})
    recorder = raw_record.RawRecorder(str(tmp_path / "raw" / "rs01.json"), "rs01", "Audit | read", "x", check_mode)
    recorder.attach(adapter)
    return adapter, recorder


def test_the_contract_is_every_public_method_with_an_implementation():
    methods = raw_record.contract_methods()
    assert {"run", "read_file", "list_certificates", "list_services", "grant_key_read", "write_file"} <= set(methods)
    assert not [m for m in methods if m.startswith("_")]

    class Wider(HostAdapter):  # a method added to the contract later is recorded too
        def read_registry(self, key, value):
            self._count("read_registry")
            return self._read_registry(key, value)

        def _read_registry(self, key, value):
            return {"exists": True, "value": "ab" * 20}

    assert "read_registry" in raw_record.contract_methods(Wider)


def test_every_windows_output_read_is_kept_as_it_came(tmp_path):
    adapter, recorder = recorded(
        tmp_path,
        "win_command_netsh_sslcert",
        "win_command_listcertificategroups",
        "win_certificate_info_my",
        "win_service_info_milestone",
        "slurp_recorderconfig_utf8_bom",
    )
    netsh = adapter.run(["netsh", "http", "show", "sslcert"])
    listing = adapter.run([SC, "/quiet", "/listcertificategroups"])
    my = adapter.list_certificates("My")
    adapter.list_services()
    config = adapter.read_file(r"C:\ProgramData\Milestone\XProtect Recording Server\RecorderConfig.xml")
    assert recorder.save() is None
    doc = json.loads((tmp_path / "raw" / "rs01.json").read_text())
    assert doc["host"] == "rs01" and doc["format"] == 1
    (task,) = doc["tasks"]
    assert task["task"] == "Audit | read" and task["check_mode"] is True
    calls = task["calls"]
    assert [c["method"] for c in calls] == ["run", "run", "list_certificates", "list_services", "read_file"]
    assert calls[0]["arguments"] == {"argv": ["netsh", "http", "show", "sslcert"]}
    assert calls[0]["result"]["stdout"] == netsh.stdout and calls[0]["result"]["rc"] == 0
    assert calls[1]["result"]["stdout"] == listing.stdout
    assert calls[2]["result"][0]["thumbprint"] == my[0].thumbprint
    assert calls[2]["result"][0]["der"]  # the certificate itself: public
    assert calls[3]["result"][0]["username"] == "NT AUTHORITY\\NetworkService"
    assert calls[4]["result"] == config
    assert stat.S_IMODE(os.stat(tmp_path / "raw" / "rs01.json").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "raw").st_mode) == 0o700


def test_passwords_and_written_content_are_left_out(tmp_path):
    adapter, recorder = recorded(tmp_path, "win_copy_action_changed", "win_certificate_store_import", check_mode=False)
    pfx = b"\x30\x82" + b"secret key bytes" * 10
    adapter.write_file(r"C:\Windows\Temp\xprotect-rs01.pfx", pfx)
    adapter.import_certificate(r"C:\Windows\Temp\xprotect-rs01.pfx", "My", password="Pa55w0rd!")
    recorder.save()
    text = (tmp_path / "raw" / "rs01.json").read_text()
    assert "Pa55w0rd!" not in text and "secret key bytes" not in text
    calls = json.loads(text)["tasks"][0]["calls"]
    assert calls[0]["arguments"]["content"] == f"[left out: {len(pfx)} bytes]"
    assert calls[1]["arguments"]["password"] == "[left out]"


# PEM key markers built from parts, so that no test file carries a key header.
_KEY = "PRIVATE" + " KEY"


def _pem(label, body):
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (_pem(_KEY, "MIIEv") + "\n", "MIIEv"),
        (_pem("RSA " + _KEY, "MIIEo"), "MIIEo"),
        ('<add key="SmtpPassword" value="hunter2" />', "hunter2"),
        ("<Password>hunter2</Password>", "hunter2"),
        ('<smtp password="hunter2" user="ops" />', "hunter2"),
        ("Data Source=sql01;User ID=vms;Password=hunter2;Initial Catalog=Surveillance", "hunter2"),
        ("<connectionString>Server=sql;Pwd=hunter2</connectionString>", "hunter2"),
    ],
)
def test_secrets_in_text_read_are_left_out(text, secret):
    out = raw_record.redact(text)
    assert secret not in out and "left out" in out


def test_what_is_not_secret_stays():
    text = "IP:port : 0.0.0.0:9001\r\nCertificate Hash : 6a3f0c2b\r\n<port>7563</port>\r\nUser ID=vms"
    assert raw_record.redact(text) == text


def test_a_failed_call_is_recorded_with_its_message_and_the_tasks_outcome(tmp_path):
    adapter, recorder = recorded(tmp_path, "slurp_not_found")
    with pytest.raises(AdapterError) as error:
        adapter.read_file(r"C:\ProgramData\Milestone\XProtect Recording Server\RecorderConfig.xml")
    recorder.save({"failed": True, "msg": error.value.message, "round_trips": 1})
    (task,) = json.loads((tmp_path / "raw" / "rs01.json").read_text())["tasks"]
    (call,) = task["calls"]
    assert "not found" in call["error"] and "result" not in call
    assert task["outcome"] == {"failed": True, "msg": error.value.message}


def test_tasks_of_one_host_are_appended_and_another_hosts_file_is_not_mixed_in(tmp_path):
    for name in ("first", "second"):
        adapter, recorder = recorded(tmp_path, "win_service_info_none")
        recorder.record["task"] = name
        adapter.list_services()
        recorder.save()
    doc = json.loads((tmp_path / "raw" / "rs01.json").read_text())
    assert [t["task"] for t in doc["tasks"]] == ["first", "second"]
    other = raw_record.RawRecorder(str(tmp_path / "raw" / "rs01.json"), "rs02", "t", "x", True)
    other.save()
    assert [t["task"] for t in json.loads((tmp_path / "raw" / "rs01.json").read_text())["tasks"]] == ["t"]


def test_an_unwritable_file_is_a_warning_not_a_failure(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    recorder = raw_record.RawRecorder(str(blocker / "rs01.json"), "rs01", "t", "x", True)
    problem = recorder.save()
    assert problem and "raw_record_file" in problem and "rs01" in problem


def test_the_option_is_documented_as_every_action_takes_it():
    import yaml

    from ansible_collections.xprotect.encryption.plugins.doc_fragments.raw_record import ModuleDocFragment
    from ansible_collections.xprotect.encryption.plugins.plugin_utils.action import RAW_RECORD_OPTIONS

    options = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    assert {k: {"type": v["type"]} for k, v in options.items()} == RAW_RECORD_OPTIONS
    assert all(isinstance(line, str) for line in options["raw_record_file"]["description"])
    for module in ("encryption", "server_certificate", "trusted_ca", "xprotect_info"):
        text = (pathlib.Path(__file__).parents[4] / "plugins" / "modules" / f"{module}.py").read_text()
        assert "  - xprotect.encryption.raw_record\n" in text, module
