"""DOCX → rows of cells and lines of text (python-docx).

Word keeps merged cells as `gridSpan` (columns) and `vMerge` (rows: `restart` on the first,
`continue` below).  Both are expanded into the same grid `html_grid` builds from
colspan/rowspan: one `Cell` per distinct cell per row, at its first grid column, with
`continued=True` on the rows a vertically merged cell is repeated into.  Paragraphs and
tables are read in body order, tables as ` | ` lines, like an HTML page's text.
"""

from __future__ import annotations

import re
from io import BytesIO

from .binary import Extracted
from .cells import Cell, Row

MAX_SPAN = 64
MAX_ROWS = 2000
_WS = re.compile(r"[ \t\r\n\u3000\u00a0\u200b\ufeff]+")
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _text(el) -> str:
    """Text of a paragraph or cell element: runs joined tight, paragraphs by a space."""
    parts: list[str] = []
    for p in el.iter(f"{_W}p"):
        if _inside_nested_table(p, el):
            continue
        run = "".join(t.text or "" for t in p.iter(f"{_W}t"))
        parts.append(run)
    return _WS.sub(" ", " ".join(parts)).strip()


def _inside_nested_table(p, root) -> bool:
    parent = p.getparent()
    while parent is not None and parent is not root:
        if parent.tag == f"{_W}tbl":
            return True
        parent = parent.getparent()
    return False


def table_grid(tbl, index: int) -> list[Row]:
    """One `w:tbl` → rows of `Cell`s, gridSpan and vMerge expanded."""
    trs = tbl.findall(f"{_W}tr")[:MAX_ROWS]
    grid: list[dict[int, Cell]] = [{} for _ in trs]
    rows: list[Row] = []
    for r, tr in enumerate(trs):
        before = tr.find(f"{_W}trPr/{_W}gridBefore")
        col = int(before.get(f"{_W}val", "0")) if before is not None else 0
        here = grid[r]
        for tc in tr.findall(f"{_W}tc"):
            pr = tc.find(f"{_W}tcPr")
            span, vmerge = 1, None
            if pr is not None:
                gs = pr.find(f"{_W}gridSpan")
                if gs is not None:
                    span = max(1, min(MAX_SPAN, int(gs.get(f"{_W}val", "1") or 1)))
                vm = pr.find(f"{_W}vMerge")
                if vm is not None:
                    vmerge = vm.get(f"{_W}val", "continue")
            above = grid[r - 1].get(col) if r else None
            if vmerge == "continue" and above is not None:
                cell = Cell(above.text, index, r, above.col, above.span, above.origin, continued=True)
            else:
                cell = Cell(_text(tc), index, r, col, span, (r, col))
            for dc in range(cell.span if cell.continued else span):
                here[col + dc] = cell
            col += cell.span if cell.continued else span
        seen: set[tuple[int, int]] = set()
        cells = []
        for c in sorted(here):
            if here[c].origin in seen:
                continue
            seen.add(here[c].origin)
            cells.append(here[c])
        rows.append(Row(cells, "docx"))
    return rows


def docx_content(data: bytes) -> Extracted:
    import docx

    document = docx.Document(BytesIO(data))
    out = Extracted()
    title = document.core_properties.title
    out.title = title.strip() if title and title.strip() else None
    body = document.element.body
    index = 0

    def walk(parent) -> None:
        nonlocal index
        for el in parent:
            if el.tag == f"{_W}p":
                text = _text(el)
                if text:
                    out.lines.append(text)
                if el.find(f".//{_W}drawing") is not None or el.find(f".//{_W}pict") is not None:
                    out.has_images = True
            elif el.tag == f"{_W}tbl":
                rows = table_grid(el, index)
                index += 1
                out.rows.extend(rows)
                for row in rows:
                    texts = [c.text for c in row.cells if not c.continued]
                    if any(texts):
                        out.lines.append(" | ".join(texts))
                for tc in el.iter(f"{_W}tc"):  # nested tables: their own grids, after
                    for nested in tc.findall(f"{_W}tbl"):
                        walk_table(nested)
            elif el.tag == f"{_W}sdt":
                content = el.find(f"{_W}sdtContent")
                if content is not None:
                    walk(content)

    def walk_table(tbl) -> None:
        nonlocal index
        rows = table_grid(tbl, index)
        index += 1
        out.rows.extend(rows)

    walk(body)
    return out
