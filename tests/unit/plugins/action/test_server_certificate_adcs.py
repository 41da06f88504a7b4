# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""server_certificate with key_source: adcs, and trusted_ca with install: false, on lab hosts whose
certreq reaches the lab's enterprise CA (plugins/plugin_utils/_lab/adcs.py): issued at once, a
request that waits for a CA manager (never sent twice, fetched once approved), denied and failed
requests (nothing left behind), and every bad input refused before the host is touched."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ansible_collections.xprotect.encryption.plugins.module_utils import _adcs, pki
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import adcs, certs, faults, model, site
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab.adapter import LabAdapter

from .conftest import Host, entry, ok

MS = "mgmt01.lab.xprotect.test"
RS = "rs001.lab.xprotect.test"
CONFIG = "ca01.lab.xprotect.test\\LAB Enterprise Root CA"
GOOD, DENIED = "XProtectServer", "XProtectDenied"


def make_site(tmp_path, **settings):
    path = str(tmp_path / "site")
    site.ensure_site(
        path,
        hosts=[{"name": MS, "roles": ["management"]}, {"name": RS, "roles": ["recording"]}],
        port_offset=0,
        settings={"adcs_enterprise_ca": True, **settings},
    )
    return model.Site(path)


@pytest.fixture
def lab(tmp_path):
    return make_site(tmp_path)


@pytest.fixture
def waiting_lab(tmp_path):
    return make_site(tmp_path, adcs_pending_approval=True)


def args(lab_site, **kw):
    with open(adcs.ca_cert_path(lab_site), encoding="ascii") as fh:
        root = fh.read()
    base = {"fqdn": RS, "key_source": "adcs", "adcs_config": CONFIG, "adcs_template": GOOD, "ca_cert_content": root}
    return {**base, **kw}


def issue(run_action, lab_site, host=RS, check=False, **kw):
    return run_action("server_certificate", args(lab_site, **kw), LabAdapter(lab_site.path, host), check=check)


def store(lab_site, name, host=RS):
    return model.store(lab_site.read_state(host), name)


def state_file(lab_site, host=RS):
    return lab_site.host_path(host, _adcs.STATE_FILE)


def test_issued_at_once_installs_a_certificate_of_the_enterprise_ca_then_keeps_it(run_action, lab):
    first = issue(run_action, lab)
    assert first.get("failed") is not True, first.get("msg")
    assert first["changed"] is True and first["pending"] is False and first["adcs"]["state"] == "issued"
    mine = [e for e in store(lab, "My") if e["thumbprint"] == first["thumbprint"]]
    assert mine and mine[0]["key"], "the certificate is in My with the key born on the host"
    cert = pki.load_certificate(mine[0]["pem"].encode())
    root = pki.load_certificate(open(adcs.ca_cert_path(lab), "rb").read())
    assert pki.verify_issued_by(cert, root) and not pki.is_self_signed(cert)
    assert store(lab, "REQUEST") == [] and not os.path.exists(state_file(lab))
    assert "NT AUTHORITY\\NETWORK SERVICE" in mine[0]["acl"], "the recording server's account reads the key"
    again = issue(run_action, lab)
    assert again["changed"] is False and again["thumbprint"] == first["thumbprint"]
    assert [r["status"] for r in adcs.requests(lab).values()] == ["issued"], "no second request"


def test_a_request_that_waits_is_recorded_never_sent_twice_and_fetched_once_approved(run_action, waiting_lab):
    lab = waiting_lab
    first = issue(run_action, lab)
    assert first.get("failed") is not True, first.get("msg")
    assert first["pending"] is True and first["changed"] is True and first["adcs"]["state"] == "pending"
    request_id = first["adcs"]["request_id"]
    assert f"certificate request {request_id} waits for a CA manager's approval at {CONFIG}" in first["msg"]
    assert any(RS in w and "approval" in w for w in first["warnings"])
    assert first["waiting"] == f"request {request_id} waits for a CA manager's approval at {CONFIG} (template {GOOD})"
    assert store(lab, "My") == [] and len(store(lab, "REQUEST")) == 1
    with open(state_file(lab), encoding="utf-8") as fh:
        record = _adcs.read_state(fh.read())
    assert record["request_id"] == request_id and record["config"] == CONFIG and record["template"] == GOOD
    # Check mode reads the record and says the same, changing nothing.
    audit = issue(run_action, lab, check=True)
    assert audit["pending"] is True and audit["adcs"]["request_id"] == request_id
    second = issue(run_action, lab)
    assert second["pending"] is True and second["changed"] is False
    assert list(adcs.requests(lab)) == [str(request_id)] and len(store(lab, "REQUEST")) == 1, "no duplicate"
    assert faults.inject(lab, RS, "adcs_approve")["changed"] is True
    third = issue(run_action, lab)
    assert third["changed"] is True and third["pending"] is False and third["adcs"]["request_id"] == request_id
    assert store(lab, "REQUEST") == [] and not os.path.exists(state_file(lab))
    assert issue(run_action, lab)["changed"] is False


