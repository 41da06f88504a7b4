# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""trusted_ca_info against a scripted host: the CA certificates in Root, ours by name when asked."""

from __future__ import annotations

from .conftest import FQDN, Host, entry


def test_it_lists_the_cas_in_root_with_one_read_and_changes_nothing(run_action, site_ca):
    host = Host(stores={"Root": [entry(site_ca.cert)]})
    result = run_action("trusted_ca_info", {}, host, check=True)
    assert result["changed"] is False and result["fqdn"] == FQDN
    assert [c["thumbprint"] for c in result["certificates"]] == [site_ca.thumbprint]
    assert result["certificates"][0]["self_signed"] is True
    assert host.call_log == ["list_certificates"]


def test_common_names_keep_only_ours_and_blank_names_are_ignored(run_action, site_ca):
    host = Host(stores={"Root": [entry(site_ca.cert)]})
    assert run_action("trusted_ca_info", {"common_names": ["Another CA"]}, host)["certificates"] == []
    found = run_action("trusted_ca_info", {"common_names": ["  ", "Action Test CA"]}, host)["certificates"]
    assert [c["subject"] for c in found] == ["CN=Action Test CA"]


def test_a_host_that_cannot_be_reached_is_unreachable_not_failed(run_action):
    from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import HostUnreachable

    class Gone(Host):
        def _list_certificates(self, store):
            raise HostUnreachable(f"{FQDN}: the host did not answer (WinRM connection refused)")

    result = run_action("trusted_ca_info", {}, Gone())
    assert result["unreachable"] is True and "did not answer" in result["msg"] and not result.get("changed")
