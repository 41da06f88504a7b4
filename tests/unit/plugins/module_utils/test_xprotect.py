# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""XProtect knowledge: every parser against the reconstructed real-format outputs, plus variants."""

from __future__ import annotations

import pathlib
from types import SimpleNamespace

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import validate
from ansible_collections.xprotect.encryption.plugins.module_utils import xprotect as xp

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "test_data" / "windows"

SERVER_GUID = "84430eb7-847c-422d-aa00-7915cd0d7a65"
STREAMING_GUID = "549df21d-047c-456b-958e-99e65dd8b3ec"
MOBILE_GUID = "76cfc719-a852-4210-913e-703eadab139a"
EVENT_GUID = "7e02e0f5-549d-4113-b8de-bda2c1f38dbf"
TP_9001 = "0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C"
TP_443 = "3F2A9C1B7E4D5A6B8C9D0E1F2A3B4C5D6E7F8091"


def fixture(name: str, crlf: bool = True, bom: bool = False) -> str:
    """A reconstructed output as win_command/slurp hand it over: CRLF line ends, a BOM if asked.

    The files are stored with LF and no BOM (ansible-test's line-endings and shebang rules).
    """
    text = (FIXTURES / name).read_bytes().decode("utf-8")
    text = text.replace("\n", "\r\n") if crlf else text
    return "\ufeff" + text if bom else text


# ---------------------------------------------------------------- groups and roles
def test_groups_match_the_facts_file():
    assert {k: (g.name, g.default_guid) for k, g in xp.GROUPS.items()} == {
        "server": ("Server certificate", SERVER_GUID),
        "streaming": ("Streaming media certificate", STREAMING_GUID),
        "mobile": ("Mobile streaming media certificate", MOBILE_GUID),
        "event": ("Event server", EVENT_GUID),
    }


@pytest.mark.parametrize(
    ("roles", "groups"),
    [
        (["management"], ["server"]),
        (["recording"], ["server", "streaming"]),
        (["failover"], ["server", "streaming"]),
        (["mobile"], ["mobile"]),
        (["event"], ["event"]),
        (["client"], []),
        (["mobile", "management", "recording"], ["server", "streaming", "mobile"]),
        ([], []),
    ],
)
def test_groups_for_roles(roles, groups):
    assert xp.groups_for_roles(roles) == groups


def test_groups_for_unknown_role_names_it():
    with pytest.raises(xp.XProtectError, match="'smartclient'"):
        xp.groups_for_roles(["recording", "smartclient"])


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Server certificate", "server"),
        ("  server   CERTIFICATE ", "server"),
        ("Streaming media certificate", "streaming"),
        ("Mobile streaming media certificate", "mobile"),
        ("Event server and extensions", "event"),
        ("Event Server", "event"),
        ("Something else", None),
    ],
)
def test_group_key_for_name(name, key):
    assert xp.group_key_for_name(name) == key


# ---------------------------------------------------------------- /listcertificategroups
def test_parse_certificate_groups_fixture():
    groups = xp.parse_certificate_groups(fixture("listcertificategroups.txt"))
    assert groups == {
        "Server certificate": SERVER_GUID,
        "Streaming media certificate": STREAMING_GUID,
        "Mobile streaming media certificate": MOBILE_GUID,
        "Event server and extensions": EVENT_GUID,
    }


def test_parse_certificate_groups_tolerates_variants():
    text = (
        "\ufeffMilestone XProtect Server Configurator\r\n"
        "\r\n"
        '  found "Server certificate" group with id={84430EB7-847C-422D-AA00-7915CD0D7A65}\r\n'
        "Found \u2018Streaming media certificate\u2019 group with ID = 549df21d-047c-456b-958e-99e65dd8b3ec   \r\n"
        "garbage line with ID = not-a-guid\r\n"
    )
    assert xp.parse_certificate_groups(text) == {
        "Server certificate": SERVER_GUID,
        "Streaming media certificate": STREAMING_GUID,
    }
    assert xp.parse_certificate_groups("") == {}
    assert xp.parse_certificate_groups(None) == {}


def test_resolve_group_ids_by_name_even_with_other_guids():
    listing = {"Server certificate": "11111111-2222-3333-4444-555555555555", "Event server and extensions": EVENT_GUID}
    assert xp.resolve_group_ids(listing, ["server", "event"]) == {
        "server": "11111111-2222-3333-4444-555555555555",
        "event": EVENT_GUID,
    }


def test_resolve_group_ids_falls_back_to_default_guid_for_translated_names():
    listing = {"Serverzertifikat": SERVER_GUID.upper()}
    assert xp.resolve_group_ids(listing, ["server"]) == {"server": SERVER_GUID}


def test_resolve_group_ids_missing_group_names_it_and_lists_what_was_found():
    listing = xp.parse_certificate_groups(fixture("listcertificategroups_recording_only.txt"))
    with pytest.raises(xp.XProtectError) as err:
        xp.resolve_group_ids(listing, ["server", "mobile"])
    msg = str(err.value)
    assert "'Mobile streaming media certificate'" in msg
    assert "'Server certificate' = 84430eb7" in msg
    assert "roles" in msg


def test_resolve_group_ids_empty_listing_and_unknown_key():
    with pytest.raises(xp.XProtectError, match="no groups at all"):
        xp.resolve_group_ids({}, ["server"])
    with pytest.raises(xp.XProtectError, match="unknown certificate group 'video'"):
        xp.resolve_group_ids({"Server certificate": SERVER_GUID}, ["video"])


