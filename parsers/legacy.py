"""Legacy (2008-2018) figures: the statistics table in every layout, and the prose.

Reports under the 2007 regulation had no imposed table.  Most carry a
政府信息公开情况统计表 whose rows come from the national list or a provincial short form
(`parsers/legacy_template.py`), with a unit column (计量单位), the year's figure
(本年度, 2017年度, 统计数, 数量) and sometimes a running total (历年累计).  Many also state the
same figures in sentences.  This module reads both, pure (rows and lines in, facts out),
into `legacy.ROW.year` / `legacy.ROW.cumulative` (report-format.md §3.4).

Choices, so that a wrong number is never produced:
- Columns are decided by the header labels (`legacy_template.COLUMN_HEADERS`).  A table
  without a header (or continued from a table whose header it does not fit) gives only rows
  of one label and one number, read as `year`; any other row is warned about.  A table split
  across two `<table>`s continues with the header of the first when its grid has the same
  width.  A list drawn side by side (指标|单位|统计数 twice) is read as two lists.  Two columns
  of one kind (2017年 | 2016年) are not told apart: their numbers stay unread, with a warning;
  so are numbers under the unit column or under no column (a row that lost a cell).
- A unit column or a unit inside the label (`政府信息公开专项经费（万元）`) or after the number
  (`12篇`) is recorded as `Fact.unit`, never read as a value, never converted.
- A recognized row with a value cell that holds no number (blank, —, 无) gives its key with
  `None`: the report lists the indicator but gives no figure, which is not the same as an
  indicator the report does not list (no key at all), and `legacy.sums` uses the rows a
  report lists.  A row with no value cell at all gives no key.
- Sub-rows belong to the nearest parent above (`被依法纠错数` under 行政复议数量 is
  `reviews_corrected`); with no parent above, the row is not read and a warning says so.
- Prose (`legacy_prose.py`) gives a figure only for a clause naming one indicator with one
  number and its unit written right after it; a table figure always wins, a disagreement
  is a warning, and a blank table cell is filled by the text with a warning.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from . import legacy_template as L
from .cells import Cell, Row
from .labels import normalize, strip_numbering
from .legacy_prose import read_prose
from .mapping import Fact
from .values import is_empty, looks_numeric, parse_value

COLUMNS = ("year", "cumulative")
MAX_LABEL = 40


@dataclass
class LegacyRead:
    facts: dict[str, Fact] = field(default_factory=dict)  # "legacy.requests_received.year" -> Fact
    warnings: list[str] = field(default_factory=list)
    indicators: int = 0  # distinct legacy indicators recognized in a table
    table_found: bool = False  # a statistics table: >= 3 indicator rows with numbers


# --- labels --------------------------------------------------------------------------

_UNIT_WORDS = "|".join(L.UNITS)
_LABEL_UNIT = re.compile(r"^\((?:单位[:：]?)?(" + _UNIT_WORDS + r")\)$")
_NOTE = re.compile(r"\([^()]*\)")
_SUB_PREFIX = re.compile(r"^(?:其中|包括)[:,]?")
_EXTRA_NUMBERING = re.compile(r"^(?:\(\d{1,2}\)|[①-⑳]|\d{1,2}(?=[\u4e00-\u9fff]))")


def clean_label(raw: str) -> tuple[str, str | None]:
    """(normalized label without numbering, `其中` and notes in brackets; the unit written
    in it).  The national list's notes (`主动公开政府信息数（不同渠道和方式公开相同信息计1条）`)
    are not part of the name; a bracketed unit (`专项经费（万元）`) is the row's unit."""
    label = normalize(raw)
    prev = None
    while prev != label:
        prev = label
        label = strip_numbering(label)
        label = _SUB_PREFIX.sub("", label)
        label = _EXTRA_NUMBERING.sub("", label)
    unit = None
    for note in _NOTE.findall(label):
        m = _LABEL_UNIT.match(note)
        unit = m.group(1) if m else unit
    return _NOTE.sub("", label), unit


def _plausible(label: str) -> bool:
    """A row label, not a sentence: short, no sentence punctuation, no figures in it."""
    return 0 < len(label) <= MAX_LABEL and not re.search(r"[。,;!?]|\d", label)


@lru_cache(maxsize=8192)
def match_label(label: str) -> L.Indicator | L.SubRow | None:
    """The legacy row a cleaned label names (first match in `ROWS`), or None."""
    if not _plausible(label):
        return None
    for row in L.ROWS:
        if any(k in label for k in row.keys) and not any(k in label for k in row.not_keys):
            return row
    return None


