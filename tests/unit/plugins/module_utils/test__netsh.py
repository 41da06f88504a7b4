# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_netsh.py: HTTP.sys bindings from netsh (in any language) and from the registry."""

from __future__ import annotations

import pytest
from windows_output import FIXTURES, TP_443, TP_9001, fixture

from ansible_collections.xprotect.encryption.plugins.module_utils import _configfiles, _netsh


def test_netsh_ws2022_multiple_blocks():
    bindings = _netsh.parse_netsh_sslcert(fixture("netsh_sslcert_all_ws2022.txt"))
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
    assert _netsh.binding_for_port(bindings, 9001) == TP_9001
    assert _netsh.binding_for_port(bindings, 9000) == TP_443
    assert _netsh.binding_for_port(bindings, 8082) is None


def test_netsh_ws2016_single_ipport():
    bindings = _netsh.parse_netsh_sslcert(fixture("netsh_sslcert_ipport_ws2016.txt"))
    assert len(bindings) == 1
    assert bindings[0]["port"] == 8082
    assert bindings[0]["thumbprint"] == "5E1B7C2D9A0F3E4D6C8B1A2F3E4D5C6B7A8F9E0D"
    # The mobile server's '+' is all addresses.
    assert _netsh.binding_for_port(bindings, 8082, address="+") == bindings[0]["thumbprint"]


def test_netsh_ws2012r2_spacing_and_null_store():
    bindings = _netsh.parse_netsh_sslcert(fixture("netsh_sslcert_ws2012r2.txt"))
    assert [(b["port"], b["store"]) for b in bindings] == [(9001, "MY"), (443, None)]
    assert bindings[0]["thumbprint"] == TP_9001
    # Ctl Store Name must not be taken for the certificate store.
    assert bindings[1]["fields"]["ctl store name"] == "(null)"


def test_netsh_hostname_and_central_store_blocks():
    bindings = _netsh.parse_netsh_sslcert(fixture("netsh_sslcert_hostname_ccs.txt"))
    assert bindings[0]["hostnameport"] == "mgmt01.contoso.local:443"
    assert bindings[0]["address"] == "mgmt01.contoso.local"
    assert bindings[0]["store"] == "WebHosting"
    assert bindings[1]["ccs_port"] == "8443"
    assert bindings[1]["thumbprint"] is None
    assert _netsh.binding_for_port(bindings, 443) == TP_443
    assert _netsh.binding_for_port(bindings, 8443) is None


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("netsh_sslcert_*.txt")))
def test_netsh_crlf_and_lf_parse_the_same(name):
    assert "\r\n" in fixture(name)
    assert _netsh.parse_netsh_sslcert(fixture(name)) == _netsh.parse_netsh_sslcert(fixture(name, crlf=False))


@pytest.mark.parametrize("name", ["netsh_sslcert_no_binding.txt", "netsh_sslcert_none.txt"])
def test_netsh_no_binding(name):
    text = fixture(name)
    assert _netsh.parse_netsh_sslcert(text) == []
    if "no_binding" in name:
        assert _netsh.NETSH_NO_BINDING in text


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
    bindings = _netsh.parse_netsh_sslcert(text)
    assert [b["ipport"] for b in bindings] == ["0.0.0.0:9001", "10.0.0.5:9001"]
    assert bindings[0]["thumbprint"] == TP_9001
    assert bindings[0]["app_id"] == "{C2D3E4F5-A6B7-4C8D-9E0F-1A2B3C4D5E6F}"
    # A localised label: the 40-hex value is recognised as the hash.
    assert bindings[1]["thumbprint"] == "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678"
    # An exact address is preferred when asked for.
    assert _netsh.binding_for_port(bindings, 9001, address="10.0.0.5") == bindings[1]["thumbprint"]
    assert _netsh.binding_for_port(bindings, 9001) == TP_9001


