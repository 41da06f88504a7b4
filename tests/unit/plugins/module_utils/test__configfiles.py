# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_configfiles.py: the XProtect configuration files, reconstructed and with variants."""

from __future__ import annotations

import pytest
from windows_output import FIXTURES, TP_9001, fixture

from ansible_collections.xprotect.encryption.plugins.module_utils import _configfiles, _text


def test_parse_recorder_config_fixture_with_bom():
    text = fixture("RecorderConfig.xml", bom=True)
    assert text.startswith("\ufeff")
    cfg = _configfiles.parse_recorder_config(text)
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
    assert _configfiles.parse_recorder_config(raw)["webapi_port"] == 9001


def test_parse_recorder_config_server_encryption_attribute_and_element_forms():
    cfg = _configfiles.parse_recorder_config(fixture("RecorderConfig_encrypted.xml"))
    assert cfg["server_encryption"] == {"enabled": True, "certificate_hash": TP_9001}
    assert cfg["server_webapiport"] == 443
    element_form = (
        "<recorderconfig><server><ServerEncryption><Enabled>False</Enabled>"
        "<CertificateHash></CertificateHash></ServerEncryption></server></recorderconfig>"
    )
    assert _configfiles.parse_recorder_config(element_form)["server_encryption"] == {
        "enabled": False,
        "certificate_hash": None,
    }


def test_parse_recorder_config_tolerates_case_namespace_wrapper_and_missing_values():
    text = (
        '<?xml version="1.0" encoding="utf-16"?>\r\n'
        '<wrapper xmlns="urn:x"><RecorderConfig><WebServer><Port> 17563 </Port></WebServer>'
        "<webapi><port>nine</port></webapi></RecorderConfig></wrapper>"
    )
    cfg = _configfiles.parse_recorder_config(text)
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
    with pytest.raises(_text.XProtectError, match=match):
        _configfiles.parse_recorder_config(text)


def test_parse_server_config_fixture():
    assert _configfiles.parse_server_config(fixture("ServerConfig.xml")) == {
        "webapi_port": 9000,
        "authorization_server_uri": "https://mgmt01.contoso.local/IDP",
        "version": "24.2.0.1",
    }


def test_parse_mobile_config_fixture():
    cfg = _configfiles.parse_mobile_config(fixture("VideoOS.MobileServer.Service.exe.config"))
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
    cfg = _configfiles.parse_mobile_config(text)
    assert (cfg["https_port"], cfg["https_ip"], cfg["http_port"]) == (9443, "10.1.2.3", None)
    assert cfg["https_netsh_ipport"] == "10.1.2.3:9443"
    assert _configfiles.parse_mobile_config("<configuration/>")["https_netsh_ipport"] is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("false", False), ("True", True), (" 1 ", True), ("maybe", None)],
)
def test_parse_event_config(value, expected):
    text = f"<eventserverconfig><CertificateEnabled>{value}</CertificateEnabled></eventserverconfig>"
    assert _configfiles.parse_event_config(text) == {"certificate_enabled": expected}


def test_parse_event_config_fixture_and_missing_element():
    assert _configfiles.parse_event_config(fixture("ServiceEndpoints.xml")) == {"certificate_enabled": False}
    assert _configfiles.parse_event_config("<eventserverconfig/>") == {"certificate_enabled": None}
