# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every plugin's documentation as the real ``ansible-doc`` renders it, the way a user reads it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PLUGINS = REPO / "plugins"


def names(kind: str, folder: str, suffixes=(".py",)) -> list:
    return sorted(p.stem for p in (PLUGINS / folder).iterdir() if p.suffix in suffixes and not p.name.startswith("_"))


KINDS = {
    "module": names("module", "modules"),
    "inventory": names("inventory", "inventory"),
    "callback": names("callback", "callback"),
    # Filters are documented in YAML beside the Python file that holds them.
    "filter": names("filter", "filter", (".yml",)),
}


def ansible_doc(kind: str, plugins: list) -> dict:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    out = subprocess.run(
        [str(BIN / "ansible-doc"), "--json", "-t", kind, *(f"xprotect.encryption.{n}" for n in plugins)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        check=False,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "[WARNING]" not in out.stderr and "[ERROR]" not in out.stderr, out.stderr
    return json.loads(out.stdout)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_plugin_renders_with_its_version(kind):
    assert KINDS[kind], f"no {kind} plugin found"
    docs = ansible_doc(kind, KINDS[kind])
    assert sorted(docs) == sorted(f"xprotect.encryption.{n}" for n in KINDS[kind])
    for name, entry in docs.items():
        doc = entry["doc"]
        assert doc.get("short_description"), name
        assert str(doc.get("version_added")) == "0.1.0", name
        if kind == "module":
            assert entry.get("examples"), name


def test_tls_probe_options_render_as_its_argument_spec():
    sys.path.insert(0, str(REPO / ".collections"))
    from ansible_collections.xprotect.encryption.plugins.module_utils._backends import tls_probe

    doc = ansible_doc("module", ["tls_probe"])["xprotect.encryption.tls_probe"]["doc"]
    assert set(doc["options"]) == set(tls_probe.ARGUMENT_SPEC)
    assert set(doc["options"]["ca"]["suboptions"]) == {"path", "cert_content"}
