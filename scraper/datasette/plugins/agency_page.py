"""`/agency/<agency id>`: one agency over the years (templates/agency.html).

Its years side by side in the official row order, one column per current report, from the
headline figures stored per report (`report_figures`, which for a 2008-2018 report hold the
legacy indicators of the same meaning: the `series` mapping), the change from the year
before, a chart of the core series drawn as inline SVG (no script), the failed checks and
the scorecard per year, and every report of the agency with its versions.  Index lookups
only: the agency's reports by `reports_agency_id`, then each by primary key.
"""

from __future__ import annotations

import json
import sqlite3

from datasette import hookimpl
from datasette.utils.asgi import NotFound, Response

from scraper.report_forms import fmt, rule_label

# report_figures columns in the order of the official applications and appeals tables
FIGURE_ROWS: tuple[tuple[str, str, str], ...] = (
    ("new_received", "一、本年新收政府信息公开申请数量", "new applications received"),
    ("carried_over", "二、上年结转政府信息公开申请数量", "carried over from last year"),
    ("granted", "（一）予以公开", "granted in full"),
    ("partly_granted", "（二）部分公开", "granted in part"),
    ("withheld", "（三）不予公开（合计）", "withheld, all grounds"),
    ("unable", "（四）无法提供（合计）", "unable to provide, all grounds"),
    ("not_processed", "（五）不予处理（合计）", "not processed, all grounds"),
    ("total", "（七）总计", "total handled"),
    ("carried_forward", "四、结转下年度继续办理", "carried forward to next year"),
    ("reviews", "行政复议（总计）", "administrative reviews"),
    ("lawsuits", "行政诉讼（总计）", "lawsuits (direct + after review)"),
)
CHART_SERIES: tuple[tuple[str, str, str], ...] = (
    ("new_received", "本年新收 received", "#1f5fa8"),
    ("granted", "予以公开 granted", "#2e7d32"),
    ("total", "总计 handled", "#b26a00"),
)


def delta(now, before) -> dict | None:
    """The change from the year before, for the table (None when either is unknown)."""
    if now is None or before is None:
        return None
    d = now - before
    return {"text": ("+" if d > 0 else "−" if d < 0 else "±") + fmt(abs(d)), "cls": "up" if d > 0 else "down" if d < 0 else ""}


def chart(columns: list[dict], width: int = 640, height: int = 240) -> dict | None:
    """Polylines of the core series over the years, in SVG user units (the template draws
    them; numbers only, nothing from the archive's text)."""
    points = [(c["year"], c["figures"]) for c in columns if c["year"] is not None]
    values = [f.get(k) for _, f in points for k, _l, _c in CHART_SERIES if f.get(k) is not None]
    if len(points) < 2 or not values:
        return None
    left, right, top, bottom = 48, 12, 12, 28
    top_value = max(values) or 1
    step = (width - left - right) / (len(points) - 1)

    def y(v) -> float:
        return round(top + (height - top - bottom) * (1 - v / top_value), 1)

    series = []
    for key, label, colour in CHART_SERIES:
        pts = [(round(left + i * step, 1), y(f[key])) for i, (_, f) in enumerate(points) if f.get(key) is not None]
        if pts:
            series.append({"key": key, "label": label, "colour": colour, "points": pts,
                           "path": " ".join(f"{x},{yy}" for x, yy in pts)})
    ticks = [{"y": y(v), "label": fmt(v)} for v in sorted({0, top_value, round(top_value / 2)})]
    years = [{"x": round(left + i * step, 1), "label": year} for i, (year, _) in enumerate(points)]
    return {"width": width, "height": height, "series": series, "ticks": ticks, "years": years,
            "left": left, "bottom": height - bottom}


async def agency_page(request, datasette):
    agency_id = int(request.url_vars["agency_id"])
    db = datasette.get_database()
    agency = (await db.execute(
        "SELECT a.*, s.name AS site_name, s.start AS site_start FROM agencies a LEFT JOIN sites s ON s.id = a.site_id "
        "WHERE a.id = ?", [agency_id])).first()
    if agency is None:
        raise NotFound(f"没有这个机关 · no agency {agency_id}")
    reports = list((await db.execute(
        "SELECT id, year, version, kind, title, published, current, n_failed_checks, capture_id, source_url, "
        "agency AS as_written FROM reports WHERE agency_id = ? ORDER BY year, id", [agency_id])).rows)
    current = [r for r in reports if r["current"]]
    ids = [r["id"] for r in current]
    marks = ",".join("?" * len(ids))
    figures: dict[int, dict] = {}
    failed: dict[int, list] = {i: [] for i in ids}
    scores: dict[int, object] = {}
    if ids:
        for row in (await db.execute(f"SELECT * FROM report_figures WHERE report_id IN ({marks})", ids)).rows:
            figures[row["report_id"]] = dict(row)
        for row in (await db.execute(f"SELECT report_id, rule, detail FROM checks WHERE report_id IN ({marks}) "
                                     f"AND ok = 0 ORDER BY rule", ids)).rows:
            failed[row["report_id"]].append({"rule": row["rule"], "label": rule_label(row["rule"]), "detail": row["detail"]})
    try:
        for row in (await db.execute("SELECT year, score, known_weight FROM scorecard WHERE agency_id = ?",
                                     [agency_id])).rows:
            scores[row["year"]] = row
    except sqlite3.OperationalError:
        pass  # an archive from before the scorecard (schema step 13)

    columns = []
    for r in sorted(current, key=lambda r: (r["year"] is None, r["year"] or 0, r["id"])):
        columns.append({"report": r, "year": r["year"], "figures": figures.get(r["id"], {}),
                        "failed": failed.get(r["id"], []), "legacy": r["version"] == "legacy"})
    rows = []
    for key, zh, en in FIGURE_ROWS:
        cells, before = [], None
        for c in columns:
            v = c["figures"].get(key)
            cells.append({"value": v, "text": fmt(v), "delta": delta(v, before)})
            before = v if c["year"] is not None else before
        if any(cell["value"] is not None for cell in cells):
            rows.append({"key": key, "zh": zh, "en": en, "cells": cells})
    names = sorted({r["as_written"] for r in reports if r["as_written"] and r["as_written"] != agency["name"]})
    versions: dict[tuple, int] = {}
    for r in reports:
        versions[(r["year"], r["kind"])] = versions.get((r["year"], r["kind"]), 0) + 1
    context = {
        "agency": agency, "aliases": json.loads(agency["aliases"] or "[]"), "names_as_written": names,
        "site_start": json.loads(agency["site_start"]) if agency["site_start"] else [],
        "columns": columns, "rows": rows, "chart": chart(columns), "reports": reports, "scores": scores,
        "n_versions": versions, "database": db.name,
    }
    return Response.html(await datasette.render_template("agency.html", context, request=request))


@hookimpl
def register_routes():
    return [(r"^/agency/(?P<agency_id>\d+)$", agency_page)]
