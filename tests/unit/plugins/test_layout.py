# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Production code stays apart from the lab (plugins/plugin_utils/_lab).

The lab is controller-only code for rehearsals and tests: plugins/plugin_utils/_lab/** and the
lab_* action plugins, module documentation stubs and callback. Production files import nothing of
it, except the one lazy import in ``adapter.get_adapter`` for a host the lab inventory marks
``xprotect_host_adapter: lab``, and read no ``xprotect_lab_*`` variable.
"""

from __future__ import annotations

import ast
import json
import pathlib
import subprocess
import sys
import textwrap

REPO = pathlib.Path(__file__).resolve().parents[3]
PLUGINS = REPO / "plugins"
COLLECTIONS = REPO / ".collections"
PACKAGE = "ansible_collections.xprotect.encryption"
# The one import of the lab from production: (file, enclosing function, module imported).
LAZY_LAB_IMPORT = ("plugins/plugin_utils/adapter.py", "get_adapter", f"{PACKAGE}.plugins.plugin_utils._lab.adapter")
# Module-level strings that are documentation (ansible-doc), not code.
DOC_STRINGS = {"DOCUMENTATION", "EXAMPLES", "RETURN"}


def _is_lab(path: pathlib.Path) -> bool:
    rel = path.relative_to(PLUGINS)
    return rel.parts[:2] == ("plugin_utils", "_lab") or (
        rel.parts[0] in ("action", "modules", "callback") and rel.name.startswith("lab_")
    )


def production_files():
    return sorted(p for p in PLUGINS.rglob("*.py") if not _is_lab(p))


def _module_name(path: pathlib.Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGE, *parts])


def imports(path: pathlib.Path):
    """(enclosing function or None, module imported) for every import in the file, at any level,
    relative imports resolved; ``from x import y`` also yields ``x.y`` (y may be a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else _module_name(path)
    found = []

    def visit(node, function):
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            if isinstance(child, ast.Import):
                found.extend((function, alias.name) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                found.append((function, base))
                found.extend((function, f"{base}.{alias.name}") for alias in child.names)
            visit(child, inner)

    visit(tree, None)
    return found


def code_text(path: pathlib.Path) -> str:
    """The file without its module-level documentation strings (DOCUMENTATION, EXAMPLES, RETURN)."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) in DOC_STRINGS for t in node.targets):
            for i in range(node.lineno - 1, node.end_lineno):
                lines[i] = ""
    return "\n".join(lines)


def test_the_walk_sees_production_files_and_their_imports():
    files = {str(p.relative_to(REPO)) for p in production_files()}
    assert {"plugins/plugin_utils/adapter.py", "plugins/callback/rollout.py", "plugins/action/encryption.py"} <= files
    assert not [f for f in files if "/_lab/" in f or "/lab_" in f]
    adapter = imports(PLUGINS / "plugin_utils" / "adapter.py")
    assert ("get_adapter", f"{PACKAGE}.plugins.plugin_utils.windows.WindowsAdapter") in adapter


def test_relative_imports_are_resolved(tmp_path, monkeypatch):
    fake = PLUGINS / "plugin_utils" / "x.py"
    monkeypatch.setattr(pathlib.Path, "read_text", lambda self, encoding=None: "from ._lab import site\n")
    assert (None, f"{PACKAGE}.plugins.plugin_utils._lab.site") in imports(fake)


def test_production_imports_nothing_of_the_lab_but_the_one_lazy_import():
    lab = []
    for path in production_files():
        for function, name in imports(path):
            if "._lab" in name or name.startswith("_lab"):
                lab.append((str(path.relative_to(REPO)), function, name))
    file, function, module = LAZY_LAB_IMPORT
    assert sorted(set(lab)) == sorted({(file, function, module.rsplit(".", 1)[0]), (file, function, module)})


def test_production_names_no_lab_module_in_a_string():
    """No ``importlib.import_module("..._lab...")`` either (the callback once preloaded the lab so)."""
    found = []
    for path in production_files():
        for node in ast.walk(ast.parse(code_text(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "plugin_utils._lab" in node.value:
                found.append(str(path.relative_to(REPO)))
    assert found == []


def test_production_code_reads_no_lab_variable():
    found = [str(p.relative_to(REPO)) for p in production_files() if "xprotect_lab_" in code_text(p)]
    assert found == []


def test_lab_files_are_where_the_walk_leaves_them_out():
    lab_files = [p for p in PLUGINS.rglob("*.py") if _is_lab(p)]
    assert {p.name for p in lab_files} >= {"adapter.py", "server.py", "lab_site.py", "lab_fault.py", "lab_preload.py"}
    # A production file that mentions a lab variable would be caught: the check itself can fail.
    assert "xprotect_lab_" in code_text(PLUGINS / "plugin_utils" / "_lab" / "adapter.py")


# A Windows run: the host adapter for a Windows host, the callback, every production plugin and
# library, imported as ansible-playbook imports them; then a lab host, to show the check sees it.
_CHILD = textwrap.dedent(
    """
    import importlib, json, sys
    sys.path.insert(0, sys.argv[1])
    from ansible.plugins.loader import init_plugin_loader
    init_plugin_loader([sys.argv[1]])
    for name in json.loads(sys.argv[2]):
        importlib.import_module(name)
    from ansible_collections.xprotect.encryption.plugins.plugin_utils import adapter
    windows = adapter.get_adapter(object(), {"inventory_hostname": "rs01"})
    out = {"kind": windows.kind, "before": sorted(m for m in sys.modules if "._lab" in m)}
    try:
        adapter.get_adapter(object(), {"inventory_hostname": "rs01", "xprotect_host_adapter": "lab"})
    except adapter.AdapterError as e:
        out["lab_error"] = e.message
    out["after"] = sorted(m for m in sys.modules if "._lab" in m)
    print(json.dumps(out))
    """
)


def test_a_windows_run_loads_no_lab_module():
    names = [_module_name(p) for p in production_files() if p.parent.name != "doc_fragments"]
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(COLLECTIONS), json.dumps(names)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["kind"] == "windows"
    assert out["before"] == []
    # The lab is loaded only for a lab host (here one without a site: a clear error, no traceback).
    assert "xprotect_lab_site" in out["lab_error"]
    assert f"{PACKAGE}.plugins.plugin_utils._lab.adapter" in out["after"]
