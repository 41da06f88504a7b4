# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab modules are documentation only; their action plugins take the argument spec of
_lab/spec.py. validate-modules cannot compare the two without module code, so this does."""

from __future__ import annotations

import ast
import pathlib

import pytest
import yaml

from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import spec

MODULES = pathlib.Path(__file__).resolve().parents[5] / "plugins" / "modules"


def _doc(name):
    tree = ast.parse((MODULES / f"{name}.py").read_text(encoding="utf-8"))
    docs = {t.id: node.value.value for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if t.id}
    return tree, yaml.safe_load(docs["DOCUMENTATION"])


def _compare(where, documented, argspec):
    assert set(documented) == set(argspec), where
    for option, want in argspec.items():
        doc = documented[option]
        here = f"{where}.{option}"
        assert doc.get("type", "str") == want.get("type", "str"), here
        assert doc.get("required", False) == want.get("required", False), here
        assert doc.get("default") == want.get("default"), here
        assert doc.get("choices") == want.get("choices"), here
        assert doc.get("elements") == want.get("elements"), here
        assert doc.get("no_log", False) == want.get("no_log", False), here
        if "options" in want or "suboptions" in doc:
            _compare(here, doc.get("suboptions") or {}, want.get("options") or {})


@pytest.mark.parametrize(("name", "argspec"), [("lab_site", spec.LAB_SITE_ARGS), ("lab_fault", spec.LAB_FAULT_ARGS)])
def test_the_documented_options_are_the_action_plugins_spec(name, argspec):
    _tree, doc = _doc(name)
    assert doc["module"] == name
    _compare(name, doc["options"], argspec)


@pytest.mark.parametrize("name", ["lab_site", "lab_fault"])
def test_the_module_file_is_documentation_only(name):
    """As validate-modules' 'just docs' test: docstring, __future__ import, the doc strings."""
    tree, _doc_ = _doc(name)
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        assert isinstance(node, ast.Assign), ast.dump(node)[:80]
        assert {t.id for t in node.targets} <= {"DOCUMENTATION", "EXAMPLES", "RETURN"}