# ---------------------------------------------------------------- netsh
def test_netsh_ws2022_multiple_blocks():
    bindings = xp.parse_netsh_sslcert(fixture("netsh_sslcert_all_ws2022.txt"))
    any4 = "0.0.0.0"  # noqa: S104 - an address in netsh output, nothing is bound
    assert [(b["ipport"], b["port"], b["address"]) for b in bindings] == [
        (f"{any4}:443", 443, any4),
        (f"{any4}:9000", 9000, any4),
        ("[::]:9001", 9001, "::"),
        (f"{any4}:9001", 9001, any4),
    ]
    first = bindings[0]
    assert first["thumbprint"] == TP_443
    assert first["app_id"] == "{4dc3e181-e14b-4a21-b022-59fc669b0914}"
    assert first["store"] == "My"
    assert first["fields"]["disable tls1.2"] == "Not Set"
    # The all-addresses IPv4 binding wins over the IPv6 one on the same port.
    assert xp.binding_for_port(bindings, 9001) == TP_9001
    assert xp.binding_for_port(bindings, 9000) == TP_443
    assert xp.binding_for_port(bindings, 8082) is None


def test_netsh_ws2016_single_ipport():
    bindings = xp.parse_netsh_sslcert(fixture("netsh_sslcert_ipport_ws2016.txt"))
    assert len(bindings) == 1
    assert bindings[0]["port"] == 8082
    assert bindings[0]["thumbprint"] == "5E1B7C2D9A0F3E4D6C8B1A2F3E4D5C6B7A8F9E0D"
    # The mobile server's '+' is all addresses.
    assert xp.binding_for_port(bindings, 8082, address="+") == bindings[0]["thumbprint"]


def test_netsh_ws2012r2_spacing_and_null_store():
    bindings = xp.parse_netsh_sslcert(fixture("netsh_sslcert_ws2012r2.txt"))
    assert [(b["port"], b["store"]) for b in bindings] == [(9001, "MY"), (443, None)]
    assert bindings[0]["thumbprint"] == TP_9001
    # Ctl Store Name must not be taken for the certificate store.
    assert bindings[1]["fields"]["ctl store name"] == "(null)"


def test_netsh_hostname_and_central_store_blocks():
    bindings = xp.parse_netsh_sslcert(fixture("netsh_sslcert_hostname_ccs.txt"))
    assert bindings[0]["hostnameport"] == "mgmt01.contoso.local:443"
    assert bindings[0]["address"] == "mgmt01.contoso.local"
    assert bindings[0]["store"] == "WebHosting"
    assert bindings[1]["ccs_port"] == "8443"
    assert bindings[1]["thumbprint"] is None
    assert xp.binding_for_port(bindings, 443) == TP_443
    assert xp.binding_for_port(bindings, 8443) is None


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("netsh_sslcert_*.txt")))
def test_netsh_crlf_and_lf_parse_the_same(name):
    assert "\r\n" in fixture(name)
    assert xp.parse_netsh_sslcert(fixture(name)) == xp.parse_netsh_sslcert(fixture(name, crlf=False))


@pytest.mark.parametrize("name", ["netsh_sslcert_no_binding.txt", "netsh_sslcert_none.txt"])
def test_netsh_no_binding(name):
    text = fixture(name)
    assert xp.parse_netsh_sslcert(text) == []
    if "no_binding" in name:
        assert xp.NETSH_NO_BINDING in text


def test_netsh_tolerates_casing_spacing_and_localised_labels():
    text = (
        "ssl certificate bindings:\n"
        "    ip:port:0.0.0.0:9001\n"
        "    CERTIFICATE HASH: 0f 1e 2d 3c 4b 5a 69 78 87 96 a5 b4 c3 d2 e1 f0 0f 1e 2d 3c\n"
        "    APPLICATION ID   :   {C2D3E4F5-A6B7-4C8D-9E0F-1A2B3C4D5E6F}\n"
        "\n"
        "    IP:Port                      : 10.0.0.5:9001\n"
        "    Zertifikathash               : a1b2c3d4e5f60718293a4b5c6d7e8f9012345678\n"
        "    Anwendungs-ID                : {c2d3e4f5-a6b7-4c8d-9e0f-1a2b3c4d5e6f}\n"
    )
    bindings = xp.parse_netsh_sslcert(text)
    assert [b["ipport"] for b in bindings] == ["0.0.0.0:9001", "10.0.0.5:9001"]
    assert bindings[0]["thumbprint"] == TP_9001
    assert bindings[0]["app_id"] == "{C2D3E4F5-A6B7-4C8D-9E0F-1A2B3C4D5E6F}"
    # A localised label: the 40-hex value is recognised as the hash.
    assert bindings[1]["thumbprint"] == "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678"
    # An exact address is preferred when asked for.
    assert xp.binding_for_port(bindings, 9001, address="10.0.0.5") == bindings[1]["thumbprint"]
    assert xp.binding_for_port(bindings, 9001) == TP_9001


def test_netsh_ignores_lines_before_a_block_and_bad_addresses():
    text = "Certificate Hash : 0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c\n    IP:port : not-an-address\n"
    assert xp.parse_netsh_sslcert(text) == []
    assert xp.parse_netsh_sslcert(None) == []


