"""docs/windows.md shows the programs the collection starts on a Windows host. This test takes the
commands from the marked fenced block there and compares them, argument by argument, with the argv
the code builds when its flows run against a recording adapter, in both directions: every command
the flows start is shown, and every command shown is one the flows start."""

from __future__ import annotations

import datetime
import pathlib
import re
import shlex

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ansible_collections.xprotect.encryption.plugins.module_utils import _certreq, _server_configurator, pki
from ansible_collections.xprotect.encryption.plugins.plugin_utils import certificate_flow, encryption_flow
from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import (
    AdapterError,
    HostAdapter,
    RegistryValue,
    RunResult,
)

REPO = pathlib.Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "windows.md"
MARK = "<!-- windows-commands:"
FIXTURES = REPO / "tests" / "unit" / "test_data" / "windows"

FQDN = "rs01.example.com"
EXE = _server_configurator.DEFAULT_CONFIGURATOR_PATH
TEMP = "C:\\Windows\\Temp"
GUID = "84430eb7-847c-422d-aa00-7915cd0d7a65"
TP = "6A3F9C01D2E45B7780AA19C34E5F60718293A4B5"
PLACEHOLDERS = {"<exe>": EXE, "<temp>": TEMP, "<fqdn>": FQDN, "<GUID>": GUID, "<THUMBPRINT>": TP}


def doc_commands():
    """The argv of each line of the marked block, placeholders filled in."""
    text = DOC.read_text(encoding="utf-8")
    assert MARK in text, f"{DOC} lost its marked block of commands"
    block = re.search(r"```[a-z]*\n(.*?)```", text[text.index(MARK) :], re.S).group(1)
    commands = []
    for shown in block.strip().splitlines():
        line = shown
        for name, value in PLACEHOLDERS.items():
            line = line.replace(name, value)
        # Windows command-line quoting: backslashes are literal, quotes group.
        commands.append([arg.strip('"') for arg in shlex.split(line, posix=False)])
    return commands


class Recorder(HostAdapter):
    """Answers each program as Windows would for a host in need of every step; records the argv."""

    kind = "test"

    def __init__(self, rc_first_switch=0):
        super().__init__(FQDN)
        self.argvs = []
        self.files = {}
        self.rc_first_switch = rc_first_switch

    def _run(self, argv):
        self.argvs.append(list(argv))
        name = argv[0].lower()
        if name == "netsh":
            return RunResult(0, (FIXTURES / "netsh_sslcert_all_ws2022.txt").read_text(), "")
        if "/listcertificategroups" in argv:
            return RunResult(0, (FIXTURES / "listcertificategroups.txt").read_text(), "")
        if name == "certreq.exe" and argv[1] == "-new":
            self.files[argv[-1]] = _csr()
            return RunResult(0, "CertReq: Request Created", "")
        if "/enableencryption" in argv and self.rc_first_switch:
            rc, self.rc_first_switch = self.rc_first_switch, 0
            return RunResult(rc, "", "")
        return RunResult(0, "", "")

    def _read_file(self, path):
        if path in self.files:
            return self.files[path]
        if path.lower().endswith("serverconfig.xml"):
            return (FIXTURES / "ServerConfig.xml").read_text()
        raise AdapterError(f"{path} not found")

    def _write_file(self, path, content):
        return True

    def _delete_file(self, path):
        return True

    def _read_registry(self, key, value):
        # No SslBindingInfo key: the state is read from netsh, the fallback the doc shows.
        return RegistryValue(key=key, name=value, exists=False)


def _csr():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    names = [FQDN, FQDN.split(".", maxsplit=1)[0]]
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, FQDN)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
        .decode()
    )


@pytest.fixture(scope="module")
def code_commands():
    """Every program the flows start on a Windows host, as argv, from the flows themselves."""
    ran = []
    # Reading the encryption state of a management server (netsh), then listing the groups.
    a = Recorder()
    ctx = {"fqdn": FQDN, "address": "127.0.0.1", "port_offset": 0, "config_paths": {}, "timeout": 1}
    encryption_flow.read_state(a, ctx, ["management"], ["server"])
    encryption_flow.group_ids(a, EXE, FQDN, ["server"])
    ran += a.argvs
    # The certreq flow (defaults of server_certificate).
    a = Recorder()
    ca = pki.create_ca(key_size=3072, now=datetime.datetime.now(datetime.timezone.utc))
    params = {
        "fqdn": FQDN,
        "dns_names": [],
        "temp_dir": TEMP,
        "key_length": 2048,
        "provider": _certreq.DEFAULT_PROVIDER,
        "validity_days": 730,
    }
    certificate_flow.issue_on_host(a, params, ca)
    ran += a.argvs
    # The switches, and the stale instance ended on request.
    a = Recorder(rc_first_switch=-4)
    for action, thumbprint in (("enable", TP), ("disable", None)):
        encryption_flow.apply_change(
            a, EXE, FQDN, guid=GUID, group="Server certificate", action=action, thumbprint=thumbprint, stop_stale=True
        )
    ran += a.argvs
    unique = []
    for argv in ran:
        if argv not in unique:
            unique.append(argv)
    return unique


def test_every_command_in_the_doc_is_one_the_code_runs(code_commands):
    for argv in doc_commands():
        assert argv in code_commands, f"docs/windows.md shows {argv}, which the code does not run"


def test_every_command_the_code_runs_is_in_the_doc(code_commands):
    shown = doc_commands()
    for argv in code_commands:
        assert argv in shown, f"the code runs {argv}, which docs/windows.md does not show"


def test_the_doc_block_is_read_as_windows_would_split_it():
    commands = doc_commands()
    assert commands[1] == [EXE, "/listcertificategroups"]  # the quoted path with spaces is one argument
    assert all(not any(p in " ".join(c) for p in PLACEHOLDERS) for c in commands)
