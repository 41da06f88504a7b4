"""The inventory check: does the inventory cover every server the management server knows?"""

from __future__ import annotations

import pytest

from ansible_collections.xprotect.encryption.plugins.filter.coverage import inventory_coverage
from ansible_collections.xprotect.encryption.plugins.module_utils import coverage as cov

RS, FO = cov.KIND_RECORDING, cov.KIND_FAILOVER


def server(host, kind=RS, name=None, enabled=True):
    return {"host": host, "kind": kind, "name": name or host.split(".")[0].upper(), "enabled": enabled}


def inventory(**groups):
    """groups: name -> {host: hostvars}; returns (groups, names) as the filter builds them."""
    members = {g: list(hosts) for g, hosts in groups.items()}
    hostvars = {}
    for hosts in groups.values():
        for host, hv in hosts.items():
            hostvars.setdefault(host, {}).update(hv or {})
    return members, {h: cov.host_names(h, hv) for h, hv in hostvars.items()}


@pytest.mark.parametrize(
    "left, right, same",
    [
        ("rs01.example.com", "RS01.Example.COM.", True),
        ("rs01", "rs01.example.com", True),  # a short name in webServerUri, an FQDN in the inventory
        ("RS01.example.com", "rs01", True),
        ("rs01.a.example.com", "rs01.b.example.com", False),  # two FQDNs: two servers
        ("rs01", "rs010.example.com", False),
        ("rs1", "rs01", False),
        ("10.0.0.5", "10.0.0.5", True),
        ("10.0.0.5", "10", False),  # an address is never matched by its first part
        ("10", "10.0.0.5", False),
        ("", "rs01", False),
        (None, None, False),
    ],
)
def test_names_match(left, right, same):
    assert cov.names_match(left, right) is same
    # The rule is symmetric.
    first, second = right, left
    assert cov.names_match(first, second) is same


def test_host_names_take_fqdn_aliases_and_address():
    names = cov.host_names(
        "RS01", {"xprotect_fqdn": "rs01.example.com", "xprotect_dns_names": ["cam-rec-1"], "ansible_host": "10.1.1.1"}
    )
    assert names == ["rs01", "rs01.example.com", "10.1.1.1", "cam-rec-1"]
    assert cov.host_names("x", {"xprotect_dns_names": "alias"}) == ["x", "alias"]


def test_every_server_covered_is_ok():
    groups, names = inventory(
        xprotect_management_servers={"ms.example.com": {}},
        xprotect_recording_servers={"rs01.example.com": {}, "RS02": {"xprotect_fqdn": "rs02.example.com"}},
        xprotect_failover_servers={"fo01.example.com": {}},
    )
    servers = [server("rs01.example.com"), server("rs02.example.com"), server("fo01", FO)]
    out = cov.check_coverage(servers, groups, names, [], ["ms.example.com"])
    assert out["ok"] and not out["missing"] and out["message"] == ""
    assert [r["inventory"] for r in out["rows"]] == [
        "in xprotect_recording_servers as rs01.example.com",
        "in xprotect_recording_servers as RS02",
        "in xprotect_failover_servers as fo01.example.com",
    ]


def test_wrong_group_name_names_the_missing_servers_and_the_group():
    # recording_servers: instead of xprotect_recording_servers.
    groups, names = inventory(
        xprotect_management_servers={"ms.example.com": {}},
        recording_servers={"rs01.example.com": {}, "rs02.example.com": {}},
    )
    out = cov.check_coverage([server("rs01.example.com"), server("rs02.example.com")], groups, names)
    assert not out["ok"]
    assert [m["server"] for m in out["missing"]] == ["rs01.example.com", "rs02.example.com"]
    assert out["missing"][0]["in_groups"] == ["recording_servers"]
    assert out["empty_groups"] == ["xprotect_recording_servers"]
    msg = out["message"]
    assert "not in group xprotect_recording_servers: rs01.example.com, rs02.example.com" in msg
    assert "group xprotect_recording_servers is empty" in msg
    assert "rename it to xprotect_recording_servers" in msg and "recording_servers" in msg
    assert "Nothing was switched" in msg and "xprotect_inventory_exclude" in msg
    assert out["rows"][0]["inventory"] == "MISSING from xprotect_recording_servers (it is in recording_servers)"