# The console code page netsh writes in, per language; win_command decodes it as UTF-8.
CONSOLES = {"de": "cp850", "fr": "cp850", "ja": "cp932"}


def as_win_command(name: str, codepage: str) -> str:
    """A fixture as win_command hands it over: written in ``codepage``, decoded as UTF-8."""
    return fixture(name).encode(codepage, errors="replace").decode("utf-8", errors="replace")


@pytest.mark.parametrize("lang", sorted(CONSOLES))
@pytest.mark.parametrize("garbled", [False, True], ids=["utf8", "console-codepage"])
def test_netsh_localised_outputs_are_read_by_shape(lang, garbled):
    name = f"netsh_sslcert_{lang}.txt"
    text = as_win_command(name, CONSOLES[lang]) if garbled else fixture(name)
    if garbled:
        assert "\ufffd" in text  # the translated labels arrive broken, the values do not
    bindings = xp.parse_netsh_sslcert(text)
    assert len(bindings) == 2
    assert bindings[0]["ipport"] == "0.0.0.0:9001"
    assert bindings[0]["thumbprint"] == TP_9001
    assert bindings[0]["app_id"] == "{c2d3e4f5-a6b7-4c8d-9e0f-1a2b3c4d5e6f}"
    assert bindings[0]["store"] == "My"
    assert xp.binding_for_ipport(bindings, "0.0.0.0:9001") == TP_9001
    second = bindings[1]
    if lang == "fr":  # a host-name (SNI) binding, which is never read for a group
        assert second["hostnameport"] == "mgmt01.contoso.local:443" and second["store"] == "WebHosting"
        assert xp.binding_for_ipport(bindings, "0.0.0.0:443") is None
    elif lang == "ja":  # IPv6 all addresses stands for 0.0.0.0 on the same port
        assert second["ipport"] == "[::]:8082"
        assert xp.binding_for_ipport(bindings, "0.0.0.0:8082") == "5E1B7C2D9A0F3E4D6C8B1A2F3E4D5C6B7A8F9E0D"
    else:
        assert xp.binding_for_ipport(bindings, "0.0.0.0:443") == TP_443


def test_binding_for_ipport_prefers_the_exact_address_then_all_addresses():
    bindings = xp.parse_netsh_sslcert(fixture("netsh_sslcert_all_ws2022.txt"))
    # 10.0.0.5 has no binding of its own on 9001: HTTP.sys serves the all-addresses one.
    assert xp.binding_for_ipport(bindings, "10.0.0.5:9001") == TP_9001
    assert xp.binding_for_ipport(bindings, "[::]:9001") == "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678"
    assert xp.binding_for_ipport(bindings, "10.0.0.5:8082") is None
    assert xp.binding_for_ipport(bindings, "not an ipport") is None


def test_netsh_translated_ipport_label_still_opens_a_block():
    # The defect: a language that translates "IP:port" made every group read "disabled".
    text = fixture("netsh_sslcert_fr.txt").replace("Adresse IP:port", "Adresse IP/port")
    assert xp.binding_for_ipport(xp.parse_netsh_sslcert(text), "0.0.0.0:9001") == TP_9001


def test_management_server_binding_is_its_web_api_port_never_iis_443():
    # ServerConfig.xml names 9000; the host's IIS has a customer site on 443 (all addresses and SNI).
    cfg = xp.parse_server_config(fixture("ServerConfig.xml"))
    bindings = xp.parse_netsh_sslcert(fixture("netsh_sslcert_ms_iis_customer.txt"))
    assert xp.binding_for_port(bindings, 443) == "7D4C1E9F2A8B3C6D5E0F1A2B3C4D5E6F7A8B9C0D"  # what the old code took
    assert xp.binding_for_ipport(bindings, f"0.0.0.0:{cfg['webapi_port']}") is None
    # A management server whose web API is on another port reads that port.
    moved = xp.parse_server_config(fixture("ServerConfig_webapi_9100.xml"))
    assert moved["webapi_port"] == 9100
    listing = fixture("netsh_sslcert_all_ws2022.txt").replace("0.0.0.0:9000", "0.0.0.0:9100")
    assert xp.binding_for_ipport(xp.parse_netsh_sslcert(listing), "0.0.0.0:9100") == TP_443
    assert xp.binding_for_ipport(xp.parse_netsh_sslcert(listing), "0.0.0.0:9000") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (list(bytes.fromhex(TP_9001)), TP_9001),  # win_reg_stat's REG_BINARY value
        ([f"0x{b:02x}" for b in bytes.fromhex(TP_9001)], TP_9001),  # its raw_value
        (bytes.fromhex(TP_9001), TP_9001),
        (TP_9001.lower(), TP_9001),
        ([1, 2, 3], None),
        ("not a hash", None),
        (None, None),
    ],
)
def test_thumbprint_from_registry(value, expected):
    assert xp.thumbprint_from_registry(value) == expected


