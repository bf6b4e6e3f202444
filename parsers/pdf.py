"""PDF with a text layer → rows of cells and lines of text (pdfplumber).

Ruled tables come from pdfplumber's line-based table finder; their cell rectangles are
turned into a grid (distinct x and y edges), merged cells kept as spans the way
`html_grid` keeps rowspan/colspan.  Tables drawn without rules are found from the words
themselves: lines of words holding numbers, columns from where the numbers sit, the
header lines above them with vertical stacks of single characters joined back.

Page furniture is dropped before anything else: the top and bottom lines of a page when
they repeat on other pages (digits aside) or look like a page number.  A table that ends
at the bottom of one page and starts again at the top of the next is one table, whether
its header is repeated or not.  A PDF without a text layer is `needs_ocr`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from io import BytesIO
from statistics import median

from .binary import Extracted
from .cells import Cell, Row
from .labels import normalize, strip_numbering
from .sections import find_headings
from .values import looks_numeric

# pdfminer reports every font quirk of a PDF (`Could not get FontBBox…`) as a warning, once
# per glyph: noise on stderr for a user parsing a report, and nothing a parse can act on
logging.getLogger("pdfminer").setLevel(logging.ERROR)

MAX_PAGES = 200
EDGE_TOL = 2.0  # points: two cell edges closer than this are the same grid line
WRAP_GAP = 0.6  # lines of one wrapped cell: less than this share of a line's height apart
_PAGE_NO = re.compile(r"^(?:[-—–－·\s]*\d{1,4}[-—–－·\s]*|第\s*\d+\s*页(?:\s*[,，/]?\s*共\s*\d+\s*页)?|"
                      r"\d+\s*/\s*\d+|(?:page|Page|PAGE)\s*\d+(?:\s*of\s*\d+)?)$")
_CJK = re.compile(r"[\u2e80-\u9fff\uff00-\uffef\u3000-\u303f]")


@dataclass
class Word:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float

    @property
    def xc(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass
class Line:
    words: list[Word]

    @property
    def top(self) -> float:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> float:
        return max(w.bottom for w in self.words)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    def height_hint(self) -> float:
        return max(self.bottom - self.top, 1.0)


@dataclass
class Grid:
    """A ruled table: its cells as (text, first row, last row + 1, x0, x1); grid columns
    are fixed only once a table continued on the next page has been joined to it."""
    cells: list[tuple[str, int, int, float, float]]
    nrows: int
    x0: float
    x1: float

    def join(self, other: "Grid") -> None:
        shift = self.nrows
        if self._row_continues(other):  # a row broken by the page: its label's last words
            last = self.nrows - 1
            for t, r0, r1, a, b in other.cells:
                if r0 == 0 and t:
                    k = next(i for i, c in enumerate(self.cells) if c[1] <= last < c[2] and _overlaps(c, a, b))
                    text, c0, c1, ca, cb = self.cells[k]
                    self.cells[k] = (text + t, c0, c1, ca, cb)
            other_cells = [(t, r0 - 1, r1 - 1, a, b) for t, r0, r1, a, b in other.cells if r1 > 1]
            other_cells = [(t, max(r0, 0), r1, a, b) for t, r0, r1, a, b in other_cells]
            shift, rows = self.nrows, other.nrows - 1
        else:
            other_cells, rows = other.cells, other.nrows
        self.cells += [(t, r0 + shift, r1 + shift, a, b) for t, r0, r1, a, b in other_cells]
        self.nrows += rows

    def _row_continues(self, other: "Grid") -> bool:
        """The next page's first row only finishes labels of this table's last row (Word
        lets a row break across pages): no numbers in it, and each of its words sits under
        a cell of the last row that holds words, not numbers."""
        last = self.nrows - 1
        head = [(t, a, b) for t, r0, _r1, a, b in other.cells if r0 == 0 and t]
        if not head or any(re.search(r"\d", t) for t, _a, _b in head):
            return False
        above = [c for c in self.cells if c[1] <= last < c[2]]
        if not any(re.search(r"\d", c[0]) for c in above):
            return False  # the last row is no data row (a header): nothing was broken
        for t, a, b in head:
            under = [c for c in above if _overlaps(c, a, b)]
            if len(under) != 1 or not under[0][0] or _is_value(under[0][0]):
                return False
        return True

    def continues(self, other: "Grid") -> bool:
        """Same outer edges and most column edges shared: the same table on the next page."""
        if abs(self.x0 - other.x0) > EDGE_TOL or abs(self.x1 - other.x1) > EDGE_TOL:
            return False
        mine = _edges([c[3] for c in self.cells] + [c[4] for c in self.cells])
        theirs = _edges([c[3] for c in other.cells] + [c[4] for c in other.cells])
        shared = sum(1 for x in theirs if any(abs(x - y) <= EDGE_TOL for y in mine))
        return shared >= 0.5 * min(len(mine), len(theirs))

    def rows(self) -> list[list[tuple[str, int, int, int]]]:
        """Rows of (text, row of origin, first col, span), one entry per distinct cell."""
        xs = _edges([c[3] for c in self.cells] + [c[4] for c in self.cells])
        occupied: list[dict[int, tuple[str, int, int, int]]] = [{} for _ in range(self.nrows)]
        for text, r0, r1, a, b in self.cells:
            c0, c1 = _index(xs, a), _index(xs, b)
            if c1 <= c0:
                continue
            for r in range(r0, r1):
                occupied[r].setdefault(c0, (text, r0, c0, c1 - c0))
        return [[row[c] for c in sorted(row)] for row in occupied]


@dataclass
class Item:
    """One thing on a page, in reading order: a text line, a ruled grid or an unruled block."""
    kind: str  # line | ruled | unruled
    top: float
    line: Line | None = None
    grid: Grid | None = None
    lines: list[Line] = field(default_factory=list)


# --- words and lines -------------------------------------------------------------------

def _words(page) -> list[Word]:
    out = []
    for w in page.extract_words(keep_blank_chars=False, x_tolerance=2, y_tolerance=2):
        text = w["text"].strip()
        if text:
            out.append(Word(text, float(w["x0"]), float(w["x1"]), float(w["top"]), float(w["bottom"])))
    return out


def group_lines(words: list[Word]) -> list[Line]:
    """Words into lines by vertical position (a word joins a line it overlaps by half)."""
    lines: list[Line] = []
    for w in sorted(words, key=lambda w: (w.top, w.x0)):
        for line in reversed(lines[-3:]):
            overlap = min(line.bottom, w.bottom) - max(line.top, w.top)
            if overlap >= 0.5 * min(w.height, line.bottom - line.top):
                line.words.append(w)
                break
        else:
            lines.append(Line([w]))
    for line in lines:
        line.words.sort(key=lambda w: w.x0)
    return lines


def join_fragments(parts: list[str]) -> str:
    """Lines of one cell as one text: no space between CJK pieces (wrapped or stacked
    labels), one space between Latin or digit pieces."""
    out = ""
    for p in parts:
        if out and not (_CJK.search(out[-1]) or _CJK.search(p[0])):
            out += " "
        out += p
    return out


# --- page furniture ----------------------------------------------------------------------

def _furniture_key(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))


def furniture(pages_lines: list[list[Line]], heights: list[float]) -> list[set[int]]:
    """Indices of header/footer lines per page: the two top and two bottom lines of a page,
    when in the outer 12% of the page and repeated on another page or a page number."""
    candidates: list[list[int]] = []
    for lines, h in zip(pages_lines, heights):
        idx = [i for i in (0, 1) if i < len(lines) and lines[i].bottom <= 0.12 * h]
        idx += [i for i in (len(lines) - 1, len(lines) - 2) if i >= 0 and lines[i].top >= 0.88 * h]
        candidates.append(sorted(set(idx)))
    counts: dict[str, int] = {}
    for lines, idx in zip(pages_lines, candidates):
        for key in {_furniture_key(lines[i].text) for i in idx}:
            counts[key] = counts.get(key, 0) + 1
    out: list[set[int]] = []
    for lines, idx in zip(pages_lines, candidates):
        drop = set()
        for i in idx:
            text = lines[i].text.strip()
            if _PAGE_NO.match(text) or (len(pages_lines) > 1 and counts[_furniture_key(text)] >= 2):
                drop.add(i)
        out.append(drop)
    return out


# --- ruled tables ----------------------------------------------------------------------

def _edges(values: list[float]) -> list[float]:
    out: list[float] = []
    for v in sorted(values):
        if not out or v - out[-1] > EDGE_TOL:
            out.append(v)
    return out


def _overlaps(cell: tuple, a: float, b: float) -> bool:
    """A grid cell (text, r0, r1, x0, x1) sharing most of the span a..b."""
    return min(cell[4], b) - max(cell[3], a) > 0.5 * (b - a)


def _index(edges: list[float], v: float) -> int:
    return min(range(len(edges)), key=lambda i: abs(edges[i] - v))


def _inside(w: Word, bbox) -> bool:
    x0, top, x1, bottom = bbox
    return x0 <= w.xc <= x1 and top <= (w.top + w.bottom) / 2 <= bottom


def cell_text(words: list[Word]) -> str:
    return join_fragments([ln.text for ln in group_lines(words)]) if words else ""


def ruled_grid(cells: list[tuple], words: list[Word]) -> Grid | None:
    """Cell rectangles → a grid of cells (rows fixed, columns fixed later), spans kept."""
    xs = _edges([c[0] for c in cells] + [c[2] for c in cells])
    ys = _edges([c[1] for c in cells] + [c[3] for c in cells])
    if len(xs) < 3 or len(ys) < 3:
        return None  # a box around a title or a note, not a table
    out = []
    for bbox in sorted(cells, key=lambda c: (c[1], c[0])):
        r0, r1 = _index(ys, bbox[1]), _index(ys, bbox[3])
        if r1 <= r0 or bbox[2] - bbox[0] <= EDGE_TOL:
            continue
        out.append((cell_text([w for w in words if _inside(w, bbox)]), r0, r1, bbox[0], bbox[2]))
    return Grid(out, len(ys) - 1, xs[0], xs[-1])


# --- unruled tables ------------------------------------------------------------------------

def _is_value(text: str) -> bool:
    return looks_numeric(text) and bool(re.search(r"\d", text))


def _numeric_row(line: Line) -> bool:
    return len(line.words) >= 2 and any(_is_value(w.text) for w in line.words[1:]) or (
        len(line.words) >= 5 and all(looks_numeric(w.text) for w in line.words))


def _tableish(line: Line) -> bool:
    return all(len(w.text) <= 45 and "。" not in w.text for w in line.words)


def unruled_blocks(lines: list[Line]) -> list[tuple[int, int]]:
    """[start, end) line ranges that hold a table drawn without rules."""
    texts = [ln.text for ln in lines]
    headings = set(find_headings(texts).values())
    heights = [ln.bottom - ln.top for ln in lines] or [10.0]
    gap_limit = 3.0 * median(heights)
    blocks: list[tuple[int, int]] = []
    i = 0
    while i < len(lines):
        if not _numeric_row(lines[i]) or i in headings:
            i += 1
            continue
        start = i
        while start > 0 and start - 1 not in headings and _tableish(lines[start - 1]) \
                and not _numeric_row(lines[start - 1]) \
                and lines[start].top - lines[start - 1].bottom <= gap_limit \
                and not any(b[1] > start - 1 for b in blocks):
            start -= 1
        end = last = i
        j = i + 1
        while j < len(lines) and j not in headings and _tableish(lines[j]) \
                and lines[j].top - lines[j - 1].bottom <= gap_limit:
            if _numeric_row(lines[j]):
                last = j
            j += 1
        end = last + 1
        blocks.append((start, end))
        i = end
    return blocks


def _value_columns(rows: list[Line]) -> list[tuple[float, float]]:
    """Column extents from where the numbers sit (rows with two or more values)."""
    spans = []
    for line in rows:
        vals = _values(line)
        if len(vals) >= 2:
            spans.extend((w.x0, w.x1) for w in vals)
    cols: list[list[float]] = []
    for x0, x1 in sorted(spans):
        if cols and x0 <= cols[-1][1] + 1.0:
            cols[-1][1] = max(cols[-1][1], x1)
        else:
            cols.append([x0, x1])
    return [(a, b) for a, b in cols]


def _values(line: Line) -> list[Word]:
    for k, w in enumerate(line.words):
        if _is_value(w.text) or (looks_numeric(w.text) and k > 0):
            return line.words[k:]
    return []


def _place(w: Word, cols: list[tuple[float, float]]) -> tuple[int, int]:
    """(first grid col, span) of a word: col 0 is the label column, 1.. the value columns."""
    if not cols or w.x1 < cols[0][0] - 1:
        return 0, 1
    centers = [(a + b) / 2 for a, b in cols]
    covered = [k for k, c in enumerate(centers) if w.x0 - 1 <= c <= w.x1 + 1]
    if not covered:
        covered = [min(range(len(cols)), key=lambda k: abs(centers[k] - w.xc))]
    return covered[0] + 1, len(covered)


def _stacks(lines: list[Line]) -> list[list[Word]]:
    """Header words with vertical stacks (a character or a short piece per line, one
    under the other) joined: each result is the pieces of one header cell, top to bottom."""
    chains: list[list[Word]] = []
    open_: list[list[Word]] = []
    for line in lines:
        nxt: list[list[Word]] = []
        for w in line.words:
            for chain in open_:
                last = chain[-1]
                overlap = min(last.x1, w.x1) - max(last.x0, w.x0)
                if len(last.text) <= 4 and len(w.text) <= 4 and \
                        overlap >= 0.5 * min(last.x1 - last.x0, w.x1 - w.x0) and \
                        w.top - last.bottom <= 1.5 * max(w.height, 1):
                    chain.append(w)
                    open_.remove(chain)
                    nxt.append(chain)
                    break
            else:
                chain = [w]
                chains.append(chain)
                nxt.append(chain)
        open_ = nxt
    return chains


def unruled_grid(lines: list[Line]) -> list[list[tuple[str, int, int, int]]]:
    """Lines of an unruled table → rows of (text, row, col, span)."""
    cols = _value_columns(lines)
    first = next((k for k, ln in enumerate(lines) if _numeric_row(ln)), len(lines))
    rows: list[list[tuple[str, int, int, int]]] = []
    if first:
        heads: dict[int, list[tuple[str, int, int, int]]] = {}
        order = {id(w): k for k, ln in enumerate(lines[:first]) for w in ln.words}
        for chain in _stacks(lines[:first]):
            r = order[id(chain[0])]
            merged = Word("".join(w.text for w in chain) if len(chain) > 1 else chain[0].text,
                          min(w.x0 for w in chain), max(w.x1 for w in chain), chain[0].top, chain[-1].bottom)
            col, span = _place(merged, cols)
            heads.setdefault(r, []).append((merged.text, r, col, span))
        for r in sorted(heads):
            rows.append(sorted(heads[r], key=lambda c: c[2]))
    for r, label, vals, words in _wrapped_rows(lines, first, cols):
        row = [(w.text, r, 0, 1) for w in label]
        for w in vals:
            col, _span = _place(w, cols)
            row.append((w.text, r, col, 1))
        if not vals:
            row = [(w.text, r, *_place(w, cols)) for w in words]
        rows.append(row)
    return rows


def _numbered(words: list[Word]) -> bool:
    return bool(words) and strip_numbering(normalize(words[0].text)) != normalize(words[0].text)


def _wrapped_rows(lines: list[Line], first: int, cols: list[tuple[float, float]]):
    """Body lines as (row, label words, value words, all words), a label wrapped over two
    or three printed lines joined to its row: the lines of one cell sit closer together
    than the rows (less than `WRAP_GAP` of a line's height apart).  Row labels begin with
    their numbering (`1.`, `（二）`), so a line without one continues the label above it
    (values on its first line, or vertically centred between its lines), and a numbered
    label alone on its line takes the values printed just below it."""
    out: list[list] = []  # [row, label words, value words, all words, label-only, numbered]
    prev: Line | None = None
    for r, line in enumerate(lines[first:], start=first):
        vals = _values(line)
        label = line.words[:len(line.words) - len(vals)]
        label_only = not vals and bool(cols) and all(_place(w, cols)[0] == 0 for w in label)
        close = prev is not None and -line.height_hint() < line.top - prev.bottom <= WRAP_GAP * line.height_hint()
        last = out[-1] if out else None
        if close and last is not None and label_only and not _numbered(label) and last[5] and (last[2] or last[4]):
            last[1] += label  # the rest of the label above
            last[3] += label
        elif close and last is not None and vals and last[4] and last[5] and not (label and _numbered(label)):
            last[1] += label  # the values (and the rest of the label) of the numbered label above
            last[2] = vals
            last[3] += line.words
            last[4] = False
        else:
            out.append([r, list(label), vals, list(line.words), label_only, _numbered(label)])
        prev = line
    return [(r, label, vals, words) for r, label, vals, words, _lo, _n in out]


# --- pages → items → rows --------------------------------------------------------------------

def _page_items(page, drop: set[int], lines_all: list[Line], words: list[Word]) -> list[Item]:
    tables = page.find_tables(table_settings={"vertical_strategy": "lines", "horizontal_strategy": "lines"})
    items: list[Item] = []
    # a lone number at the foot or head of a page is a page number, unless a table's ruled
    # cell holds it (a table row broken by the page keeps its values)
    boxes = [t.bbox for t in tables]
    furniture_words = {id(w) for i in drop for w in lines_all[i].words
                       if not any(_inside(w, box) for box in boxes)}
    body = [w for w in words if id(w) not in furniture_words]
    taken: set[int] = set()
    for t in tables:
        inside = [w for w in body if _inside(w, t.bbox)]
        grid = ruled_grid([tuple(c) for c in t.cells], inside)
        if grid is None:
            continue
        taken.update(id(w) for w in inside)
        items.append(Item("ruled", float(t.bbox[1]), grid=grid))
    free = group_lines([w for w in body if id(w) not in taken])
    blocks = unruled_blocks(free)
    in_block = set()
    for a, b in blocks:
        items.append(Item("unruled", free[a].top, lines=free[a:b]))
        in_block.update(range(a, b))
    items += [Item("line", ln.top, line=ln) for k, ln in enumerate(free) if k not in in_block]
    items.sort(key=lambda it: it.top)
    return items


def pdf_content(data: bytes) -> Extracted:
    import pdfplumber

    out = Extracted()
    with pdfplumber.open(BytesIO(data)) as pdf:
        pages = pdf.pages[:MAX_PAGES]
        if len(pdf.pages) > MAX_PAGES:
            out.warnings.append(f"pdf: {len(pdf.pages)} pages; only the first {MAX_PAGES} read")
        info = pdf.metadata or {}
        title = info.get("Title")
        out.title = title.strip() if isinstance(title, str) and title.strip() else None
        words_per_page = [_words(p) for p in pages]
        lines_per_page = [group_lines(ws) for ws in words_per_page]
        images = sum(len(p.images) for p in pages)
        if not any(words_per_page):
            out.error = "needs_ocr"
            out.has_images = images > 0
            out.warnings.append(f"pdf: no text layer on any of {len(pages)} pages"
                                + (" (scanned images)" if images else "") + "; needs OCR")
            return out
        blank = [i + 1 for i, ws in enumerate(words_per_page) if not ws and pages[i].images]
        if blank:
            out.has_images = True
            out.warnings.append(f"pdf: pages {', '.join(map(str, blank))} are images without text (needs OCR)")
        drops = furniture(lines_per_page, [float(p.height) for p in pages])
        pages_items = [_page_items(p, d, ls, ws) for p, d, ls, ws in
                       zip(pages, drops, lines_per_page, words_per_page)]
    _assemble(pages_items, out)
    return out


def _assemble(pages_items: list[list[Item]], out: Extracted) -> None:
    """Items of every page in order; a table at the bottom of a page continued by one at
    the top of the next becomes one table."""
    merged: list[Item] = []
    for items in pages_items:
        for k, it in enumerate(items):
            prev = merged[-1] if merged else None
            if k == 0 and prev is not None and prev.kind == it.kind == "unruled":
                prev.lines = prev.lines + it.lines
                continue
            if k == 0 and prev is not None and prev.kind == it.kind == "ruled" and prev.grid.continues(it.grid):
                prev.grid.join(it.grid)
                continue
            merged.append(it)
    table = 0
    for it in merged:
        if it.kind == "unruled":
            out.raw_lines.extend(ln.text for ln in it.lines)
        elif it.kind == "line":
            out.raw_lines.append(it.line.text)
        if it.kind == "line":
            out.lines.append(it.line.text)
            continue
        grid_rows = it.grid.rows() if it.kind == "ruled" else unruled_grid(it.lines)
        for r, row in enumerate(grid_rows):
            cells = [Cell(text, table, r, col, span, (origin, col), continued=origin != r)
                     for text, origin, col, span in row]
            if it.kind == "unruled":
                cells = [Cell(c.text, table, r, c.col, c.span, (r, c.col)) for c in cells]
            out.rows.append(Row(cells, "pdf"))
            texts = [c.text for c in cells if not c.continued]
            if any(texts):
                out.lines.append(" | ".join(texts))
        table += 1