def test_one_server_missing_then_excluded_by_name():
    groups, names = inventory(
        xprotect_management_servers={"ms": {}}, xprotect_recording_servers={"rs01.example.com": {}}
    )
    servers = [server("rs01.example.com"), server("rs02.example.com", name="Recorder 2")]
    out = cov.check_coverage(servers, groups, names)
    assert not out["ok"] and [m["server"] for m in out["missing"]] == ["rs02.example.com"]
    assert "rs01" not in out["message"]
    for entry in ("RS02.example.com", "rs02", "Recorder 2"):
        out = cov.check_coverage(servers, groups, names, [entry, "rs99.example.com"])
        assert out["ok"], entry
        assert [e["server"] for e in out["excluded"]] == ["rs02.example.com"]
        assert out["unknown_exclusions"] == ["rs99.example.com"]
        assert out["rows"][1]["inventory"] == f"excluded (xprotect_inventory_exclude: {entry})"


def test_a_different_fqdn_does_not_cover_a_server():
    groups, names = inventory(
        xprotect_management_servers={"ms": {}}, xprotect_recording_servers={"rs01.other.example": {}}
    )
    out = cov.check_coverage([server("rs01.example.com")], groups, names)
    assert not out["ok"]


def test_empty_management_group_and_disabled_servers():
    groups, names = inventory(xprotect_recording_servers={"rs01": {}})
    out = cov.check_coverage([server("rs01"), server("rs02", enabled=False)], groups, names)
    assert out["empty_groups"] == ["xprotect_management_servers"] and not out["ok"]
    assert [d["server"] for d in out["disabled"]] == ["rs02"] and not out["missing"]
    assert "group xprotect_management_servers is empty" in out["message"]


def test_failover_group_may_be_empty_only_without_failover_servers():
    groups, names = inventory(xprotect_management_servers={"ms": {}}, xprotect_recording_servers={"rs01": {}})
    assert cov.check_coverage([server("rs01")], groups, names)["ok"]
    out = cov.check_coverage([server("rs01"), server("fo1", FO)], groups, names)
    assert out["empty_groups"] == ["xprotect_failover_servers"]
    assert "failover recording servers that are not in group xprotect_failover_servers: fo1" in out["message"]


def test_a_server_in_another_role_group_is_missing():
    groups, names = inventory(
        xprotect_management_servers={"ms": {}},
        xprotect_recording_servers={"rs01": {}},
        xprotect_mobile_servers={"fo1": {}},
    )
    out = cov.check_coverage([server("rs01"), server("fo1", FO)], groups, names)
    assert out["missing"][0]["in_groups"] == ["xprotect_mobile_servers"]


def test_the_api_of_another_site_is_refused():
    groups, names = inventory(
        xprotect_management_servers={"ms.example.com": {"ansible_host": "10.0.0.1"}},
        xprotect_recording_servers={"rs01": {}},
    )
    assert cov.check_coverage([server("rs01")], groups, names, [], ["10.0.0.1"])["ok"]
    out = cov.check_coverage([server("rs01")], groups, names, [], ["ms.other.example", "10.9.9.9"])
    assert not out["ok"] and not out["management_found"]
    assert "not the management server of the inventory (ms.example.com)" in out["message"]


def test_near_groups():
    found = cov.near_groups("xprotect_recording_servers", ["recording_servers", "recording-servers", "web", "all"])
    assert found == ["recording-servers", "recording_servers"]
    assert cov.near_groups("xprotect_clients", ["clients", "client"]) == ["client", "clients"]


def test_filter_reads_hostvars_of_every_host():
    hostvars = {"ms": {"ansible_host": "127.0.0.2"}, "RS01": {"xprotect_fqdn": "rs01.lab"}}
    groups = {"all": ["ms", "RS01"], "xprotect_management_servers": ["ms"], "xprotect_recording_servers": ["RS01"]}
    site = {"servers": [server("rs01.lab")], "management": ["127.0.0.2"]}
    out = inventory_coverage(site, groups, hostvars, None)
    assert out["ok"] and out["covered"][0]["inventory_host"] == "RS01"
