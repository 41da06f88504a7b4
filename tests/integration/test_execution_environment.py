# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The execution environment: ``ansible-builder create`` writes the build context, and its files
are read back against the project's requirements. No container is built."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml
from packaging.requirements import Requirement

from .awx_helpers import BIN, clean_env, install_requirements
from .rollout_helpers import REPO

pytestmark = pytest.mark.integration


def requirements(path) -> dict:
    """{name: Requirement} of a pip requirements file (comments and -r lines left out)."""
    out = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            req = Requirement(line)
            out[req.name.lower()] = req
    return out


def bindep(text: str) -> set:
    return {line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()}


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    out = tmp_path_factory.mktemp("ee") / "context"
    proc = subprocess.run(
        [str(BIN / "ansible-builder"), "create", "--file", "execution-environment.yml", "--context", str(out)],
        cwd=REPO,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def test_the_definition_is_schema_3_and_names_the_kerberos_stack():
    ee = yaml.safe_load((REPO / "execution-environment.yml").read_text())
    assert ee["version"] == 3
    assert ee["dependencies"]["python"] == "requirements-ee.txt"
    assert ee["dependencies"]["system"] == "bindep.txt"
    meta = yaml.safe_load((REPO / "meta" / "execution-environment.yml").read_text())
    assert meta["dependencies"] == {"python": "requirements-ee.txt", "system": "bindep.txt"}
    assert "ansible-builder" in requirements(REPO / "requirements-dev.txt")


def test_python_requirements_of_the_context_match_the_project(context):
    built = requirements(context / "_build" / "requirements.txt")
    assert set(built) == {"cryptography", "pywinrm", "pypsrp", "jmespath"}
    assert built["pywinrm"].extras == {"kerberos"} and built["pypsrp"].extras == {"kerberos"}
    project = {**requirements(REPO / "requirements.txt"), **requirements(REPO / "requirements-windows.txt")}
    for name, req in built.items():
        assert str(req.specifier) == str(project[name].specifier), name


def test_ansible_core_and_runner_ranges_match_the_project(context):
    containerfile = next(p for p in (context / "Containerfile", context / "Dockerfile") if p.exists()).read_text()
    refs = re.search(r'ARG ANSIBLE_INSTALL_REFS="([^"]+)"', containerfile).group(1)
    core = requirements(REPO / "requirements.txt")["ansible-core"]
    runner = requirements(REPO / "requirements-dev.txt")["ansible-runner"]
    installed = [Requirement(ref) for ref in refs.split()]
    assert [(r.name, r.specifier) for r in installed] == [
        ("ansible-core", core.specifier),
        ("ansible-runner", runner.specifier),
    ]
    assert 'ARG PYCMD="/usr/bin/python3.11"' in containerfile


def test_collections_and_system_packages_of_the_context(context):
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    wanted = yaml.safe_load((context / "_build" / "requirements.yml").read_text())["collections"]
    assert wanted == [{"name": "ansible.windows", "version": galaxy["dependencies"]["ansible.windows"]}]
    system = bindep((context / "_build" / "bindep.txt").read_text())
    assert system == bindep((REPO / "bindep.txt").read_text())
    # The Kerberos headers to compile against, and the libraries to run with, on both families.
    for line in ("krb5-devel [compile platform:rpm]", "libkrb5-dev [compile platform:dpkg]"):
        assert line in system
    assert {"krb5-libs [platform:rpm]", "libkrb5-3 [platform:dpkg]"} <= system


def test_an_installed_collection_brings_its_own_dependencies(tmp_path):
    # meta/execution-environment.yml: what ansible-builder's introspection (run inside every EE
    # build) finds in the installed collection, so an EE that installs it from Galaxy needs no more.
    path = tmp_path / "collections"
    install_requirements(REPO, path)
    proc = subprocess.run(
        [str(BIN / "ansible-builder"), "introspect", str(path)],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    found = yaml.safe_load(proc.stdout.split("\n", 1)[1])
    mine = " # from collection xprotect.encryption"
    python = [line.replace(mine, "").strip() for line in found["python"] if line.endswith(mine.strip())]
    assert [Requirement(line) for line in python] == list(requirements(REPO / "requirements-ee.txt").values())
    system = {line.replace(mine, "").strip() for line in found["system"] if line.endswith(mine.strip())}
    assert system == bindep((REPO / "bindep.txt").read_text())
