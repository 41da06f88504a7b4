# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Contract: every argument dict WindowsAdapter builds is valid for the installed ansible.windows.

The specs come from the installed collection itself (the ``ansible`` package ships it): each
module's DOCUMENTATION (.py or .yml) becomes an argument_spec that ansible-core's
ArgumentSpecValidator applies, and the option names are cross-checked against the module's
.ps1, which is what really parses them on the host. The ansible.windows behaviours the adapter
works around are pinned here too, so an upgrade that changes them fails loudly.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import pathlib
import re
import sys

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.xprotect.encryption.plugins.plugin_utils import windows
from ansible_collections.xprotect.encryption.plugins.plugin_utils.windows import WindowsAdapter

_spec = importlib.util.spec_from_file_location(
    "_xprotect_windows_fake_action",
    pathlib.Path(__file__).resolve().parents[2] / "test_data" / "windows_modules" / "fake_action.py",
)
fake = sys.modules.setdefault(_spec.name, importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(fake)

_found = importlib.util.find_spec("ansible_collections.ansible.windows")
if _found is None:  # pragma: no cover - requirements-dev.txt installs the ansible package
    pytest.skip("ansible.windows is not installed (pip install -r requirements-dev.txt)", allow_module_level=True)
COLLECTION = pathlib.Path(next(iter(_found.submodule_search_locations)))
MODULES = COLLECTION / "plugins" / "modules"
VERSION = json.loads((COLLECTION / "MANIFEST.json").read_text())["collection_info"]["version"]

RS_TP = fake.load("win_certificate_store_import")["thumbprints"][0]  # rs01.site.local

# On a Windows host ansible.builtin.slurp runs ansible.windows' slurp.ps1 (see test below).
# ansible.builtin.async_status is an action of ansible-core that runs async_status, which on a Windows host
# is ansible.windows' async_status.ps1 (test below).
_IMPLEMENTATION = {"ansible.builtin.slurp": "slurp", "ansible.builtin.async_status": "async_status"}
# Options that win_copy's *action* consumes itself and never forwards to win_copy.ps1.
_ACTION_ONLY = {"ansible.windows.win_copy": {"decrypt", "content", "local_follow", "remote_src"}}


def _module_name(fqcn: str) -> str:
    if fqcn in _IMPLEMENTATION:
        return _IMPLEMENTATION[fqcn]
    assert fqcn.startswith("ansible.windows."), fqcn
    return fqcn.rsplit(".", 1)[-1]


def documentation(fqcn: str) -> dict:
    """The DOCUMENTATION of the installed module, from its .py (a string constant) or .yml."""
    name = _module_name(fqcn)
    py, yml = MODULES / f"{name}.py", MODULES / f"{name}.yml"
    if py.exists():
        for node in ast.parse(py.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "DOCUMENTATION" for t in node.targets):
                return yaml.safe_load(node.value.value)
    if yml.exists():
        return yaml.safe_load(yml.read_text(encoding="utf-8"))["DOCUMENTATION"]
    raise AssertionError(f"no documentation for {fqcn} in {MODULES}")


def _spec_of(options: dict) -> dict:
    spec = {}
    for name, doc in (options or {}).items():
        entry = {"type": doc.get("type", "str")}
        for key in ("required", "choices", "elements", "aliases", "no_log", "default"):
            if key in doc:
                entry[key] = doc[key]
        if doc.get("suboptions"):
            entry["options"] = _spec_of(doc["suboptions"])
        spec[name] = entry
    return spec


def argument_spec(fqcn: str) -> dict:
    return _spec_of(documentation(fqcn)["options"])


def validate(fqcn: str, args: dict) -> list:
    """Error messages of ansible-core's validator for ``args`` against the module's documented spec."""
    result = ArgumentSpecValidator(argument_spec(fqcn)).validate(dict(args))
    return [str(e) for e in result.errors]


def ps1_option_names(fqcn: str) -> set:
    """Option names the .ps1 parses, found loosely (Ansible.Basic $spec and Legacy Get-AnsibleParam)."""
    text = (MODULES / f"{_module_name(fqcn)}.ps1").read_text(encoding="utf-8-sig")
    names = set(re.findall(r"^\s*(\w+)\s*=\s*@\{\s*type\s*=", text, re.MULTILINE))  # Ansible.Basic
    names |= set(re.findall(r"Get-AnsibleParam\b[^\n]*?-name\s+[\"']?(\w+)", text))  # Legacy, named
    names |= set(re.findall(r"Get-AnsibleParam\s+(?:-obj\s+)?\$\w+\s+[\"'](\w+)[\"']", text))  # positional
    for aliases in re.findall(r"-aliases\s+((?:[\"']\w+[\"'],?\s*)+)", text):
        names |= set(re.findall(r"\w+", aliases))
    return names


def drive_every_method() -> list:
    """Call every adapter method (both grant paths) and return the recorded calls."""
    replies = [
        "win_command_netsh_sslcert",
        "slurp_recorderconfig_utf8_bom",
        "win_copy_action_changed",
        "win_copy_action_changed",
        "win_file_absent_changed",
        "win_certificate_info_my",
        "win_certificate_store_import",
        "win_certificate_store_import",
        "win_certificate_store_absent",
        "win_acl_changed",
        "win_powershell_key_read_missing",
        "win_service_info_milestone",
        "win_powershell_file_version",
        "win_reg_stat_sslcerthash",
        "win_command_async_started",
        "async_status_finished_0",
    ]
    action = fake.FakeAction(*replies, task_args={"key_source": "host", "ca_path": "/ca.pem", "renew_before": 30})
    a = WindowsAdapter(action, {"inventory_hostname": "rs01"})
    a.run(["netsh", "http", "show", "sslcert", "ipport=0.0.0.0:9001"])
    a.read_file(r"C:\ProgramData\Milestone\XProtect Recording Server\RecorderConfig.xml")
    a.write_file(r"C:\Windows\Temp\xprotect-rs01.inf", "[NewRequest]\r\n")
    a.write_file(r"C:\Windows\Temp\xprotect-rs01.pfx", b"\x30\x82\x01\x00")
    a.delete_file(r"C:\Windows\Temp\xprotect-rs01.pfx")
    a.list_certificates("My")
    a.import_certificate(r"C:\Windows\Temp\xprotect-rs01.pfx", "My", "pw")
    a.import_certificate(r"C:\Windows\Temp\ca.cer", "Root")
    a.remove_certificate(RS_TP, "Root")
    a.grant_key_read(RS_TP, "NT AUTHORITY\\NetworkService")
    a.grant_key_read(RS_TP, "SITE\\svc", check=True)
    a.list_services()
    a.file_version(r"C:\Program Files\Milestone\Server Configurator\ServerConfigurator.exe")
    a.read_registry(
        r"HKLM:\SYSTEM\CurrentControlSet\Services\HTTP\Parameters\SslBindingInfo\0.0.0.0:9001", "SslCertHash"
    )
    job = a.start([r"C:\Program Files\Milestone\Server Configurator\ServerConfigurator.exe", "/quiet"], 180)
    a.status(job)
    assert a.calls == len(action.calls) == len(replies)
    return action.calls


CALLS = drive_every_method()


def _id(call) -> str:
    return f"{call.module}:{'/'.join(sorted(call.args))}"


def test_installed_collection_is_the_one_the_fixtures_follow():
    major, minor = (int(x) for x in VERSION.split(".")[:2])
    assert (major, minor) >= (2, 6), f"ansible.windows {VERSION} is older than the 2.6.0 the collection requires"


def test_every_module_the_adapter_names_is_exercised():
    named = {v for k, v in vars(windows).items() if k.isupper() and isinstance(v, str) and v.startswith("ansible.")}
    assert named == {c.module for c in CALLS}


@pytest.mark.parametrize("call", CALLS, ids=_id)
def test_arguments_are_valid_for_the_real_argument_spec(call):
    assert validate(call.module, call.args) == []


@pytest.mark.parametrize("call", CALLS, ids=_id)
def test_option_names_exist_in_the_ps1_that_parses_them(call):
    used = set(call.args) - _ACTION_ONLY.get(call.module, set())
    missing = used - ps1_option_names(call.module)
    assert not missing, f"{call.module}: {sorted(missing)} not parsed by {_module_name(call.module)}.ps1"


def test_documented_and_ps1_option_names_agree_for_what_we_use():
    for call in CALLS:
        documented = set(argument_spec(call.module))
        assert set(call.args) <= documented, call


# -- the test can fail ---------------------------------------------------------------------------
def _call(module: str):
    return next(c for c in CALLS if c.module == module)


def test_a_misspelt_option_fails_the_validator():
    args = dict(_call("ansible.windows.win_certificate_info").args)
    args["store_nmae"] = args.pop("store_name")
    errors = validate("ansible.windows.win_certificate_info", args)
    assert errors and "store_nmae" in " ".join(errors)


def test_a_misspelt_option_is_missing_from_the_ps1():
    assert "store_nmae" not in ps1_option_names("ansible.windows.win_certificate_info")
    assert "store_name" in ps1_option_names("ansible.windows.win_certificate_info")


@pytest.mark.parametrize(
    ("module", "key", "value"),
    [
        ("ansible.windows.win_certificate_info", "store_location", "LocalMachin"),
        ("ansible.windows.win_certificate_store", "key_storage", "machines"),
        ("ansible.windows.win_certificate_store", "state", "installed"),
        ("ansible.windows.win_acl", "type", "grant"),
        ("ansible.windows.win_powershell", "error_action", "halt"),
        ("ansible.windows.win_command", "argv", {"not": "a list"}),
    ],
)
def test_a_bad_value_fails_the_validator(module, key, value):
    args = dict(_call(module).args)
    args[key] = value
    assert validate(module, args)


def test_a_missing_required_option_fails_the_validator():
    args = dict(_call("ansible.windows.win_acl").args)
    del args["user"]
    assert validate("ansible.windows.win_acl", args)


# -- ansible.windows behaviour the adapter depends on ----------------------------------------------
def _ps1(name: str) -> str:
    return (MODULES / f"{name}.ps1").read_text(encoding="utf-8-sig")


def test_builtin_slurp_runs_ansible_windows_slurp_on_windows():
    import ansible.config

    routing = yaml.safe_load((pathlib.Path(ansible.config.__file__).parent / "ansible_builtin_runtime.yml").read_text())
    assert routing["plugin_routing"]["modules"]["slurp.ps1"]["redirect"] == "ansible.windows.slurp"


def test_builtin_async_status_runs_ansible_windows_async_status_on_windows():
    import ansible.config

    routing = yaml.safe_load((pathlib.Path(ansible.config.__file__).parent / "ansible_builtin_runtime.yml").read_text())
    assert routing["plugin_routing"]["modules"]["async_status.ps1"]["redirect"] == "ansible.windows.async_status"
    # the action adds the shell's async_dir, which the .ps1 requires
    action = pathlib.Path(ansible.config.__file__).parents[1] / "plugins" / "action" / "async_status.py"
    assert "new_module_args['_async_dir'] = async_dir" in action.read_text()
    assert '"_async_dir" -type "path" -failifempty $true' in _ps1("async_status")


def test_windows_async_runs_under_the_become_wrapper():
    # why start() may use async on a runas task: ansible-core builds become and async wrappers together
    import ansible.executor.powershell.module_manifest as manifest

    text = pathlib.Path(manifest.__file__).read_text()
    assert text.index("become_wrapper.ps1") < text.index("async_wrapper.ps1")
    assert "'Timeout': async_timeout" in text


def test_win_command_is_skipped_in_check_mode():
    # why WindowsAdapter.run() turns check mode off for its call
    assert re.search(r"supports_check_mode\s*=\s*\$false", _ps1("win_command"))


def test_win_command_exit_code_is_unsigned():
    # why WindowsAdapter.run() converts rc to a signed 32-bit value
    process_cs = (COLLECTION / "plugins" / "module_utils" / "Process.cs").read_text(encoding="utf-8-sig")
    assert re.search(r"public\s+uint\s+ExitCode", process_cs)


def test_win_reg_stat_reads_in_check_mode_and_returns_binary_as_bytes():
    # why read_registry() may run in check mode, and why SslCertHash arrives as a list of ints
    ps1 = _ps1("win_reg_stat")
    assert re.search(r"-supports_check_mode\s+\$true", ps1)
    assert re.search(r"RegistryValueKind]::Binary[^\n]*\)\) \{\s*\$formatted_raw_value", ps1)
    assert "value = $value" in ps1
    # a missing key and a missing value both give exists = false (the caller falls back to netsh)
    assert ps1.count("$result.exists = $false") == 2
    # the path must start with a hive drive: HKLM:\\
    assert "^HK(CC|CR|CU|LM|U):" in ps1


def test_win_acl_is_skipped_in_check_mode():
    # why grant_key_read(check=True) reads the DACL through win_powershell instead
    assert re.search(r"^\$params\s*=\s*Parse-Args\s+\$args\s*$", _ps1("win_acl"), re.MULTILINE)
    assert "supports_check_mode" not in _ps1("win_acl")


def test_win_acl_accepts_certificate_paths():
    assert "Ansible.Windows._CertAclHelper.CertAccessRights" in _ps1("win_acl")


def test_win_certificate_info_returns_der_as_raw():
    # the DOCUMENTATION says cert_data; the adapter accepts both
    assert "$cert_info.raw = " in _ps1("win_certificate_info")
    assert "cert_data" in (MODULES / "win_certificate_info.py").read_text()


def test_win_certificate_store_password_is_no_log():
    assert re.search(r"password\s*=\s*@\{[^}]*no_log\s*=\s*\$true", _ps1("win_certificate_store"))


def test_win_powershell_runs_should_process_scripts_in_check_mode():
    text = _ps1("win_powershell")
    assert "SupportsShouldProcess" in text and "skipped, running in check mode" in text


def test_win_copy_action_forwards_its_task_args():
    # why WindowsAdapter gives win_copy a task with only its own args
    action = (COLLECTION / "plugins" / "action" / "win_copy.py").read_text()
    assert "self._task.args.copy()" in action
