# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The enterprise CA's knowledge: config and template checks, the certreq command lines, the
parser of certreq -submit / -retrieve answers (reconstructed outputs in test_data/windows), the
record of a waiting request, and the decision to retrieve rather than send a second request."""

from __future__ import annotations

import pytest
from windows_output import fixture

from ansible_collections.xprotect.encryption.plugins.module_utils import _adcs
from ansible_collections.xprotect.encryption.plugins.module_utils._text import XProtectError

CONFIG = "ca01.example.com\\Example Issuing CA"
TP = "0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C"


def _rc(hresult: int) -> int:
    return hresult - (1 << 32)


@pytest.mark.parametrize(
    ("name", "rc", "kind", "request_id", "hresult", "code_name", "message"),
    [
        ("certreq_submit_issued.txt", 0, "issued", 12, None, None, None),
        ("certreq_submit_pending.txt", 0, "pending", 13, None, None, "Taken Under Submission"),
        (
            "certreq_submit_denied_template.txt",
            _rc(0x80094012),
            "denied",
            14,
            "0x80094012",
            "CERTSRV_E_TEMPLATE_DENIED",
            "Denied by Policy Module: The permissions on the certificate template do not allow the current user to "
            "enroll for this type of certificate.",
        ),
        (
            "certreq_submit_unsupported_template.txt",
            _rc(0x80094800),
            "denied",
            15,
            "0x80094800",
            "CERTSRV_E_UNSUPPORTED_CERT_TYPE",
            "Denied by Policy Module: The request was for a certificate template that is not supported by the Active "
            "Directory Certificate Services policy: XProtectServr.",
        ),
        (
            "certreq_submit_rpc_unavailable.txt",
            _rc(0x800706BA),
            "failed",
            None,
            "0x800706ba",
            "RPC_S_SERVER_UNAVAILABLE",
            "The RPC server is unavailable.",
        ),
        ("certreq_retrieve_pending.txt", 0, "pending", None, None, None, "Taken Under Submission"),
        ("certreq_retrieve_issued.txt", 0, "issued", None, None, None, None),
        (
            "certreq_retrieve_admin_denied.txt",
            _rc(0x80094014),
            "denied",
            None,
            "0x80094014",
            "CERTSRV_E_ADMIN_DENIED_REQUEST",
            "Denied by Policy Module: The request was denied by a certificate manager or CA administrator.",
        ),
    ],
)
def test_certreq_answers_are_parsed_by_their_disposition(name, rc, kind, request_id, hresult, code_name, message):
    answer = _adcs.parse_answer(fixture(name), rc)
    assert answer == _adcs.Disposition(kind, request_id, message, hresult, code_name)
    # The disposition decides, not the exit code: the same text with exit 0 (or LF line ends) reads the same.
    assert _adcs.parse_answer(fixture(name, crlf=False), 0).kind == kind


def test_an_answer_with_no_disposition_is_a_failure_with_what_was_printed_or_the_exit_code():
    assert _adcs.parse_answer("", _rc(0x80070005)) == _adcs.Disposition(
        "failed", None, None, "0x80070005", "E_ACCESSDENIED"
    )
    odd = _adcs.parse_answer("Something certreq never prints\r\n", 1)
    assert odd.kind == "failed" and odd.message == "Something certreq never prints"


def test_errors_name_host_ca_template_the_cas_message_and_what_to_do():
    answer = _adcs.parse_answer(fixture("certreq_submit_denied_template.txt"))
    text = _adcs.explain(answer, "rs01.example.com", CONFIG, "XProtectServer")
    assert text.startswith(
        f"rs01.example.com: the certificate request 14 to the enterprise CA {CONFIG} (template XProtectServer) was "
        "denied (certreq -submit): Denied by Policy Module: The permissions on the certificate template"
    )
    assert "(0x80094012 CERTSRV_E_TEMPLATE_DENIED). The template's permissions" in text and "Enroll" in text
    rpc = _adcs.explain(_adcs.parse_answer(fixture("certreq_submit_rpc_unavailable.txt")), "rs01", CONFIG, "T")
    assert f"the certificate request to the enterprise CA {CONFIG} (template T) failed (certreq -submit)" in rpc
    assert "certutil -ping -config <config>" in rpc
    unknown = _adcs.explain(_adcs.Disposition("failed", None, None, "0x8000ffff", None), "rs01", CONFIG, "T")
    assert "0x8000ffff" in unknown and "by hand" in unknown


@pytest.mark.parametrize(
    "value", [CONFIG, "ca01\\Example CA", "CA-01.corp.example.com\\Corp Issuing CA 2", " ca01.example.com\\X "]
)
def test_config_strings_that_are_accepted(value):
    assert _adcs.check_config(value) == value.strip()


@pytest.mark.parametrize(
    "value",
    [
        "",
        None,
        "ca01.example.com",
        "\\Example CA",
        "ca01.example.com\\",
        "ca01.example.com\\Example\\CA",
        'ca01.example.com\\Ex"ample',
        "ca 01.example.com\\Example CA",
        "-ca01.example.com\\Example CA",
        "ca01.example.com\\" + "x" * 65,
        "https://ca01.example.com/certsrv",
    ],
)
def test_config_strings_that_are_refused_name_the_option_and_the_form(value):
    with pytest.raises(XProtectError, match=r"^adcs_config: .* is not a CA configuration string\. Give it as <CA"):
        _adcs.check_config(value)


@pytest.mark.parametrize("value", ["WebServer", "XProtect Server", "Web_Server-2.0"])
def test_template_names_that_are_accepted(value):
    assert _adcs.check_template(value) == value


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("", "template name is empty"),
        (None, "template name is empty"),
        ("  ", "template name is empty"),
        ("CertificateTemplate:WebServer", "not a certificate template name"),
        ('Web"Server', "not a certificate template name"),
        ("Web\nServer", "not a certificate template name"),
        ("x" * 65, "not a certificate template name"),
    ],
)
def test_template_names_that_are_refused(value, match):
    with pytest.raises(XProtectError, match=rf"^adcs_template: .*{match}"):
        _adcs.check_template(value)


def test_command_lines():
    assert _adcs.submit_argv(CONFIG, "WebServer", "C:\\t\\r.csr", "C:\\t\\r.cer") == [
        "certreq.exe",
        "-submit",
        "-q",
        "-f",
        "-config",
        CONFIG,
        "-attrib",
        "CertificateTemplate:WebServer",
        "C:\\t\\r.csr",
        "C:\\t\\r.cer",
    ]
    assert _adcs.retrieve_argv(CONFIG, 13, "C:\\t\\r.cer") == [
        "certreq.exe",
        "-retrieve",
        "-q",
        "-f",
        "-config",
        CONFIG,
        "13",
        "C:\\t\\r.cer",
    ]


def test_the_record_of_a_waiting_request_reads_back_and_a_damaged_one_is_ignored():
    text = _adcs.state_record(13, CONFIG, "WebServer", TP, "2026-12-02T12:00:00Z")
    assert _adcs.read_state(text) == {
        "kind": _adcs.STATE_KIND,
        "request_id": 13,
        "config": CONFIG,
        "template": "WebServer",
        "pending_thumbprint": TP,
        "submitted": "2026-12-02T12:00:00Z",
    }
    assert "key" not in text.lower().replace("kind", "")
    for damaged in (None, "", "{", "[]", '{"kind": "other"}', text.replace('"request_id": 13', '"request_id": "x"')):
        assert _adcs.read_state(damaged) is None


def test_a_waiting_request_is_retrieved_never_sent_again_and_a_stale_one_abandoned():
    state = _adcs.read_state(_adcs.state_record(13, CONFIG, "WebServer", TP, "t"))
    assert _adcs.next_step(None, CONFIG, "WebServer", [TP]) == "submit"
    assert _adcs.next_step(state, CONFIG.upper(), "webserver", [TP.lower()]) == "retrieve"
    assert _adcs.next_step(state, CONFIG, "WebServer", []) == "abandon", "its key is gone"
    assert _adcs.next_step(state, "ca02.example.com\\Other CA", "WebServer", [TP]) == "abandon"
    assert _adcs.next_step(state, CONFIG, "OtherTemplate", [TP]) == "abandon"


def test_the_waiting_message_names_host_request_ca_and_template_and_what_to_do():
    text = _adcs.waiting_message("rs01.example.com", 13, CONFIG, "WebServer")
    assert text.startswith(
        f"rs01.example.com: certificate request 13 waits for a CA manager's approval at {CONFIG} (template WebServer)."
    )
    assert "certreq -retrieve" in text and "Nothing is switched" in text
