"""The order guard and the phase 4 failure policy."""

from __future__ import annotations

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import order, report

MS, RS1, RS2, FO, MOB, COMBO = "ms.example.com", "rs1.example.com", "rs2.example.com", "fo.example.com", "mob", "combo"
TP = "AB" * 20
CTX = {"inventory": ["/srv/site/inventory.yml"], "playbook_dir": "/srv/pb", "limit": "xprotect_recording_servers"}


def _hv(**extra):
    hv = {
        MS: {
            "group_names": ["xprotect_management_servers"],
            "ansible_host": "127.1.0.1",
            "xprotect_port_offset": 7,
        },
        RS1: {"group_names": ["xprotect_recording_servers"]},
        RS2: {"group_names": ["xprotect_recording_servers"]},
        FO: {"group_names": ["xprotect_failover_servers"]},
        MOB: {"group_names": ["xprotect_mobile_servers"]},
        COMBO: {"group_names": ["xprotect_management_servers", "xprotect_recording_servers"]},
    }
    for host, values in extra.items():
        hv[host.replace("_", ".")].update(values)
    return hv


def _probe(port, **kw):
    return dict({"label": MS, "host": "127.1.0.1", "port": port}, **kw)


ENCRYPTED = [_probe(450, reachable=True, tls=True, verified=True), _probe(87, reachable=False, error="refused")]
PLAIN = [_probe(450, reachable=False, error="connection refused"), _probe(87, reachable=True, tls=False)]
UNTRUSTED = [_probe(450, reachable=True, tls=True, verified=False, verify_error="unknown CA"), PLAIN[1]]
DOWN = [_probe(450, reachable=False, error="timed out"), _probe(87, reachable=False, error="timed out")]


def test_only_recording_and_failover_servers_follow():
    hv = _hv()
    assert order.followers([MS, RS1, FO, MOB, COMBO], hv) == [RS1, FO]
    assert order.guard_endpoints([MS, MOB, COMBO], hv, [MS]) == []
    eps = order.guard_endpoints([RS1], hv, [MS])
    assert [(e["host"], e["port"], e["server_name"], e["label"]) for e in eps] == [
        ("127.1.0.1", 450, MS, MS),
        ("127.1.0.1", 87, MS, MS),
    ]


@pytest.mark.parametrize(
    ("probes", "state"),
    [(ENCRYPTED, "encrypted"), (PLAIN, "plain"), (UNTRUSTED, "untrusted"), (DOWN, "unreachable"), ([], "unreachable")],
)
def test_the_management_server_is_observed_from_its_endpoints(probes, state):
    assert order.observe(MS, _hv(), probes)["state"] == state


def test_enabling_needs_the_management_server_encrypted_and_verified():
    hv = _hv()
    ok = order.guard([RS1, RS2], hv, [MS], ENCRYPTED, "enabled")
    assert ok["ok"] and ok["followers"] == [RS1, RS2]
    refused = order.guard([RS1, RS2], hv, [MS], PLAIN, "enabled", context=CTX)
    assert not refused["ok"]
    msg = refused["message"]
    assert msg.startswith(f"Refusing to enable encryption on {RS1}, {RS2}")
    assert f"{MS} is plain" in msg and "Nothing was switched" in msg
    # The next command is the whole rollout: the --limit that left the management server out is dropped.
    assert "ansible-playbook -i /srv/site/inventory.yml /srv/pb/site.yml" in msg and "--limit" not in msg
    untrusted = order.guard([FO], hv, [MS], UNTRUSTED, "enabled")
    assert not untrusted["ok"] and "unknown CA" in untrusted["message"]
    down = order.guard([FO], hv, [MS], DOWN, "enabled")
    assert not down["ok"] and "reaches neither" in down["message"]


def test_disabling_needs_the_management_server_plain():
    hv = _hv()
    assert order.guard([RS1], hv, [MS], PLAIN, "disabled")["ok"]
    refused = order.guard([RS1], hv, [MS], ENCRYPTED, "disabled", context=CTX)
    assert not refused["ok"]
    assert refused["message"].startswith(f"Refusing to switch encryption off on {RS1}")
    assert "rollback.yml" in refused["message"] and "xprotect_rollback_order" in refused["message"]
    # An unreachable management server is never taken for a plain one.
    assert not order.guard([RS1], hv, [MS], DOWN, "disabled")["ok"]


def test_guard_without_followers_or_without_management_server():
    hv = _hv()
    assert order.guard([MS, MOB], hv, [MS], [], "enabled")["ok"]
    empty = order.guard([RS1], hv, [], [], "enabled")
    assert not empty["ok"] and "xprotect_management_servers holds no host in this job" in empty["message"]
    assert "set xprotect_management_server" in empty["message"]


# An AWX slice: the inventory holds only its share of the hosts (the recording servers rs1, rs2),
# the groups' variables, and so the site variable xprotect_management_server; not the management server.
SITE = {"name": MS, "address": "127.1.0.1", "fqdn": MS, "port_offset": 7}


