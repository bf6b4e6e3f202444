"""HTML tables → grids of cells, with rowspan and colspan expanded (lxml, hot path).

Word-exported pages nest the data tables inside layout tables, split labels over spans
and `<br>`, and leave `<p>&nbsp;</p>` in empty cells.  Each `<table>` yields its own rows
(cells of nested tables are not mixed into the outer one), in document order, so a
table split across a page break simply continues in the next table.
"""

from __future__ import annotations

import re
import threading

from lxml import etree

from .cells import Cell, Row

MAX_SPAN = 64  # a hostile or broken colspan/rowspan must not explode the grid
MAX_ROWS = 2000


def cell_text(el, cache: dict | None = None) -> str:
    """Text of a cell: inline runs joined tight, blocks and <br> as one space.
    `cache` (one dict per document, from `new_cache`) saves reading a cell twice (grid
    and page text) and knows the layout cells."""
    if cache is None:
        return "" if el.find(".//table") is not None else _cell_text(el)
    text = cache.get(el)
    if text is None:
        text = cache[el] = "" if el in cache["layout"] else _cell_text(el)
    return text


def new_cache(doc) -> dict:
    return {"layout": layout_cells(doc)}


# zero-width characters, and control characters lxml would refuse when the text is set back
_INVISIBLE = str.maketrans("", "", "\u200b\ufeff" + "".join(map(chr, [*range(0, 9), 11, 12, *range(14, 32), 127])))
_BLOCK_TAGS = ("br", "p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "section",
               "article", "header", "footer", "nav", "dt", "dd", "dl", "blockquote", "pre", "form",
               "center", "hr", "address", "figure", "figcaption", "main", "aside", "tr", "table")


# A line break the markup makes (a block boundary, a <br>, a table row), told apart from a
# newline in the page's source, which may fall inside a word or a number (`20</span>\n<span>23年`).
BREAK = "\ue001"  # private use: never in a real page's text


def mark_blocks(doc) -> None:
    """Put a `BREAK` at every block boundary and <br>, so the page's text is one C-level
    `string()` that still has its lines.  Run after the data tables were replaced by
    their text (`html_text`): fewer elements left to mark."""
    for el in doc.iter(*_BLOCK_TAGS):
        try:
            el.tail = BREAK + el.tail if el.tail else BREAK
            if el.tag not in ("br", "hr"):
                el.text = BREAK + el.text if el.text else BREAK
        except ValueError:  # control characters lxml parsed but will not take back
            el.tail = BREAK + (el.tail or "").translate(_INVISIBLE)
            if el.tag not in ("br", "hr"):
                el.text = BREAK + (el.text or "").translate(_INVISIBLE)


def strip_scripts(doc) -> None:
    """Scripts and styles are not text (their content would leak into cells and lines)."""
    for el in doc.iter("script", "style", "noscript", "template"):
        el.text = None
        for child in list(el):
            el.remove(child)


def _text_content(el) -> str:
    """Every text node under `el`, as `string()` gives it, at half the cost per cell."""
    return etree.tostring(el, method="text", encoding="unicode", with_tail=False)


_BLOCKS_IN = etree.XPath("count(.//p | .//div | .//br | .//li)")
_TWO_DIGITS = re.compile(r"\d\D*\d")


def _cell_text(el) -> str:
    """Inline runs joined tight (`本年新<br>制作数量` reads as one label), except that a
    cell whose digits sit in separate blocks (`<p>4</p><p>5</p>`) keeps them apart: two
    numbers, never 45."""
    text = _text_content(el)
    if not text:
        return ""
    text = " ".join(text.translate(_INVISIBLE).split())
    if _TWO_DIGITS.search(text) and _BLOCKS_IN(el) >= 2:
        return _cell_text_blocks(el)
    return text


def _cell_text_blocks(el) -> str:
    parts: list[str] = []
    for event, node in etree.iterwalk(el, events=("start", "end")):
        block = node is not el and node.tag in _BLOCK_TAGS
        if event == "start":
            if block:
                parts.append(" ")
            if node.text:
                parts.append(node.text)
        else:
            if block:
                parts.append(" ")
            if node is not el and node.tail:
                parts.append(node.tail)
    return " ".join("".join(parts).translate(_INVISIBLE).split())