def _ancestors(key: str | None) -> list[str]:
    out = []
    while key is not None and key not in out:
        out.append(key)
        key = L.BY_KEY[key].parent if key in L.BY_KEY else None
    return out


def resolve(row: L.Indicator | L.SubRow, last: str | None) -> str | None:
    """The indicator key of a matched row, given the last row read above it; None when a
    sub-row has no parent above."""
    if isinstance(row, L.Indicator):
        if row.key not in L.NEEDS_PARENT:
            return row.key
        candidates = {row.parent: row.key}
    else:
        candidates = row.by_parent
    for up in _ancestors(last):
        if up in candidates:
            return candidates[up]
    return None


# --- values --------------------------------------------------------------------------

_VALUE_UNIT = re.compile(r"^(.*?\d)\s*(" + _UNIT_WORDS + r")$")


def read_value(raw: str) -> tuple[int | float | None, str | None, str | None]:
    """(value, unit written after the number, problem) of one value cell."""
    text = unicodedata.normalize("NFKC", raw).strip()
    unit = None
    m = _VALUE_UNIT.match(text)
    if m:
        text, unit = m.group(1), m.group(2)
    cv = parse_value(text)
    return cv.value, unit, (cv.problem.replace(text, raw.strip()) if cv.problem else None)


def _is_unit(text: str) -> bool:
    t = normalize(text).strip("()")
    return t in L.UNITS


# --- headers -------------------------------------------------------------------------

_HEADER_PATTERNS = {role: [re.compile(f"^(?:{p})$") for p in pats] for role, pats in L.COLUMN_HEADERS.items()}


_HEADER_NOTE = re.compile(r"\((?:单位[:：]?)?(?:" + _UNIT_WORDS + r")\)$")


@lru_cache(maxsize=4096)
def column_role(text: str) -> str | None:
    """`unit`, `year`, `cumulative`, `label`, `serial` or `note` for a header cell, else None."""
    label = _HEADER_NOTE.sub("", normalize(text).strip(":"))
    for role in L.COLUMN_HEADERS:
        if any(p.match(label) for p in _HEADER_PATTERNS[role]):
            return role
    return None


@dataclass
class _Header:
    cols: list[tuple[str | None, str, int, int]]  # (role, raw label, start, end)
    table: int
    width: int
    start: int = 0  # first grid column covered (a half of a side-by-side list)

    def role_at(self, cell: Cell) -> tuple[str | None, str]:
        """The role of the header column a cell overlaps most (grid positions)."""
        best, raw, overlap = None, "", 0
        for role, text, a, b in self.cols:
            ov = min(b, cell.end) - max(a, cell.col)
            if ov > overlap:
                best, raw, overlap = role, text, ov
        return best, raw

    @property
    def value_roles(self) -> list[tuple[str, str]]:
        return [(r, t) for r, t, _a, _b in self.cols if r in COLUMNS]

    def halves(self) -> list[_Header]:
        """The list drawn side by side (指标|单位|统计数|指标|单位|统计数): one header per
        label column, each covering the grid up to the next; else this header alone."""
        starts = [a for r, _t, a, _b in self.cols if r == "label"]
        if len(starts) < 2:
            return [self]
        bounds = [0, *starts[1:], max(self.width, max(c[3] for c in self.cols))]
        return [_Header([c for c in self.cols if lo <= c[2] < hi], self.table, hi, lo)
                for lo, hi in zip(bounds, bounds[1:])]


def _header_of(row: Row) -> _Header | None:
    """A header row: no numbers, no indicator, at least one value column (year or
    cumulative) and every other labelled cell a known column (label, unit, serial)."""
    texts = [c for c in row.cells if not c.continued and not is_empty(c.text)]
    if not texts or any(looks_numeric(c.text) for c in texts):
        return None
    roles = [column_role(c.text) for c in texts]
    if not any(r in COLUMNS for r in roles) or sum(r is None for r in roles) > 0:
        return None
    if any(match_label(clean_label(c.text)[0]) for c in texts):
        return None
    cols = [(r, c.text, c.col, c.end) for r, c in zip(roles, texts)]
    header = _Header(cols, texts[0].table, max((c.end for c in row.cells), default=0))
    # two columns of the same kind in one list (2017年 | 2016年): which is the report's
    # year is not for the table reader to guess; their cells stay unread, with a warning
    halves = header.halves()
    for half in halves:
        for role in COLUMNS:
            if sum(c[0] == role for c in half.cols) > 1:
                half.cols = [(None if c[0] == role else c[0], *c[1:]) for c in half.cols]
    header.cols = sorted((c for half in halves for c in half.cols), key=lambda c: c[2])
    return header


