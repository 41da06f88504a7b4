# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""preflight against a scripted management server: the three reads of the rollout's preflight in
one task, each in check mode and returned as its own module returns it."""

from __future__ import annotations

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import pki, report
from ansible_collections.xprotect.encryption.plugins.plugin_utils.adapter import AdapterError, HostUnreachable

from .conftest import BINDING_9000, FQDN, MS_CONFIG, SERVER_CONFIG, Host, RunResult, bound, entry, ok

GUID = "84430eb7-847c-422d-aa00-7915cd0d7a65"
LISTING = f"Found 'Server certificate' group with ID = {GUID}\r\n"
READER = "NT AUTHORITY\\NETWORK SERVICE"


@pytest.fixture(scope="module")
def issued(site_ca):
    key = pki.generate_key(2048)
    return pki.issue_certificate(site_ca, key.public_key(), FQDN, pki.host_names(FQDN), (), days=400)


def server(issued, site_ca, cls=Host, **kw):
    return cls(
        files={MS_CONFIG: SERVER_CONFIG},
        registry={BINDING_9000: bound(pki.thumbprint(issued))},
        stores={"My": [entry(issued)], "Root": kw.pop("root", [entry(site_ca.cert)])},
        runs=kw.pop("runs", [ok(LISTING)]),
        **kw,
    )


def args(ca_dir, **over):
    ca = {"path": str(ca_dir)}
    return {
        "certificate": {"verify_key_access": True, "key_readers": [READER], "ca": ca},
        "trust": {"ca": ca},
        "configurator": {"certificate_groups": True},
        **over,
    }


def test_a_ready_server_is_read_three_ways_in_one_task_with_no_finding(run_action, ca_dir, site_ca, issued):
    host = server(issued, site_ca)
    result = run_action("preflight", args(ca_dir), host)
    assert result["changed"] is False and not result.get("failed") and not result.get("unreachable")
    assert result["certificate"]["thumbprint"] == pki.thumbprint(issued)
    assert result["certificate"]["key_readers"] == [READER]
    assert result["trust"]["thumbprint"] == site_ca.thumbprint and result["trust"]["changed"] is False
    assert result["configurator"]["xprotect"]["server_configurator"]["group_ids"] == {"server": GUID}
    assert report.preflight_findings(result["certificate"], result["trust"], result["configurator"]) == []


def test_the_certificate_and_the_trust_are_read_in_check_mode_whatever_the_play_s_mode(
    run_action, ca_dir, site_ca, issued
):
    # Outside check mode: a CA missing from Root and a key the service cannot read are findings, not changes.
    host = server(issued, site_ca, root=[], unreadable_keys=[READER])
    given = args(ca_dir)
    result = run_action("preflight", given, host, check=False)
    assert host.imported == [] and [g[2] for g in host.grants] == [True]  # the grant only checked
    findings = report.preflight_findings(result["certificate"], result["trust"], result["configurator"])
    assert any(f.startswith("certificate: private key not readable by") for f in findings)
    assert any(f.startswith("trust: ") for f in findings)


@pytest.mark.parametrize("check", [False, True])
def test_a_stale_configurator_is_ended_as_the_switch_would_only_outside_check_mode(
    run_action, ca_dir, site_ca, issued, check
):
    # xprotect_stop_stale_configurator: the listing runs in the task's mode, not forced to check mode.
    runs = [RunResult(-4, "", ""), ok(), ok(LISTING)] if not check else [RunResult(-4, "", "")]
    host = server(issued, site_ca, runs=runs)
    given = args(ca_dir, configurator={"certificate_groups": True, "stop_stale_configurator": True})
    result = run_action("preflight", given, host, check=check)
    configurator = result["configurator"]["xprotect"]["server_configurator"]
    assert result["changed"] is (not check) and result["configurator"]["changed"] is (not check)
    if check:
        assert configurator["usable"] is False and host.argvs[-1][1:] == ["/listcertificategroups"]
    else:
        assert configurator["stale_instance_ended"] is True and configurator["group_ids"] == {"server": GUID}
        assert ["taskkill.exe", "/F", "/IM", "ServerConfigurator.exe"] in host.argvs


def test_a_client_is_read_for_trust_only(run_action, ca_dir, site_ca, issued):
    host = server(issued, site_ca)
    result = run_action("preflight", args(ca_dir, server=False), host)
    assert result["certificate"]["skipped"] is True and result["configurator"]["skipped"] is True
    assert result["trust"]["thumbprint"] == site_ca.thumbprint
    assert host.call_log == ["list_certificates"] and host.argvs == []
    assert report.preflight_findings(result["certificate"], result["trust"], result["configurator"]) == []


def test_a_read_that_fails_is_a_finding_and_the_task_does_not_fail(run_action, ca_dir, site_ca, issued):
    class RootUnreadable(Host):
        def _list_certificates(self, store):
            if store == "Root":
                raise AdapterError("win_certificate_info failed: access denied")
            return super()._list_certificates(store)

    result = run_action("preflight", args(ca_dir), server(issued, site_ca, cls=RootUnreadable))
    assert not result.get("failed") and result["trust"]["failed"] is True
    assert result["certificate"].get("failed") is not True
    findings = report.preflight_findings(result["certificate"], result["trust"], result["configurator"])
    assert "trust: win_certificate_info failed: access denied" in findings


def test_a_host_that_does_not_answer_is_asked_once_and_the_task_is_unreachable(run_action, ca_dir, site_ca, issued):
    class Gone(Host):
        def _list_certificates(self, store):
            raise HostUnreachable(f"{FQDN}: the host did not answer (WinRM connection refused)")

    host = server(issued, site_ca, cls=Gone)
    result = run_action("preflight", args(ca_dir), host)
    assert result["unreachable"] is True and "did not answer" in result["msg"]
    assert all(result[k]["unreachable"] is True for k in ("certificate", "trust", "configurator"))
    assert host.call_log == ["list_certificates"] and host.argvs == []
    assert report.was_unreachable({"xprotect_pf": result})


def test_an_option_a_read_refuses_fails_that_read_and_names_the_option(run_action, ca_dir, site_ca, issued):
    bad = args(ca_dir, certificate={"renew_before": -3, "ca": {"path": str(ca_dir)}}, configurator={"colour": 1})
    result = run_action("preflight", bad, server(issued, site_ca))
    assert not result.get("failed")
    assert result["certificate"]["failed"] is True and "renew_before" in result["certificate"]["msg"]
    assert result["configurator"]["failed"] is True and "colour" in result["configurator"]["msg"]
    assert result["trust"].get("failed") is not True


def test_the_task_itself_refuses_a_missing_trust_read(run_action, ca_dir, site_ca, issued):
    result = run_action("preflight", {"certificate": {}}, server(issued, site_ca))
    assert result["failed"] is True and "trust" in result["msg"]
