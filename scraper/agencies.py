"""Agencies as entities: one row per issuing body, every report linked to one.

A report names its agency as its title does (`白水县人民政府`, `平潭综合实验区管委会`); the
registry names the body once, with `aliases` for the other names it goes by.  A name is
resolved by exact match on the normalized form of the registry name or an alias, where
normalization only folds spellings of the *same* body (人民政府 / 政府 suffix of a region,
管理委员会 / 管委会 / no suffix, 办公厅 / 办公室, full-width forms, spaces).  A name that
matches no agency, or more than one, stays unresolved (agency_id NULL) and `xxgk check`
lists it: never guessed.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Iterable

import sqlite_utils

_SPACE = re.compile(r"[\s\u200b\u3000]+")
# a region name the government suffix can be dropped from: ends in an administrative unit
_REGION_END = re.compile(r"(省|市|县|区|旗|州|盟|镇|乡|自治区|特别行政区|实验区|新区)$")


def normalize(name: str) -> str:
    """The comparison form of an agency name; two names of one body normalize alike."""
    s = _SPACE.sub("", unicodedata.normalize("NFKC", name or ""))
    s = s.replace("人民政府", "政府").replace("管理委员会", "管委会")
    if s.endswith("办公厅"):
        s = s[:-3] + "办公室"
    for suffix in ("管委会", "政府"):
        if s.endswith(suffix) and _REGION_END.search(s[: -len(suffix)]):
            s = s[: -len(suffix)]
            break
    return s


class Resolver:
    """Maps report agency names onto agency ids through names, aliases and `normalize`."""

    def __init__(self, agencies: Iterable[tuple[int, str, list[str]]]):
        self.by_form: dict[str, set[int]] = {}
        self.names: dict[int, str] = {}
        for agency_id, name, aliases in agencies:
            self.names[agency_id] = name
            for n in [name, *aliases]:
                self.by_form.setdefault(normalize(n), set()).add(agency_id)

    @classmethod
    def from_db(cls, db: sqlite_utils.Database) -> "Resolver":
        """The resolver of the archive's agencies as they are now: built once and kept on
        `db` while the table stays the same (a crawl resolves every report it saves; with a
        national registry, rebuilding it each time cost O(agencies) a report)."""
        key = (*db.execute("SELECT count(*), max(rowid) FROM agencies").fetchone(),
               db.execute("PRAGMA data_version").fetchone()[0],  # another connection's commits
               getattr(db, "_xxgk_agencies_changed", 0))  # this connection's, by `sync_sites`
        cached = getattr(db, "_xxgk_resolver", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        resolver = cls((i, n, json.loads(a or "[]")) for i, n, a in db.execute("SELECT id, name, aliases FROM agencies"))
        db._xxgk_resolver = (key, resolver)
        return resolver

    def candidates(self, name: str | None) -> set[int]:
        return set(self.by_form.get(normalize(name), ())) if name else set()

    def resolve(self, name: str | None) -> int | None:
        found = self.candidates(name)
        return next(iter(found)) if len(found) == 1 else None

    def why_not(self, name: str | None) -> str:
        """Why a name stays unresolved, for `xxgk check`."""
        if not name:
            return "the report names no agency"
        found = self.candidates(name)
        if not found:
            return f"no registry name or alias matches (normalized: {normalize(name)})"
        return "ambiguous: " + ", ".join(sorted(self.names[i] for i in found))


def sync_sites(db: sqlite_utils.Database, sites: Iterable) -> None:
    """One agency per registry body (sites with one normalized name are one agency);
    region, level, code and aliases follow the registry."""
    by_name: dict[str, list] = {}  # normalized name → [id, aliases] of the first agency of that name
    for agency_id, name, have in db.execute("SELECT id, name, aliases FROM agencies ORDER BY id").fetchall():
        by_name.setdefault(normalize(name), [agency_id, json.loads(have or "[]")])
    with db.conn:
        for s in sites:
            aliases = list(getattr(s, "aliases", []) or [])
            forms = [normalize(n) for n in [s.name, *aliases]]
            rows = [by_name[f] for f in forms if f in by_name]
            row = min(rows, key=lambda r: r[0]) if rows else None
            if row is None:
                cur = db.execute("INSERT INTO agencies (name, region, region_code, level, site_id, aliases) "
                                 "VALUES (?,?,?,?,?,?)", [s.name, s.region, s.region_code, s.level, s.id,
                                                          json.dumps(aliases, ensure_ascii=False)])
                by_name.setdefault(normalize(s.name), [cur.lastrowid, aliases])
            else:
                row[1] = list(dict.fromkeys(row[1] + aliases))
                db.execute("UPDATE agencies SET region = coalesce(?, region), region_code = coalesce(?, region_code), "
                           "level = coalesce(?, level), site_id = coalesce(site_id, ?), aliases = ? WHERE id = ?",
                           [s.region, s.region_code, s.level, s.id, json.dumps(row[1], ensure_ascii=False), row[0]])
    db._xxgk_agencies_changed = getattr(db, "_xxgk_agencies_changed", 0) + 1


def assign_all(db: sqlite_utils.Database) -> dict[str, int]:
    """(Re)link every report to its agency; returns counts of resolved and unresolved reports."""
    resolver = Resolver.from_db(db)
    names = [r[0] for r in db.execute("SELECT DISTINCT agency FROM reports")]
    with db.conn:
        for name in names:
            db.execute("UPDATE reports SET agency_id = ? WHERE agency IS ?", [resolver.resolve(name), name])
    resolved, total = db.execute("SELECT count(agency_id), count(*) FROM reports").fetchone()
    return {"resolved": resolved, "unresolved": total - resolved}


def unresolved(db: sqlite_utils.Database) -> list[dict]:
    """Report agency names that resolve to no agency, with why and how many reports."""
    resolver = Resolver.from_db(db)
    return [{"agency": name, "reports": n, "sites": sites, "ok": False, "detail": f"{n} report(s): {resolver.why_not(name)}"}
            for name, n, sites in db.execute("SELECT name, reports, sites FROM unresolved_agencies ORDER BY name")]
