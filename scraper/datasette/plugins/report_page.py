"""`/report/<report id>`: one report as the official forms lay it out (templates/report.html).

Every number cell carries `data-key="<canonical key>"` (cli.md, "Pages people read");
each failed check sits under the table whose cells it involves, in an element carrying
`data-check="<rule id>"`, and those cells carry the rule in `data-checks`.  The layout
and the explanation of checks are scraper/report_forms.py; this module reads the archive
(a few primary-key and index lookups, whatever the archive's size) and renders.
"""

from __future__ import annotations

import json
from datetime import date
from types import SimpleNamespace

from datasette import hookimpl
from datasette.utils.asgi import NotFound, Response

from parsers.checks import deadline
from parsers.templates import TEMPLATES
from scraper import report_forms as F


async def _rows(db, sql: str, params: list) -> list:
    return list((await db.execute(sql, params)).rows)


async def _facts(db, report_id: int) -> dict:
    return {r["key"]: r for r in await _rows(db, "SELECT * FROM facts WHERE report_id = ?", [report_id])}


def _history_key(report) -> list:
    """The `reports_history` index expression's value for this report (schema step 12)."""
    return [report["agency_id"] if report["agency_id"] is not None else report["agency"], report["year"],
            report["kind"]]


async def _neighbours(db, report) -> dict[int, object]:
    """The agency's current report of the year before and after (the first saved, as
    crosscheck.py matches them), by the history index."""
    if report["year"] is None or (report["agency_id"] is None and report["agency"] is None):
        return {}
    who = _history_key(report)[0]
    out: dict[int, object] = {}
    for year in (report["year"] - 1, report["year"] + 1):
        row = (await db.execute(
            "SELECT id, year, title, version, current FROM reports WHERE coalesce(agency_id, agency) = ? AND year = ? "
            "AND kind IS ? AND current = 1 ORDER BY id LIMIT 1", [who, year, report["kind"]])).first()
        if row is not None:
            out[year] = row
    return out


async def _versions(db, report) -> list[dict]:
    """Every version of this report (same agency, year, kind), oldest first, each with the
    facts that changed from the version before it (old → new)."""
    if report["agency_id"] is None and report["agency"] is None:
        return []
    rows = await _rows(db, """
        SELECT r.id, r.title, r.capture_id, r.current, r.source_url, r.published, r.n_failed_checks,
               c.fetched_at AS captured_at
        FROM reports r LEFT JOIN captures c ON c.id = r.capture_id
        WHERE coalesce(r.agency_id, r.agency) = ? AND r.year IS ? AND r.kind IS ?
        ORDER BY coalesce(r.capture_id, -1), r.id LIMIT 50""", _history_key(report))
    if len(rows) < 2:
        return []
    ids = [r["id"] for r in rows]
    values: dict[int, dict] = {i: {} for i in ids}
    for rid, key, value in await _rows(
            db, f"SELECT report_id, key, value FROM facts WHERE report_id IN ({','.join('?' * len(ids))})", ids):
        values[rid][key] = value
    out, before = [], None
    for n, r in enumerate(rows, 1):
        now = values[r["id"]]
        changes = []
        if before is not None:
            for key in sorted(set(before) | set(now)):
                if before.get(key) != now.get(key):
                    changes.append({"key": key, "old": F.fmt(before.get(key)) if key in before else "（无 none）",
                                    "new": F.fmt(now.get(key)) if key in now else "（无 none）"})
        out.append({**dict(r), "no": n, "changes": changes, "this": r["id"] == report["id"]})
        before = now
    return out


def _timeliness(report) -> dict | None:
    """Published date against the deadline (parsers.checks.deadline): on time, or N days late."""
    if not report["published"] or not report["year"]:
        return None
    last = deadline(SimpleNamespace(year=report["year"], agency=report["agency"], kind=report["kind"]))
    try:
        published = date.fromisoformat(report["published"])
    except ValueError:
        return None
    late = (published - last).days
    return {"deadline": last.isoformat(), "late_days": max(0, late), "on_time": late <= 0}


