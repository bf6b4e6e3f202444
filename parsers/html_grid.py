"""HTML tables → grids of cells, with rowspan and colspan expanded (lxml, hot path).

Word-exported pages nest the data tables inside layout tables, split labels over spans
and `<br>`, and leave `<p>&nbsp;</p>` in empty cells.  Each `<table>` yields its own rows
(cells of nested tables are not mixed into the outer one), in document order, so a
table split across a page break simply continues in the next table.
"""

from __future__ import annotations

import re

from lxml import html as lxml_html

from .cells import Cell, Row

MAX_SPAN = 64  # a hostile or broken colspan/rowspan must not explode the grid
MAX_ROWS = 2000
_WS = re.compile(r"[ \t\r\n\u3000\u00a0\u200b\ufeff]+")
_BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"}


def cell_text(el) -> str:
    """Text of a cell: inline runs joined tight, blocks and <br> as one space."""
    parts: list[str] = []

    def walk(node) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag == "table":  # a nested table is not this cell's text
            return
        if tag in ("script", "style"):
            if node.tail:
                parts.append(node.tail)
            return
        if tag in _BLOCK:
            parts.append(" ")
        if node.text and tag not in ("script", "style"):
            parts.append(node.text)
        for child in node:
            walk(child)
            if isinstance(child.tag, str) and child.tag in _BLOCK:
                parts.append(" ")
            if child.tail:
                parts.append(child.tail)

    if el.text:
        parts.append(el.text)
    for child in el:
        walk(child)
        if isinstance(child.tag, str) and child.tag in _BLOCK:
            parts.append(" ")
        if child.tail:
            parts.append(child.tail)
    return _WS.sub(" ", "".join(parts)).strip()


def _span(el, name: str) -> int:
    raw = el.get(name) or "1"
    m = re.match(r"\s*(\d+)", raw)
    n = int(m.group(1)) if m else 1
    return max(1, min(n, MAX_SPAN))


def _own(el, tag: str, root) -> bool:
    """True when `el`'s nearest enclosing `tag` ancestor is `root`."""
    parent = el.getparent()
    while parent is not None:
        if parent.tag == tag:
            return parent is root
        parent = parent.getparent()
    return False


def table_grid(table, index: int) -> list[Row]:
    """Expand one <table> into rows of `Cell`s (one per distinct cell per row)."""
    trs = [tr for tr in table.iter("tr") if _own(tr, "table", table)][:MAX_ROWS]
    occupied: list[dict[int, Cell]] = [{} for _ in trs]
    rows: list[Row] = []
    for r, tr in enumerate(trs):
        here = occupied[r]
        col = 0
        for td in tr:
            if not isinstance(td.tag, str) or td.tag not in ("td", "th"):
                continue
            while col in here:
                col += 1
            rs, cs = _span(td, "rowspan"), _span(td, "colspan")
            cell = Cell(cell_text(td), index, r, col, cs, (r, col))
            for dr in range(min(rs, len(trs) - r)):
                for dc in range(cs):
                    occupied[r + dr][col + dc] = cell
            col += cs
        seen: set[tuple[int, int]] = set()
        cells: list[Cell] = []
        for c in sorted(here):
            cell = here[c]
            if cell.origin in seen:
                continue
            seen.add(cell.origin)
            if cell.origin[0] != r:
                cell = Cell(cell.text, index, r, cell.col, cell.span, cell.origin, continued=True)
            cells.append(cell)
        rows.append(Row(cells, "html"))
    return rows


def document_tables(doc) -> list[list[Row]]:
    """Every table of a parsed lxml document, innermost content kept per table."""
    return [table_grid(t, i) for i, t in enumerate(doc.iter("table"))]


def parse_html(text: str):
    """Parse HTML text leniently; never raises on broken markup."""
    text = text.strip() or "<html></html>"
    try:
        return lxml_html.document_fromstring(text)
    except (ValueError, lxml_html.etree.ParserError):
        return lxml_html.document_fromstring("<html><body></body></html>")
