"""The guard on numbers read by OCR: a misread digit must never reach the archive.

A number read from a picture is kept only when
1. its two readings agree (`ocr.Reading`: the text reading and the digits-only reading,
   allowing only the well-known glyph confusions I/l/|→1, O→0), and tesseract's
   confidence is at least `MIN_CONFIDENCE`; and
2. the table's identities (report-format.md §5, the rules of `parsers/checks.py`) hold
   where it takes part: `applications.row_total`, `applications.balance`,
   `applications.results_sum`, `appeals.group_total`.  A cell that takes part in an
   identity that holds with every value read is *confirmed*.  In an identity that fails,
   every cell not confirmed by another identity is a suspect and stays null (if all of
   them are confirmed elsewhere, the whole identity's cells do: nothing tells which
   one is wrong); and
3. a cell no identity can confirm (the active table; a row whose other cells are blank)
   needs the higher `UNCHECKED_CONFIDENCE`; and
4. a cell with a sign before its digits (本年增/减: 增2, 减3, +2, -3; `ocr.Reading.sign`)
   is kept only when the sign was read clearly (`ocr_sign`: 增/减 by glyph comparison,
   +/- by shape and a Latin reading) and the digits after it were read twice alike with
   `UNCHECKED_CONFIDENCE` (no identity checks that column).  A sign seen but not read
   clearly nulls the number, even when the digits alone look sure: never a wrong sign.
Every number left null says why in a warning that quotes the OCR text.  Facts kept carry
`source: "ocr"` and their confidence (in provenance); a signed one also says how its
sign was read (`sign`).
"""

from __future__ import annotations

from . import templates as T
from .mapping import Fact, Mapped
from .ocr import Reading

MIN_CONFIDENCE = 60.0
UNCHECKED_CONFIDENCE = 80.0


def _sign_problem(f: Fact, r: Reading) -> str | None:
    """Why a number read with a sign (or beside one) cannot be kept; None if it can."""
    if r.sign.method == "no CJK font":
        return f"{r.sign.describe()} (OCR text {r.text!r})"
    if not r.sign.clear:
        return f"sign not read clearly: {r.sign.describe()} (OCR text {r.text!r})"
    if not r.signed:
        return (f"sign {r.sign.describe()}, but the sign and the digits after it not confirmed by a second "
                f"reading (OCR text {r.text!r})")
    if not r.agree:
        return f"OCR readings of the digits after the sign disagree ({r.digits_text!r}, digits {r.digits!r})"
    if r.confidence < UNCHECKED_CONFIDENCE:
        return (f"sign {r.sign.describe()}, but the digits' OCR confidence {r.confidence:.0f} is below "
                f"{UNCHECKED_CONFIDENCE:.0f} ({f.raw!r}, OCR text {r.text!r})")
    return None


def _app_cols() -> list[str]:
    return [c.key for c in T.APPLICATION_COLS]


def identities(layout: str | None) -> list[tuple[str, list[str], list[str]]]:
    """(name, keys summed, keys they must equal) of every identity of §5 within one report,
    in the applications layout found (a single （六） row or the three 2021 rows)."""
    cols = _app_cols()
    other = ["other"] if layout == "2019" else ["other.no_correction", "other.no_fee", "other.other"]
    rows = [r for r in T.APPLICATION_ROWS_2021 if not r.startswith("other")] + other
    out = []
    for row in rows:
        keys = [f"applications.{row}.{c}" for c in cols]
        out.append((f"applications.row_total {row}", keys[:-1], keys[-1:]))
    results = [r for r in T.RESULT_ROWS if not r.startswith("other")] + other
    for col in cols:
        out.append((f"applications.balance {col}", [f"applications.{r}.{col}" for r in ("new_received", "carried_over")],
                    [f"applications.{r}.{col}" for r in ("total", "carried_forward")]))
        out.append((f"applications.results_sum {col}", [f"applications.{r}.{col}" for r in results],
                    [f"applications.total.{col}"]))
    for g in T.APPEAL_GROUPS:
        keys = [f"appeals.{g.key}.{c.key}" for c in T.APPEAL_COLS]
        out.append((f"appeals.group_total {g.key}", keys[:-1], keys[-1:]))
    return out


def guard(mapped: Mapped, readings: dict[tuple[int, int, int], Reading]) -> None:
    """Mark every fact of `mapped` read by OCR, and null the numbers the guard refuses
    (in place; each with a warning)."""
    facts = mapped.facts
    refused: dict[str, str] = {}

    def reading_of(f) -> Reading | None:
        return readings.get((f.table, f.row, f.col))

    for key, f in facts.items():
        f.source = "ocr"
        r = reading_of(f)
        if r is not None:
            f.confidence = round(r.confidence, 1)
        if f.value is None:
            continue
        if r is not None and r.sign is not None:
            problem = _sign_problem(f, r)
            if problem:
                refused[key] = problem
            else:
                f.sign = r.sign.describe()
        elif r is None or r.digits is None:
            refused[key] = f"OCR text {f.raw!r} not confirmed by a digits-only reading"
        elif not r.agree:
            refused[key] = f"OCR readings disagree ({r.text!r}, digits {r.digits!r})"
        elif r.confidence < MIN_CONFIDENCE:
            refused[key] = f"OCR confidence {r.confidence:.0f} below {MIN_CONFIDENCE:.0f} ({f.raw!r})"

    def value(key: str):
        f = facts.get(key)
        return None if f is None or key in refused else f.value

    layout = mapped.applications_layout
    checked: list[tuple[str, list[str], bool]] = []
    for name, plus, equals in identities(layout):
        keys = plus + equals
        vals = [value(k) for k in keys]
        if any(v is None for v in vals):
            continue
        holds = sum(vals[:len(plus)]) == sum(vals[len(plus):])
        checked.append((name, keys, holds))
    confirmed = {k for _n, keys, holds in checked if holds for k in keys}
    for name, keys, holds in checked:
        if holds:
            continue
        suspects = [k for k in keys if k not in confirmed] or keys
        for k in suspects:
            refused.setdefault(k, f"breaks {name} (OCR text {facts[k].raw!r})")
    for key, f in facts.items():
        if f.value is None or key in refused or key in confirmed:
            continue
        if f.confidence is None or f.confidence < UNCHECKED_CONFIDENCE:
            refused[key] = (f"no identity confirms it and its OCR confidence {f.confidence or 0:.0f} is below "
                            f"{UNCHECKED_CONFIDENCE:.0f} ({f.raw!r})")
    for key in sorted(refused, key=list(facts).index):
        facts[key].value = None
        mapped.warnings.append(f"{key}: {refused[key]}; left null")