def _merge(old: _Header, new: _Header) -> _Header:
    """A second header row (统计数 over 本年度 | 历年累计): its columns replace the ones above."""
    kept = [c for c in old.cols if not any(min(c[3], n[3]) > max(c[2], n[2]) for n in new.cols)]
    return _Header(sorted(kept + new.cols, key=lambda c: c[2]), new.table, max(old.width, new.width))


# --- the reader ----------------------------------------------------------------------

@dataclass
class _Line:
    """One table row taken apart: label cells, unit, and value cells with their column."""
    labels: list[str]  # the label cells' texts, left to right
    unit: str | None
    values: list[tuple[str, str, Cell]]  # (column key, column label, cell)
    problem: str | None = None


class _TableReader:
    def __init__(self) -> None:
        self.out = LegacyRead()
        self.header: _Header | None = None
        self.last_key: dict[int, str | None] = {}  # per half: the last indicator read (parent of what follows)
        self.header_row: tuple[int, int] | None = None  # (table, row) of the header's last row
        self.with_numbers: set[str] = set()
        self.seen: set[str] = set()
        self.claimed_lines: set[int] = set()  # text rows read as indicators (not prose)

    def warn(self, msg: str) -> None:
        if msg not in self.out.warnings:
            self.out.warnings.append(msg)

    # -- splitting a row
    def _header_for(self, row: Row) -> _Header | None:
        """The header that applies to this row: its table's, or the previous table's when
        this table has none and draws the same grid width (a table split in two)."""
        h = self.header
        if h is None:
            return None
        table = row.cells[0].table
        if h.table == table:
            return h
        width = max(c.end for c in row.cells)
        if row.form == "text" or width == h.width:
            return h
        return None

    def _split_grid(self, row: Row, header: _Header) -> _Line:
        label_cells, unit, values, stray = [], None, [], []
        for cell in row.cells:
            role, col_label = header.role_at(cell)
            if role in COLUMNS:
                values.append((role, col_label, cell))
            elif role == "unit":
                if _is_unit(cell.text) or not looks_numeric(cell.text):
                    unit = normalize(cell.text).strip("()") or None
                elif not is_empty(cell.text):  # a row drawn without its unit cell: which column?
                    stray.append(f"{cell.text} under {header.role_at(cell)[1]}")
            elif role in ("serial", "note"):
                continue
            elif not is_empty(cell.text):
                if looks_numeric(cell.text):
                    stray.append(f"{cell.text} under {header.role_at(cell)[1] or 'no header'}")
                    continue
                label_cells.append(cell)
        label_cells = [c for c in label_cells if not c.continued] or label_cells
        problem = ("numbers outside the value columns: " + ", ".join(stray)) if stray else None
        return _Line([c.text for c in label_cells], unit, [] if stray else values, problem)

    def _split_tokens(self, row: Row, header: _Header | None) -> _Line:
        """Text rows (and grids with no header): label cells, a unit cell, value cells."""
        cells = list(row.cells)
        i = 0
        while i < len(cells) and (is_empty(cells[i].text) or (header is None and looks_numeric(cells[i].text)
                                                              and i == 0 and len(cells) > 2)):
            i += 1  # leading blanks; a serial number in a headerless table
        label_cells = []
        while i < len(cells) and not looks_numeric(cells[i].text) and not _is_unit(cells[i].text):
            label_cells.append(cells[i])
            i += 1
        unit = None
        if i < len(cells) and _is_unit(cells[i].text):
            unit = normalize(cells[i].text).strip("()")
            i += 1
        rest = cells[i:]
        labels = [c.text for c in label_cells if not c.continued] or [c.text for c in label_cells]
        if any(not looks_numeric(c.text) and not is_empty(c.text) for c in rest):
            return _Line(labels, unit, [], "text among the numbers: " + " ".join(c.text or "∅" for c in rest))
        while rest and is_empty(rest[-1].text) and row.form != "text":
            rest.pop()  # Word's empty trailing cells
        roles = header.value_roles if header is not None else [("year", "")]
        if not rest:
            return _Line(labels, unit, [])
        if len(rest) == len(roles):
            return _Line(labels, unit, [(r, t, c) for (r, t), c in zip(roles, rest)])
        if header is None:
            why = f"{len(rest)} numbers and no header to tell their columns"
        else:
            why = f"{len(rest)} cells for {len(roles)} columns ({', '.join(t for _r, t in roles)})"
        return _Line(labels, unit, [], why + ": " + " ".join(c.text or "∅" for c in rest))

    # -- one row
    def row(self, row: Row) -> None:
        if not row.cells:
            return
        table = row.cells[0].table
        header = _header_of(row)
        if header is not None:
            pos = (table, row.cells[0].row)
            if self.header is not None and self.header_row == (table, pos[1] - 1) and self.header.table == table:
                header = _merge(self.header, header)
            self.header, self.header_row = header, pos
            return
        h = self._header_for(row)
        if h is None or row.form == "text":
            self.read(row, self._split_tokens(row, h), 0)
            return
        for n, half in enumerate(h.halves()):
            cells = [c for c in row.cells if half.start <= c.col < half.width]
            if cells:
                self.read(row, self._split_grid(Row(cells, row.form, row.glued), half), n)

    def read(self, row: Row, line: _Line, half: int) -> None:
        found = self._match(line.labels, row.form)
        if found is None:
            if clean_label("".join(line.labels))[0]:
                self.last_key[half] = None  # a heading we do not know: the sub-rows after it are not ours
            return
        raw_label, label_unit, matched = found
        key = resolve(matched, self.last_key.get(half))
        if key is None:
            numbers = " ".join(c.text for _r, _t, c in line.values if c.text) or "none"
            self.warn(f"legacy: sub-row {raw_label!r} has no parent row above it; not read (numbers: {numbers})")
            return
        self.last_key[half] = key
        self.seen.add(key)
        if row.form == "text":
            self.claimed_lines.add(row.cells[0].row)
        if line.problem:
            self.warn(f"legacy.{key}: {line.problem}; values left null")
            return
        if row.glued:
            self.warn(f"legacy.{key}: digits glued to the label ({row.cells[-1].text}); not read")
            return
        for col, col_label, cell in line.values:
            value, value_unit, problem = read_value(cell.text)
            if problem:
                self.warn(f"legacy.{key}.{col}: {problem}")
            unit = value_unit or line.unit or label_unit
            self.put(Fact(f"legacy.{key}.{col}", value, cell.text, cell.table, cell.row, cell.col,
                          raw_label, col_label, row.form, unit))
            if value is not None:
                self.with_numbers.add(key)

    @staticmethod
    def _match(labels: list[str], form: str) -> tuple[str, str | None, L.Indicator | L.SubRow] | None:
        """(label as written, unit written in it, matched row).  A grid row's last label cell
        is the most specific (`四、行政复议数量` drawn as a rowspan group beside
        `被依法纠错数`), so it is tried first; text rows split labels at spaces
        (`信函、 传真申请数`), so there the whole label comes first."""
        if not labels:
            return None
        whole = "".join(labels)
        for raw in ([labels[-1], whole] if form != "text" else [whole, labels[-1]]):
            label, unit = clean_label(raw)
            matched = match_label(label)
            if matched is not None:
                return raw.strip(), unit, matched
        return None

    def put(self, fact: Fact) -> None:
        old = self.out.facts.get(fact.key)
        if old is None:
            self.out.facts[fact.key] = fact
        elif old.value is None and fact.value is not None:
            self.out.facts[fact.key] = fact  # a later copy of the row that has the figure
        elif fact.value is not None and fact.value != old.value:
            self.warn(f"{fact.key}: found twice ({old.raw!r} and {fact.raw!r}); kept the first")


