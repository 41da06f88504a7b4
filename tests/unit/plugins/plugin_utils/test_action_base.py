# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The helpers of the action plugins' base class that prepare host-variable defaults
(the options themselves are tested on the lab, tests/integration/test_host_plugins.py)."""

from __future__ import annotations

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import validate
from ansible_collections.xprotect.encryption.plugins.plugin_utils import action


@pytest.mark.parametrize(
    "value",
    [
        "{{ xprotect_rollback_retries }}",
        "prefix {% if x %}y{% endif %}",
        "{# a comment #}",
        ["server", "{{ extra_group }}"],
        {"path": "{{ configurator_path }}"},
        {"group_ids": {"server": "{{ guid }}"}},
        {"{{ key }}": 1},
    ],
)
def test_values_that_jinja_would_render_are_templated(value):
    assert action._may_be_template(value) is True


@pytest.mark.parametrize(
    "value",
    [
        None,
        3,
        10.0,
        False,
        "enabled",
        "C:\\Program Files\\Milestone\\Server Configurator\\ServerConfigurator.exe",
        "{ not a template }",
        [],
        ["server", "streaming"],
        {"path": "C:\\x.exe", "version": "24.2.0.1", "group_ids": {"server": "84430eb7-847c-422d-aa00-7915cd0d7a65"}},
    ],
)
def test_plain_values_are_taken_as_they_are(value):
    assert action._may_be_template(value) is False


def test_plain_turns_str_subclasses_and_tuples_into_json_data():
    class Tagged(str):
        pass

    out = action._plain({"a": Tagged("x"), "b": (1, Tagged("y"))})
    assert out == {"a": "x", "b": [1, "y"]}
    assert not isinstance(out["a"], Tagged) and not isinstance(out["b"][1], Tagged)


def test_plain_leaves_what_json_cannot_carry():
    value = {"when": object()}
    assert action._plain(value) is value


class _Templar:
    """Renders "{{ n }}" as "N"; records what it was asked to render."""

    def __init__(self):
        self.asked = []

    def template(self, value):
        self.asked.append(value)
        if isinstance(value, str):
            return value.replace("{{ n }}", "N")
        return value


def _plugin():
    plugin = object.__new__(action.XProtectAction)
    plugin._templar = _Templar()
    return plugin


def test_host_value_reads_a_variable_or_one_key_of_a_registered_result():
    plugin = _plugin()
    task_vars = {
        "plain": "enabled",
        "templated": "{{ n }}",
        "registered": {"thumbprints": {"server": "AA"}, "msg": "{{ n }}"},
        "reading": {"Server certificate": "{{ n }}"},
    }
    assert plugin.host_value(task_vars, "missing") is None
    assert plugin.host_value(task_vars, "registered.missing") is None
    assert plugin.host_value(task_vars, "plain.key") is None
    assert plugin.host_value(task_vars, "plain") == "enabled"
    assert plugin.host_value(task_vars, "registered.thumbprints") == {"server": "AA"}
    # Nothing of the above needed Jinja: only values holding a template are rendered, and of a
    # registered result only the key asked for.
    assert plugin._templar.asked == []
    assert plugin.host_value(task_vars, "templated") == "N"
    assert plugin.host_value(task_vars, "reading") == {"Server certificate": "{{ n }}"}  # the stub renders str only
    assert plugin._templar.asked == ["{{ n }}", {"Server certificate": "{{ n }}"}]


# -- thumbprint options, normalised by the one normaliser when the arguments are validated ------
def test_thumbprint_options_are_normalised_in_place():
    rules = {"thumbprint": validate.thumbprint, "retired": validate.list_of(validate.thumbprint)}
    args = {"thumbprint": "\u200e6a 3f 9c 01 d2 e4 5b 77 80 aa 19 c3 4e 5f 60 71 82 93 a4 b5", "retired": None}
    validate.apply(args, rules)
    assert args == {"thumbprint": "6A3F9C01D2E45B7780AA19C34E5F60718293A4B5", "retired": None}
    args = {"retired": ["aa" * 20, "\u200e" + "bb " * 20]}
    validate.apply(args, rules)
    assert args == {"retired": ["AA" * 20, "BB" * 20]}


def test_a_bad_entry_is_named_by_its_option():
    with pytest.raises(validate.ArgumentError, match=r"retired") as info:
        validate.apply({"retired": ["aa" * 20, "old CA"]}, {"retired": validate.list_of(validate.thumbprint)})
    assert "old CA" in str(info.value)