def test_binding_from_registry():
    key = xp.ssl_binding_registry_key("0.0.0.0:9001")
    assert key == r"HKLM:\SYSTEM\CurrentControlSet\Services\HTTP\Parameters\SslBindingInfo\0.0.0.0:9001"
    block = xp.binding_from_registry("0.0.0.0:9001", True, "REG_BINARY", list(bytes.fromhex(TP_9001)))
    assert (block["port"], block["address"], block["thumbprint"]) == (9001, "0.0.0.0", TP_9001)  # noqa: S104 - an address read, nothing bound
    assert xp.binding_from_registry("0.0.0.0:9001", False, None, None) is None
    assert xp.binding_from_registry("0.0.0.0:9001", True, "REG_SZ", "x") is None
    v6 = xp.binding_from_registry("[::]:9001", True, "REG_BINARY", list(bytes.fromhex(TP_9001)))
    assert v6["address"] == "::"


# ---------------------------------------------------------------- exit codes
@pytest.mark.parametrize("code", [0, -1, -2, -3, -4, 1, 20, 100, 10000, 20000, 100000, 300000])
def test_every_exit_code_of_the_facts_file_is_known(code):
    assert code in xp.EXIT_CODES
    text = xp.explain_exit(code, "rs017")
    assert text.startswith("Server Configurator on rs017 exited ")
    assert str(code) in text


def test_confidence_marks():
    assert {c for c, e in xp.EXIT_CODES.items() if e.confidence == "H"} == {0, -1, -2, -3, -4}
    assert "[L]" in xp.explain_exit(100, "h")
    assert "[L]" not in xp.explain_exit(-3, "h").split(":")[1]


def test_explain_minus_4_says_what_to_do():
    text = xp.explain_exit(-4, "rs017", "Streaming media certificate")
    assert text.startswith(
        "Server Configurator on rs017 (group 'Streaming media certificate') exited -4: another instance is running."
    )
    assert "`xprotect_stop_stale_configurator: true`" in text
    assert "LocalMachine\\Root" in text


def test_explain_unknown_code_names_code_and_log():
    text = xp.explain_exit(4711, "rs017")
    assert "exited 4711" in text and "does not know" in text
    assert xp.CONFIGURATOR_LOG_HINT in text and "on rs017" in text
    custom = xp.explain_exit(4711, "rs017", log_hint=r"D:\logs\sc.log")
    assert r"D:\logs\sc.log" in custom


def test_explain_minus_1_points_at_the_log_and_unsigned_codes_are_normalised():
    assert xp.CONFIGURATOR_LOG_HINT + " on h1" in xp.explain_exit(-1, "h1")
    assert xp.normalize_exit_code(4294967292) == -4
    assert xp.explain_exit(4294967292, "h1") == xp.explain_exit(-4, "h1")
    assert xp.explain_exit(0, "h1") == "Server Configurator on h1 exited 0: success."


def test_retry_and_applied_codes():
    assert xp.RETRYABLE_EXIT_CODES == (10000, 20000)
    assert 100 in xp.APPLIED_EXIT_CODES and -4 not in xp.APPLIED_EXIT_CODES


# ---------------------------------------------------------------- Server Configurator path / version / argv
def svc(name, path, display=None):
    return SimpleNamespace(name=name, display_name=display or name, path=path, username="", state="started")


def test_configurator_path_quoted_with_arguments():
    services = [
        svc("W32Time", r"C:\Windows\system32\svchost.exe -k LocalService"),
        svc(
            "Milestone XProtect Recording Server",
            r'"C:\Program Files\Milestone\XProtect Recording Server\RecordingServer.exe" -service',
        ),
    ]
    assert xp.configurator_path_from_services(services) == (
        r"C:\Program Files\Milestone\Server Configurator\ServerConfigurator.exe"
    )


def test_configurator_path_unquoted_other_drive_and_dicts():
    services = [
        {
            "name": "MilestoneMobileServerService",
            "display_name": "Milestone XProtect Mobile Server",
            "path": r"D:\VMS\Milestone\XProtect Mobile Server\VideoOS.MobileServer.Service.exe /run",
        }
    ]
    assert (
        xp.configurator_path_from_services(services) == r"D:\VMS\Milestone\Server Configurator\ServerConfigurator.exe"
    )


def test_configurator_path_majority_wins_over_a_nested_service():
    services = [
        svc(
            "Milestone XProtect Management Server",
            r"E:\Milestone\XProtect Management Server\VideoOS.Server.Service.exe",
        ),
        svc("Milestone XProtect Data Collector", r'"E:\Milestone\XProtect Management Server\Collector\dc.exe"'),
        svc("Milestone XProtect Recording Server", r'"E:\Milestone\XProtect Recording Server\RecordingServer.exe"'),
    ]
    assert xp.configurator_path_from_services(services) == r"E:\Milestone\Server Configurator\ServerConfigurator.exe"


def test_configurator_path_none_without_milestone_and_default_when_unreadable():
    assert xp.configurator_path_from_services([svc("Spooler", r"C:\Windows\System32\spoolsv.exe")]) is None
    assert xp.configurator_path_from_services([]) is None
    assert xp.configurator_path_from_services([svc("Milestone XProtect Event Server", "")]) == (
        xp.DEFAULT_CONFIGURATOR_PATH
    )


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
    assert xp.configurator_version_ok(version) is ok


