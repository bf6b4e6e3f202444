"""The readers (one per input form) never import the pipeline that calls them.

`document.py` runs a document through readers, mapping, metadata and checks; a reader
that imported it back would tie the two into a cycle (it once did: `binary.parse_binary`).
The imports are read with `ast`, so a lazy import inside a function counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PARSERS = Path(__file__).resolve().parent.parent / "parsers"
READERS = ("binary", "pdf", "word", "sheet", "html_grid", "html_text", "text_rows")
PIPELINE = {"document", "pipeline"}


def imported_modules(path: Path) -> set[str]:
    """Every parsers module a file imports, at any depth (`from . import document`,
    `from .document import x`, `import parsers.document`)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 0 and not module.startswith("parsers"):
                continue
            parts = [p for p in module.split(".") if p and p != "parsers"]
            out.update(parts[:1] or [alias.name for alias in node.names])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("parsers."):
                    out.add(alias.name.split(".")[1])
    return out


def test_import_reader_sees_relative_and_lazy_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from .cells import Row\n\ndef f():\n    from . import document\n    import parsers.pipeline\n")
    assert imported_modules(sample) == {"cells", "document", "pipeline"}


@pytest.mark.parametrize("reader", READERS)
def test_reader_does_not_import_the_pipeline(reader):
    path = PARSERS / f"{reader}.py"
    assert path.exists(), path
    assert not imported_modules(path) & PIPELINE, f"{reader}.py imports {imported_modules(path) & PIPELINE}"


def test_the_pipeline_parses_binary_files():
    from parsers import document

    assert callable(document.parse_binary)
