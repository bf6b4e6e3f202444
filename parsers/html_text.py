"""An HTML page as lines of text, the way a reader sees it.

Metadata lines (索引号, 发布日期), section headings and prose are found in this text;
table rows become one line each with ` | ` between cells, so flattened-text parsing can
still read a table that HTML structure alone does not reveal (tables drawn with `<p>`s).

Speed matters (Word pages run to 300 KB): `html_grid.mark_blocks` has put a newline at
every block boundary, and here each data-table cell is replaced in the tree by its
one-line text, so the whole page is read with a single C-level `itertext()`.  Call this
after the grids are built: it rewrites the tables it flattens.
"""

from __future__ import annotations

from .html_grid import cell_text, own_rows

_INVISIBLE = str.maketrans("", "", "\u200b\ufeff")


_PROSE_BLOCKS = 3  # a cell holding this many paragraphs is page layout, not a table cell


def is_layout_table(table, cache: dict | None = None) -> bool:
    """A table used for page layout: it holds other tables, has a single cell, or a
    cell holding paragraphs of prose (the whole article in one <td>)."""
    if table.find(".//table") is not None:
        return True
    rows = own_rows(table)
    if not rows or (len(rows) == 1 and sum(1 for _ in rows[0].iterchildren("td", "th")) <= 1):
        return True
    for td in table.iter("td", "th"):
        if len(cell_text(td, cache)) > 200 and sum(1 for _ in td.iter("p", "div", "br", "li")) >= _PROSE_BLOCKS:
            return True
    return False


def _flatten_tables(body, cache: dict | None) -> None:
    for table in list(body.iter("table")):
        if is_layout_table(table, cache):
            continue  # its cells are read as blocks
        for tr in own_rows(table):
            tds = [td for td in tr if isinstance(td.tag, str) and td.tag in ("td", "th")]
            texts = [cell_text(td, cache) for td in tds]
            for i, (td, text) in enumerate(zip(tds, texts)):
                del td[:]
                td.text = text
                td.tail = " | " if i + 1 < len(tds) else "\n"
            if not any(texts):
                tr.text, tr.tail = "", "\n"
                for td in tds:
                    td.text, td.tail = "", ""


def html_lines(doc, cache: dict | None = None) -> list[str]:
    body = doc.find("body")
    body = body if body is not None else doc
    _flatten_tables(body, cache)
    text = "".join(body.itertext()).translate(_INVISIBLE)
    return [" ".join(words) for words in (line.split() for line in text.split("\n")) if words]