def test_argv_always_names_the_group():
    exe = xp.DEFAULT_CONFIGURATOR_PATH
    assert xp.enable_argv(
        exe, "{84430EB7-847C-422D-AA00-7915CD0D7A65}", "0f 1e 2d 3c 4b 5a 69 78 87 96 a5 b4 c3 d2 e1 f0 0f 1e 2d 3c"
    ) == [
        exe,
        "/quiet",
        "/enableencryption",
        f"/certificategroup={SERVER_GUID}",
        f"/thumbprint={TP_9001}",
    ]
    assert xp.disable_argv(exe, STREAMING_GUID) == [
        exe,
        "/quiet",
        "/disableencryption",
        f"/certificategroup={STREAMING_GUID}",
    ]
    assert xp.list_groups_argv(exe) == [exe, "/listcertificategroups"]
    assert xp.list_groups_argv(exe, quiet=True) == [exe, "/quiet", "/listcertificategroups"]


@pytest.mark.parametrize("bad", ["", "not-a-guid", "84430eb7-847c-422d-aa00-7915cd0d7a6"])
def test_argv_refuses_a_bad_guid(bad):
    with pytest.raises(xp.XProtectError, match="listcertificategroups"):
        xp.enable_argv("sc.exe", bad, TP_9001)


@pytest.mark.parametrize("bad", ["", "xyz", TP_9001[:-1], TP_9001 + "00"])
def test_argv_refuses_a_bad_thumbprint(bad):
    with pytest.raises(xp.XProtectError, match="thumbprint"):
        xp.enable_argv("sc.exe", SERVER_GUID, bad)


# ---------------------------------------------------------------- configuration files
def test_parse_recorder_config_fixture_with_bom():
    text = fixture("RecorderConfig.xml", bom=True)
    assert text.startswith("\ufeff")
    cfg = xp.parse_recorder_config(text)
    assert cfg == {
        "webserver_port": 7563,
        "webapi_port": 9001,
        "server_address": "mgmt01.contoso.local",
        "server_webapiport": 9000,
        "authorization_server": "http://mgmt01.contoso.local/IDP",
        "recorder_id": "5b1d7f0e-3c2a-4e8b-9a6d-2f4c8e1b7a90",
        "version": "24.2.0.1",
        "server_encryption": None,
    }
    # Bytes work too (as slurp gives them), BOM included.
    raw = b"\xef\xbb\xbf" + (FIXTURES / "RecorderConfig.xml").read_bytes()
    assert xp.parse_recorder_config(raw)["webapi_port"] == 9001


def test_parse_recorder_config_server_encryption_attribute_and_element_forms():
    cfg = xp.parse_recorder_config(fixture("RecorderConfig_encrypted.xml"))
    assert cfg["server_encryption"] == {"enabled": True, "certificate_hash": TP_9001}
    assert cfg["server_webapiport"] == 443
    element_form = (
        "<recorderconfig><server><ServerEncryption><Enabled>False</Enabled>"
        "<CertificateHash></CertificateHash></ServerEncryption></server></recorderconfig>"
    )
    assert xp.parse_recorder_config(element_form)["server_encryption"] == {"enabled": False, "certificate_hash": None}


def test_parse_recorder_config_tolerates_case_namespace_wrapper_and_missing_values():
    text = (
        '<?xml version="1.0" encoding="utf-16"?>\r\n'
        '<wrapper xmlns="urn:x"><RecorderConfig><WebServer><Port> 17563 </Port></WebServer>'
        "<webapi><port>nine</port></webapi></RecorderConfig></wrapper>"
    )
    cfg = xp.parse_recorder_config(text)
    assert cfg["webserver_port"] == 17563
    assert cfg["webapi_port"] is None
    assert cfg["server_address"] is None


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("<recorderconfig><webserver>", "not well-formed"),
        ('<!DOCTYPE x [<!ENTITY a "b">]><recorderconfig/>', "DTD"),
    ],
)
def test_parse_recorder_config_refuses_bad_files(text, match):
    with pytest.raises(xp.XProtectError, match=match):
        xp.parse_recorder_config(text)


def test_parse_server_config_fixture():
    assert xp.parse_server_config(fixture("ServerConfig.xml")) == {
        "webapi_port": 9000,
        "authorization_server_uri": "https://mgmt01.contoso.local/IDP",
        "version": "24.2.0.1",
    }


def test_parse_mobile_config_fixture():
    cfg = xp.parse_mobile_config(fixture("VideoOS.MobileServer.Service.exe.config"))
    assert cfg == {
        "https_port": 8082,
        "https_ip": "+",
        "http_port": 8081,
        "http_ip": "+",
        "management_server_ip": "mgmt01.contoso.local",
        "management_server_port": 80,
        "https_netsh_ipport": "0.0.0.0:8082",
    }


def test_parse_mobile_config_specific_ip_and_no_plain_http():
    text = (
        "<configuration><HttpSecureMetaChannel><Address>"
        '<add KEY="port" VALUE="9443"/><add key="Ip" value="10.1.2.3"/>'
        "</Address></HttpSecureMetaChannel></configuration>"
    )
    cfg = xp.parse_mobile_config(text)
    assert (cfg["https_port"], cfg["https_ip"], cfg["http_port"]) == (9443, "10.1.2.3", None)
    assert cfg["https_netsh_ipport"] == "10.1.2.3:9443"
    assert xp.parse_mobile_config("<configuration/>")["https_netsh_ipport"] is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("false", False), ("True", True), (" 1 ", True), ("maybe", None)],
)
def test_parse_event_config(value, expected):
    text = f"<eventserverconfig><CertificateEnabled>{value}</CertificateEnabled></eventserverconfig>"
    assert xp.parse_event_config(text) == {"certificate_enabled": expected}