def read_table_rows(rows: list[Row]) -> tuple[LegacyRead, set[int]]:
    reader = _TableReader()
    for row in rows:
        reader.row(row)
    out = reader.out
    out.indicators = len(reader.seen)
    out.table_found = len(reader.with_numbers) >= 3
    return out, reader.claimed_lines


def read_legacy(rows: list[Row], lines: list[str]) -> LegacyRead:
    """rows: every table row of the document (parsers.cells.Row; HTML grids, PDF/DOCX
    tables, text rows); lines: the document's text lines (for prose figures).  Pure;
    never raises (a failure is a warning and an empty read, never a partial guess)."""
    try:
        out, claimed = read_table_rows(rows)
        prose, prose_warnings = read_prose(lines, skip=claimed)
        out.warnings.extend(prose_warnings)
        for key, fact in prose.items():
            table = out.facts.get(key)
            if table is None:
                out.facts[key] = fact
            elif table.value is None:  # a blank cell is no figure: the sentence gives it
                out.facts[key] = fact
                out.warnings.append(f"{key}: the table cell is blank; the text says {_fmt(fact.value)} (text kept)")
            elif table.value != fact.value:
                out.warnings.append(f"{key}: the text says {_fmt(fact.value)}, the table {_fmt(table.value)} "
                                    "(table kept)")
        return out
    except Exception as exc:  # noqa: BLE001 - the contract: a bad page never stops a parse
        return LegacyRead({}, [f"legacy: not read ({type(exc).__name__}: {exc})"], 0, False)


def _fmt(n) -> str:
    return f"{n:g}" if isinstance(n, float) else str(n)
