"""The home page (`/`, templates/index.html, also Datasette's index template): where people start.

A search box (an agency by name or alias, here; the report text through the canned query
`search_sections`), reports per year and per region, the latest reports and the latest
with failed checks, each linked to its report and agency page.  Every query is an index
lookup or a walk of one index (reports per year: the `reports_year` index; per region:
`agencies_region`, then the years of the agencies of the regions shown; failed rules:
the partial index `checks_failed`, named: the planner prefers the full `checks_rule`); the lists read the newest rows by rowid and stop.
"""

from __future__ import annotations

import json

import hashlib

from datasette import hookimpl
from datasette.utils.asgi import Response

from scraper.report_forms import rule_label

LATEST = 12
REGIONS = 24
# where people start, in this order (the rest are on the database page)
START_HERE = ("reports_overview", "report_summary", "series", "agencies", "scorecard", "report_checks",
              "report_applications", "facts", "report_versions", "unresolved_agencies")


def like_pattern(text: str) -> str:
    """`text` as a LIKE pattern matching it anywhere (its own % and _ taken literally, ESCAPE '\\')."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def _report_list(db, where: str) -> list[dict]:
    rows = [dict(r) for r in (await db.execute(
        f"""SELECT r.id, r.title, r.year, r.version, r.published, r.agency_id, coalesce(a.name, r.agency) AS agency,
                   r.n_failed_checks
            FROM reports r LEFT JOIN agencies a ON a.id = r.agency_id
            WHERE r.current = 1 {where} ORDER BY r.id DESC LIMIT {LATEST}""")).rows]
    ids = [r["id"] for r in rows if r["n_failed_checks"]]
    failed: dict[int, list] = {}
    if ids:
        for rid, rule in (await db.execute(
                f"SELECT report_id, rule FROM checks WHERE report_id IN ({','.join('?' * len(ids))}) AND ok = 0 "
                f"ORDER BY rule", ids)).rows:
            failed.setdefault(rid, []).append({"rule": rule, "label": rule_label(rule)})
    for r in rows:
        r["failed"] = failed.get(r["id"], [])
    return rows


async def home(datasette, request) -> dict:
    db = datasette.get_database()
    q = (request.args.get("q") or "").strip()[:100] if request else ""
    agencies = []
    if q:
        agencies = [dict(r) for r in (await db.execute(
            "SELECT id, name, region, level, aliases FROM agencies WHERE name LIKE :p ESCAPE '\\' "
            "OR aliases LIKE :p ESCAPE '\\' ORDER BY length(name), name LIMIT 50", {"p": like_pattern(q)})).rows]
        for a in agencies:
            a["aliases"] = json.loads(a["aliases"] or "[]")
    per_year = [dict(r) for r in (await db.execute(
        "SELECT year, count(*) AS n FROM reports WHERE year IS NOT NULL AND current = 1 GROUP BY year "
        "ORDER BY year DESC")).rows]
    # the regions with most agencies (a walk of the agencies_region index), then their
    # agency-years by the agencies' reports_agency_id entries: work for the regions shown only
    regions = [dict(r) for r in (await db.execute(
        f"SELECT region, count(*) AS agencies FROM agencies GROUP BY region ORDER BY agencies DESC, region "
        f"LIMIT {REGIONS}")).rows]
    named = [r["region"] for r in regions if r["region"] is not None]
    years = dict((await db.execute(
        f"""SELECT region, sum((SELECT count(DISTINCT year) FROM reports r WHERE r.agency_id = a.id))
            FROM agencies a WHERE region IN ({','.join('?' * len(named))}) GROUP BY region""", named)).rows)
    if len(named) < len(regions):
        years[None] = (await db.execute(
            "SELECT sum((SELECT count(DISTINCT year) FROM reports r WHERE r.agency_id = a.id)) FROM agencies a "
            "WHERE region IS NULL")).first()[0]
    for r in regions:
        r["years"] = years.get(r["region"])
    failed_rules = [{"rule": rule, "n": n, "label": rule_label(rule)} for rule, n in (await db.execute(
        "SELECT rule, count(*) FROM checks INDEXED BY checks_failed WHERE ok = 0 GROUP BY rule ORDER BY count(*) DESC")).rows]
    return {
        "q": q, "agencies": agencies, "years": per_year, "regions": regions, "failed_rules": failed_rules,
        "latest": await _report_list(db, ""), "failing": await _report_list(db, "AND r.n_failed_checks > 0"),
        "database": db.name, "start_here": START_HERE,
    }


async def home_page(request, datasette):
    databases = [{"name": name, "color": hashlib.md5(name.encode("utf8")).hexdigest()[:6]}
                 for name, db in datasette.databases.items() if name != "_internal"]
    context = {"xxgk": await home(datasette, request), "databases": databases, "metadata": datasette.metadata()}
    return Response.html(await datasette.render_template("index.html", context, request=request))


@hookimpl
def register_routes():
    return [(r"^/$", home_page)]