def test_parse_event_config_fixture_and_missing_element():
    assert xp.parse_event_config(fixture("ServiceEndpoints.xml")) == {"certificate_enabled": False}
    assert xp.parse_event_config("<eventserverconfig/>") == {"certificate_enabled": None}


def test_config_paths_and_mobile_paths():
    assert xp.CONFIG_PATHS["recording"].endswith(r"XProtect Recording Server\RecorderConfig.xml")
    assert xp.CONFIG_PATHS["management"].endswith(r"XProtect Management Server\ServerConfig.xml")
    assert xp.CONFIG_PATHS["event"].endswith(r"XProtect Event Server\config\ServiceEndpoints.xml")
    exe = r"C:\Program Files\Milestone\XProtect Mobile Server\VideoOS.MobileServer.Service.exe"
    assert xp.mobile_config_path(f'"{exe}" -x') == exe + ".config"
    assert xp.mobile_config_path() == xp.CONFIG_PATHS["mobile"]
    services = [svc("Milestone XProtect Mobile Server", f'"{exe}"')]
    assert xp.mobile_config_path_from_services(services) == exe + ".config"
    assert xp.mobile_config_path_from_services([]) == xp.CONFIG_PATHS["mobile"]


def test_service_executable_variants():
    assert xp.service_executable(None) is None
    assert xp.service_executable(r"C:\A B\x.EXE -k svc") == r"C:\A B\x.EXE"
    assert xp.service_executable(r'"C:\A B\x.exe"') == r"C:\A B\x.exe"
    assert xp.service_executable(r"C:\tools\agent -run") == r"C:\tools\agent"


# ---------------------------------------------------------------- override mode [?]
def test_override_found_in_a_server_configurator_log():
    evidence = xp.override_blocks_cli(
        {r"C:\ProgramData\Milestone\ServerConfigurator.log": fixture("serverconfigurator_register_override.log")}
    )
    assert evidence is not None
    assert "ServerConfigurator.log, line 2" in evidence
    assert "/overridelocalmanagementserver" in evidence


def test_override_not_found_in_an_ordinary_log_or_config():
    assert xp.override_blocks_cli(fixture("serverconfigurator_enable.log")) is None
    assert xp.override_blocks_cli({"RecorderConfig.xml": fixture("RecorderConfig.xml")}) is None
    assert xp.override_blocks_cli(None) is None


def test_override_xml_element_attribute_and_custom_markers():
    assert xp.override_blocks_cli("<x><OverrideLocalManagementServer>true</OverrideLocalManagementServer></x>")
    assert xp.override_blocks_cli('<server overrideLocalManagementServer="True"/>')
    assert xp.override_blocks_cli("<x><OverrideLocalManagementServer>false</OverrideLocalManagementServer></x>") is None
    assert xp.override_blocks_cli("LocalOverride=1", markers=[r"localoverride=1"]).startswith("the text read")


# ---------------------------------------------------------------- certreq INF
def test_certreq_inf_content_and_crlf():
    inf = xp.certreq_inf("rs001.contoso.local", ["rs001.contoso.local", "rs001", "RS001"], ip_addresses=["10.0.0.5"])
    assert "\r\n" in inf and "\n" not in inf.replace("\r\n", "")
    lines = inf.split("\r\n")
    for expected in (
        "[Version]",
        'Signature="$Windows NT$"',
        "[NewRequest]",
        'Subject = "CN=rs001.contoso.local"',
        "KeyLength = 2048",
        "KeySpec = 1",
        "KeyUsage = 0xa0",
        "MachineKeySet = TRUE",
        "Exportable = FALSE",
        'ProviderName = "Microsoft RSA SChannel Cryptographic Provider"',
        "ProviderType = 12",
        "RequestType = PKCS10",
        "HashAlgorithm = sha256",
        "[EnhancedKeyUsageExtension]",
        "[Extensions]",
        '2.5.29.17 = "{text}"',
        '_continue_ = "dns=rs001.contoso.local&"',
        '_continue_ = "dns=rs001&"',
        '_continue_ = "ipaddress=10.0.0.5&"',
    ):
        assert expected in lines, expected
    assert sum(1 for line in lines if line.startswith("_continue_")) == 3  # RS001 is a duplicate


def test_certreq_inf_ksp_has_no_provider_type_or_keyspec():
    inf = xp.certreq_inf(
        "mob01.contoso.local", ["mob01.contoso.local"], 3072, "Microsoft Software Key Storage Provider", True, False
    )
    assert "ProviderType" not in inf and "KeySpec" not in inf
    assert "KeyLength = 3072" in inf and "Exportable = TRUE" in inf and "MachineKeySet = FALSE" in inf


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"subject_cn": "10.0.0.5"}, "not a DNS name"),
        ({"subject_cn": "rs 001"}, "not a DNS name"),
        ({"subject_cn": 'rs001"\r\nExportable = TRUE'}, "not a DNS name"),
        ({"dns_names": ["ok.example", "bad_name!"]}, "bad_name!"),
        ({"dns_names": []}, "at least one DNS name"),
        ({"key_length": 1024}, "2048 bits or more"),
        ({"key_length": "2048"}, "2048 bits or more"),
        ({"provider": 'Evil"\r\n[NewRequest]'}, "provider"),
        ({"ip_addresses": ["300.1.1.1"]}, "not an IP address"),
        ({"friendly_name": 'a"b'}, "friendly_name"),
    ],
)
def test_certreq_inf_refuses_bad_input(kwargs, match):
    args = {"subject_cn": "rs001.contoso.local", "dns_names": ["rs001.contoso.local"]}
    args.update(kwargs)
    with pytest.raises(xp.XProtectError, match=match):
        xp.certreq_inf(**args)


