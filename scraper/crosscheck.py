"""Cross-report checks (report-format.md §5) over the archive's current reports.

`applications.carry_link`: carried_over(N).total = carried_forward(N-1).total;
`active.in_force_flow` (2021 tables): in_force(N) = in_force(N-1) + made(N) - repealed(N);
`duplicates`: one agency and year published more than once.
Agencies are matched on their normalized name.
"""

from __future__ import annotations

import sqlite_utils

from parsers.checks import compare


def _facts(db: sqlite_utils.Database, keys: list[str]) -> dict[tuple[str, int], dict]:
    marks = ",".join("?" * len(keys))
    out: dict[tuple[str, int], dict] = {}
    for agency, year, rid, version, key, value in db.execute(
            f"""SELECT r.agency, r.year, r.id, r.version, f.key, f.value FROM reports r
                JOIN facts f ON f.report_id = r.id
                WHERE r.current = 1 AND r.agency IS NOT NULL AND r.year IS NOT NULL AND f.key IN ({marks})
                ORDER BY r.id""", keys):
        entry = out.setdefault((agency, year), {"report_id": rid, "version": version})
        if entry["report_id"] == rid:
            entry[key] = value
    return out


def carry_link(db: sqlite_utils.Database) -> list[dict]:
    data = _facts(db, ["applications.carried_over.total", "applications.carried_forward.total"])
    found = []
    for (agency, year), cur in sorted(data.items()):
        prev = data.get((agency, year - 1))
        if prev is None:
            continue
        a, b = cur.get("applications.carried_over.total"), prev.get("applications.carried_forward.total")
        if a is None or b is None:
            continue
        ok = compare(a, b)
        found.append({"agency": agency, "year": year, "report_id": cur["report_id"], "ok": ok,
                      "detail": f"carried over {a} in {year}, carried forward {b} in {year - 1}"})
    return found


def in_force_flow(db: sqlite_utils.Database) -> list[dict]:
    keys = [f"active.{r}.{c}" for r in ("rules", "normative_docs") for c in ("made", "repealed", "in_force")]
    data = _facts(db, keys)
    found = []
    for (agency, year), cur in sorted(data.items()):
        prev = data.get((agency, year - 1))
        if prev is None or cur["version"] != "2021" or prev["version"] != "2021":
            continue
        for row in ("rules", "normative_docs"):
            made, repealed, now = (cur.get(f"active.{row}.{c}") for c in ("made", "repealed", "in_force"))
            before = prev.get(f"active.{row}.in_force")
            if None in (made, repealed, now, before):
                continue
            ok = compare(now, before + made - repealed)
            found.append({"agency": agency, "year": year, "report_id": cur["report_id"], "ok": ok,
                          "detail": f"{row}: in force {now} vs {before}+{made}-{repealed}"})
    return found


def duplicates(db: sqlite_utils.Database) -> list[dict]:
    rows = db.execute("""SELECT agency, year, group_concat(id), group_concat(source_url, ' | '), count(*)
                         FROM reports WHERE current = 1 AND agency IS NOT NULL AND year IS NOT NULL
                         GROUP BY agency, year HAVING count(*) > 1""").fetchall()
    return [{"agency": a, "year": y, "report_ids": ids, "ok": False,
             "detail": f"{n} reports: {urls}"} for a, y, ids, urls, n in rows]


def run_crosschecks(db: sqlite_utils.Database) -> dict[str, list[dict]]:
    return {"applications.carry_link": carry_link(db), "active.in_force_flow": in_force_flow(db),
            "duplicates": duplicates(db)}
