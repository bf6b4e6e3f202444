"""`xxgk scorecard` output: a table to read (each failed point's reason under its row),
CSV with every result and reason, or a JSON array of the rows as `scorecard.read` gives them."""

from __future__ import annotations

import csv
import io
import json
import unicodedata

from .scorecard import FAIL, PASS, Rubric

HEAD = ("report_id", "agency", "region", "level", "year", "score", "known_weight", "known_points", "rubric")
MARK = {PASS: "pass", FAIL: "FAIL"}


def _width(text: str) -> int:
    """Columns a terminal gives the text: two for each wide (CJK) character."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def as_table(rows: list[dict], rubric: Rubric) -> str:
    points = [p.point for p in rubric.points]
    header = ["agency", "year", "score", "known", *points]
    lines = [[r["agency"], str(r["year"]), "-" if r["score"] is None else f"{r['score']:g}",
              str(r["known_weight"]), *(MARK.get(r["points"][p]["result"], "?") for p in points)] for r in rows]
    widths = [max([_width(h)] + [_width(line[i]) for line in lines]) for i, h in enumerate(header)]
    out = ["  ".join(_pad(h, w) for h, w in zip(header, widths)).rstrip()]
    for r, line in zip(rows, lines):
        out.append("  ".join(_pad(c, w) for c, w in zip(line, widths)).rstrip())
        out += [f"    {p}: {r['points'][p]['reason']}" for p in points if r["points"][p]["result"] == FAIL]
    out.append(f"{len(rows)} agency-years; rubric {rubric.version}; score = 100 × weight passed / weight known "
               f"(of {rubric.total}), none below half known; ? = unknown")
    return "\n".join(out) + "\n"


def as_csv(rows: list[dict], rubric: Rubric) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    points = [p.point for p in rubric.points]
    writer.writerow([*HEAD, *(c for p in points for c in (p, f"{p}_reason"))])
    for r in rows:
        writer.writerow([*("" if r[h] is None else r[h] for h in HEAD),
                         *(v for p in points for v in (r["points"][p]["result"], r["points"][p]["reason"]))])
    return buf.getvalue()


def render(rows: list[dict], fmt: str, rubric: Rubric) -> str:
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=1) + "\n"
    if fmt == "csv":
        return as_csv(rows, rubric)
    return as_table(rows, rubric)
