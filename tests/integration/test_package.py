# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built tarball is the collection: `ansible-galaxy collection build` into a temporary folder,
then its file list against galaxy.yml's promise (build_ignore)."""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# A PEM private key with a body, whatever its kind; the markers are built from parts so that
# this file itself carries none.
_DASHES = "-" * 5
_PRIVATE_KEY = re.compile(
    _DASHES + r"BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY" + _DASHES + r"\s*[A-Za-z0-9+/=\s]{40,}"
)


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    # Caches a test run leaves in a checkout, made here on purpose so the build must leave them out.
    made = []
    for path in (".pytest_cache/v/x", ".ruff_cache/x", ".coverage", ".coverage.host.1", "tests/output/x"):
        target = REPO / path
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("x")
            made.append(target)
    try:
        subprocess.run(
            [str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(out), str(REPO)],
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        for target in made:
            target.unlink()
    (built,) = out.glob("xprotect-encryption-*.tar.gz")
    with tarfile.open(built) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    return files


def test_the_collection_is_in_the_tarball(tarball):
    names = set(tarball)
    for required in ("MANIFEST.json", "FILES.json", "README.md", "meta/runtime.yml", "changelogs/changelog.yaml"):
        assert required in names, required
    for folder in ("plugins/action/", "plugins/modules/", "plugins/module_utils/", "plugins/plugin_utils/",
                   "plugins/inventory/", "plugins/callback/", "plugins/filter/", "roles/encryption/",
                   "roles/verify/", "docs/"):  # fmt: skip
        assert any(n.startswith(folder) for n in names), folder
    for playbook in ("site.yml", "stage.yml", "audit.yml", "renew.yml", "rollback.yml", "rollback_step.yml",
                     "trust_clients.yml", "lab.yml", "vars/groups.yml", "vars/rollback.yml"):  # fmt: skip
        assert f"playbooks/{playbook}" in names, playbook


def test_nothing_but_the_collection_is_in_the_tarball(tarball):
    ignored = yaml.safe_load((REPO / "galaxy.yml").read_text())["build_ignore"]
    assert "benchmarks" in ignored and "scripts" in ignored  # the promise this test holds the build to
    left_out = re.compile(
        r"^(benchmarks|scripts|\.ci|\.collections|\.venv[^/]*|\.lab|build|\.pytest_cache|\.ruff_cache|htmlcov)/"
        r"|^tests/output/|^\.coverage|(^|/)__pycache__/|\.pyc$|\.tar\.gz$"
        r"|^(Makefile|pyproject\.toml|requirements-dev\.txt|requirements-min\.txt|\.gitignore|\.ansible-lint)$"
    )
    assert sorted(n for n in tarball if left_out.search(n)) == []


def test_no_private_key_is_in_the_tarball(tarball):
    keys = [n for n, body in tarball.items() if _PRIVATE_KEY.search(body.decode("utf-8", "replace"))]
    keyfiles = [n for n in tarball if re.search(r"\.(pem|key|pfx|p12)$", n, re.IGNORECASE)]
    assert keys == [] and keyfiles == []
