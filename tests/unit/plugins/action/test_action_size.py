# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every action plugin stays short, as ansible.windows' win_reboot.py over plugin_utils/_reboot.py:
its options and their checks, then one call into a flow (plugins/plugin_utils), whose decisions are
pure functions (plugins/module_utils). Past 120 lines, a plugin holds flow or decisions."""

from __future__ import annotations

import pathlib

import pytest

ACTION_DIR = pathlib.Path(__file__).resolve().parents[4] / "plugins" / "action"
PLUGINS = sorted(ACTION_DIR.glob("*.py"))


def test_the_action_plugins_are_found():
    assert {"encryption.py", "server_certificate.py", "trusted_ca.py", "xprotect_info.py"} <= {p.name for p in PLUGINS}


@pytest.mark.parametrize("path", PLUGINS, ids=[p.name for p in PLUGINS])
def test_an_action_plugin_is_under_120_lines(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines < 120, (
        f"{path.name} has {lines} lines: move its flow to plugins/plugin_utils, its decisions to plugins/module_utils"
    )
