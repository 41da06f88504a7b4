# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""xprotect_info against a scripted management server: services, Server Configurator (and its
group IDs when asked), the encryption state, the certificates in My and the CA in Root - read
only, in check mode as outside it."""

from __future__ import annotations

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import pki

from .conftest import BINDING_9000, FQDN, MS_CONFIG, SERVER_CONFIG, Host, RunResult, bound, entry, ok

GUID = "84430eb7-847c-422d-aa00-7915cd0d7a65"
LISTING = f"Found 'Server certificate' group with ID = {GUID}\r\n"


@pytest.fixture(scope="module")
def issued(site_ca):
    key = pki.generate_key(2048)
    return pki.issue_certificate(site_ca, key.public_key(), FQDN, pki.host_names(FQDN), (), days=100)


def management_server(issued, site_ca, runs=()):
    return Host(
        files={MS_CONFIG: SERVER_CONFIG},
        registry={BINDING_9000: bound(pki.thumbprint(issued))},
        stores={"My": [entry(issued), entry(site_ca.cert)], "Root": [entry(site_ca.cert)]},
        runs=runs,
    )


@pytest.mark.parametrize("check", [False, True])
def test_the_facts_of_a_management_server(run_action, site_ca, issued, check):
    host = management_server(issued, site_ca)
    result = run_action("xprotect_info", {"ca": {"cert_content": site_ca.cert_pem}}, host, check=check)
    info = result["xprotect"]
    assert result["changed"] is False and result["ansible_facts"] == {"xprotect": info}
    assert info["roles"] == ["management"] and info["fqdn"] == FQDN
    assert info["components"][0]["version"] == "24.2.0.1"
    assert info["server_configurator"]["usable"] is True and "group_ids" not in info["server_configurator"]
    assert info["encryption"] == {"Server certificate": pki.thumbprint(issued)} and info["override"] is None
    # The CA in My (a PFX that carried its chain) is listed apart, with the reason.
    assert [c["thumbprint"] for c in info["certificates"]] == [pki.thumbprint(issued)]
    assert [c["thumbprint"] for c in info["other_certificates"]] == [site_ca.thumbprint]
    assert info["ca"] == {"thumbprint": site_ca.thumbprint, "trusted": True}
    assert host.argvs == []  # nothing run without certificate_groups


def test_certificate_groups_lists_the_ids_for_the_switch(run_action, site_ca, issued):
    host = management_server(issued, site_ca, runs=[ok(LISTING)])
    info = run_action("xprotect_info", {"certificate_groups": True}, host, check=True)["xprotect"]
    assert info["server_configurator"]["group_ids"] == {"server": GUID}
    assert host.argvs[0][1:] == ["/listcertificategroups"]
    assert "ca" not in info  # no CA given: nothing to say about it


def test_a_listing_that_fails_makes_the_configurator_unusable_not_the_task(run_action, site_ca, issued):
    host = management_server(issued, site_ca, runs=[RunResult(-4, "", "")])
    result = run_action("xprotect_info", {"certificate_groups": True}, host, check=True)
    assert not result.get("failed") and result["changed"] is False
    configurator = result["xprotect"]["server_configurator"]
    assert configurator["usable"] is False and "-4" in configurator["error"]


def test_a_stale_instance_ended_on_request_is_a_change(run_action, site_ca, issued):
    host = management_server(issued, site_ca, runs=[RunResult(-4, "", ""), ok(), ok(LISTING)])
    result = run_action("xprotect_info", {"certificate_groups": True, "stop_stale_configurator": True}, host)
    assert result["changed"] is True and result["xprotect"]["server_configurator"]["stale_instance_ended"] is True
    assert host.argvs[1] == ["taskkill.exe", "/F", "/IM", "ServerConfigurator.exe"]


def test_the_override_markers_given_are_what_is_looked_for(run_action, site_ca, issued):
    host = management_server(issued, site_ca)
    info = run_action("xprotect_info", {"override_markers": ["<Port>9000</Port>"]}, host)["xprotect"]
    assert info["override"] and "9000" in info["override"]


def test_an_unreadable_state_is_reported_not_failed(run_action, site_ca, issued):
    host = management_server(issued, site_ca)
    del host.files[MS_CONFIG]
    result = run_action("xprotect_info", {}, host)
    assert (
        not result.get("failed")
        and "cannot read the XProtect management configuration" in result["xprotect"]["encryption_error"]
    )
