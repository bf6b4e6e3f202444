"""Reading one table cell as a number, per report-format.md §4.

A wrong number is worse than none: anything that is not plainly one number becomes
`None` plus a reason, which the caller turns into a warning quoting the raw text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from decimal import Decimal, InvalidOperation

Number = int | float

_EMPTY = {"", "-", "—", "–", "－", "/", "／", "∕", "⁄", "\\", "无", "無", "空", "——", "--", "//", "...", "…", "/-"}
_UNITS = ("万元", "件", "条", "项", "元", "个", "次", "份", "人", "宗")
_PLAIN = re.compile(r"^[+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$|^[+]?\d+(?:\.\d+)?$")
_SIGNED = re.compile(r"^(增|减|\+|-|−)\s*\(?\s*(\d+(?:\.\d+)?)\s*\)?$")
_PLUS_MINUS = re.compile(r"^\+\s*\(?\s*(\d+)\s*\)?\s*-\s*\(?\s*(\d+)\s*\)?$")


@dataclass(frozen=True)
class CellValue:
    value: Number | None
    problem: str | None = None  # why a non-empty cell gave no number


_SPACED_DIGITS = re.compile(r"\d[\s\u3000\u00a0]+[\d+\-]")


def _clean(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw)
    if _SPACED_DIGITS.search(text):  # `4<br>5`, `1 2`: two numbers, never read as 45 or 12
        return "\x00" + text
    text = re.sub(r"[\s\u3000\u00a0\u200b\ufeff]+", "", text)
    return text


def _to_number(text: str) -> Number:
    text = text.replace(",", "").lstrip("+")
    if "." in text:
        try:
            d = Decimal(text)
        except InvalidOperation as exc:  # pragma: no cover - guarded by the regex
            raise ValueError(text) from exc
        return float(d)
    return int(text)


@lru_cache(maxsize=16384)
def is_empty(raw: str) -> bool:
    """A cell that holds no number on purpose: blank, &nbsp;, dashes, slashes, 无."""
    return _clean(raw) in _EMPTY


@lru_cache(maxsize=16384)
def looks_numeric(raw: str) -> bool:
    """A cell that is a value cell rather than a label: a number, a sign form or empty."""
    text = _clean(raw)
    if text in _EMPTY:
        return True
    if text.startswith("\x00"):  # several numbers: a value cell, whose value is null
        return all(ch.isdigit() or ch in " +-.,()\u3000\u00a0\t\n" for ch in text[1:])
    for unit in _UNITS:
        if text.endswith(unit) and len(text) > len(unit):
            text = text[: -len(unit)]
            break
    return bool(_PLAIN.match(text) or _SIGNED.match(text) or _PLUS_MINUS.match(text))


@lru_cache(maxsize=16384)
def parse_value(raw: str, *, signed: bool = False) -> CellValue:
    """The number written in a cell.  `signed` allows 增N / 减N / +N / -N (本年增/减);
    `+(0) -(0)` and other two-number forms are no number (report-format.md §4)."""
    text = _clean(raw)
    if text in _EMPTY:
        return CellValue(None)
    for unit in _UNITS:
        if text.endswith(unit) and len(text) > len(unit):
            text = text[: -len(unit)]
            break
    if text.startswith("\x00"):
        return CellValue(None, f"more than one number: {raw.strip()}")
    if _PLAIN.match(text):
        return CellValue(_to_number(text))
    if signed:
        m = _SIGNED.match(text)
        if m:
            n = _to_number(m.group(2))
            return CellValue(-n if m.group(1) in ("减", "-", "−") else n)
    elif re.match(r"^-\d+(?:\.\d+)?$", text):
        return CellValue(None, f"negative count: {raw.strip()}")
    return CellValue(None, f"not a number: {raw.strip()}")
