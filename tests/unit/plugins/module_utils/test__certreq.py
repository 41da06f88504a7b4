# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_certreq.py: the certreq INF, command lines, and what its errors mean."""

from __future__ import annotations

import pytest
from windows_output import fixture

from ansible_collections.xprotect.encryption.plugins.module_utils import _certreq, _text


def test_certreq_inf_content_and_crlf():
    inf = _certreq.certreq_inf(
        "rs001.contoso.local", ["rs001.contoso.local", "rs001", "RS001"], ip_addresses=["10.0.0.5"]
    )
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
    inf = _certreq.certreq_inf(
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
    with pytest.raises(_text.XProtectError, match=match):
        _certreq.certreq_inf(**args)


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
    err = _certreq.parse_certreq_error(fixture(name))
    assert err["hresult"] == hresult
    assert err["name"] == code_name
    assert err["message"] and not err["message"].startswith("Certificate Request Processor")
    assert advice in err["advice"]
    sentence = _certreq.explain_certreq("-accept", "rs001", -1, fixture(name))
    assert sentence.startswith("certreq -accept failed on rs001 (exit -1): ")
    assert hresult in sentence and advice in sentence


def test_certreq_error_from_exit_code_only_and_unknown():
    err = _certreq.parse_certreq_error("", rc=-2146885628)
    assert err == {
        "hresult": "0x80092004",
        "name": "CRYPT_E_NOT_FOUND",
        "message": None,
        "advice": _certreq.CERTREQ_ERRORS["0x80092004"][1],
    }
    assert _certreq.parse_certreq_error("CertReq: Request Created", rc=0) is None
    unknown = _certreq.explain_certreq("-new", "h", 5, "CertReq: Odd failure 0x8000ffff (-2147418113 E_UNEXPECTED)")
    assert "0x8000ffff E_UNEXPECTED" in unknown and "Windows error reference" in unknown
    silent = _certreq.explain_certreq("-new", "h", 0, "", "")
    assert "no output" in silent
