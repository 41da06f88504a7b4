# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's enterprise CA answers certreq -submit / -retrieve in the shapes of the reconstructed
outputs the parser is tested on, with the HRESULT as exit code, and keeps its database."""

from __future__ import annotations

import pathlib
import re

import pytest
from lab_helpers import MS, RS, TEMP, adapter

from ansible_collections.xprotect.encryption.plugins.module_utils import _adcs, _certreq
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import adcs, faults, model, site

CONFIG = "ca01.lab.xprotect.test\\LAB Enterprise Root CA"
FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "test_data" / "windows"


@pytest.fixture
def ca_site(tmp_path):
    path = str(tmp_path / "site")
    site.ensure_site(
        path,
        hosts=[{"name": MS, "roles": ["management"]}, {"name": RS, "roles": ["recording"]}],
        port_offset=0,
        settings={"adcs_enterprise_ca": True, "adcs_pending_approval": False},
    )
    return model.Site(path)


def _csr(lab_site):
    a = adapter(lab_site, RS)
    a.write_file(TEMP + "\\r.inf", _certreq.certreq_inf(RS, [RS, "rs001"]))
    assert a.run(_certreq.certreq_new_argv(TEMP + "\\r.inf", TEMP + "\\r.csr")).rc == 0
    return a


def _shape(text):
    return re.sub(r"\d+", "N", text.replace("\r\n", "\n"))


@pytest.mark.parametrize(
    ("template", "fixture", "rc"),
    [
        ("XProtectServer", "certreq_submit_issued.txt", 0),
        ("XProtectDenied", "certreq_submit_denied_template.txt", 0x80094012 - (1 << 32)),
    ],
)
def test_submit_answers_in_the_shape_of_the_reconstructed_outputs(ca_site, template, fixture, rc):
    a = _csr(ca_site)
    res = a.run(_adcs.submit_argv(CONFIG, template, TEMP + "\\r.csr", TEMP + "\\r.cer"))
    assert res.rc == rc and res.stdout.endswith("\r\n")
    assert _shape(res.stdout) == _shape((FIXTURES / fixture).read_text())
    assert _adcs.parse_answer(res.stdout, res.rc).kind == ("issued" if rc == 0 else "denied")


def test_an_unknown_config_is_an_unreachable_ca_and_no_request_is_recorded(ca_site):
    a = _csr(ca_site)
    res = a.run(
        _adcs.submit_argv("ca02.lab.xprotect.test\\Nobody", "XProtectServer", TEMP + "\\r.csr", TEMP + "\\x.cer")
    )
    assert res.rc == 0x800706BA - (1 << 32)
    assert res.stdout == (FIXTURES / "certreq_submit_rpc_unavailable.txt").read_text().replace("\n", "\r\n")
    assert adcs.requests(ca_site) == {}


def test_a_waiting_request_is_retrieved_after_approval_and_bad_command_lines_are_refused(ca_site):
    spec = model.read_json(ca_site.site_json)
    site.ensure_site(ca_site.path, settings=dict(spec["settings"], adcs_pending_approval=True))
    lab_site = model.Site(ca_site.path)
    a = _csr(lab_site)
    res = a.run(_adcs.submit_argv(CONFIG, "XProtectServer", TEMP + "\\r.csr", TEMP + "\\r.cer"))
    answer = _adcs.parse_answer(res.stdout, res.rc)
    assert answer.kind == "pending" and _shape(res.stdout) == _shape(
        (FIXTURES / "certreq_submit_pending.txt").read_text()
    )
    retrieve = _adcs.retrieve_argv(CONFIG, answer.request_id, TEMP + "\\r.cer")
    assert _adcs.parse_answer(a.run(retrieve).stdout).kind == "pending"
    assert faults.inject(lab_site, RS, "adcs_approve")["changed"] is True
    res = a.run(retrieve)
    assert res.rc == 0 and res.stdout == "Certificate retrieved(Issued) Issued\r\n"
    assert "BEGIN CERTIFICATE" in a.read_file(TEMP + "\\r.cer")
    assert a.run(["certreq.exe", "-submit", "-config"]).rc == 0x80070057 - (1 << 32)
    assert a.run(["certreq.exe", "-retrieve", "-config", CONFIG, "x", TEMP + "\\r.cer"]).rc == 0x80070057 - (1 << 32)
