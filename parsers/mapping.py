"""Mapping rows of cells onto the template: which table, which row, which column.

Rows are recognized by their labels (never by position alone); columns by the header
cells above them where the form keeps them (HTML grids), else by the template's order
when the number of value cells is exactly the number of columns.  Anything else gives
nulls and a warning: a number in the wrong column is the one outcome we never allow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache
from itertools import combinations

from . import templates as T
from .cells import Cell, Row
from .labels import matches, normalize, strip_numbering
from .text_rows import is_text_cell
from .values import Number, is_empty, looks_numeric, parse_value

MAX_GLUED_DIGITS = 24  # longer digit runs are not split (the search would explode)


@dataclass(slots=True)
class Fact:
    key: str
    value: Number | None
    raw: str
    table: int
    row: int
    col: int
    row_label: str
    col_label: str
    form: str
    unit: str | None = None  # as written in the report (legacy 计量单位 column or label)
    source: str = "table"  # "table" | "prose" (a legacy figure read from a sentence) | "ocr" (a picture)
    confidence: float | None = None  # OCR: tesseract's confidence in the reading (0-100)
    sign: str | None = None  # OCR: how the sign before the digits was read (本年增/减), e.g. 增 by glyph comparison

    def provenance(self) -> dict:
        out = {"raw": self.raw, "table": self.table, "row": self.row, "col": self.col,
               "row_label": self.row_label, "col_label": self.col_label, "form": self.form}
        if self.unit is not None:
            out["unit"] = self.unit
        if self.source != "table":
            out["source"] = self.source
        if self.confidence is not None:
            out["confidence"] = self.confidence
        if self.sign is not None:
            out["sign"] = self.sign
        return out


@dataclass
class Mapped:
    facts: dict[str, Fact] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    active_version: str | None = None
    applications_layout: str | None = None  # "2019" (one （六） row) | "2021" (three)
    tables: set[str] = field(default_factory=set)

    @property
    def version(self) -> str | None:
        return self.active_version or self.applications_layout


# --- label classification ------------------------------------------------------------

_APP_HEADER = ("自然人", "商业企业", "申请人情况", "勾稽关系", "科研机构", "法人或其他组织")
_APPEAL_HEADER = ("结果维持", "结果纠正", "其他结果", "尚未审结", "未经复议", "复议后起诉")
_ACTIVE_HEADER_WORDS = ("信息内容", "第二十条", "新制作", "新公开", "对外公开总", "上一年项目",
                        "处理决定", "制发件", "废止件", "有效件", "收费金额", "采购项目", "采购总金额",
                        "增/减", "本年增")
_GROUP_WORDS = ("本年度办理结果", "不予公开", "无法提供", "不予处理", "其他处理")
MAX_LABEL = 90


def _plausible_label(label: str) -> bool:
    return 0 < len(label) <= MAX_LABEL and "。" not in label


@lru_cache(maxsize=8192)
def match_active_row(label: str) -> str | None:
    if not _plausible_label(label):
        head = label.split(":", 1)[0]  # `规章：地方行政规章指…` (a definition pasted in)
        if head == label or not _plausible_label(head):
            return None
        label = head
    for row in T.ACTIVE_ROWS_2019 + T.ACTIVE_ROWS_2021:
        if matches(label, row.keys, row.not_keys):
            return row.key
    return None


# `3.其他` after debris of the group label (`理3.其他`: a PDF cell broke `其他处理` over rows)
_OTHER_ITEM = re.compile(r"(?:^|\D)3[.、．]其[他它]$")


@lru_cache(maxsize=8192)
def match_application_row(label: str) -> str | None:
    """Row key of an applications-table label (normalized), or None."""
    if not _plausible_label(label):
        return None
    for row in T.APPLICATION_ROWS_MATCH_ORDER:
        if matches(label, row.keys, row.not_keys):
            return row.key
    if "其他处理" in label:
        rest = strip_numbering(label.split("其他处理", 1)[1].strip("()（）:,、 "))
        if not rest:
            return "other"
        if rest.startswith("其他"):
            return "other.other"
        return None
    if strip_numbering(label) in ("其他", "其它") or _OTHER_ITEM.search(label):
        return "other.other"  # (the guard in application_row wants it under （六）)
    return None


@lru_cache(maxsize=8192)
def match_appeal_group(label: str) -> str | None:
    """`行政复议` / `(行政诉讼)未经复议直接起诉` / `(行政诉讼)复议后起诉` as a row label."""
    if not _plausible_label(label) or any(w in label for w in _APPEAL_HEADER[:4]):
        return None
    for group in sorted(T.APPEAL_GROUPS, key=lambda g: g.key != "suit_after_review"):
        if matches(label, group.keys):
            if group.key == "review" and "诉讼" in label:
                continue
            return group.key
    return None


@lru_cache(maxsize=8192)
def _header_kind(label: str) -> str | None:
    if any(w in label for w in _APP_HEADER):
        return "applications"
    if any(w in label for w in _APPEAL_HEADER) or ("行政复议" in label and "行政诉讼" in label):
        return "appeals"
    if any(w in label for w in _ACTIVE_HEADER_WORDS):
        return "active"
    return None


@lru_cache(maxsize=8192)
def is_group_label(label: str) -> bool:
    return any(w in label for w in _GROUP_WORDS) and match_application_row(label) in (None, "other")


@lru_cache(maxsize=8192)
def classify(label: str) -> str | None:
    """'header', 'row' or 'group' for a label on a line of its own; None for prose."""
    if not _plausible_label(label):
        return None
    if _header_kind(label):
        return "header"
    if is_group_label(label) and "其他处理" not in label:
        return "group"
    if match_active_row(label) or match_application_row(label):
        return "row"
    if "其他处理" in label:
        return "group"  # 2019 single row or 2021 group: decided by what follows
    if "行政复议" in label or "行政诉讼" in label:
        return "header"
    return None


# --- one-cell-per-line text ----------------------------------------------------------

def join_cell_lines(rows: list[Row]) -> list[Row]:
    """Join one-cell rows (one cell per line) into table rows, using the labels."""
    out: list[Row] = []
    current: list[Cell] | None = None

    def close() -> None:
        nonlocal current
        if current:
            out.append(Row(current, "text"))
        current = None

    for row in rows:
        if len(row.cells) != 1 or row.glued:
            close()
            out.append(row)
            continue
        cell = row.cells[0]
        has_values = current is not None and any(looks_numeric(c.text) for c in current)
        if looks_numeric(cell.text):
            if current is not None and not has_values and all(
                    classify(normalize(c.text)) == "header" for c in current):
                close()  # header cells never carry values: the numbers start a new row
            if current is None:
                current = []
            current.append(cell)
            continue
        if has_values and is_text_cell(cell.text):
            current.append(cell)  # a sentence in a number cell (`2020年1-4月行政许可13件…`)
            continue
        label = normalize(cell.text)
        kind = classify(label)
        header_open = current is not None and not has_values and all(
            classify(normalize(c.text)) == "header" for c in current)
        if header_open and label in ("总计", "合计", "其他", "其它"):
            current.append(cell)  # a column header word inside a header run
            continue
        if kind is None:
            close()
            continue
        if kind == "header":
            if header_open:
                current.append(cell)  # header cells one per line
            else:
                close()
                current = [cell]
            continue
        if current is not None and not has_values and all(
                classify(normalize(c.text)) == "group" for c in current):
            current.append(cell)  # group label on its own line, then the item
            continue
        close()
        current = [cell]
    close()
    return out


# --- splitting glued digits by the row-sum identity -----------------------------------

def split_glued(digits: str, parts: int) -> list[list[int]]:
    """All ways to cut `digits` into `parts` numbers whose first parts-1 sum to the last."""
    if len(digits) > MAX_GLUED_DIGITS or len(digits) < parts:
        return []
    found: list[list[int]] = []
    n = len(digits)
    for cuts in combinations(range(1, n), parts - 1):
        bounds = (0, *cuts, n)
        pieces = [digits[a:b] for a, b in zip(bounds, bounds[1:])]
        if any(len(p) > 1 and p[0] == "0" for p in pieces):
            continue
        nums = [int(p) for p in pieces]
        if sum(nums[:-1]) == nums[-1]:
            found.append(nums)
    return found


# --- appeals split into tables of their own (复议 in one, 诉讼 in the other) ------------

_APPEAL_GROUP_WORDS = (("未经复议直接起诉", ("suit_direct",)), ("复议后起诉", ("suit_after_review",)),
                       ("行政复议", ("review",)), ("行政诉讼", ("suit_direct", "suit_after_review")))
_APPEALS_HEADING = re.compile(r"^(?:[一二三四五六七八九十]+|\d{1,2})[、.．]?[^|]{0,12}?行政复议[、,，和及]?行政诉讼(?:的)?情况[:：]?")
_APPEAL_HEADER_REST = re.compile(r"[|()（）、,，:：\s]|结果维持|结果纠正|其他结果|尚未审结|总计|合计|未经复议|直接起诉")


@lru_cache(maxsize=4096)
def appeal_header_groups(label: str) -> frozenset[str] | None:
    """The appeal groups a header row names (`行政复议` alone: review; `行政诉讼`, `未经复议
    直接起诉 | 复议后起诉`: the two suits); None when the row holds more than header words
    (a section heading, prose)."""
    groups: set[str] = set()
    rest = _APPEALS_HEADING.sub("", label)  # the section heading, joined to the header cells in one-cell-per-line text
    for word, keys in _APPEAL_GROUP_WORDS:
        if word in rest:
            groups.update(keys)
            rest = rest.replace(word, "")
    if _APPEAL_HEADER_REST.sub("", rest):
        return None
    return frozenset(groups)


# --- labels damaged by a PDF's text layer or by OCR -----------------------------------

DAMAGED_MIN_RATIO = 0.6  # characters shared with the expected template label
DAMAGED_MARGIN = 0.15  # how much closer to it than to any other template label
_GROUP_LABELS = tuple(normalize(g) for g in ("三、本年度办理结果", "（三）不予公开", "（四）无法提供", "（五）不予处理",
                                             "（六）其他处理"))


def _item_text(label: str) -> str:
    """A normalized row label without its group label and numbering (`(三)不予公开2.其他…`
    → `其他…`), the part a damaged label is compared on."""
    for group in _GROUP_LABELS:
        label = label.replace(group, "")
    return strip_numbering(label)


_TEMPLATE_ITEMS = {key: _item_text(normalize(label)) for key, label in T.APPLICATION_LABELS.items()}


def _similarity(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


# --- the mapper ----------------------------------------------------------------------

@dataclass
class _Header:
    """Column labels of the current block, with their grid spans where known."""
    cols: list[tuple[str | None, str, int, int]]  # (key, raw label, start, end)

    def keys(self) -> list[str | None]:
        return [c[0] for c in self.cols]


def _active_col(label: str, allowed: tuple[str, ...]) -> str | None:
    norm = normalize(label)
    for key in allowed:
        col = T.ACTIVE_COLS[key]
        if matches(norm, col.keys, col.not_keys):
            return key
    bare = norm.removeprefix("本年")
    if len(bare) >= 1:
        for key in allowed:  # truncated header (本年新, 本年增/): a prefix of the label
            full = normalize(T.ACTIVE_COLS[key].label).removeprefix("本年")
            if full.startswith(bare):
                return key
    return None


class Mapper:
    """One pass over the rows of a document.  Header rows set the context (which table)
    and the column positions; data rows are recognized by their labels and their cells
    placed under the template's columns; every doubt is a warning on the result."""

    def __init__(self, rows: list[Row], active_version: str | None) -> None:
        self.rows = rows
        self.out = Mapped(active_version=active_version)
        self.context: str | None = None
        self.active_header: _Header | None = None
        self.app_header: _Header | None = None
        # first value column of each table's header, per (context, table index): a table
        # continued after a page break may draw its grid differently
        self.data_start: dict[tuple[str, int], int] = {}
        self.last_app_row: str | None = None
        self.appeal_groups: set[str] = set()  # groups the appeals header rows above name

    # -- helpers
    def warn(self, msg: str) -> None:
        if msg not in self.out.warnings:
            self.out.warnings.append(msg)

    def _split(self, row: Row) -> tuple[list[Cell], list[Cell]]:
        """(label cells, value cells) of a row: by the header's first value column when this
        table has one, else the leading cells that are not numbers form the label."""
        cells = row.cells
        start = None
        if row.form != "text" and cells:
            start = self.data_start.get((self.context or "", cells[0].table))
        if start is not None and any(c.col < start for c in cells) and any(
                not looks_numeric(c.text) for c in cells if c.col < start):
            label = [c for c in cells if c.col < start and not is_empty(c.text)]
            values = [c for c in cells if c.col >= start]
            # a first "value" that is itself a row label: this part of the table draws its
            # columns differently (a PDF table joined across a page break): split by content
            spilled = values and not looks_numeric(values[0].text) and not is_text_cell(values[0].text) \
                and bool(match_application_row(normalize(values[0].text)) or match_active_row(normalize(values[0].text)))
            if label and all(not looks_numeric(c.text) for c in label) and not spilled:
                return label, values
        label: list[Cell] = []
        i = 0
        while i < len(cells) and is_empty(cells[i].text):
            i += 1
        if i == len(cells) or looks_numeric(cells[i].text):
            i = 0  # no label (the appeals data row): every cell is a value, blanks included
        for c in cells[i:]:
            if looks_numeric(c.text):
                break
            label.append(c)
        return label, cells[i + len(label):]

    def put(self, key: str, cell: Cell | None, row_label: str, col_label: str, form: str,
            *, signed: bool = False) -> None:
        if key in self.out.facts:
            old = self.out.facts[key]
            if cell is not None and old.raw != cell.text:
                self.warn(f"{key}: found twice ({old.raw!r} and {cell.text!r}); kept the first")
            return
        if cell is None:
            return
        cv = parse_value(cell.text, signed=signed)
        if cv.problem:
            self.warn(f"{key}: {cv.problem}")
        self.out.facts[key] = Fact(key, cv.value, cell.text, cell.table, cell.row, cell.col,
                                   row_label, col_label, form)

    def put_missing(self, keys: list[str], cells: list[Cell], why: str) -> None:
        """Cells we saw but cannot place: one warning quoting them; the keys stay null and
        count as not found (a later copy of the row, e.g. after a page break, may place them)."""
        raws = " ".join(c.text or "∅" for c in cells)
        self.warn(f"{keys[0].rsplit('.', 1)[0]}: {why} [{raws}]; values left null")

    @staticmethod
    def _trim(values: list[Cell], n: int) -> list[Cell]:
        """Drop empty cells beyond the column count: trailing ones (Word's extra cells),
        then leading ones (a label drawn over more grid columns than this row's label
        cells, left behind as empty pieces in pipe rows)."""
        values = list(values)
        while len(values) > n and is_empty(values[-1].text):
            values.pop()
        while len(values) > n and is_empty(values[0].text):
            values.pop(0)
        return values

    def _by_span(self, values: list[Cell], header: _Header | None, want: list[str]) -> dict[str, Cell] | None:
        """Place cells under the header cells they overlap, when the count differs from
        the columns (colspans).  Only when the row covers the header's whole width: a row
        that falls short has lost a cell somewhere, and which one cannot be known."""
        if header is None or not values or not all(c[0] for c in header.cols):
            return None
        if values[0].col > min(c[2] for c in header.cols) or values[-1].end < max(c[3] for c in header.cols):
            return None
        placed: dict[str, Cell] = {}
        for v in values:
            best, overlap = None, 0
            for key, _raw, a, b in header.cols:
                ov = min(b, v.end) - max(a, v.col)
                if ov > overlap:
                    best, overlap = key, ov
            if best is None:
                if is_empty(v.text):
                    continue
                return None
            if best in placed:
                if is_empty(v.text):
                    continue
                if is_empty(placed[best].text):
                    placed[best] = v
                    continue
                return None
            placed[best] = v
        if set(placed) - set(want):
            return None
        return placed

    # -- header rows
    def header(self, kind: str, label_cells: list[Cell], all_cells: list[Cell]) -> None:
        self.context = kind
        texts = [c for c in all_cells if not is_empty(c.text)]
        if kind == "active":
            allowed = tuple(T.ACTIVE_COLS)
            cols = []
            for c in texts:
                n = normalize(c.text)
                if any(w in n for w in ("信息内容", "第二十条")):
                    continue
                cols.append((_active_col(c.text, allowed), c.text, c.col, c.end))
            if cols:
                self.active_header = _Header(cols)
                if all_cells and all_cells[0].table >= 0:
                    firsts = [c for c in texts if "信息内容" in normalize(c.text)]
                    if firsts:
                        self.data_start[("active", firsts[0].table)] = firsts[0].end
        elif kind == "applications":
            cols = []
            for c in texts:
                n = normalize(c.text)
                for col in T.APPLICATION_COLS:
                    if col.key == "other_org":
                        hit = strip_numbering(n) in ("其他", "其它", "其他组织")
                    else:
                        hit = matches(n, col.keys) and "申请人" not in n and "法人或" not in n
                    if hit:
                        cols.append((col.key, c.text, c.col, c.end))
                        break
            if cols:
                merged = {k: (k, raw, a, b) for k, raw, a, b in (self.app_header.cols if self.app_header else [])}
                for k, raw, a, b in cols:
                    merged[k] = (k, raw, a, b)
                self.app_header = _Header(sorted(merged.values(), key=lambda c: c[2]))
                self.data_start[("applications", texts[0].table)] = min(c[2] for c in cols)
        elif kind == "appeals":
            cols = []
            for c in texts:
                n = normalize(c.text)
                for col in T.APPEAL_COLS:
                    if matches(n, col.keys) and "行政复议" not in n and "诉讼" not in n:
                        cols.append((col.key, c.text, c.col, c.end))
                        break
            if len(cols) >= 5:  # the 15 columns are read in template order; the header gives where they start
                self.data_start[("appeals", texts[0].table)] = min(c[2] for c in cols)

    # -- data rows
    def active_row(self, key: str, label: str, values: list[Cell], form: str) -> None:
        version = self.out.active_version or ("2019" if key in ("other_services", "procurement") else None)
        if version is None:
            version = "2019" if len(values) >= 3 and key in ("licensing", "punishment", "coercion") else "2021"
        tmpl = {r.key: r for r in T.TEMPLATES[version].active_rows}
        if key not in tmpl:
            self.warn(f"active.{key}: row {label!r} is not in the {version} template; ignored")
            return
        self.context = "active"
        self.out.tables.add("active")
        self.appeal_groups = set()
        want = list(tmpl[key].cols)
        keys = [f"active.{key}.{c}" for c in want]
        values = self._trim(values, len(want))
        header = self.active_header
        order = want
        if header is not None:
            hk = [k for k in header.keys() if k]
            if sorted(hk) == sorted(want):
                order = hk
        col_labels = {k: T.ACTIVE_COLS[k].label for k in want}
        if header is not None:
            col_labels |= {k: raw for k, raw, _a, _b in header.cols if k in col_labels}
        if len(values) == len(want):
            for col, cell in zip(order, values):
                self.put(f"active.{key}.{col}", cell, label, col_labels[col], form, signed=col == "change")
            return
        placed = self._by_span(values, header, want) if form != "text" else None
        if placed is not None:
            for col in want:
                self.put(f"active.{key}.{col}", placed.get(col), label, col_labels[col], form, signed=col == "change")
            return
        self.put_missing(keys, values, f"{len(values)} cells for {len(want)} columns")

    def application_row(self, key: str, label: str, values: list[Cell], form: str, glued: bool) -> None:
        self.context = "applications"
        self.out.tables.add("applications")
        self.appeal_groups = set()
        if key == "other.other" and self.last_app_row not in ("other.no_correction", "other.no_fee") \
                and "其他处理" not in label:
            self.warn(f"applications: row {label!r} outside （六）其他处理; ignored")
            return
        self.last_app_row = key
        if key.startswith("other."):
            self.out.applications_layout = "2021"
        elif key == "other":
            self.out.applications_layout = self.out.applications_layout or "2019"
        want = [c.key for c in T.APPLICATION_COLS]
        col_labels = {c.key: c.label for c in T.APPLICATION_COLS}
        if self.app_header:
            col_labels |= {k: raw for k, raw, _a, _b in self.app_header.cols if k}
        keys = [f"applications.{key}.{c}" for c in want]
        values = self._trim(values, len(want))
        if glued and len(values) == 1:
            splits = split_glued(values[0].text.strip(), len(want))
            if len(splits) == 1:
                self.warn(f"applications.{key}: glued digits {values[0].text} split by the row-sum identity")
                v = values[0]
                for col, num in zip(want, splits[0]):
                    cell = Cell(str(num), v.table, v.row, v.col, 1, v.origin)
                    self.put(f"applications.{key}.{col}", cell, label, col_labels[col], form)
                return
            why = "no" if not splits else f"{len(splits)}"
            self.put_missing(keys, values, f"glued digits with {why} split matching the row sum")
            return
        if len(values) == len(want):
            for col, cell in zip(want, values):
                self.put(f"applications.{key}.{col}", cell, label, col_labels[col], form)
            return
        placed = self._by_span(values, self.app_header, want) if form != "text" else None
        if placed is not None and len(placed) >= 1:
            for col in want:
                self.put(f"applications.{key}.{col}", placed.get(col), label, col_labels[col], form)
            return
        self.put_missing(keys, values, f"{len(values)} cells for {len(want)} columns")

    def appeal_group_row(self, group: str, label: str, values: list[Cell], form: str) -> None:
        self.out.tables.add("appeals")
        want = [c.key for c in T.APPEAL_COLS]
        keys = [f"appeals.{group}.{c}" for c in want]
        values = self._trim(values, len(want))
        if len(values) != len(want):
            self.put_missing(keys, values, f"{len(values)} cells for {len(want)} columns")
            return
        labels = {c.key: c.label for c in T.APPEAL_COLS}
        for col, cell in zip(want, values):
            self.put(f"appeals.{group}.{col}", cell, label, labels[col], form)

    def appeals_row(self, label: str, values: list[Cell], form: str) -> None:
        """The data row under the appeals header: 15 values, or 5 (复议) or 10 (诉讼) when the
        header above names only those groups (the appeals split into two tables)."""
        self.out.tables.add("appeals")
        named = self.appeal_groups
        groups = [g for g in T.APPEAL_GROUPS if not named or g.key in named]
        self.appeal_groups = set()
        want = [f"{g.key}.{c.key}" for g in groups for c in T.APPEAL_COLS]
        keys = [f"appeals.{w}" for w in want]
        col_labels = {f"{g.key}.{c.key}": f"{g.label} › {c.label}" for g in T.APPEAL_GROUPS for c in T.APPEAL_COLS}
        values = self._trim(values, len(want))
        if len(values) == len(want):
            default = "、".join(dict.fromkeys(g.label.split(" ›")[0] for g in groups))
            for w, cell in zip(want, values):
                self.put(f"appeals.{w}", cell, label or default, col_labels[w], form)
            self.context = None
            return
        self.put_missing(keys, values, f"{len(values)} cells for {len(want)} columns")
        self.context = None

    def _next_application_key(self, index: int) -> str | None:
        """The template row of the next labelled row after `index` (group labels alone skipped)."""
        for row in self.rows[index + 1:index + 6]:
            label_cells, _values = self._split(row)
            label = normalize("".join(c.text for c in label_cells))
            if not label or (is_group_label(label) and not _item_text(label)):
                continue
            return match_application_row(label)
        return None

    def damaged_row(self, label: str, index: int) -> tuple[str | None, str]:
        """The applications row a damaged label stands for (glyphs missing from a PDF's text
        layer, variant characters, OCR noise), found only by the official row order: the row
        after the last one read, when the next row read is the one after it, the label
        shares most characters with that row's label and is clearly closer to it than to any
        other.  (key, '') when placed, (None, why) when not."""
        item = _item_text(label)
        if len(item) < 2:
            return None, "too short"
        orders = [T.APPLICATION_ROWS_2021, T.APPLICATION_ROWS_2019]
        expected = set()
        for order in orders:
            if self.last_app_row in order and order.index(self.last_app_row) + 1 < len(order):
                expected.add(order[order.index(self.last_app_row) + 1])
        if not expected:
            return None, "no template row read before it"
        scores = {key: _similarity(item, text) for key, text in _TEMPLATE_ITEMS.items() if text}
        best = max(expected, key=lambda k: scores.get(k, 0))
        score = scores.get(best, 0)
        rivals = sorted((s, k) for k, s in scores.items() if k != best)
        if score < DAMAGED_MIN_RATIO:
            return None, f"shares too few characters with {T.APPLICATION_LABELS[best]!r}"
        if rivals and rivals[-1][0] > score - DAMAGED_MARGIN:
            return None, f"could be {T.APPLICATION_LABELS[best]!r} or {T.APPLICATION_LABELS[rivals[-1][1]]!r}"
        following = self._next_application_key(index)
        for order in orders:
            if best in order:
                k = order.index(best)
                after = order[k + 1] if k + 1 < len(order) else None
                if following == after:
                    return best, ""
        return None, "the row after it is not the template's next row"

    def run(self) -> Mapped:
        for index, row in enumerate(self.rows):
            label_cells, values = self._split(row)
            label = normalize("".join(c.text for c in label_cells))
            # a real number among the values (text in value position, e.g. a header's second
            # half after empty colspan pieces, makes no data row)
            has_number = any(looks_numeric(v.text) and not is_empty(v.text) for v in values)
            if label and not has_number:
                named = appeal_header_groups(normalize("".join(c.text for c in row.cells)))
                if named is None:
                    self.appeal_groups = set()
                elif named:
                    self.appeal_groups |= named
            kind = _header_kind(label) if label else None
            if kind and not has_number:
                self.header(kind, label_cells, row.cells)
                continue
            gkey = match_appeal_group(label) if self.context == "appeals" and has_number else None
            if gkey:  # appeals drawn as three rows of five (one per group)
                self.appeal_group_row(gkey, "".join(c.text for c in label_cells), values, row.form)
                continue
            if kind == "appeals" and has_number:  # header cells and the data row on one line
                self.header(kind, label_cells, label_cells)
                self.appeals_row("", values, row.form)
                continue
            if kind == "active" and has_number and not match_active_row(label):
                continue
            if not label and values and self.context == "appeals":
                if has_number or len(values) >= 5:
                    self.appeals_row("", values, row.form)
                continue
            if not label:
                continue
            akey = match_application_row(label)
            if akey and (self.context == "applications" or akey not in ("total", "other.other")
                         or self.app_header is not None):
                if not values:
                    continue
                self.application_row(akey, "".join(c.text for c in label_cells), values, row.form, row.glued)
                continue
            rkey = match_active_row(label)
            if rkey and values:
                self.active_row(rkey, "".join(c.text for c in label_cells), values, row.form)
                continue
            if self.context == "appeals" and values and ("数" in label or "件" in label):
                self.appeals_row("".join(c.text for c in label_cells), values, row.form)
                continue
            if self.context == "applications" and has_number and _plausible_label(label):
                dkey, why = self.damaged_row(label, index)
                raw = "".join(c.text for c in label_cells if not c.continued) or "".join(c.text for c in label_cells)
                if dkey:
                    self.warn(f"applications.{dkey}: row {raw!r} read as {T.APPLICATION_LABELS[dkey]!r} "
                              "(its label damaged; placed by the official row order)")
                    self.application_row(dkey, raw, values, row.form, row.glued)
                    continue
                if why not in ("too short", "no template row read before it") and not why.startswith("shares too few"):
                    self.warn(f"applications: row {raw!r} may be a damaged template row but {why}; "
                              "its numbers are left out")
            if self.context in ("active", "applications") and has_number and _plausible_label(label):
                numbers = " ".join(v.text for v in values if v.text)
                self.warn(f"{self.context}: row {''.join(c.text for c in label_cells)!r} is not a template row; "
                          f"its numbers [{numbers}] are left out")
        return self.out


def detect_active_version(rows: list[Row]) -> str | None:
    """The active table's version, from its header words (never from the year)."""
    labels = {normalize(c.text) for row in rows for c in row.cells if c.text and not looks_numeric(c.text)}
    blob = "\n".join(n for n in labels if len(n) <= MAX_LABEL)
    hits = {version: sum(blob.count(m) for m in markers)
            for version, markers in T.ACTIVE_VERSION_MARKERS.items()}
    if hits["2019"] == hits["2021"]:
        return None
    return max(hits, key=hits.get)


def map_rows(rows: list[Row]) -> Mapped:
    rows = join_cell_lines(rows) if any(r.form == "text" for r in rows) else rows
    return Mapper(rows, detect_active_version(rows)).run()
