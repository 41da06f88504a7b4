"""The site lock's decisions: who may go on, who stops, and what they are told."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import site_lock as sl

NOW = datetime.datetime(2026, 12, 2, 6, 0, tzinfo=datetime.timezone.utc)
ME = {"controller": "ctl-a", "user": "ops", "pid": 200, "run": "ctl-a:200:555", "job_id": None}
OTHER = {"controller": "awx-node-2", "user": "awx", "pid": 77, "run": "awx-node-2:77:1", "job_id": "4711"}


def marker(owner=None, minutes_ago=10, expiry=240, lock_id="a1b2c3"):
    owner = OTHER if owner is None else owner
    return sl.new_marker(lock_id, owner, NOW - datetime.timedelta(minutes=minutes_ago), expiry, "site.yml")


def test_marker_round_trip_and_holder_text():
    text = sl.dump_marker(marker())
    back = sl.parse_marker(text)
    assert back == marker()
    who = sl.holder(back, NOW)
    assert who == (
        "awx@awx-node-2 (AWX job 4711, process 77, site.yml) since 2026-12-02T05:50:00Z (10 minutes ago), "
        "lock id a1b2c3"
    )
    assert back["expires"] == "2026-12-02T09:50:00Z"


@pytest.mark.parametrize(
    "text, reason",
    [
        ("{not json", "not JSON"),
        ('{"kind": "other", "id": "x"}', "not a lock marker"),
        (
            '{"kind": "xprotect.encryption site lock", "id": "x", "since": "yesterday", "expires": "x", "owner": {}}',
            "times",
        ),
    ],
)
def test_unreadable_markers(text, reason):
    assert reason in sl.parse_marker(text)["unreadable"]
    assert sl.parse_marker("") is None and sl.parse_marker(None) is None


def test_no_lock_is_taken():
    assert sl.decide_acquire(None, ME, NOW)["action"] == sl.ACQUIRE


def test_a_live_lock_of_another_run_refuses_naming_holder_and_since():
    out = sl.decide_acquire(marker(), ME, NOW, path="C:\\lock", host="ms.example.com")
    assert out["action"] == sl.REFUSE and not out["expired"]
    msg = out["message"]
    assert "Another rollout holds the site lock (C:\\lock on ms.example.com): awx@awx-node-2" in msg
    assert "since 2026-12-02T05:50:00Z" in msg and "Nothing was changed" in msg
    assert "xprotect_lock_break=a1b2c3" in msg
    # break true does not break a lock that has not expired
    assert sl.decide_acquire(marker(), ME, NOW, break_lock=True)["action"] == sl.REFUSE
    # naming its id does
    out = sl.decide_acquire(marker(), ME, NOW, break_lock="a1b2c3")
    assert out["action"] == sl.BREAK and "not expired" in out["message"]
    assert sl.decide_acquire(marker(), ME, NOW, break_lock="ffff")["action"] == sl.REFUSE


def test_an_expired_lock_is_reported_and_broken_only_when_asked():
    old = marker(minutes_ago=300)
    out = sl.decide_acquire(old, ME, NOW)
    assert out["action"] == sl.REFUSE and out["expired"]
    assert "expired at 2026-12-02T05:00:00Z" in out["message"] and "xprotect_lock_break=true" in out["message"]
    out = sl.decide_acquire(old, ME, NOW, break_lock=True)
    assert out["action"] == sl.BREAK and out["message"].startswith("Broke the expired site lock of awx@awx-node-2")


def test_same_run_reenters_and_a_dead_run_of_this_controller_is_taken_over():
    assert sl.decide_acquire(marker(ME), ME, NOW)["action"] == sl.REENTER
    earlier = dict(ME, pid=150, run="ctl-a:150:444")
    assert sl.decide_acquire(marker(earlier), ME, NOW, holder_alive=True)["action"] == sl.REFUSE
    out = sl.decide_acquire(marker(earlier), ME, NOW, holder_alive=False)
    assert out["action"] == sl.TAKE_OVER and "ended without releasing it" in out["message"]
    # another controller's process cannot be seen from here: never taken over
    assert sl.decide_acquire(marker(), ME, NOW, holder_alive=False)["action"] == sl.REFUSE


def test_unreadable_lock_needs_break_true():
    bad = {"unreadable": "not JSON"}
    out = sl.decide_acquire(bad, ME, NOW)
    assert out["action"] == sl.REFUSE and "cannot be read (not JSON)" in out["message"]
    assert sl.decide_acquire(bad, ME, NOW, break_lock=True)["action"] == sl.BREAK


@pytest.mark.parametrize(
    "value, parsed", [(None, False), (False, False), ("no", False), ("true", True), (True, True), ("a1b2c3", "a1b2c3")]
)
def test_parse_break(value, parsed):
    assert sl.parse_break(value) == parsed


@pytest.mark.parametrize("value", ["rm -rf", "x" * 65, "a;b"])
def test_parse_break_refuses_garbage(value):
    with pytest.raises(sl.LockError, match="xprotect_lock_break"):
        sl.parse_break(value)


def test_release_only_our_own():
    assert sl.decide_release(None, ME["run"]) == "absent"
    assert sl.decide_release(marker(ME), ME["run"]) == "delete"
    assert sl.decide_release(marker(), ME["run"]) == "not_ours"
    assert sl.decide_release({"unreadable": "x"}, ME["run"]) == "not_ours"