def test_a_request_the_ca_manager_denies_fails_the_next_run_and_leaves_no_key(run_action, waiting_lab):
    lab = waiting_lab
    request_id = issue(run_action, lab)["adcs"]["request_id"]
    faults.inject(lab, RS, "adcs_deny")
    result = issue(run_action, lab)
    assert result["failed"] is True and "traceback" not in str(result).lower()
    assert (
        f"{RS}: the certificate request {request_id} to the enterprise CA {CONFIG} (template {GOOD}) was denied"
        in (result["msg"])
    )
    assert "0x80094014 CERTSRV_E_ADMIN_DENIED_REQUEST" in result["msg"] and "was removed" in result["msg"]
    assert store(lab, "REQUEST") == [] and store(lab, "My") == [] and not os.path.exists(state_file(lab))


@pytest.mark.parametrize(
    ("kw", "expect"),
    [
        ({"adcs_template": DENIED}, "0x80094012 CERTSRV_E_TEMPLATE_DENIED"),
        ({"adcs_template": "NoSuchTemplate"}, "0x80094800 CERTSRV_E_UNSUPPORTED_CERT_TYPE"),
        ({"adcs_config": "ca99.lab.xprotect.test\\Nobody CA"}, "0x800706ba RPC_S_SERVER_UNAVAILABLE"),
    ],
    ids=["denied-template", "unknown-template", "unreachable-ca"],
)
def test_denied_and_failed_requests_name_host_ca_and_template_and_leave_nothing(run_action, lab, kw, expect):
    result = issue(run_action, lab, **kw)
    assert result["failed"] is True and "Traceback" not in result["msg"]
    config = kw.get("adcs_config", CONFIG)
    template = kw.get("adcs_template", GOOD)
    assert result["msg"].startswith(f"{RS}: the certificate request")
    assert f"enterprise CA {config} (template {template})" in result["msg"] and expect in result["msg"]
    assert "nothing was installed" in result["msg"]
    assert store(lab, "REQUEST") == [] and store(lab, "My") == [] and not os.path.exists(state_file(lab))


@pytest.mark.parametrize(
    ("kw", "option", "text"),
    [
        ({"adcs_config": "ca01.lab.xprotect.test"}, "adcs_config", "<CA host>\\<CA name>"),
        ({"adcs_config": "\\LAB CA"}, "adcs_config", "not a CA configuration string"),
        ({"adcs_config": None}, "adcs_config", "not a CA configuration string"),
        ({"adcs_template": ""}, "adcs_template", "template name is empty"),
        ({"adcs_template": "   "}, "adcs_template", "template name is empty"),
        ({"adcs_template": "CertificateTemplate:WebServer"}, "adcs_template", "not a certificate template name"),
        ({"key_source": "host"}, "adcs_config", "only read with key_source: adcs"),
    ],
    ids=["no-ca-name", "no-host", "config-missing", "empty-template", "blank-template", "prefixed", "wrong-mode"],
)
def test_bad_inputs_are_refused_before_the_host_is_touched(run_action, lab, kw, option, text):
    result = run_action("server_certificate", args(lab, **kw), LabAdapter(lab.path, RS))
    assert result["failed"] is True and result["option"] == option and text in result["msg"]
    assert result["msg"].startswith(f"{'ms01.example.com'}: {option}:")
    assert "round_trips" not in result


def test_the_trust_step_installs_no_enterprise_root_and_fails_naming_the_host_when_it_is_missing(run_action, tmp_path):
    lab = make_site(tmp_path, adcs_root_by_group_policy=False)
    a = args(lab)
    trust_args = {"ca_cert_content": a["ca_cert_content"], "install": False}
    result = run_action("trusted_ca", trust_args, LabAdapter(lab.path, RS), inventory_hostname=RS)
    assert result["failed"] is True and result["msg"].startswith(f"{RS}: the CA CN=LAB Enterprise Root CA (")
    assert "Group Policy" in result["msg"] and "xprotect_trust_install" in result["msg"]
    root = pki.thumbprint(pki.load_certificate(a["ca_cert_content"].encode()))
    assert root not in [e["thumbprint"] for e in store(lab, "Root")], "nothing was installed"


def test_the_trust_step_with_the_root_already_there_by_group_policy_changes_nothing(run_action, lab):
    trust_args = {"ca_cert_content": args(lab)["ca_cert_content"], "install": False}
    result = run_action("trusted_ca", trust_args, LabAdapter(lab.path, RS), inventory_hostname=RS)
    assert result.get("failed") is not True and result["changed"] is False


def test_a_csr_the_controller_refuses_is_never_sent_and_its_key_is_removed(run_action, lab):
    """A host whose certreq -new asks for another name (a compromised or misconfigured host)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    placeholder = certs.self_signed(key, RS, days=365)
    host = Host()

    def certreq_new(argv):
        host.files[argv[-1]] = certs.make_csr(key, "evil.example.com", ["evil.example.com"])
        host.stores["REQUEST"] = [entry(placeholder, has_key=True)]
        return ok("CertReq: Request Created")

    def remove_with_key(argv):
        host.stores["REQUEST"] = []
        return ok()

    host.runs = [certreq_new, remove_with_key]
    result = run_action("server_certificate", args(lab), host)
    assert result["failed"] is True and "evil.example.com" in result["msg"]
    assert "Nothing was sent to the CA; the pending request and its key were removed." in result["msg"]
    assert not any("-submit" in argv for argv in host.argvs) and host.stores["REQUEST"] == []
    assert "-DeleteKey" in " ".join(host.argvs[-1])
