# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's own callback: it loads the lab before the workers fork, in a run against a lab site
only; a run against any other inventory loads nothing of the lab."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import textwrap

import pytest

from ansible_collections.xprotect.encryption.plugins.callback import lab_preload
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import model, site

COLLECTIONS = pathlib.Path(__file__).resolve().parents[4] / ".collections"

# ansible-playbook's view: the callback from ansible-core's loader, the -i sources in CLIARGS; in a
# child, which starts with nothing of the collection loaded.
_CHILD = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from ansible import context
    from ansible.module_utils.common.collections import ImmutableDict
    from ansible.plugins.loader import callback_loader, init_plugin_loader
    init_plugin_loader([sys.argv[1]])
    context.CLIARGS = ImmutableDict(inventory=tuple(json.loads(sys.argv[2])))
    cb = callback_loader.get("xprotect.encryption.lab_preload")
    cb.set_options()
    cb.v2_playbook_on_start(None)
    model = sys.modules.get("ansible_collections.xprotect.encryption.plugins.plugin_utils._lab.model")
    print(json.dumps(sorted(getattr(model, "_PARSED", {}))))
    print(json.dumps(sorted(m for m in sys.modules if "plugin_utils._lab" in m)))
    """
)


def _loaded_after_start(sources, parsed=False):
    """The lab's modules loaded after the callback's start (``parsed``: the site.json files it parsed)."""
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(COLLECTIONS), json.dumps(sources)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(out.stdout.strip().splitlines()[-2 if parsed else -1])


@pytest.fixture
def lab_inventory(tmp_path):
    path = tmp_path / "site"
    site.ensure_site(str(path), counts={"recording_servers": 1, "clients": 0}, port_offset=10000)
    return path / "inventory.yml"


def test_a_run_against_a_lab_site_loads_the_lab(lab_inventory):
    assert "ansible_collections.xprotect.encryption.plugins.plugin_utils._lab.adapter" in _loaded_after_start(
        [str(lab_inventory)]
    )


def test_a_run_against_a_lab_site_parses_its_site_json_before_the_workers_fork(lab_inventory):
    assert _loaded_after_start([str(lab_inventory)], parsed=True) == [str(lab_inventory.parent / "site.json")]


def test_a_run_against_real_hosts_loads_nothing_of_the_lab(tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  hosts:\n    rs01.example.test: {}\n")
    # Not even a folder that merely has a site.json of something else.
    (tmp_path / "site.json").write_text('{"kind": "something else"}')
    assert _loaded_after_start([str(inventory), "rs02.example.test,"]) == []


def test_lab_sites_finds_a_site_by_its_inventory_or_folder(lab_inventory, tmp_path):
    folder = str(lab_inventory.parent)
    assert lab_preload.lab_sites([str(lab_inventory)]) == [folder]
    assert lab_preload.lab_sites([folder]) == [folder]
    assert lab_preload.lab_sites([str(tmp_path / "missing.yml"), "localhost,", None]) == []


def test_it_knows_a_site_as_the_lab_does():
    assert lab_preload.SITE_KIND == model.SITE_KIND