def test_parse_certreq_inf_round_trip():
    inf = xp.certreq_inf("rs001.contoso.local", ["rs001.contoso.local", "rs001"], 4096, ip_addresses=["fe80::1"])
    parsed = xp.parse_certreq_inf(inf)
    assert parsed["subject_cn"] == "rs001.contoso.local"
    assert parsed["dns_names"] == ["rs001.contoso.local", "rs001"]
    assert parsed["ip_addresses"] == ["fe80::1"]
    assert parsed["key_length"] == 4096
    assert parsed["provider"] == xp.DEFAULT_PROVIDER
    assert parsed["provider_type"] == 12
    assert parsed["key_spec"] == 1
    assert parsed["key_usage"] == 0xA0
    assert parsed["exportable"] is False
    assert parsed["machine_key_set"] is True
    assert parsed["hash_algorithm"] == "sha256"
    assert parsed["request_type"] == "PKCS10"
    assert parsed["eku"] == [xp.SERVER_AUTH_OID]
    assert parsed["friendly_name"] == "rs001.contoso.local"


def test_parse_certreq_inf_tolerant_like_certreq():
    # Microsoft's documented forms: [Strings] substitution, unquoted values, mixed case,
    # symbolic KeyUsage, DNS= in capitals, {text} EKU, the older [RequestAttributes] SAN.
    text = (
        "; hand-written\n"
        "[version]\n"
        "Signature=$Windows NT$\n"
        "[Strings]\n"
        "szOID_SUBJECT_ALT_NAME2 = 2.5.29.17\n"
        "szOID_ENHANCED_KEY_USAGE = 2.5.29.37\n"
        "szOID_PKIX_KP_SERVER_AUTH = 1.3.6.1.5.5.7.3.1\n"
        "[newrequest]\n"
        'subject = cn=mgmt01.contoso.local, O="Contoso, Ltd"  ; comment\n'
        "keylength=0x800\n"
        "KeySpec = AT_KEYEXCHANGE\n"
        'KeyUsage = "CERT_DIGITAL_SIGNATURE_KEY_USAGE | CERT_KEY_ENCIPHERMENT_KEY_USAGE"\n'
        "machinekeyset = true\n"
        "exportable = 1\n"
        'FriendlyName = "Say ""hi"""\n'
        "[Extensions]\n"
        '%szOID_SUBJECT_ALT_NAME2% = "{text}DNS=mgmt01.contoso.local&"\n'
        '_continue_ = "dns=mgmt01&IP Address=192.168.1.10"\n'
        "%szOID_ENHANCED_KEY_USAGE%={text}%szOID_PKIX_KP_SERVER_AUTH%,\n"
        "_continue_ = 1.3.6.1.5.5.7.3.2\n"
        "[RequestAttributes]\n"
        'SAN="dns=alias.contoso.local&dns=MGMT01"\n'
    )
    parsed = xp.parse_certreq_inf(text)
    assert parsed["subject_cn"] == "mgmt01.contoso.local"
    assert parsed["key_length"] == 2048
    assert parsed["key_spec"] == 1
    assert parsed["key_usage"] == 0xA0
    assert parsed["machine_key_set"] is True and parsed["exportable"] is True
    assert parsed["friendly_name"] == 'Say "hi"'
    assert parsed["dns_names"] == ["mgmt01.contoso.local", "mgmt01", "alias.contoso.local"]
    assert parsed["ip_addresses"] == ["192.168.1.10"]
    assert parsed["eku"] == ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]
    assert parsed["provider"] is None
    assert parsed["request_type"] == "PKCS10"


def test_parse_certreq_inf_defaults_and_minimal():
    parsed = xp.parse_certreq_inf("[NewRequest]\nSubject = CN=W2K8-BO-DC.contoso2.com\n")
    assert parsed["subject_cn"] == "W2K8-BO-DC.contoso2.com"
    assert (parsed["key_length"], parsed["exportable"], parsed["machine_key_set"]) == (2048, False, False)
    assert parsed["dns_names"] == [] and parsed["key_spec"] is None and parsed["key_usage"] is None


def test_parse_certreq_inf_microsoft_example_eku_lines():
    text = (
        "[NewRequest]\nSubject = CN=x.example\nKeySpec = 2\n"
        "[Extensions]\nOID = 1.3.6.1.5.5.7.3.1\nOID = 1.3.6.1.5.5.7.3.2\n"
    )
    parsed = xp.parse_certreq_inf(text)
    assert parsed["eku"] == ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]
    assert parsed["key_spec"] == 2


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[Version]\nSignature=$Windows NT$\n", r"\[NewRequest\]"),
        ("[NewRequest]\nKeyLength = two thousand\n", "KeyLength"),
        ("[NewRequest]\nKeyUsage = 0xzz\n", "KeyUsage"),
    ],
)
def test_parse_certreq_inf_refuses_what_certreq_refuses(text, match):
    with pytest.raises(xp.XProtectError, match=match):
        xp.parse_certreq_inf(text)


