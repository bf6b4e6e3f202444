"""XLSX → rows of cells and lines of text (openpyxl).

Each worksheet is one table; merged ranges are expanded the way `html_grid` expands
colspan/rowspan (one `Cell` per distinct cell per row, `continued=True` below its first
row).  Numbers are written back as text the way the cell shows them (an integral float
as an integer), so `values.parse_value` reads every form the same way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from io import BytesIO

from .binary import Extracted
from .cells import Cell, Row
from .sections import find_headings

MAX_ROWS = 2000
MAX_COLS = 64


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()[:10]
    return " ".join(str(value).split())


def _heading(text: str) -> bool:
    return bool(find_headings([text]))


def sheet_rows(ws, first_table: int) -> tuple[list[Row], int]:
    """Rows of one worksheet; a blank row or a section heading ends a table (real sheets
    stack the three tables one under the other).  Returns the rows and the next index."""
    index = first_table
    gap = False
    merged: dict[tuple[int, int], tuple[int, int, int]] = {}  # (row, col) → origin row, col, span
    for rng in ws.merged_cells.ranges:
        span = rng.max_col - rng.min_col + 1
        for r in range(rng.min_row, rng.max_row + 1):
            for c in range(rng.min_col, rng.max_col + 1):
                merged[(r, c)] = (rng.min_row, rng.min_col, span)
    max_row = min(ws.max_row or 0, MAX_ROWS)
    max_col = min(ws.max_column or 0, MAX_COLS)
    rows: list[Row] = []
    for r in range(1, max_row + 1):
        cells: list[Cell] = []
        for c in range(1, max_col + 1):
            origin = merged.get((r, c))
            if origin is None:
                cells.append(Cell(_text(ws.cell(r, c).value), index, r - 1, c - 1, 1, (r - 1, c - 1)))
                continue
            orow, ocol, span = origin
            if ocol != c:
                continue  # covered by the merged cell's span
            text = _text(ws.cell(orow, ocol).value)
            cells.append(Cell(text, index, r - 1, c - 1, span, (orow - 1, ocol - 1), continued=orow != r))
        written = [c for c in cells if c.text and not c.continued]
        if not any(c.text for c in cells):
            gap = gap or bool(rows)  # a blank row: the next table starts below it
            continue
        if rows and (gap or (len(written) == 1 and written[0].span == 1 and _heading(written[0].text))):
            index += 1
            gap = False
        rows.append(Row([replace(c, table=index) for c in cells], "xlsx"))
    return rows, index + 1


def xlsx_content(data: bytes) -> Extracted:
    import openpyxl

    wb = openpyxl.load_workbook(BytesIO(data), data_only=True)
    out = Extracted()
    title = wb.properties.title
    out.title = title.strip() if title and title.strip() else None
    index = 0
    for ws in wb.worksheets:
        rows, index = sheet_rows(ws, index)
        out.rows.extend(rows)
        for row in rows:
            texts = [c.text for c in row.cells if not c.continued and c.text]
            if texts:
                out.lines.append(" | ".join(texts))
        if getattr(ws, "_images", None):
            out.has_images = True
    wb.close()
    return out