def test_a_slice_without_the_management_server_observes_the_one_the_site_variable_names():
    sliced = {host: hv for host, hv in _hv().items() if host in (RS1, RS2)}
    eps = order.guard_endpoints([RS1, RS2], sliced, [], SITE)
    assert [(e["host"], e["port"], e["server_name"], e["label"]) for e in eps] == [
        ("127.1.0.1", 450, MS, MS),
        ("127.1.0.1", 87, MS, MS),
    ]
    assert order.guard([RS1, RS2], sliced, [], ENCRYPTED, "enabled", site=SITE)["ok"]
    refused = order.guard([RS1, RS2], sliced, [], PLAIN, "enabled", site=SITE, context=CTX)
    assert not refused["ok"] and f"{MS} is plain" in refused["message"]
    # The inventory's own management server wins over the site variable.
    assert order.management_servers([COMBO], SITE) == [COMBO]
    # A site variable without a name is no management server.
    assert order.management_servers([], {"address": "127.1.0.1"}) == []
    assert not order.guard([RS1], sliced, [], ENCRYPTED, "enabled", site={"port_offset": 7})["ok"]


def test_a_phase_job_is_told_to_run_the_playbooks_one_folder_up():
    line = order.command("site.yml", dict(CTX, playbook_dir="/srv/pb/phases", limit=None))
    assert line == "ansible-playbook -i /srv/site/inventory.yml /srv/pb/site.yml"


def test_check_mode_counts_a_management_server_this_run_would_switch():
    switched = _hv(ms_example_com={"xprotect_encryption": {"changed": True}})
    preview = order.guard([RS1], switched, [MS], PLAIN, "enabled", check_mode=True)
    assert preview["ok"] and "is plain now, and this run switches it first (check mode)" in preview["message"]
    assert not order.guard([RS1], switched, [MS], PLAIN, "enabled", check_mode=False)["ok"]
    assert not order.guard([RS1], _hv(), [MS], PLAIN, "enabled", check_mode=True)["ok"]


def test_bad_settings_are_named():
    with pytest.raises(order.OrderError, match=r"xprotect_encryption_state: 'on' is not allowed; use one of: enabled"):
        order.guard([RS1], _hv(), [MS], [], "on")
    with pytest.raises(order.OrderError, match=r"xprotect_recording_failure: 'undo' is not allowed"):
        order.outcome(_hv(), [MS], [RS1], [], policy="undo")


# ---- phase 4 outcome ----------------------------------------------------------------------------

PLAIN_BEFORE = {"Server certificate": None, "Streaming media certificate": None}


def _rollout_hv(rs2_failure=None, ms_before=None, rs2_reading=None, rs2_unreachable=False):
    """MS switched by this run; rs1 switched; rs2 failed; fo not yet switched."""
    rs2 = {"xprotect_preflight_encryption": PLAIN_BEFORE}
    if rs2_unreachable:
        rs2["xprotect_encryption"] = {"unreachable": True, "msg": "timed out\nmore"}
    else:
        rs2["xprotect_encryption"] = {"failed": True, "msg": rs2_failure}
        rs2["xprotect_switch_failed"] = rs2_failure
    if rs2_reading is not None:
        rs2["xprotect_switch_reading"] = rs2_reading
    return _hv(
        ms_example_com={
            "xprotect_preflight_encryption": {"Server certificate": ms_before},
            "xprotect_encryption": {"changed": True, "thumbprints": {"server": TP}},
        },
        rs1_example_com={
            "xprotect_preflight_encryption": PLAIN_BEFORE,
            "xprotect_encryption": {"changed": True, "thumbprints": {"server": TP, "streaming": TP}},
        },
        rs2_example_com=rs2,
        fo_example_com={"xprotect_preflight_encryption": {"Server certificate": None}},
    )


def test_nothing_failed_means_nothing_to_do():
    hv = _hv(
        rs1_example_com={"xprotect_encryption": {"changed": True, "thumbprints": {"server": TP}}},
        rs2_example_com={"xprotect_encryption": {"changed": False, "thumbprints": {"server": TP}}},
    )
    out = order.outcome(hv, [MS], [RS1, RS2], [FO])
    assert out["failed"] == [] and out["revert"] == {} and out["report"] == []


def test_stop_lists_the_disconnected_servers_and_the_next_command():
    hv = _rollout_hv("rs2.example.com: Server Configurator exited -1 (unknown error)")
    out = order.outcome(hv, [MS], [RS1, RS2], [FO], context=CTX)
    assert out["failed"] == [RS2]
    # rs2 was not read after its failure: unknown; the failover server was not reached yet: plain.
    assert out["disconnected"] == [FO] and out["unknown"] == [RS2]
    text = "\n".join(out["report"])
    assert "exited -1" in text
    assert "ansible-playbook -i /srv/site/inventory.yml /srv/pb/site.yml --limit xprotect_recording_servers" in text
    assert "rollback.yml" in text and out["revert"] == {}


