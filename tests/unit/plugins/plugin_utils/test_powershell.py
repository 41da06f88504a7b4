# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Syntax and shape of the inline PowerShell in plugins/plugin_utils/powershell.py.

Parsed with tree-sitter-powershell (requirements-dev.txt: tree-sitter, tree-sitter-powershell).
No Windows host is needed: a syntax error, a PowerShell 7-only operator, a parameter name that
the adapter does not pass, or a snippet that win_powershell would skip in check mode fails here.
"""

from __future__ import annotations

import importlib.util
import pathlib
import re
import sys

import pytest
import tree_sitter
import tree_sitter_powershell

from ansible_collections.xprotect.encryption.plugins.plugin_utils import powershell
from ansible_collections.xprotect.encryption.plugins.plugin_utils.windows import WindowsAdapter

_spec = importlib.util.spec_from_file_location(
    "_xprotect_windows_fake_action",
    pathlib.Path(__file__).resolve().parents[2] / "test_data" / "windows_modules" / "fake_action.py",
)
fake = sys.modules.setdefault(_spec.name, importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(fake)

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))

# The fallback test win_powershell.ps1 applies when its own parser fails (ansible.windows 3.3).
WIN_POWERSHELL_SHOULD_PROCESS = re.compile(
    r"\[CmdletBinding\((?:[\w=\$]+,\s*)?SupportsShouldProcess(?:=\$true)?(?:,\s*[\w=\$]+)?\)\]"
)


def parse(script: str) -> tree_sitter.Tree:
    return PARSER.parse(script.encode("utf-8"))


def syntax_errors(script: str) -> list:
    """(line, column, kind) of every ERROR or MISSING node."""
    found = []

    def walk(node):
        if node.is_error or node.is_missing:
            found.append((node.start_point[0] + 1, node.start_point[1] + 1, node.type))
        for child in node.children:
            walk(child)

    walk(parse(script).root_node)
    return found


def parameter_names(script: str) -> set:
    """Names declared in the script's param() block."""
    names = set()

    def walk(node):
        if node.type == "script_parameter":
            for child in node.children:
                if child.type == "variable":
                    names.add(child.text.decode().lstrip("$"))
        for child in node.children:
            walk(child)

    walk(parse(script).root_node)
    return names


SNIPPETS = sorted(powershell.SNIPPETS.items())


@pytest.mark.parametrize(("name", "script"), SNIPPETS, ids=[n for n, _script in SNIPPETS])
def test_snippet_parses(name, script):
    assert syntax_errors(script) == [], f"{name} has a syntax error"
    assert not parse(script).root_node.has_error


@pytest.mark.parametrize(
    "broken",
    [
        "param([string]$Path\n$x = 1\n",  # unclosed param(
        "$Ansible.Result = @{ exists = $true\n",  # unclosed hashtable
        "if ($x { 'y' }\n",  # unclosed condition
        "$v = '{0}.{1}' -f $a,\n",  # dangling operand
    ],
)
def test_a_broken_snippet_is_detected(broken):
    assert syntax_errors(broken)


def test_every_snippet_is_registered():
    constants = {k for k, v in vars(powershell).items() if k.isupper() and not k.startswith("_") and isinstance(v, str)}
    assert constants == set(powershell.SNIPPETS) | set(powershell.COMMANDS)


COMMANDS = sorted(powershell.COMMANDS.items())


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _c in COMMANDS])
def test_command_lines_parse(name, command):
    assert syntax_errors(command) == [], f"{name} has a syntax error"


def test_remove_with_key_is_one_command_argument_with_the_delete_key_switch():
    argv = powershell.remove_with_key_argv("REQUEST", "AB" * 20)
    assert argv[:-1] == ["powershell.exe", "-NoLogo", "-NoProfile", "-NonInteractive", "-Command"]
    path = f"Cert:\\LocalMachine\\REQUEST\\{'AB' * 20}"
    assert argv[-1] == f"Remove-Item -LiteralPath '{path}' -DeleteKey -ErrorAction Stop"
    assert syntax_errors(argv[-1]) == []


