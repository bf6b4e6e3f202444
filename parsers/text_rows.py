"""Flattened text (a table already turned into lines) → rows of cells.

Seen in real reports: space-separated rows, pipe rows with colspan debris (`| 规章 | 2 |
0 | 20 | ||`), group labels inlined into the first row of a group, one cell per line
(separated by blank lines, by lines holding only `|`, or by nothing), and values glued
to the label (`一、本年新收政府信息公开申请数量640020470`).  This module only finds the
cells; which row and column they are is `parsers/mapping.py`'s job.
"""

from __future__ import annotations

import re

from .cells import Cell, Row
from .labels import normalize, strip_numbering
from .values import looks_numeric

_SPLIT = re.compile(r"[ \t\u3000\u00a0]+")
_GLUED = re.compile(r"^(.*?\D)(\d{2,})$")
# blank, only pipes, or a rule of three or more dashes; a lone `-` or `—` is a cell (no number)
_SEPARATOR = re.compile(r"^[|｜\s]*$|^[|｜\s]*[-—_=+]{3,}[|｜\s\-—_=+]*$")
# page furniture of PDF text: `- 3 -`, `— 12 —`, `第 3 页`, `第3页 共5页`, `3 / 5`
_PAGE_MARK = re.compile(r"^\s*(?:[-—–]\s*\d{1,3}\s*[-—–]|第\s*\d{1,3}\s*页(?:\s*[,，/]?\s*共\s*\d{1,3}\s*页)?"
                        r"|共\s*\d{1,3}\s*页|\d{1,3}\s*/\s*\d{1,3}|page\s*\d+(?:\s*of\s*\d+)?)\s*$", re.I)


_ITEM_NUMBER = re.compile(r"(?<![\d.])\d{1,2}[.、](?=\D)")


def is_text_cell(token: str) -> bool:
    """A non-numeric token that still carries a number (the seed's `2020年1-4月…13件`);
    item numbers inside labels (`（三）不予公开1.属于国家秘密`) do not count."""
    return bool(re.search(r"\d", _ITEM_NUMBER.sub("", strip_numbering(normalize(token)))))


def _line_tokens(line: str) -> list[str] | None:
    """Cells of one line; None for a separator line."""
    if _SEPARATOR.match(line) or _PAGE_MARK.match(line):
        return None
    if "|" in line or "｜" in line:
        pieces = [p.strip() for p in re.split(r"[|｜]", line)]
        while pieces and not pieces[0]:
            pieces.pop(0)
        while pieces and not pieces[-1]:
            pieces.pop()
        return pieces
    return [t for t in _SPLIT.split(line.strip()) if t]


def text_rows(text: str, table: int = 0, *, first_line: int = 0) -> list[Row]:
    """One row per non-separator line; cell.row is the line number.

    Lines holding a single cell are returned as one-cell rows: joining them into table
    rows needs the templates and happens in `parsers.mapping.join_cell_lines`.
    """
    rows: list[Row] = []
    for n, line in enumerate(text.splitlines(), start=first_line):
        tokens = _line_tokens(line)
        if not tokens:
            continue
        last = tokens[-1]
        m = _GLUED.match(last)
        if m and not looks_numeric(last) and not is_text_cell(m.group(1)) \
                and all(not looks_numeric(t) for t in tokens[:-1]):
            # values glued to the label: `一、本年新收政府信息公开申请数量640020470`
            cells = [Cell(t, table, n, i) for i, t in enumerate(tokens[:-1])]
            k = len(cells)
            cells += [Cell(m.group(1), table, n, k), Cell(m.group(2), table, n, k + 1)]
            rows.append(Row(cells, "text", glued=True))
            continue
        rows.append(Row([Cell(tok, table, n, i) for i, tok in enumerate(tokens)], "text"))
    return rows
