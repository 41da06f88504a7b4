# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""site_lock against a scripted management server: the marker written, read back, released;
check mode writes nothing; bad values fail before the host is touched."""

from __future__ import annotations

import json

from ansible_collections.xprotect.encryption.plugins.module_utils import site_lock

from .conftest import Host

ARGS = {"playbook": "site.yml", "settle": 0}


def test_acquire_writes_the_marker_and_release_removes_it(run_action):
    host = Host()
    taken = run_action("site_lock", ARGS, host)
    assert not taken.get("failed") and taken["action"] == site_lock.ACQUIRE
    marker = json.loads(host.files[site_lock.DEFAULT_PATH])
    assert marker["playbook"] == "site.yml"
    released = run_action("site_lock", dict(ARGS, state="released"), host)
    assert not released.get("failed") and site_lock.DEFAULT_PATH not in host.files
    assert host.deleted == [site_lock.DEFAULT_PATH]


def test_check_mode_writes_nothing(run_action):
    host = Host()
    result = run_action("site_lock", ARGS, host, check=True)
    assert not result.get("failed") and host.written == {}


def test_out_of_range_values_fail_before_the_host(run_action):
    host = Host()
    for bad, words in [
        ({"expiry_minutes": 0}, "expiry_minutes=0"),
        ({"settle": 61}, "settle=61"),
        ({"path": "C:\\x\\"}, "path="),
    ]:
        result = run_action("site_lock", dict(ARGS, **bad), host)
        assert result["failed"] is True and words in result["msg"], result
    assert host.call_log == []