def layout_cells(doc) -> set:
    """Cells that hold a nested table: page layout, whose text is never a label."""
    return {td for table in doc.iter("table") for td in table.iterancestors("td", "th")}


def _span(raw: str | None) -> int:
    if raw is None:
        return 1
    if raw.isdigit():
        n = int(raw)
    else:
        m = re.match(r"\s*(\d+)", raw)
        n = int(m.group(1)) if m else 1
    return max(1, min(n, MAX_SPAN))


_ROWS = etree.XPath("./tr | ./tbody/tr | ./thead/tr | ./tfoot/tr")


def own_rows(table) -> list:
    """The <tr>s of this table, not of tables nested in its cells."""
    return _ROWS(table)


def table_grid(table, index: int, cache: dict | None = None) -> list[Row]:
    """Expand one <table> into rows of `Cell`s (one per distinct cell per row)."""
    trs = own_rows(table)[:MAX_ROWS]
    n = len(trs)
    cache = cache if cache is not None else new_cache(table)
    layout = cache["layout"]
    # cells still covering a later row through rowspan: row → {col: cell}
    pending: dict[int, dict[int, Cell]] = {}
    rows: list[Row] = []
    for r, tr in enumerate(trs):
        carried = pending.pop(r, {})
        col = 0
        cells: list[Cell] = []
        for td in tr.iterchildren("td", "th"):
            while col in carried:
                col += 1
            get = td.get
            rs_raw, cs_raw = get("rowspan"), get("colspan")
            rs = 1 if rs_raw is None else _span(rs_raw)
            cs = 1 if cs_raw is None else _span(cs_raw)
            text = cache.get(td)
            if text is None:
                text = cache[td] = "" if td in layout else _cell_text(td)
            cell = Cell(text, index, r, col, cs, (r, col))
            cells.append(cell)
            for dr in range(1, min(rs, n - r)):
                below = pending.setdefault(r + dr, {})
                for dc in range(cs):
                    below[col + dc] = cell
            col += cs
        if carried:
            seen = {c.origin for c in cells}
            for c in carried.values():
                if c.origin not in seen:
                    seen.add(c.origin)
                    cells.append(Cell(c.text, index, r, c.col, c.span, c.origin, continued=True))
            cells.sort(key=lambda c: c.col)
        rows.append(Row(cells, "html"))
    return rows


def document_tables(doc, cache: dict | None = None) -> list[tuple[object, list[Row]]]:
    """Every table of a parsed lxml document with its rows, in document order (each table
    its own rows only: a nested table's cells are not mixed into the outer one)."""
    return [(t, table_grid(t, i, cache)) for i, t in enumerate(doc.iter("table"))]


BYTE_ENCODINGS = ("utf-8", "gb18030")
_local = threading.local()  # lxml parsers are not shared between threads


def _parser(encoding: str | None = None):
    parsers = getattr(_local, "parsers", None)
    if parsers is None:
        parsers = _local.parsers = {}
    if encoding not in parsers:
        parsers[encoding] = etree.HTMLParser(recover=True, remove_comments=True, remove_pis=True,
                                             no_network=True, encoding=encoding)
    return parsers[encoding]


def parse_html_bytes(raw: bytes, encoding: str):
    """Let lxml decode the page itself (no Python decode and re-encode of a 300 KB page);
    None when the bytes are not valid in `encoding` (a page declaring UTF-8 and served
    in GBK), so the caller can detect the encoding properly."""
    if encoding not in BYTE_ENCODINGS:
        return None
    parser = _parser(encoding)
    try:
        root = etree.fromstring(raw.replace(b"\x00", b"") if b"\x00" in raw else raw, parser)
    except (ValueError, etree.XMLSyntaxError):
        return None
    if root is None or any(e.type_name == "ERR_INVALID_ENCODING" for e in parser.error_log):
        return None
    strip_scripts(root)
    return root


def parse_html(text: str):
    """Parse HTML text leniently (plain lxml elements: no class lookup on the hot path);
    never raises on broken markup."""
    text = text.strip()
    if text.startswith("<?xml"):  # an encoding declaration in a str makes lxml refuse it
        text = text.split("?>", 1)[-1]
    try:
        root = etree.fromstring(text, _parser()) if text else None
    except (ValueError, etree.XMLSyntaxError):
        root = None
    if root is None:
        root = etree.fromstring("<html><body></body></html>", _parser())
    strip_scripts(root)
    return root