async def report_page(request, datasette):
    report_id = int(request.url_vars["report_id"])
    db = datasette.get_database()
    report = (await db.execute("""
        SELECT r.*, a.name AS agency_name, a.region, a.level, c.fetched_at AS captured_at, c.content_type
        FROM reports r LEFT JOIN agencies a ON a.id = r.agency_id LEFT JOIN captures c ON c.id = r.capture_id
        WHERE r.id = ?""", [report_id])).first()
    if report is None:
        raise NotFound(f"没有这份报告 · no report {report_id}")
    fact_rows = await _facts(db, report_id)
    values = {k: r["value"] for k, r in fact_rows.items()}
    units = {k: r["unit"] for k, r in fact_rows.items()}
    forms = F.forms_for(report["version"], report["applications_layout"], fact_rows, units)
    cells = {k: F.cell_of(k, fact_rows.get(k)) for form in forms for k in form.keys()}

    # where a cell came from: the page, or an attachment that filled it (report_sources)
    sources = await _rows(db, "SELECT capture_id, url, role, form, filled FROM report_sources WHERE report_id = ?",
                          [report_id])
    original_of: dict[str, int] = {}
    for s in sources:
        if s["role"] != "page" and s["capture_id"] is not None:
            for key in json.loads(s["filled"] or "[]"):
                original_of[key] = s["capture_id"]

    # failed checks: this report's, then those across years (computed here for its neighbours)
    template_keys = set(TEMPLATES[report["version"]].keys()) if report["version"] in TEMPLATES else set()
    missing = [k for form in forms for k in form.keys() if k in template_keys
               and cells[k].position is None and cells[k].state != "number"]
    checks = await _rows(db, "SELECT rule, ok, detail FROM checks WHERE report_id = ? ORDER BY rule", [report_id])
    findings: list[F.Finding] = []
    for c in checks:
        if c["ok"] == 0:
            findings += F.explain(c["rule"], c["detail"], values, layout=report["applications_layout"],
                                  missing=missing if c["rule"] == "report.complete" else ())
    neighbours = await _neighbours(db, report)
    if report["current"] and report["agency_id"] is not None and report["year"] is not None:
        prev, nxt = neighbours.get(report["year"] - 1), neighbours.get(report["year"] + 1)
        prev_values = {k: r["value"] for k, r in (await _facts(db, prev["id"])).items()} if prev else None
        next_values = {k: r["value"] for k, r in (await _facts(db, nxt["id"])).items()} if nxt else None
        findings += F.cross_findings(values, report["version"], report["year"],
                                     prev_values, prev["id"] if prev else None, prev["version"] if prev else None,
                                     next_values, nxt["id"] if nxt else None, nxt["version"] if nxt else None)
    for n, finding in enumerate(findings):
        finding.id = f"check-{n}"
        for key in finding.cells:
            if key in cells:
                cells[key].findings.append(finding.id)
                if finding.rule not in cells[key].checks:
                    cells[key].checks.append(finding.rule)
    placed: dict[str, list] = {form.id: [] for form in forms}
    header_findings, rule_anchor = [], {}
    for finding in findings:
        homes = finding.homes = [form.id for form in forms if set(finding.cells) & form.keys()]
        for home in homes:
            placed[home].append(finding)
        if not homes:
            header_findings.append(finding)
        rule_anchor.setdefault(finding.rule, f"{finding.id}-{homes[0] if homes else 'meta'}")

    sections = {r["section"]: r["text"] for r in await _rows(
        db, "SELECT section, text FROM sections WHERE report_id = ?", [report_id])}
    labels = F.LEGACY_SECTION_LABELS if report["version"] == "legacy" else F.SECTION_LABELS
    section_list = [(key, *labels.get(key, (key, key)), sections[key]) for key in labels if key in sections]
    section_list += [(key, key, key, text) for key, text in sections.items() if key not in labels]

    context = {
        "report": report, "forms": forms, "cells": cells, "findings": findings, "placed": placed,
        "header_findings": header_findings, "rule_anchor": rule_anchor, "failed_rules": sorted({f.rule for f in findings}),
        "timeliness": _timeliness(report), "neighbours": neighbours,
        "versions": await _versions(db, report), "sections": section_list, "sources": sources,
        "original_of": original_of, "database": db.name, "rule_label": F.rule_label,
        "notice": TEMPLATES[report["version"]].notice if report["version"] in TEMPLATES else "",
    }
    return Response.html(await datasette.render_template("report.html", context, request=request))


@hookimpl
def register_routes():
    return [(r"^/report/(?P<report_id>\d+)$", report_page)]
