# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""winformats.py: the lab's certreq reads our INF as certreq does, makes keys and CSRs as it does,
and what certreq -accept prints is read back."""

from __future__ import annotations

import pathlib

import pytest
from cryptography.hazmat.primitives import hashes

from ansible_collections.xprotect.encryption.plugins.module_utils import _certreq, _text, pki
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import winformats

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "test_data" / "windows"
TP_9001 = "0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C"


def fixture(name: str) -> str:
    """A reconstructed certreq output with the CRLF line ends win_command hands over."""
    return (FIXTURES / name).read_text(encoding="utf-8").replace("\n", "\r\n")


def test_parse_certreq_inf_round_trip():
    inf = _certreq.certreq_inf("rs001.contoso.local", ["rs001.contoso.local", "rs001"], 4096, ip_addresses=["fe80::1"])
    parsed = winformats.parse_certreq_inf(inf)
    assert parsed["subject_cn"] == "rs001.contoso.local"
    assert parsed["dns_names"] == ["rs001.contoso.local", "rs001"]
    assert parsed["ip_addresses"] == ["fe80::1"]
    assert parsed["key_length"] == 4096
    assert parsed["provider"] == _certreq.DEFAULT_PROVIDER
    assert parsed["provider_type"] == 12
    assert parsed["key_spec"] == 1
    assert parsed["key_usage"] == 0xA0
    assert parsed["exportable"] is False
    assert parsed["machine_key_set"] is True
    assert parsed["hash_algorithm"] == "sha256"
    assert parsed["request_type"] == "PKCS10"
    assert parsed["eku"] == [_certreq.SERVER_AUTH_OID]
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
    parsed = winformats.parse_certreq_inf(text)
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
    parsed = winformats.parse_certreq_inf("[NewRequest]\nSubject = CN=W2K8-BO-DC.contoso2.com\n")
    assert parsed["subject_cn"] == "W2K8-BO-DC.contoso2.com"
    assert (parsed["key_length"], parsed["exportable"], parsed["machine_key_set"]) == (2048, False, False)
    assert parsed["dns_names"] == [] and parsed["key_spec"] is None and parsed["key_usage"] is None


def test_parse_certreq_inf_microsoft_example_eku_lines():
    text = (
        "[NewRequest]\nSubject = CN=x.example\nKeySpec = 2\n"
        "[Extensions]\nOID = 1.3.6.1.5.5.7.3.1\nOID = 1.3.6.1.5.5.7.3.2\n"
    )
    parsed = winformats.parse_certreq_inf(text)
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
    with pytest.raises(_text.XProtectError, match=match):
        winformats.parse_certreq_inf(text)


def test_certreq_accept_output():
    out = winformats.parse_certreq_accept(fixture("certreq_accept_ok.txt"))
    assert out["thumbprint"] == TP_9001
    assert out["serial_number"] == "4d2f9a61c0b7e35518aa0c3f9e7d21b6640d7a13"
    assert out["subject"].startswith("CN=rs001.contoso.local (DNS Name=rs001.contoso.local")
    assert out["not_after"] == "3/2/2028 10:58 AM"
    assert winformats.parse_certreq_accept(fixture("certreq_new_ok.txt"))["thumbprint"] is None


def test_build_csr_is_what_certreq_sends_for_our_inf():
    key = winformats.generate_key(2048)
    csr = winformats.build_csr(key, "RS01.vms.example.com.", ["rs01"], ["10.0.0.5"])
    assert csr.is_signature_valid
    assert pki.san_names(csr) == (["rs01.vms.example.com", "rs01"], ["10.0.0.5"])
    assert pki.common_names(csr.subject) == ["rs01.vms.example.com"]
    assert isinstance(csr.signature_hash_algorithm, hashes.SHA256)
    with pytest.raises(pki.PkiError) as e:
        winformats.build_csr(key, "10.0.0.5")
    assert e.value.option == "fqdn"


def test_generate_key_takes_what_certreq_takes_weak_keys_included():
    # The lab must make the weak keys a misconfigured INF asks for, so that the controller's
    # refusal of a weak CSR can be rehearsed; pki.generate_key refuses them.
    assert winformats.generate_key(1024).key_size == 1024
    with pytest.raises(pki.PkiError):
        pki.generate_key(1024)
    for bits in (512, 1023, 16385, "2048", True):
        with pytest.raises(_text.XProtectError, match="KeyLength"):
            winformats.generate_key(bits)  # type: ignore[arg-type]
