# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module's documentation says what its code takes.

A module here is either a controller module (its ARGUMENT_SPEC, or its backend's when its action
plugin runs the backend in the worker) or the documentation of the action plugin of the same name
(the action's argument spec). Either way the documented options,
with the doc fragments they extend, must be the options the code accepts, with the same type,
default, choices and elements; and each module says since when it exists (``version_added``).
"""

from __future__ import annotations

import importlib
import pathlib

import pytest
import yaml

from ansible_collections.xprotect.encryption.plugins.plugin_utils.action import RAW_RECORD_OPTIONS, XProtectAction

REPO = pathlib.Path(__file__).resolve().parents[4]
PLUGINS = "ansible_collections.xprotect.encryption.plugins"
NAMES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py"))
NEXT_VERSION = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]
CHANGELOG = yaml.safe_load((REPO / "changelogs" / "changelog.yaml").read_text())


def fragment(name: str) -> dict:
    module = importlib.import_module(f"{PLUGINS}.doc_fragments.{name.rsplit('.', 1)[-1]}")
    return yaml.safe_load(module.ModuleDocFragment.DOCUMENTATION)["options"]


def documented(name: str) -> dict:
    doc = yaml.safe_load(importlib.import_module(f"{PLUGINS}.modules.{name}").DOCUMENTATION)
    options = dict(doc.get("options") or {})
    for extended in doc.get("extends_documentation_fragment") or []:
        for option, value in fragment(extended).items():
            options.setdefault(option, value)
    return doc, options


def accepted(name: str) -> dict:
    """The options the code takes: the module's own spec, or its action plugin's."""
    module = importlib.import_module(f"{PLUGINS}.modules.{name}")
    if hasattr(module, "ARGUMENT_SPEC"):
        return module.ARGUMENT_SPEC
    action = importlib.import_module(f"{PLUGINS}.action.{name}")
    backend = getattr(action.ActionModule, "backend", None)  # a controller module run in the worker
    spec = (
        backend.ARGUMENT_SPEC
        if backend
        else getattr(action, "ARGUMENT_SPEC", None) or action.ActionModule.argument_spec
    )
    if issubclass(action.ActionModule, XProtectAction):
        spec = dict(spec, **RAW_RECORD_OPTIONS)  # the template adds it to every spec
    return spec


def compare(doc_options: dict, spec: dict, where: str) -> list[str]:
    problems = []
    for option in sorted(set(doc_options) ^ set(spec)):
        side = "documented only" if option in doc_options else "not documented"
        problems.append(f"{where}{option}: {side}")
    for option in sorted(set(doc_options) & set(spec)):
        doc, code = doc_options[option], spec[option]
        for key, absent in (("type", "str"), ("default", None), ("choices", None), ("elements", None)):
            if doc.get(key, absent) != code.get(key, absent):
                problems.append(f"{where}{option}.{key}: documented {doc.get(key)!r}, code {code.get(key)!r}")
        if bool(doc.get("required")) != bool(code.get("required")):
            problems.append(
                f"{where}{option}.required: documented {doc.get('required')!r}, code {code.get('required')!r}"
            )
        if not doc.get("description"):
            problems.append(f"{where}{option}: no description")
        if "options" in code:
            problems += compare(doc.get("suboptions") or {}, code["options"], f"{where}{option}.")
    return problems


def test_the_comparison_finds_what_differs():
    spec = {"a": {"type": "int", "default": 1}, "b": {"type": "list", "elements": "dict", "options": {"x": {}}}}
    doc = {
        "a": {"type": "int", "default": 2, "description": "A."},
        "b": {"type": "list", "elements": "dict", "description": "B.", "suboptions": {"y": {"description": "Y."}}},
        "c": {"description": "C."},
    }
    assert compare(doc, spec, "") == [
        "c: documented only",
        "a.default: documented 2, code 1",
        "b.x: not documented",
        "b.y: documented only",
    ]


@pytest.mark.parametrize("name", NAMES)
def test_the_documentation_matches_the_options_the_code_takes(name):
    doc, options = documented(name)
    assert doc["module"] == name
    assert compare(options, accepted(name), "") == []


@pytest.mark.parametrize("name", NAMES)
def test_every_module_says_since_when(name):
    doc, _options = documented(name)
    module = importlib.import_module(f"{PLUGINS}.modules.{name}")
    yaml.safe_load(module.EXAMPLES)
    yaml.safe_load(module.RETURN)
    # A released version, or the one galaxy.yml names (the next release); while nothing is
    # released, every module ships first with that one.
    assert str(doc.get("version_added")) in {*(CHANGELOG.get("releases") or {}), NEXT_VERSION}
