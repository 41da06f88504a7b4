# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the package says about itself: the version each plugin came in, and the ansible-core
it claims, agree with galaxy.yml, requirements.txt and what `make test` runs.

antsibull-changelog lists new plugins from ``version_added`` (not from fragments), so every
plugin needs it, and none may name a version after the collection's own.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PLUGINS = REPO / "plugins"
VERSION = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]


def _version(text: str) -> tuple:
    return tuple(int(part) for part in str(text).split("."))


def _python_doc(path: Path) -> dict:
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "DOCUMENTATION":
            return yaml.safe_load(node.value.value)
    raise AssertionError(f"{path} has no DOCUMENTATION")


def _docs(kind: str) -> dict:
    folder = PLUGINS / kind
    if kind == "filter":  # a filter's documentation is a .yml beside the Python that holds several
        return {p.stem: yaml.safe_load(p.read_text())["DOCUMENTATION"] for p in sorted(folder.glob("*.yml"))}
    return {p.stem: _python_doc(p) for p in sorted(folder.glob("*.py")) if p.name != "__init__.py"}


def _versions_added(doc, where=""):
    """Every ``version_added`` of a documentation, the plugin's and its options'."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key == "version_added":
                yield where, value
            else:
                yield from _versions_added(value, f"{where}.{key}" if where else key)
    elif isinstance(doc, list):
        for item in doc:
            yield from _versions_added(item, where)


@pytest.mark.parametrize("kind", ["inventory", "callback", "filter"])
def test_every_plugin_says_the_version_it_came_in(kind):
    docs = _docs(kind)
    assert docs
    assert sorted(name for name, doc in docs.items() if "version_added" not in doc) == []


def test_every_filter_the_collection_registers_is_documented():
    registered = set()
    for path in (PLUGINS / "filter").glob("*.py"):
        module = importlib.import_module(f"ansible_collections.xprotect.encryption.plugins.filter.{path.stem}")
        registered |= set(module.FilterModule().filters())
    assert registered == set(_docs("filter"))


@pytest.mark.parametrize("kind", ["modules", "inventory", "callback", "filter"])
def test_no_version_added_is_after_the_collection_version(kind):
    later = [
        f"{name}: {where} {value}"
        for name, doc in _docs(kind).items()
        for where, value in _versions_added(doc)
        if _version(value) > _version(VERSION)
    ]
    assert later == []


def _lower_bound(spec: str) -> tuple:
    found = re.search(r">=\s*([0-9.]+)", spec)
    assert found, spec
    return _version(found.group(1))[:2]


def test_the_claimed_ansible_core_is_the_one_installed_and_tested():
    claimed = _lower_bound(yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())["requires_ansible"])
    runtime = next(
        line for line in (REPO / "requirements.txt").read_text().splitlines() if line.startswith("ansible-core")
    )
    assert _lower_bound(runtime) == claimed
    # `make test` runs the unit tests and a rollout again on the claimed lowest version (.venv-min).
    minimum = re.search(r"^ansible-core\s*==\s*([0-9.]+)", (REPO / "requirements-min.txt").read_text(), re.MULTILINE)
    assert minimum and _version(minimum.group(1))[:2] == claimed


def test_the_roles_claim_the_same_ansible_core():
    claimed = _lower_bound(yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())["requires_ansible"])
    for meta in sorted((REPO / "roles").glob("*/meta/main.yml")):
        version = yaml.safe_load(meta.read_text())["galaxy_info"]["min_ansible_version"]
        assert _version(version)[:2] == claimed, meta