@pytest.mark.parametrize(
    ("store", "thumbprint"),
    [
        ("REQUEST", "ab" * 20),  # not normalised
        ("REQUEST", "A" * 39),
        ("REQUEST", "A" * 39 + "'"),  # a quote would end the literal path
        ("REQ'; Remove-Item C:\\ -Recurse; '", "A" * 40),
        ("My\\..", "A" * 40),
    ],
)
def test_remove_with_key_refuses_anything_but_a_store_name_and_a_thumbprint(store, thumbprint):
    with pytest.raises(ValueError):
        powershell.remove_with_key_argv(store, thumbprint)


def _if_branches(script: str):
    """(condition, then-block, else-block) texts of the first if statement of ``script``."""
    found = []

    def walk(node):
        if node.type == "if_statement" and not found:
            blocks = [c for c in node.children if c.type == "statement_block"]
            conditions = [c for c in node.children if c.type == "pipeline"]
            other = [c for c in node.children if c.type == "else_clause"]
            found.append((conditions[0].text.decode(), blocks[0].text.decode(), other[0].text.decode()))
        for child in node.children:
            walk(child)

    walk(parse(script).root_node)
    return found[0]


def test_key_probe_reads_the_key_through_cryptoapi_first_as_win_acl_writes_it():
    # win_acl: CryptAcquireCertificatePrivateKey(CRYPT_ACQUIRE_ALLOW_NCRYPT_KEY_FLAG) = CryptoAPI, then CNG.
    script = powershell.KEY_READ_GRANTED.split("if ($csp", 1)
    assert "$cert.PrivateKey" in script[0]  # the CryptoAPI handle is opened first
    assert "GetRSAPrivateKey" not in script[0]  # no CNG handle before it
    condition, then_block, else_block = _if_branches("if ($csp" + script[1])
    assert "ICspAsymmetricAlgorithm" in condition
    assert "CryptoKeySecurity" in then_block and "Security Descr" not in then_block
    assert "GetRSAPrivateKey" in else_block and "'Security Descr'" in else_block


@pytest.mark.parametrize(("name", "script"), SNIPPETS, ids=[n for n, _script in SNIPPETS])
def test_snippet_runs_in_check_mode_and_reports_no_change(name, script):
    # win_powershell skips scripts without SupportsShouldProcess in check mode; these only read.
    assert script.startswith("[CmdletBinding(SupportsShouldProcess)]\nparam(")
    assert WIN_POWERSHELL_SHOULD_PROCESS.search(script)
    assert "$Ansible.Changed = $false" in script
    assert "$Ansible.Result" in script


@pytest.mark.parametrize(("name", "script"), SNIPPETS, ids=[n for n, _script in SNIPPETS])
def test_snippet_is_windows_powershell_5_syntax(name, script):
    # PowerShell 7-only operators: pipeline chains, null-coalescing, null-conditional, ternary.
    code = re.sub(r"'[^']*'|\"[^\"]*\"", "''", script)
    for token in ("&&", "||", "??", "?.", " ? "):
        assert token not in code, f"{name} uses {token!r}, which Windows PowerShell 5.1 cannot parse"


@pytest.mark.parametrize(("name", "script"), SNIPPETS, ids=[n for n, _script in SNIPPETS])
def test_snippet_is_short(name, script):
    assert len(script.strip().splitlines()) <= 25


def test_parameters_the_adapter_passes_are_the_ones_declared():
    action = fake.FakeAction("win_powershell_file_version", "win_powershell_key_read_missing")
    adapter = WindowsAdapter(action, {"inventory_hostname": "rs01"})
    adapter.file_version(r"C:\Program Files\Milestone\Server Configurator\ServerConfigurator.exe")
    adapter.grant_key_read("A" * 40, "NT AUTHORITY\\NetworkService", check=True)
    by_script = {call.args["script"]: set(call.args["parameters"]) for call in action.calls}
    assert set(by_script) == set(powershell.SNIPPETS.values())
    for script, passed in by_script.items():
        assert passed == parameter_names(script)


def test_values_are_never_interpolated_into_the_script_text():
    action = fake.FakeAction("win_powershell_file_version")
    WindowsAdapter(action, {"inventory_hostname": "rs01"}).file_version("C:\\x'; Remove-Item C:\\ -Recurse; '.exe")
    (call,) = action.calls
    assert call.args["script"] == powershell.FILE_VERSION
    assert call.args["parameters"] == {"Path": "C:\\x'; Remove-Item C:\\ -Recurse; '.exe"}
