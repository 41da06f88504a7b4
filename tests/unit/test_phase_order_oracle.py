# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The phase-order oracle (tests/phase_order.py): orders, phases of combined hosts, order checks and the
disconnection window. The oracle judges the playbooks and the lab, so it is tested on its own."""

from __future__ import annotations

import phase_order as plan  # tests/phase_order.py; tests/ is on sys.path through tests/conftest.py
import pytest

SERVER = "Server certificate"
STREAMING = "Streaming media certificate"
MOBILE = "Mobile streaming media certificate"
EVENT = "Event server and extensions"

SITE = {
    "management": ["mgmt01"],
    "recording": ["rs001", "rs002"],
    "failover": ["fo01"],
    "mobile": ["mob01"],
    "event": ["ev01"],
    "client": ["cl01"],
}


def ev(ts, host, event, group=None):
    out = {"ts": ts, "host": host, "event": event}
    if group:
        out["group"] = group
    return out


def good_rollout(start=100.0):
    t = start
    return [
        ev(t - 50, "cl01", "ca_trusted"),
        ev(t, "ev01", "encryption_enabled", EVENT),
        ev(t + 10, "mgmt01", "encryption_enabled", SERVER),
        ev(t + 20, "rs002", "encryption_enabled", SERVER),
        ev(t + 21, "rs002", "encryption_enabled", STREAMING),
        ev(t + 25, "rs001", "encryption_enabled", SERVER),
        ev(t + 26, "rs001", "encryption_enabled", STREAMING),
        ev(t + 30, "fo01", "encryption_enabled", SERVER),
        ev(t + 31, "fo01", "encryption_enabled", STREAMING),
        ev(t + 40, "mob01", "encryption_enabled", MOBILE),
    ]


def good_rollback(start=300.0):
    """Encryption switched off in the safe order: management first, the event server last."""
    t = start
    return [
        ev(t, "mgmt01", "encryption_disabled", SERVER),
        ev(t + 1, "rs001", "encryption_disabled", SERVER),
        ev(t + 2, "rs002", "encryption_disabled", SERVER),
        ev(t + 3, "fo01", "encryption_disabled", SERVER),
        ev(t + 4, "ev01", "encryption_disabled", EVENT),
    ]


# ---------------------------------------------------------------- orders
def test_enable_order_default_and_after_mobile():
    assert plan.ROLE_ORDER == ("management", "recording", "failover", "mobile")
    assert plan.enable_order() == ["event", "management", "recording", "failover", "mobile"]
    assert plan.enable_order("after_mobile") == ["management", "recording", "failover", "mobile", "event"]


def test_enable_order_refuses_an_unknown_place():
    with pytest.raises(ValueError, match="event_place='first'"):
        plan.enable_order("first")


def test_disable_order_is_the_facts_off_order_with_the_event_server_last():
    assert plan.disable_order() == ["management", "recording", "failover", "mobile", "event"]


def test_groups_and_roles_map_both_ways():
    assert plan.ROLE_OF_GROUP["xprotect_recording_servers"] == "recording"
    assert {plan.GROUP_OF_ROLE[r] for r in plan.disable_order()} == set(plan.ROLE_OF_GROUP)


# ---------------------------------------------------------------- phases
@pytest.mark.parametrize(
    ("roles", "phase"),
    [
        (["recording"], "recording"),
        (["management", "recording"], "management"),
        (["recording", "management"], "management"),
        (["failover"], "failover"),
        (["mobile", "recording"], "recording"),
        (["event"], "event"),
        (["event", "management"], "event"),
        (["client"], None),
        ([], None),
    ],
)
def test_phase_of(roles, phase):
    assert plan.phase_of(roles) == phase


def test_phase_of_with_event_after_mobile_and_disable_order():
    assert plan.phase_of(["event", "mobile"], plan.enable_order("after_mobile")) == "mobile"
    assert plan.phase_of(["event"], plan.enable_order("after_mobile")) == "event"
    assert plan.phase_of(["event", "recording"], plan.disable_order()) == "recording"


def test_hosts_by_phase_puts_each_host_once():
    site = dict(SITE, management=["box01"], recording=["box01", "rs002"])
    phases = plan.hosts_by_phase(site)
    assert phases == {
        "event": ["ev01"],
        "management": ["box01"],
        "recording": ["rs002"],
        "failover": ["fo01"],
        "mobile": ["mob01"],
    }


# ---------------------------------------------------------------- check_order
def test_good_rollout_has_no_violation():
    assert plan.check_order(good_rollout(), SITE) == []


def test_event_order_is_replayed_by_timestamp_not_by_position():
    events = list(reversed(good_rollout()))
    assert plan.check_order(events, SITE) == []


def test_recording_server_before_management_is_a_violation():
    events = good_rollout()
    events[3]["ts"] = 105.0  # rs002 before mgmt01 (110)
    violations = plan.check_order(events, SITE)
    assert len(violations) == 1
    assert violations[0].startswith("rs002 (recording phase) switched encryption on for 'Server certificate'")
    assert "while mgmt01 (management phase) was not encrypted yet" in violations[0]


def test_failover_before_last_recording_and_mobile_too_early():
    events = good_rollout()
    events[7]["ts"] = 122.0  # fo01 before rs001 (125)
    events[9]["ts"] = 123.0  # mob01 before rs001 and before fo01's... fo01 is done at 122
    violations = plan.check_order(events, SITE)
    assert any(v.startswith("fo01 (failover phase)") and "rs001 (recording phase)" in v for v in violations)
    assert any(v.startswith("mob01 (mobile phase)") and "rs001" in v for v in violations)


def test_event_server_after_management_violates_the_default_place_only():
    events = good_rollout()
    events[1]["ts"] = 200.0  # ev01 last
    violations = plan.check_order(events, SITE)
    assert violations and violations[0].startswith("mgmt01 (management phase)")
    assert "ev01 (event phase) was not encrypted yet" in violations[0]
    # The same record is fine when the event server is configured to go after mobile.
    assert plan.check_order(events, SITE, event_place="after_mobile") == []


def test_client_without_the_ca_loses_video():
    events = good_rollout()
    events[0]["ts"] = 500.0  # the client trusts the CA only after the switch
    violations = plan.check_order(events, SITE)
    assert len(violations) == 3  # rs002, rs001, fo01 encrypted streaming media
    assert all("client cl01 did not trust the CA" in v for v in violations)
    removed = [*good_rollout(), ev(10.0, "cl01", "ca_removed")]
    assert plan.check_order(removed, SITE) == []  # removed before trusted: trusted again by 50


def test_disable_order_rules():
    events = good_rollout() + good_rollback()
    assert plan.check_order(events, SITE) == []
    wrong = events[:-5] + [
        ev(300, "rs001", "encryption_disabled", SERVER),
        ev(301, "mgmt01", "encryption_disabled", SERVER),
        ev(302, "ev01", "encryption_disabled", EVENT),
        ev(303, "rs002", "encryption_disabled", SERVER),
        ev(304, "fo01", "encryption_disabled", SERVER),
    ]
    violations = plan.check_order(wrong, SITE)
    assert violations[0].startswith("rs001 (recording phase) switched encryption off")
    assert "mgmt01 (management phase) was still encrypted" in violations[0]
    assert any(v.startswith("ev01 (event phase) switched encryption off") and "rs002" in v for v in violations)


def test_a_custom_off_order_is_checked_as_given():
    # The event server right after the management server: fine for that order, a violation
    # of the default one (event server last).
    rollback = good_rollback()
    rollback[-1]["ts"] = 300.5
    events = good_rollout() + rollback
    custom = ["management", "event", "recording", "failover", "mobile"]
    assert plan.check_order(events, SITE, off_order=custom) == []
    assert any(v.startswith("ev01 (event phase) switched encryption off") for v in plan.check_order(events, SITE))


def test_mobile_is_independent_when_disabling():
    events = [*good_rollout(), ev(300, "mob01", "encryption_disabled", MOBILE)]
    assert plan.check_order(events, SITE) == []


def test_repeated_rollout_after_rollback_is_fine_and_unknown_events_are_ignored():
    events = good_rollout(100.0) + good_rollback()
    events += [
        ev(305, "mob01", "encryption_disabled", MOBILE),
        ev(306, "rs001", "connectivity_changed"),
        ev(307, "unknown-host", "encryption_enabled", SERVER),
        ev(308, "rs001", "encryption_enabled", "Some future group"),
        "not a dict",
    ]
    events += good_rollout(1000.0)[1:]
    assert plan.check_order(events, SITE) == []


def test_combined_box_switches_with_management():
    site = {"management": ["box01"], "recording": ["box01", "rs002"]}
    events = [
        ev(1, "box01", "encryption_enabled", SERVER),
        ev(2, "box01", "encryption_enabled", STREAMING),
        ev(3, "rs002", "encryption_enabled", SERVER),
    ]
    assert plan.check_order(events, site) == []


# ---------------------------------------------------------------- disconnection window
def test_disconnection_window_with_roles():
    assert plan.disconnection_window(good_rollout(), SITE) == pytest.approx(15.0)  # 110 -> 125


def test_disconnection_window_inferred_without_roles():
    events = [e for e in good_rollout() if e["host"] not in ("fo01",)]
    # Without roles every later server-group enable counts: mgmt01 110 -> rs001 125.
    assert plan.disconnection_window(events) == pytest.approx(15.0)


def test_disconnection_window_stops_at_the_next_disable_and_none_cases():
    events = good_rollout()
    events += [ev(300, "mgmt01", "encryption_disabled", SERVER), ev(900, "rs001", "encryption_enabled", SERVER)]
    assert plan.disconnection_window(events, SITE) == pytest.approx(15.0)
    assert plan.disconnection_window([], SITE) is None
    only_mgmt = [ev(1, "mgmt01", "encryption_enabled", SERVER)]
    assert plan.disconnection_window(only_mgmt, SITE) is None
    # A failover server is not a recording server for the window.
    fo_only = [*only_mgmt, ev(5, "fo01", "encryption_enabled", SERVER)]
    assert plan.disconnection_window(fo_only, SITE) is None


def test_disconnection_enables_gives_the_start_and_each_recording_server_enable():
    start, enables = plan.disconnection_enables(good_rollout(), SITE)
    assert start == pytest.approx(110.0)
    assert enables == pytest.approx([120.0, 125.0])  # rs002 then rs001; streaming and failover are not in it
    assert plan.disconnection_enables([], SITE) is None