def test_netsh_ignores_lines_before_a_block_and_bad_addresses():
    text = "Certificate Hash : 0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c\n    IP:port : not-an-address\n"
    assert _netsh.parse_netsh_sslcert(text) == []
    assert _netsh.parse_netsh_sslcert(None) == []


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
    bindings = _netsh.parse_netsh_sslcert(text)
    assert len(bindings) == 2
    assert bindings[0]["ipport"] == "0.0.0.0:9001"
    assert bindings[0]["thumbprint"] == TP_9001
    assert bindings[0]["app_id"] == "{c2d3e4f5-a6b7-4c8d-9e0f-1a2b3c4d5e6f}"
    assert bindings[0]["store"] == "My"
    assert _netsh.binding_for_ipport(bindings, "0.0.0.0:9001") == TP_9001
    second = bindings[1]
    if lang == "fr":  # a host-name (SNI) binding, which is never read for a group
        assert second["hostnameport"] == "mgmt01.contoso.local:443" and second["store"] == "WebHosting"
        assert _netsh.binding_for_ipport(bindings, "0.0.0.0:443") is None
    elif lang == "ja":  # IPv6 all addresses stands for 0.0.0.0 on the same port
        assert second["ipport"] == "[::]:8082"
        assert _netsh.binding_for_ipport(bindings, "0.0.0.0:8082") == "5E1B7C2D9A0F3E4D6C8B1A2F3E4D5C6B7A8F9E0D"
    else:
        assert _netsh.binding_for_ipport(bindings, "0.0.0.0:443") == TP_443


def test_binding_for_ipport_prefers_the_exact_address_then_all_addresses():
    bindings = _netsh.parse_netsh_sslcert(fixture("netsh_sslcert_all_ws2022.txt"))
    # 10.0.0.5 has no binding of its own on 9001: HTTP.sys serves the all-addresses one.
    assert _netsh.binding_for_ipport(bindings, "10.0.0.5:9001") == TP_9001
    assert _netsh.binding_for_ipport(bindings, "[::]:9001") == "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678"
    assert _netsh.binding_for_ipport(bindings, "10.0.0.5:8082") is None
    assert _netsh.binding_for_ipport(bindings, "not an ipport") is None


def test_netsh_translated_ipport_label_still_opens_a_block():
    # The defect: a language that translates "IP:port" made every group read "disabled".
    text = fixture("netsh_sslcert_fr.txt").replace("Adresse IP:port", "Adresse IP/port")
    assert _netsh.binding_for_ipport(_netsh.parse_netsh_sslcert(text), "0.0.0.0:9001") == TP_9001


def test_management_server_binding_is_its_web_api_port_never_iis_443():
    # ServerConfig.xml names 9000; the host's IIS has a customer site on 443 (all addresses and SNI).
    cfg = _configfiles.parse_server_config(fixture("ServerConfig.xml"))
    bindings = _netsh.parse_netsh_sslcert(fixture("netsh_sslcert_ms_iis_customer.txt"))
    assert (
        _netsh.binding_for_port(bindings, 443) == "7D4C1E9F2A8B3C6D5E0F1A2B3C4D5E6F7A8B9C0D"
    )  # what the old code took
    assert _netsh.binding_for_ipport(bindings, f"0.0.0.0:{cfg['webapi_port']}") is None
    # A management server whose web API is on another port reads that port.
    moved = _configfiles.parse_server_config(fixture("ServerConfig_webapi_9100.xml"))
    assert moved["webapi_port"] == 9100
    listing = fixture("netsh_sslcert_all_ws2022.txt").replace("0.0.0.0:9000", "0.0.0.0:9100")
    assert _netsh.binding_for_ipport(_netsh.parse_netsh_sslcert(listing), "0.0.0.0:9100") == TP_443
    assert _netsh.binding_for_ipport(_netsh.parse_netsh_sslcert(listing), "0.0.0.0:9000") is None


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
    assert _netsh.thumbprint_from_registry(value) == expected


def test_binding_from_registry():
    key = _netsh.ssl_binding_registry_key("0.0.0.0:9001")
    assert key == r"HKLM:\SYSTEM\CurrentControlSet\Services\HTTP\Parameters\SslBindingInfo\0.0.0.0:9001"
    block = _netsh.binding_from_registry("0.0.0.0:9001", True, "REG_BINARY", list(bytes.fromhex(TP_9001)))
    assert (block["port"], block["address"], block["thumbprint"]) == (9001, "0.0.0.0", TP_9001)  # noqa: S104 - an address read, nothing bound
    assert _netsh.binding_from_registry("0.0.0.0:9001", False, None, None) is None
    assert _netsh.binding_from_registry("0.0.0.0:9001", True, "REG_SZ", "x") is None
    v6 = _netsh.binding_from_registry("[::]:9001", True, "REG_BINARY", list(bytes.fromhex(TP_9001)))
    assert v6["address"] == "::"
