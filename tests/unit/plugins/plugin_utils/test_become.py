"""Which become plugin a task runs with, decided by the plugin ansible-core loaded (as its Windows
exec wrapper decides), not by the spelling of ``become_method``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import types

import pytest
from ansible.playbook.play_context import PlayContext
from ansible.plugins.become.runas import BecomeModule as Runas
from ansible.plugins.loader import become_loader

from ansible_collections.xprotect.encryption.plugins.plugin_utils import adapter


def _action(method, plugin, become=True, user="SITE\\milestone-admin"):
    """An action as ansible-core's task executor leaves it: ``become_method`` as written in the play
    context, and the plugin it loaded for that name on the connection (None when become is off)."""
    pc = PlayContext()
    pc.become = become
    pc.become_method = method
    pc.become_user = user
    return types.SimpleNamespace(_play_context=pc, _connection=types.SimpleNamespace(become=plugin if become else None))


@pytest.mark.parametrize("method", ["runas", "ansible.builtin.runas", "ansible.legacy.runas"])
def test_every_spelling_of_runas_is_runas(method):
    # The loader gives the same plugin for each spelling; only the play context keeps the spelling.
    action = _action(method, become_loader.get("runas"))
    assert adapter.become_plugin_name(action) == adapter.RUNAS
    assert adapter.runas_user(action) == "SITE\\milestone-admin"


def test_a_plugin_that_subclasses_runas_is_runas():
    class SiteRunas(Runas):
        name = "site.windows.runas"

    assert adapter.become_plugin_name(_action("site.windows.runas", SiteRunas())) == adapter.RUNAS


def test_another_become_plugin_is_named_even_when_spelled_runas():
    sudo = become_loader.get("sudo")
    assert adapter.become_plugin_name(_action("sudo", sudo)) == "ansible.builtin.sudo"
    # The method string is not what decides.
    assert adapter.become_plugin_name(_action("runas", sudo)) == "ansible.builtin.sudo"


def test_no_become_is_none():
    assert adapter.become_plugin_name(_action("runas", None, become=False)) is None
    assert adapter.runas_user(_action("runas", None, user=None)) is None


def test_runas_user_falls_back_to_the_plugin_option():
    plugin = become_loader.get("runas")
    plugin.set_options(direct={"become_user": "SITE\\admin2"})
    assert adapter.runas_user(_action("runas", plugin, user=None)) == "SITE\\admin2"


# A connection plugin without set_become_plugin: the play context's method is resolved through
# ansible-core's loader, initialised as the ansible CLIs do (in a child, to keep the collection
# finder out of this test process).
_FALLBACK = textwrap.dedent(
    """
    import json, sys, types
    sys.path.insert(0, sys.argv[1])
    from ansible.plugins.loader import init_plugin_loader
    init_plugin_loader()
    from ansible.playbook.play_context import PlayContext
    from ansible_collections.xprotect.encryption.plugins.plugin_utils import adapter
    out = {}
    for method in ("runas", "ansible.builtin.runas", "ansible.builtin.su", "nonesuch", None):
        pc = PlayContext()
        pc.become, pc.become_method = method is not None, method
        action = types.SimpleNamespace(_play_context=pc, _connection=types.SimpleNamespace())
        out[str(method)] = adapter.become_plugin_name(action)
    print(json.dumps(out))
    """
)


def test_without_a_become_plugin_on_the_connection_the_method_is_resolved_by_the_loader():
    collections = str(adapter.__file__).split("/ansible_collections/", maxsplit=1)[0]
    proc = subprocess.run(
        [sys.executable, "-c", _FALLBACK, collections], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {
        "runas": adapter.RUNAS,
        "ansible.builtin.runas": adapter.RUNAS,
        "ansible.builtin.su": "ansible.builtin.su",
        "nonesuch": "nonesuch",
        "None": None,
    }
