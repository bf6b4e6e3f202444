"""Cross-report checks (report-format.md §5) over the archive's current reports.

`applications.carry_link`: carried_over(N).total = carried_forward(N-1).total;
`active.in_force_flow` (2021 tables): in_force(N) = in_force(N-1) + made(N) - repealed(N);
`legacy.cumulative_flow` (2008-2018 tables with a 历年累计 column): cumulative(N) =
cumulative(N-1) + year(N), per indicator;
`duplicates`: one agency, year and kind published more than once (at different URLs);
`agencies.unresolved`: report agency names that match no agency (listed, never guessed).
Reports are matched across years by `agency_id` (agencies.py), never by spelling.
"""

from __future__ import annotations

import sqlite_utils

from parsers.checks import compare

from .agencies import unresolved

Key = tuple[int, str, int]  # agency_id, kind, year


def _facts(db: sqlite_utils.Database, keys: list[str]) -> tuple[dict[Key, dict], dict[int, str]]:
    marks = ",".join("?" * len(keys))
    out: dict[Key, dict] = {}
    for agency_id, kind, year, rid, version, key, value in db.execute(
            f"""SELECT r.agency_id, coalesce(r.kind, ''), r.year, r.id, r.version, k.key, v.value FROM reports r
                JOIN fact_values v ON v.report_id = r.id JOIN fact_keys k ON k.id = v.key_id
                WHERE r.current = 1 AND r.agency_id IS NOT NULL AND r.year IS NOT NULL AND k.key IN ({marks})
                ORDER BY r.id""", keys):
        entry = out.setdefault((agency_id, kind, year), {"report_id": rid, "version": version})
        if entry["report_id"] == rid:  # a duplicate (agency, year) is reported by `duplicates`
            entry[key] = value
    names = dict(db.execute("SELECT id, name FROM agencies").fetchall())
    return out, names


def carry_link(db: sqlite_utils.Database) -> list[dict]:
    data, names = _facts(db, ["applications.carried_over.total", "applications.carried_forward.total"])
    found = []
    for (agency_id, kind, year), cur in sorted(data.items()):
        prev = data.get((agency_id, kind, year - 1))
        if prev is None:
            continue
        a, b = cur.get("applications.carried_over.total"), prev.get("applications.carried_forward.total")
        if a is None or b is None:
            continue
        found.append({"agency": names[agency_id], "agency_id": agency_id, "year": year,
                      "report_id": cur["report_id"], "previous_report_id": prev["report_id"], "ok": compare(a, b),
                      "detail": f"carried over {a} in {year}, carried forward {b} in {year - 1}"})
    return found


def in_force_flow(db: sqlite_utils.Database) -> list[dict]:
    keys = [f"active.{r}.{c}" for r in ("rules", "normative_docs") for c in ("made", "repealed", "in_force")]
    data, names = _facts(db, keys)
    found = []
    for (agency_id, kind, year), cur in sorted(data.items()):
        prev = data.get((agency_id, kind, year - 1))
        if prev is None or cur["version"] != "2021" or prev["version"] != "2021":
            continue
        for row in ("rules", "normative_docs"):
            made, repealed, now = (cur.get(f"active.{row}.{c}") for c in ("made", "repealed", "in_force"))
            before = prev.get(f"active.{row}.in_force")
            if None in (made, repealed, now, before):
                continue
            found.append({"agency": names[agency_id], "agency_id": agency_id, "year": year,
                          "report_id": cur["report_id"], "previous_report_id": prev["report_id"],
                          "ok": compare(now, before + made - repealed),
                          "detail": f"{row}: in force {now} vs {before}+{made}-{repealed}"})
    return found


def cumulative_flow(db: sqlite_utils.Database) -> list[dict]:
    rows = sorted({k.rsplit(".", 1)[0] for (k,) in db.execute(
        "SELECT key FROM fact_keys WHERE table_name = 'legacy' AND col_key = 'cumulative'")})
    if not rows:
        return []
    data, names = _facts(db, [f"{r}.{c}" for r in rows for c in ("year", "cumulative")])
    found = []
    for (agency_id, kind, year), cur in sorted(data.items()):
        prev = data.get((agency_id, kind, year - 1))
        if prev is None or cur["version"] != "legacy" or prev["version"] != "legacy":
            continue
        for row in rows:
            now, this_year, before = cur.get(f"{row}.cumulative"), cur.get(f"{row}.year"), prev.get(f"{row}.cumulative")
            if None in (now, this_year, before):
                continue
            found.append({"agency": names[agency_id], "agency_id": agency_id, "year": year,
                          "report_id": cur["report_id"], "previous_report_id": prev["report_id"],
                          "ok": compare(now, before + this_year, fees=row.endswith((".fees", ".budget"))),
                          "detail": f"{row.removeprefix('legacy.')}: cumulative {now} vs {before}+{this_year}"})
    return found


def duplicates(db: sqlite_utils.Database) -> list[dict]:
    rows = db.execute("""SELECT a.name, r.agency_id, r.year, group_concat(r.id), group_concat(r.source_url, ' | '),
                                count(*)
                         FROM reports r JOIN agencies a ON a.id = r.agency_id
                         WHERE r.current = 1 AND r.year IS NOT NULL
                         GROUP BY r.agency_id, r.year, coalesce(r.kind, '') HAVING count(*) > 1
                         ORDER BY a.name, r.year""").fetchall()
    return [{"agency": a, "agency_id": i, "year": y, "report_ids": ids, "ok": False,
             "detail": f"{n} reports: {urls}"} for a, i, y, ids, urls, n in rows]


def registry_entries(db: sqlite_utils.Database) -> list[dict]:
    """Registry entries to correct: crawled but never led to a report (the column has
    moved?), or reached while sites.toml still says `verified = false`."""
    out = []
    for sid, name, verified, reached in db.execute(
            """SELECT id, name, verified, coalesce(reached_at, (SELECT min(parsed_at) FROM reports
                                                                WHERE reports.site_id = sites.id))
               FROM sites WHERE id IN (SELECT DISTINCT site_id FROM frontier) ORDER BY id"""):
        if reached is None:
            out.append({"agency": f"{name} ({sid})", "ok": False,
                        "detail": "crawled, no report found: check the start URL in sites.toml"})
        elif not verified:
            out.append({"agency": f"{name} ({sid})", "ok": False,
                        "detail": f"reports found since {reached}: set verified = true in sites.toml"})
        else:
            out.append({"agency": f"{name} ({sid})", "ok": True, "detail": f"reached {reached}"})
    return out


def run_crosschecks(db: sqlite_utils.Database) -> dict[str, list[dict]]:
    return {"applications.carry_link": carry_link(db), "active.in_force_flow": in_force_flow(db),
            "legacy.cumulative_flow": cumulative_flow(db),
            "duplicates": duplicates(db), "agencies.unresolved": unresolved(db),
            "registry.entries": registry_entries(db)}
