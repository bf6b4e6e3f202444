"""An HTML page as lines of text, the way a reader sees it.

Metadata lines (索引号, 发布日期), section headings and prose are found in this text;
table rows become one line each with ` | ` between cells, so flattened-text parsing can
still read a table that HTML structure alone does not reveal (tables drawn with `<p>`s).

Speed matters (Word pages run to 300 KB): each data table is replaced in the tree by its
rows' text, then `html_grid.mark_blocks` puts a newline at every block boundary left, so
the whole page is read with a single C-level `string()`.  Call this after the grids are
built: it rewrites the tree.
"""

from __future__ import annotations

import re

from lxml import etree

from .cells import Row
from .html_grid import BREAK, cell_text, mark_blocks, own_rows

_INVISIBLE = str.maketrans("", "", "\u200b\ufeff")
# digits split by a newline of the page's source (`20</span>\n<span>23年`): one number
_SPLIT_DIGITS = re.compile(r"(\d)[ \t\r\xa0\u3000]*\n[ \t\r\n\xa0\u3000]*(?=\d)")
_STRING = etree.XPath("string()")


_PROSE_BLOCKS = 3  # a cell holding this many paragraphs is page layout, not a table cell


def is_layout_table(table, rows: list[Row]) -> bool:
    """A table used for page layout: it holds other tables, has a single cell, or a
    cell holding paragraphs of prose (the whole article in one <td>).  `rows` is its grid."""
    if table.find(".//table") is not None:
        return True
    if not rows or (len(rows) == 1 and len(rows[0].cells) <= 1):
        return True
    if any(len(c.text) > 200 for row in rows for c in row.cells):  # rare in a data table
        for td in table.iter("td", "th"):
            if sum(1 for _ in td.iter("p", "div", "br", "li")) >= _PROSE_BLOCKS and len(cell_text(td)) > 200:
                return True
    return False


def _replace_tables(tables: list) -> None:
    """Each data table becomes one block of text in the tree: a line per row, ` | `
    between the cells as written (rowspan repeats left out)."""
    for table, rows in tables:
        parent = table.getparent()
        if parent is None or is_layout_table(table, rows):
            continue  # its cells are read as blocks
        lines = [" | ".join(c.text for c in row.cells if not c.continued) for row in rows]
        block = etree.Element("pre")
        block.text = BREAK + BREAK.join(line for line in lines if line.strip(" |")) + BREAK
        block.tail = table.tail
        table.tail = None
        parent.replace(table, block)


def html_lines(doc, tables: list) -> list[str]:
    """The page's lines; `tables` are `document_tables(doc)` (replaced in the tree)."""
    body = doc.find("body")
    body = body if body is not None else doc
    _keep_pre_lines(body)
    _replace_tables(tables)
    mark_blocks(body)
    text = str(_STRING(body))
    if "\u200b" in text or "\ufeff" in text:
        text = text.translate(_INVISIBLE)
    if "\n" in text:
        text = _SPLIT_DIGITS.sub(r"\1", text)
    text = text.replace(BREAK, "\n")
    return [" ".join(line.split()) for line in text.split("\n") if line and not line.isspace()]


def _keep_pre_lines(body) -> None:
    """The newlines of a page's own <pre> are its line breaks (a report pasted as text),
    never a number split by the source."""
    for pre in body.iter("pre"):
        for node in pre.iter():
            try:
                if node.text and "\n" in node.text:
                    node.text = node.text.replace("\n", BREAK)
                if node is not pre and node.tail and "\n" in node.tail:
                    node.tail = node.tail.replace("\n", BREAK)
            except ValueError:  # text lxml will not take back: its lines stay as parsed
                continue
