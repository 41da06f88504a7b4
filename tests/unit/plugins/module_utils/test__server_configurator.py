# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_server_configurator.py: exit codes and what to say, version, command lines, override mode."""

from __future__ import annotations

import pytest
from windows_output import SERVER_GUID, STREAMING_GUID, TP_9001, fixture

from ansible_collections.xprotect.encryption.plugins.module_utils import _server_configurator, _text


@pytest.mark.parametrize("code", [0, -1, -2, -3, -4, 1, 20, 100, 10000, 20000, 100000, 300000])
def test_every_exit_code_of_the_facts_file_is_known(code):
    assert code in _server_configurator.EXIT_CODES
    text = _server_configurator.explain_exit(code, "rs017")
    assert text.startswith("Server Configurator on rs017 exited ")
    assert str(code) in text


def test_confidence_marks():
    assert {c for c, e in _server_configurator.EXIT_CODES.items() if e.confidence == "H"} == {0, -1, -2, -3, -4}
    assert "[L]" in _server_configurator.explain_exit(100, "h")
    assert "[L]" not in _server_configurator.explain_exit(-3, "h").split(":")[1]


def test_explain_minus_4_says_what_to_do():
    text = _server_configurator.explain_exit(-4, "rs017", "Streaming media certificate")
    assert text.startswith(
        "Server Configurator on rs017 (group 'Streaming media certificate') exited -4: another instance is running."
    )
    assert "`xprotect_stop_stale_configurator: true`" in text
    assert "LocalMachine\\Root" in text


def test_explain_unknown_code_names_code_and_log():
    text = _server_configurator.explain_exit(4711, "rs017")
    assert "exited 4711" in text and "does not know" in text
    assert _server_configurator.CONFIGURATOR_LOG_HINT in text and "on rs017" in text
    custom = _server_configurator.explain_exit(4711, "rs017", log_hint=r"D:\logs\sc.log")
    assert r"D:\logs\sc.log" in custom


def test_explain_minus_1_points_at_the_log_and_unsigned_codes_are_normalised():
    assert _server_configurator.CONFIGURATOR_LOG_HINT + " on h1" in _server_configurator.explain_exit(-1, "h1")
    assert _server_configurator.normalize_exit_code(4294967292) == -4
    assert _server_configurator.explain_exit(4294967292, "h1") == _server_configurator.explain_exit(-4, "h1")
    assert _server_configurator.explain_exit(0, "h1") == "Server Configurator on h1 exited 0: success."


def test_retry_and_applied_codes():
    assert _server_configurator.RETRYABLE_EXIT_CODES == (10000, 20000)
    assert 100 in _server_configurator.APPLIED_EXIT_CODES and -4 not in _server_configurator.APPLIED_EXIT_CODES


@pytest.mark.parametrize(
    ("version", "ok"),
    [
        ("20.3.0.0", True),
        ("20.3", True),
        ("24.2.0.1", True),
        ("23.1.4560.2", True),
        ("20.2.9999.9", False),
        ("13.1", False),
        ("2020 R3", True),
        ("2019 R3", False),
        (None, False),
        ("", False),
        ("unknown", False),
        ("21", True),
    ],
)
def test_configurator_version_ok(version, ok):
    assert _server_configurator.configurator_version_ok(version) is ok


def test_argv_always_names_the_group():
    exe = _server_configurator.DEFAULT_CONFIGURATOR_PATH
    assert _server_configurator.enable_argv(
        exe, "{84430EB7-847C-422D-AA00-7915CD0D7A65}", "0f 1e 2d 3c 4b 5a 69 78 87 96 a5 b4 c3 d2 e1 f0 0f 1e 2d 3c"
    ) == [
        exe,
        "/quiet",
        "/enableencryption",
        f"/certificategroup={SERVER_GUID}",
        f"/thumbprint={TP_9001}",
    ]
    assert _server_configurator.disable_argv(exe, STREAMING_GUID) == [
        exe,
        "/quiet",
        "/disableencryption",
        f"/certificategroup={STREAMING_GUID}",
    ]
    assert _server_configurator.list_groups_argv(exe) == [exe, "/listcertificategroups"]
    assert _server_configurator.list_groups_argv(exe, quiet=True) == [exe, "/quiet", "/listcertificategroups"]


@pytest.mark.parametrize("bad", ["", "not-a-guid", "84430eb7-847c-422d-aa00-7915cd0d7a6"])
def test_argv_refuses_a_bad_guid(bad):
    with pytest.raises(_text.XProtectError, match="listcertificategroups"):
        _server_configurator.enable_argv("sc.exe", bad, TP_9001)


@pytest.mark.parametrize("bad", ["", "xyz", TP_9001[:-1], TP_9001 + "00"])
def test_argv_refuses_a_bad_thumbprint(bad):
    with pytest.raises(_text.XProtectError, match="thumbprint"):
        _server_configurator.enable_argv("sc.exe", SERVER_GUID, bad)


def test_override_found_in_a_server_configurator_log():
    evidence = _server_configurator.override_blocks_cli(
        {r"C:\ProgramData\Milestone\ServerConfigurator.log": fixture("serverconfigurator_register_override.log")}
    )
    assert evidence is not None
    assert "ServerConfigurator.log, line 2" in evidence
    assert "/overridelocalmanagementserver" in evidence


def test_override_not_found_in_an_ordinary_log_or_config():
    assert _server_configurator.override_blocks_cli(fixture("serverconfigurator_enable.log")) is None
    assert _server_configurator.override_blocks_cli({"RecorderConfig.xml": fixture("RecorderConfig.xml")}) is None
    assert _server_configurator.override_blocks_cli(None) is None


def test_override_xml_element_attribute_and_custom_markers():
    assert _server_configurator.override_blocks_cli(
        "<x><OverrideLocalManagementServer>true</OverrideLocalManagementServer></x>"
    )
    assert _server_configurator.override_blocks_cli('<server overrideLocalManagementServer="True"/>')
    assert (
        _server_configurator.override_blocks_cli(
            "<x><OverrideLocalManagementServer>false</OverrideLocalManagementServer></x>"
        )
        is None
    )
    assert _server_configurator.override_blocks_cli("LocalOverride=1", markers=[r"localoverride=1"]).startswith(
        "the text read"
    )


def test_explain_read_back_applied_and_not():
    done = _server_configurator.explain_read_back(100, "mgmt01", "Server certificate", True, "enabled (AB)")
    assert done.startswith("Server Configurator on mgmt01 (group 'Server certificate') exited 100: applied locally")
    assert "[L]" in done and "shows the change (enabled (AB))" in done and "/register" in done
    missed = _server_configurator.explain_read_back(100, "mgmt01", "Server certificate", False, "disabled")
    assert "does not show the change (disabled): it was not applied" in missed and "runas" in missed
    assert "CN" in _server_configurator.explain_read_back(300000, "h", "g", True)
    assert "does not know" in _server_configurator.explain_read_back(77, "h", "g", False)


def test_no_message_claims_a_read_back_that_does_not_happen():
    # Only exit 0 and the codes of a local change are read back; every other code stops at once.
    for code in _server_configurator.EXIT_CODES:
        if code not in _server_configurator.APPLIED_EXIT_CODES:
            assert "read back" not in _server_configurator.explain_exit(code, "h"), code
    assert "without reading the state back" in _server_configurator.explain_exit(4711, "h")
    assert set(_server_configurator.APPLIED_ADVICE) == set(_server_configurator.APPLIED_EXIT_CODES) - {0}