def test_a_reading_after_the_failure_decides_connected_or_not():
    plain = {"thumbprints": {"server": None}}
    out = order.outcome(_rollout_hv("boom", rs2_reading=plain), [MS], [RS1, RS2], [FO])
    assert out["disconnected"] == [RS2, FO] and out["unknown"] == []
    # Failed in the streaming step, after the Server certificate group had switched: connected.
    on = {"thumbprints": {"server": TP}}
    out = order.outcome(_rollout_hv("boom", rs2_reading=on), [MS], [RS1, RS2], [FO])
    assert out["disconnected"] == [FO]
    # A reading that failed says nothing.
    out = order.outcome(_rollout_hv("boom", rs2_reading={"failed": True}), [MS], [RS1, RS2], [FO])
    assert out["unknown"] == [RS2]


def test_an_unreachable_server_is_a_failure_and_the_setting_to_go_on_is_named():
    out = order.outcome(_rollout_hv(rs2_unreachable=True), [MS], [RS1, RS2], [FO])
    assert out["failures"] == {RS2: "unreachable: timed out"}
    assert "xprotect_unreachable_recording_servers=continue" in "\n".join(out["report"])


def test_revert_management_puts_back_what_this_run_switched_management_server_first():
    out = order.outcome(_rollout_hv("boom"), [MS], [RS1, RS2], [FO], policy="revert_management")
    assert list(out["revert"]) == [MS, RS1, RS2]
    assert out["revert"][MS] == ["server"]
    assert out["revert"][RS1] == ["server", "streaming"]
    assert FO not in out["revert"]  # never switched
    assert "revert_management" in out["report"][1]


def test_revert_management_does_not_touch_an_unreachable_server():
    out = order.outcome(_rollout_hv(rs2_unreachable=True), [MS], [RS1, RS2], [FO], policy="revert_management")
    assert list(out["revert"]) == [MS, RS1]


def test_revert_management_refuses_when_this_run_did_not_switch_the_management_server():
    hv = _rollout_hv("boom", ms_before=TP)
    out = order.outcome(hv, [MS], [RS1, RS2], [FO], policy="revert_management")
    assert out["revert"] == {}
    assert any("already encrypted before this run" in line for line in out["report"])
    hv = _rollout_hv("boom")
    del hv[MS]["xprotect_encryption"]  # not in this run (--limit)
    out = order.outcome(hv, [MS], [RS1, RS2], [FO], policy="revert_management")
    assert out["revert"] == {} and any("not switched by this run" in line for line in out["report"])
    out = order.outcome(_rollout_hv("boom"), [MS], [RS1, RS2], [FO], policy="revert_management", check_mode=True)
    assert out["revert"] == {}


def test_command_quotes_and_keeps_the_limit():
    assert order.command("site.yml", {"inventory": ["a b.yml"], "playbook_dir": "/p", "limit": "x:y"}) == (
        "ansible-playbook -i 'a b.yml' /p/site.yml --limit x:y"
    )
    assert order.command("rollback.yml") == "ansible-playbook playbooks/rollback.yml"


# ---- the preflight gate and unreachable recording servers --------------------------------------


def _gate_hv():
    return {
        MS: {"group_names": ["xprotect_management_servers"], "xprotect_preflight": []},
        RS1: {"group_names": ["xprotect_recording_servers"], "xprotect_preflight": []},
        RS2: {"group_names": ["xprotect_recording_servers"], "xprotect_trust": {"unreachable": True, "msg": "down"}},
        FO: {"group_names": ["xprotect_failover_servers"], "xprotect_certificate": {"failed": True}},
    }


def test_unreachable_recording_servers_block_unless_told_to_continue():
    hv = _gate_hv()
    gate = report.preflight_gate(hv, [MS, RS1, RS2], [])
    assert gate["blocking"] == [RS2] and gate["left"] == []
    assert "xprotect_unreachable_recording_servers=continue" in gate["table"]
    gate = report.preflight_gate(hv, [MS, RS1, RS2], [], unreachable_recording_servers="continue")
    assert gate["ok"] and gate["left"] == [RS2]
    # A server that failed (not unreachable), or a management server, still blocks.
    gate = report.preflight_gate(hv, [MS, RS1, RS2, FO], [], unreachable_recording_servers="continue")
    assert gate["blocking"] == [FO]
    with pytest.raises(ValueError, match="xprotect_unreachable_recording_servers: 'maybe'"):
        report.preflight_gate(hv, [MS], [], unreachable_recording_servers="maybe")


def test_the_filters_turn_a_bad_setting_into_an_error_that_names_it():
    from ansible.errors import AnsibleFilterError

    from ansible_collections.xprotect.encryption.plugins.filter.order import FilterModule

    filters = FilterModule().filters()
    with pytest.raises(AnsibleFilterError, match=r"xprotect_recording_failure: 'undo' is not allowed"):
        filters["switch_outcome"](_hv(), [MS], [RS1], [], "undo")
    guard = filters["order_guard"]([RS1], _hv(), [MS], None, "enabled")
    assert not guard["ok"] and "unreachable" in guard["message"]
