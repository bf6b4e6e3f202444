"""The one shape every input form is reduced to before mapping: rows of cells.

HTML tables become grids (rowspan/colspan expanded), flattened text becomes rows of
tokens, PDF and DOCX tables become grids too.  `parsers/mapping.py` only sees `Cell`s,
so provenance (table, grid row, grid column, raw text) is the same for every form.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Cell:
    text: str  # raw text of the cell as written (whitespace collapsed)
    table: int  # index of the table in the document (text: index of the table region)
    row: int  # row in the expanded grid (text: line number, 0-based)
    col: int  # first grid column the cell covers (text: token index)
    span: int = 1  # number of grid columns covered
    origin: tuple[int, int] = (-1, -1)  # (row, col) where the cell was written
    continued: bool = False  # a rowspan cell repeated from a row above

    @property
    def end(self) -> int:
        return self.col + self.span


@dataclass(slots=True)
class Row:
    cells: list[Cell]
    form: str = "html"  # html | text | pdf | docx | xlsx
    glued: bool = field(default=False)  # text: the values were glued to the label
