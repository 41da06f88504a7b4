# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The server_certificates backend without AnsibleModule: hosts, the keep-or-issue decision."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import pki, reissue
from ansible_collections.xprotect.encryption.plugins.module_utils._backends import server_certificates as backend

FQDN = "rs01.vms.example.com"


def params(**kw) -> dict:
    base = {"path": "/srv/pfx", "hosts": [{"name": FQDN}], "renew_before": 30, "key_size": 2048, "force": False}
    base.update(kw)
    return base


@pytest.fixture(scope="module")
def host():
    return backend.parse_hosts(params())[0]


@pytest.fixture(scope="module")
def issued(site_ca, server_key):
    now = pki.utcnow()
    return pki.issue_certificate(site_ca, server_key.public_key(), FQDN, [FQDN, "rs01"], days=730, now=now), now


def test_hosts_get_their_names_and_files():
    h = backend.parse_hosts(params(hosts=[{"name": FQDN, "dns_names": ["vms"], "ip_addresses": ["10.0.0.5"]}]))[0]
    assert h.fqdn == FQDN and h.names == (FQDN, "rs01", "vms") and h.ips == ("10.0.0.5",)
    assert (h.pfx_path, h.crt_path) == (f"/srv/pfx/{FQDN}.pfx", f"/srv/pfx/{FQDN}.crt")


@pytest.mark.parametrize(
    ("hosts", "words"),
    [
        ([{"name": FQDN}, {"name": FQDN.upper()}], f"hosts[1]: {FQDN} is listed twice"),
        ([{"name": FQDN, "ip_addresses": ["10.0.0.999"]}], f"hosts[0] ({FQDN}): "),
        ([{"name": "10.0.0.1"}], "hosts[0] (10.0.0.1): "),
    ],
)
def test_a_bad_host_is_refused_naming_hosts_and_its_index(hosts, words):
    with pytest.raises(pki.PkiError) as e:
        backend.parse_hosts(params(hosts=hosts))
    assert e.value.option == "hosts" and words in str(e.value)


def test_no_certificate_issues(host, site_ca):
    decision = backend.decide(host, None, None, ca_cert=site_ca.cert, now=pki.utcnow(), p=params())
    assert decision.needs_issue and decision.reasons == (reissue.REASON_MISSING,)


def test_a_good_certificate_with_its_pfx_is_kept(host, site_ca, issued):
    cert, now = issued
    decision = backend.decide(host, cert, None, ca_cert=site_ca.cert, now=now, p=params())
    assert not decision.needs_issue and decision.cert is cert


def test_a_pfx_problem_is_the_reason_instead_of_no_key(host, site_ca, issued):
    cert, now = issued
    problem = f"{FQDN}.pfx is missing"
    decision = backend.decide(host, cert, problem, ca_cert=site_ca.cert, now=now, p=params())
    assert decision.reasons == (problem,)


def test_force_issues_a_certificate_that_would_be_kept(host, site_ca, issued):
    cert, now = issued
    decision = backend.decide(host, cert, None, ca_cert=site_ca.cert, now=now, p=params(force=True))
    assert decision.reasons == ("force: true",)


def test_expiry_names_and_key_size_give_their_reasons(host, site_ca, issued, other_ca):
    cert, now = issued
    late = now + datetime.timedelta(days=720)
    assert backend.decide(host, cert, None, ca_cert=site_ca.cert, now=late, p=params()).reasons == (
        "certificate expires in 10 days (renew_before 30)",
    )
    aliased = backend.parse_hosts(params(hosts=[{"name": FQDN, "dns_names": ["vms.example.com"]}]))[0]
    assert any(
        "vms.example.com" in r
        for r in backend.decide(aliased, cert, None, ca_cert=site_ca.cert, now=now, p=params()).reasons
    )
    assert backend.decide(host, cert, None, ca_cert=site_ca.cert, now=now, p=params(key_size=3072)).needs_issue
    assert backend.decide(host, cert, None, ca_cert=other_ca.cert, now=now, p=params()).needs_issue


@pytest.mark.parametrize(("args", "option"), [({"pfx_passphrase": ""}, "pfx_passphrase"), ({}, "path")])
def test_the_value_checks_name_their_option(tmp_path, args, option):
    (tmp_path / "file").write_text("x")
    with pytest.raises(pki.PkiError) as e:
        backend.check_options(params(**{"path": str(tmp_path / "file"), "pfx_passphrase": "pw", **args}))
    assert e.value.option == option
    backend.check_options(params(path=str(tmp_path / "new"), pfx_passphrase="pw"))