# ---------------------------------------------------------------- certreq outputs
def test_certreq_accept_output():
    out = xp.parse_certreq_accept(fixture("certreq_accept_ok.txt"))
    assert out["thumbprint"] == TP_9001
    assert out["serial_number"] == "4d2f9a61c0b7e35518aa0c3f9e7d21b6640d7a13"
    assert out["subject"].startswith("CN=rs001.contoso.local (DNS Name=rs001.contoso.local")
    assert out["not_after"] == "3/2/2028 10:58 AM"
    assert xp.parse_certreq_accept(fixture("certreq_new_ok.txt"))["thumbprint"] is None


@pytest.mark.parametrize(
    ("name", "hresult", "code_name", "advice"),
    [
        ("certreq_accept_not_found.txt", "0x80092004", "CRYPT_E_NOT_FOUND", "pending request"),
        ("certreq_accept_untrusted_root.txt", "0x800b0109", "CERT_E_UNTRUSTEDROOT", "trusted_ca"),
        ("certreq_new_access_denied.txt", "0x80070005", "ERROR_ACCESS_DENIED", "become"),
        ("certreq_new_invalid_inf.txt", "0x8007000d", "ERROR_INVALID_DATA", "INF"),
    ],
)
def test_certreq_errors(name, hresult, code_name, advice):
    err = xp.parse_certreq_error(fixture(name))
    assert err["hresult"] == hresult
    assert err["name"] == code_name
    assert err["message"] and not err["message"].startswith("Certificate Request Processor")
    assert advice in err["advice"]
    sentence = xp.explain_certreq("-accept", "rs001", -1, fixture(name))
    assert sentence.startswith("certreq -accept failed on rs001 (exit -1): ")
    assert hresult in sentence and advice in sentence


def test_certreq_error_from_exit_code_only_and_unknown():
    err = xp.parse_certreq_error("", rc=-2146885628)
    assert err == {
        "hresult": "0x80092004",
        "name": "CRYPT_E_NOT_FOUND",
        "message": None,
        "advice": xp.CERTREQ_ERRORS["0x80092004"][1],
    }
    assert xp.parse_certreq_error("CertReq: Request Created", rc=0) is None
    unknown = xp.explain_certreq("-new", "h", 5, "CertReq: Odd failure 0x8000ffff (-2147418113 E_UNEXPECTED)")
    assert "0x8000ffff E_UNEXPECTED" in unknown and "Windows error reference" in unknown
    silent = xp.explain_certreq("-new", "h", 0, "", "")
    assert "no output" in silent


# ---------------------------------------------------------------- codes of a local change, judged by the read-back
def test_explain_read_back_applied_and_not():
    done = xp.explain_read_back(100, "mgmt01", "Server certificate", True, "enabled (AB)")
    assert done.startswith("Server Configurator on mgmt01 (group 'Server certificate') exited 100: applied locally")
    assert "[L]" in done and "shows the change (enabled (AB))" in done and "/register" in done
    missed = xp.explain_read_back(100, "mgmt01", "Server certificate", False, "disabled")
    assert "does not show the change (disabled): it was not applied" in missed and "runas" in missed
    assert "CN" in xp.explain_read_back(300000, "h", "g", True)
    assert "does not know" in xp.explain_read_back(77, "h", "g", False)


def test_no_message_claims_a_read_back_that_does_not_happen():
    # Only exit 0 and the codes of a local change are read back; every other code stops at once.
    for code in xp.EXIT_CODES:
        if code not in xp.APPLIED_EXIT_CODES:
            assert "read back" not in xp.explain_exit(code, "h"), code
    assert "without reading the state back" in xp.explain_exit(4711, "h")
    assert set(xp.APPLIED_ADVICE) == set(xp.APPLIED_EXIT_CODES) - {0}


# ---------------------------------------------------------------- the one thumbprint normaliser
PASTED = "\u200e6a 3f 9c 01 d2 e4 5b 77 80 aa 19 c3 4e 5f 60 71 82 93 a4 b5"  # as certlm.msc copies it


@pytest.mark.parametrize(
    "value",
    [PASTED, PASTED.replace(" ", ":"), PASTED.upper(), "\ufeff" + PASTED[1:] + "\u200f", PASTED.replace(" ", "\t")],
)
def test_pasted_thumbprints_normalise(value):
    assert xp.normalize_thumbprint(value) == "6A3F9C01D2E45B7780AA19C34E5F60718293A4B5"
    assert validate.thumbprint(value, "thumbprint") == "6A3F9C01D2E45B7780AA19C34E5F60718293A4B5"


@pytest.mark.parametrize("value", ["", "6A3F", "Z" * 40, PASTED + " 00", "6A3F-9C01"])
def test_a_bad_thumbprint_option_names_the_option_value_and_rule(value):
    # Options are checked by validate.thumbprint, on the same normaliser.
    with pytest.raises(validate.ArgumentError) as info:
        validate.thumbprint(value, "retired_thumbprints[1]")
    text = str(info.value)
    assert text.startswith("retired_thumbprints[1]: ") and repr(value) in text
    assert "40 hex digits" in text


def test_clean_thumbprint_of_read_values():
    assert xp.clean_thumbprint(None) is None and xp.clean_thumbprint(" \u200e ") is None
    assert xp.clean_thumbprint("ab cd") == "ABCD"
