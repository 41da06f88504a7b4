# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""site_servers in-process: the API settings from a source file or options, read with the
inventory plugin's client (scripted here), and every way it cannot be read said plainly."""

from __future__ import annotations

import pytest

from ansible_collections.xprotect.encryption.plugins.inventory import xprotect as inventory_plugin
from ansible_collections.xprotect.encryption.plugins.module_utils import inventory as inv

from .conftest import Host

RECORDS = [
    {"kind": "recording", "host": "rs001.site.test", "name": "RS 1", "id": "a1", "enabled": True},
    {"kind": "failover", "host": "fo01.site.test", "name": "FO 1", "id": "b1", "enabled": False},
]
API = {"url": ["http://ms01.site.test"], "username": "svc", "password": "pw"}


@pytest.fixture
def api(monkeypatch):
    """The inventory plugin's fetch_records, scripted: the urls asked, then records or an error."""
    asked = []

    def fetch(answers):
        def fake(opts, warn=None):
            asked.append(opts["url"])
            answer = answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

        monkeypatch.setattr(inventory_plugin, "fetch_records", fake)
        return asked

    return fetch


def test_the_servers_the_site_knows_are_read_and_nothing_changes(run_action, api):
    asked = api([RECORDS])
    result = run_action("site_servers", API, Host(), check=True)
    assert result["changed"] is False and asked == ["http://ms01.site.test"]
    assert [s["host"] for s in result["servers"]] == ["rs001.site.test", "fo01.site.test"]
    assert result["servers"][1]["enabled"] is False and "ms01.site.test" in result["management"]


def test_the_next_url_is_tried_when_nothing_listens_on_the_first(run_action, api):
    asked = api([inv.InventoryError("https://ms01.site.test: connection refused"), RECORDS])
    args = dict(API, url=["https://ms01.site.test", "http://ms01.site.test"])
    result = run_action("site_servers", args, Host())
    assert not result.get("failed") and result["url"] == "http://ms01.site.test" and len(asked) == 2


def test_an_api_that_refuses_fails_saying_nothing_was_switched(run_action, api):
    api([inv.InventoryError("HTTP 401: the user name or password is wrong")])
    result = run_action("site_servers", API, Host())
    assert result["failed"] is True and "401" in result["msg"] and "Nothing was switched" in result["msg"]


def test_a_source_file_is_read_as_the_inventory_plugin_reads_it(run_action, api, tmp_path):
    api([RECORDS])
    source = tmp_path / "site.xprotect.yml"
    source.write_text("plugin: xprotect.encryption.xprotect\nurl: http://ms01.site.test\nusername: svc\npassword: pw\n")
    assert not run_action("site_servers", {"source": str(source)}, Host()).get("failed")
    other = tmp_path / "hosts.yml"
    other.write_text("plugin: ansible.builtin.yaml\n")
    result = run_action("site_servers", {"source": str(other)}, Host())
    assert result["failed"] is True and "is not a config file of the xprotect.encryption.xprotect" in result["msg"]
    missing = run_action("site_servers", {"source": str(tmp_path / "none.yml")}, Host())
    assert missing["failed"] is True and "is not a file" in missing["msg"]


def test_no_url_says_where_to_set_one(run_action, monkeypatch):
    monkeypatch.delenv("XPROTECT_URL", raising=False)
    result = run_action("site_servers", {"username": "svc", "password": "pw"}, Host())
    assert result["failed"] is True and "xprotect_inventory_api.url" in result["msg"]
