# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Modules stay documentation, an argument spec and glue: their logic lives in backends.

Counts, per file of plugins/modules/, the lines of code outside the documentation strings
(DOCUMENTATION, EXAMPLES, RETURN and the module docstring), blank lines and comments.
"""

from __future__ import annotations

import ast
import io
import pathlib
import tokenize

import pytest

MODULES = pathlib.Path(__file__).resolve().parents[4] / "plugins" / "modules"
LIMIT = 100
DOC_NAMES = {"DOCUMENTATION", "EXAMPLES", "RETURN"}


def code_lines(source: str) -> int:
    """Lines that hold code, once the documentation strings are taken out."""
    tree = ast.parse(source)
    doc_lines: set[int] = set()
    for i, node in enumerate(tree.body):
        is_docstring = i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        is_doc = isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id in DOC_NAMES for t in node.targets
        )
        if is_docstring or is_doc:
            doc_lines.update(range(node.lineno, node.end_lineno + 1))
    code: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            continue
        if token.type == tokenize.ENDMARKER:
            continue
        # A multi-line string counts every line it spans.
        code.update(range(token.start[0], token.end[0] + 1))
    return len(code - doc_lines)


def test_the_counter_counts_code_and_skips_docs_comments_and_blanks():
    source = (
        '"""Module docstring\nover two lines."""\n'
        "\n"
        'DOCUMENTATION = r"""\nmodule: x\noptions: {}\n"""\n'
        "# a comment\n"
        "import os\n"
        "\n"
        "def main():\n"
        "    return os.getcwd(  # why\n"
        "    )\n"
        'EXAMPLES = """\n"""\n'
        'RETURN = ""\n'
    )
    assert code_lines(source) == 4


def test_the_counter_fails_a_module_over_the_limit():
    source = "\n".join(f"x{i} = {i}" for i in range(LIMIT + 1)) + '\nDOCUMENTATION = """\n' + "a\n" * 500 + '"""\n'
    assert code_lines(source) == LIMIT + 1 > LIMIT


@pytest.mark.parametrize("path", sorted(MODULES.glob("*.py")), ids=lambda p: p.name)
def test_a_module_is_docs_spec_and_glue(path):
    count = code_lines(path.read_text(encoding="utf-8"))
    print(f"{path.name}: {count} lines of code outside the documentation")
    assert count <= LIMIT, f"{path.name} has {count} lines of code; move the logic to a backend in module_utils"
