"""The disclosure scorecard (scorecard.md): every agency and year graded on ten points.

Each point is `pass`, `fail` or `unknown`, always with a sentence a person can check,
read from what the archive already knows: the per-report checks, the cross-report checks
of `crosscheck.py`, report versions, captures and crawl states (`frontier`), the document
form, and `documents` (a needs_ocr page).  A point the archive cannot tell is unknown and
never counts against the agency.  The rubric (weights, wording, version) is data:
`datasette/scorecard_rubric.yml`.

One row per agency-year (`scorecard` table, schema step 13): the years the agency has a
report or an image-only document for, and the years between or next to them, so an
agency that skipped a year shows it (`published` fails only when its column was read in
full after that year's deadline; never read, read too early, or blocked: unknown).

`refresh` recomputes and writes only the rows that changed, a few hundred per
transaction, so a served archive never waits on it and never sees a row missing.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Iterable, Iterator

import sqlite_utils
import yaml

from parsers.checks import LAST_LEGACY_YEAR, TOWNSHIP, deadline_for
from parsers.metadata import agency_from_title, find_published, find_year

from . import archive
from .agencies import Resolver
from .crosscheck import carry_link, cumulative_flow, in_force_flow

RUBRIC_FILE = Path(__file__).parent / "datasette" / "scorecard_rubric.yml"
PASS, FAIL, UNKNOWN = "pass", "fail", "unknown"
FIRST_YEAR = 2008  # the first year reports were due (regulation of 2007, in force 1 May 2008)
IDENTITY_RULES = ("applications.row_total", "applications.balance", "applications.results_sum",
                  "appeals.group_total", "legacy.sums")
CHECK_RULES = IDENTITY_RULES + ("report.complete", "report.text_matches_table")
CORRECTION = re.compile(r"更正|修订")
_LEGACY_DISAGREES = re.compile(r"^(legacy\.\S+): the text says (.+), the table (.+) \(table kept\)$")
WRITE_BATCH = 500
SITES_AT_ONCE = 2000  # a crawl's sites graded together (about 17 KB of memory a site while graded)
AGENCIES_AT_ONCE = 1000  # agencies a full recompute grades together (about 40 KB an agency of 10 years while graded)


# --- the rubric ---------------------------------------------------------------------

@dataclass(frozen=True)
class Point:
    point: str
    weight: int
    name_zh: str
    name_en: str
    pass_zh: str
    pass_en: str


@dataclass(frozen=True)
class Rubric:
    version: str
    points: tuple[Point, ...]

    @property
    def total(self) -> int:
        return sum(p.weight for p in self.points)


def load_rubric(path: Path = RUBRIC_FILE) -> Rubric:
    # libyaml's loader when PyYAML has it: the pure-Python one took 15 ms of every refresh
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    return Rubric(str(data["version"]), tuple(Point(**p) for p in data["points"]))


@dataclass(frozen=True)
class Grade:
    result: str  # pass | fail | unknown
    reason: str


def score(grades: dict[str, Grade], rubric: Rubric) -> tuple[float | None, int, int, int]:
    """(score, known weight, known points, passed weight): the score is over the points
    known, and none (never a misleading 100) when less than half the weight is known."""
    known = [p for p in rubric.points if grades[p.point].result != UNKNOWN]
    known_weight = sum(p.weight for p in known)
    passed = sum(p.weight for p in known if grades[p.point].result == PASS)
    value = round(100 * passed / known_weight, 1) if known_weight and 2 * known_weight >= rubric.total else None
    return value, known_weight, len(known), passed


def deadline(year: int, kind: str | None, level: str | None, agency: str | None) -> date:
    """The last day a report on `year` was due (the rule of `parsers.checks`, with the
    registry's level telling a township)."""
    return deadline_for(year, kind, agency, level)


# --- what the archive knows ----------------------------------------------------------

@dataclass
class ReportRow:
    """A report version as the archive holds it (the columns the points read)."""
    id: int
    agency_id: int | None
    agency: str
    site_id: str | None
    year: int
    version: str | None
    kind: str | None
    title: str | None
    published: str | None
    source_url: str | None
    capture_id: int | None
    current: int
    form: str | None
    warnings: str | None
    url: str | None  # the URL the capture asked for (the crawl state is kept under it)
    captured_at: str | None
    sha256: str | None  # of the document's bytes


@dataclass
class Column:
    """An annual-report column (a registry site) as the crawl last left it."""
    id: str
    start: str
    listed_at: str | None  # the last list page read (200/304, not blocked)
    deferred: int
    unfinished: int  # pending or failed URLs


@dataclass
class Card:
    """One agency-year to grade."""
    key: tuple[int | None, str]
    agency: str
    year: int
    agency_id: int | None
    region: str | None
    level: str | None
    site_id: str | None
    kind: str | None
    reports: list[ReportRow] = field(default_factory=list)  # every version, oldest first
    images: list[dict] = field(default_factory=list)  # needs_ocr documents
    report: ReportRow | None = None  # the one graded: the newest current version


@dataclass
class Evidence:
    db: sqlite_utils.Database
    today: date
    checks: dict[int, dict[str, tuple[int | None, str | None]]]
    cross: dict[tuple[int, int], list[tuple[str, dict]]]
    states: dict[str, tuple[str, str | None]]  # url -> (frontier state, updated_at)
    columns: dict[str, Column]
    by_agency: dict[tuple[int | None, str], dict[int, list[ReportRow]]]
    _facts: dict[int, dict[str, object]] = field(default_factory=dict)

    def facts(self, report_id: int) -> dict[str, object]:
        if report_id not in self._facts:
            self._facts[report_id] = dict(self.db.execute(
                "SELECT k.key, v.value FROM fact_values v JOIN fact_keys k ON k.id = v.key_id WHERE v.report_id = ?",
                [report_id]).fetchall())
        return self._facts[report_id]

    def fingerprints(self, report_ids: list[int]) -> dict[int, str]:
        """Each report's facts as one string, made in SQLite (key ids in the table's key
        order, values as SQL literals): reports with equal strings have equal facts, so
        the copies of a report that hundreds of sites carry are compared without reading
        every fact into Python.  Unequal strings prove nothing (12 and 12.0): compare
        `facts` then.  Reports without facts are missing."""
        marks = ",".join("?" * len(report_ids))
        return dict(self.db.execute(
            f"SELECT report_id, group_concat(key_id || '=' || quote(value), ',') FROM fact_values "
            f"WHERE report_id IN ({marks}) GROUP BY report_id", report_ids).fetchall())

    def text(self, report_id: int) -> str:
        return "\n".join(t or "" for (t,) in self.db.execute(
            "SELECT text FROM sections WHERE report_id = ? ORDER BY section", [report_id]))

    def state(self, report: ReportRow) -> tuple[str, str | None] | None:
        return self.states.get(report.url or "") or self.states.get(report.source_url or "")

    def captures(self, url: str) -> tuple[int, str | None, str | None]:
        """How often the page was seen (200 or 304), first and last time."""
        n, first, last = self.db.execute(
            "SELECT count(*), min(fetched_at), max(fetched_at) FROM captures WHERE url = ? AND status IN (200, 304)",
            [url]).fetchone()
        return n, first, last

    def gone_since(self, url: str) -> str | None:
        row = self.db.execute(
            "SELECT min(fetched_at) FROM captures WHERE url = ? AND status IN (404, 410) AND id > "
            "coalesce((SELECT max(id) FROM captures WHERE url = ? AND status = 200), 0)", [url, url]).fetchone()
        return row[0] if row else None


def _json_ids(values: Iterable) -> str:
    return json.dumps(sorted({v for v in values if v is not None}))


def agency_key(agency_id: int | None, agency: str) -> tuple[int | None, str]:
    """How an agency is told apart: its registry id, or its name when it resolves to none."""
    return (agency_id, "" if agency_id is not None else agency)


AGENCY_KEY_SQL = "agency_id, CASE WHEN agency_id IS NULL THEN agency ELSE '' END"  # `agency_key` of a reports row


def _keys_of_sites(db: sqlite_utils.Database, sites: list[str]) -> set[tuple[int | None, str]]:
    """The agencies a crawl of these sites touched: the sites' own bodies and every
    agency with a report found on them."""
    ids = json.dumps(sites)
    keys: set[tuple[int | None, str]] = set()
    for agency_id, name in db.execute(
            "SELECT id, name FROM agencies WHERE site_id IN (SELECT value FROM json_each(?))", [ids]):
        keys.add((agency_id, ""))
    for agency_id, name in db.execute(
            f"SELECT DISTINCT {AGENCY_KEY_SQL} FROM reports "
            "WHERE site_id IN (SELECT value FROM json_each(?)) AND agency IS NOT NULL", [ids]):
        keys.add((agency_id, name))
    return keys


def _reports(db: sqlite_utils.Database, keys: set | None) -> list[ReportRow]:
    sql = ("SELECT r.id, r.agency_id, r.agency, r.site_id, r.year, r.version, r.kind, r.title, r.published, "
           "r.source_url, r.capture_id, r.current, r.form, CASE WHEN r.version = 'legacy' THEN r.warnings END, "
           "c.url, c.fetched_at, r.sha256 FROM reports r LEFT JOIN captures c ON c.id = r.capture_id "
           "WHERE r.year IS NOT NULL AND r.agency IS NOT NULL")
    params: list = []
    if keys is not None:
        sql += (" AND (r.agency_id IN (SELECT value FROM json_each(?)) OR (r.agency_id IS NULL AND r.agency IN "
                "(SELECT value FROM json_each(?))))")
        params = [_json_ids(k[0] for k in keys), json.dumps(sorted({k[1] for k in keys if k[0] is None}))]
    return [ReportRow(*row) for row in db.execute(sql + " ORDER BY coalesce(r.capture_id, -1), r.id", params)]


def _checks(db: sqlite_utils.Database, report_ids: list[int] | None) -> dict[int, dict]:
    rules = json.dumps(CHECK_RULES)
    sql = "SELECT report_id, rule, ok, detail FROM checks WHERE rule IN (SELECT value FROM json_each(?))"
    params = [rules]
    if report_ids is not None:
        sql += " AND report_id IN (SELECT value FROM json_each(?))"
        params.append(json.dumps(report_ids))
    out: dict[int, dict] = {}
    for rid, rule, ok, detail in db.execute(sql, params):
        out.setdefault(rid, {})[rule] = (ok, detail)
    return out


def crosschecks(db: sqlite_utils.Database) -> dict[str, list[dict]]:
    """The cross-report checks the `continuous` point reads (crosscheck.py)."""
    return {"applications.carry_link": carry_link(db), "active.in_force_flow": in_force_flow(db),
            "legacy.cumulative_flow": cumulative_flow(db)}


def _columns(db: sqlite_utils.Database) -> dict[str, Column]:
    out = {}
    for sid, start, listed, deferred, unfinished in db.execute(
            """SELECT s.id, s.start,
                 (SELECT max(fetched_at) FROM captures c WHERE c.site_id = s.id AND c.role = 'list'
                    AND c.status IN (200, 304) AND c.blocked IS NULL),
                 (SELECT count(*) FROM frontier f WHERE f.site_id = s.id AND f.state = 'deferred'),
                 (SELECT count(*) FROM frontier f WHERE f.site_id = s.id AND f.state IN ('pending', 'failed'))
               FROM sites s"""):
        first = (json.loads(start or "[]") or [""])[0]
        out[sid] = Column(sid, first, listed, deferred, unfinished)
    return out


def _states(db: sqlite_utils.Database) -> dict[str, tuple[str, str | None]]:
    """Crawl state of every report and attachment URL, under the URL asked and the URL its
    last capture ended at (a redirect)."""
    out: dict[str, tuple[str, str | None]] = {}
    for url, final, state, updated in db.execute(
            "SELECT f.url, c.url, f.state, f.updated_at FROM frontier f LEFT JOIN captures c ON c.id = f.last_capture_id "
            "WHERE f.role IN ('report', 'attachment')"):
        out[url] = (state, updated)
        if final and final != url:
            out.setdefault(final, (state, updated))
    return out


def _images(db: sqlite_utils.Database, resolver: Resolver) -> list[dict]:
    """Documents whose tables are only pictures (needs_ocr), with the agency and year
    their title names."""
    out = []
    for capture_id, url, title, site_id, fetched_at in db.execute(
            "SELECT d.capture_id, d.url, d.title, c.site_id, c.fetched_at FROM documents d "
            "JOIN captures c ON c.id = d.capture_id WHERE d.outcome = 'needs_ocr'"):
        agency = agency_from_title(title) if title else None
        year = find_year(title, "", None)[0] if title else None
        if not agency or not year:
            continue
        agency_id = resolver.resolve(agency)
        out.append({"key": agency_key(agency_id, agency), "agency": agency, "year": year,
                    "url": url, "title": title, "site_id": site_id, "captured_at": fetched_at,
                    "capture_id": capture_id, "published": find_published([], {}, url)})
    return out


# --- the ten points --------------------------------------------------------------------
# Each is one function (card, evidence) -> Grade; POINTS lists them in rubric order.

def _published_date(card: Card) -> str | None:
    if card.report and card.report.published:
        return card.report.published
    return next((r.published for r in card.reports if r.published), None)


def _due(card: Card) -> date:
    return deadline(card.year, card.kind, card.level, card.agency)


def published(card: Card, ev: Evidence) -> Grade:
    if card.report:
        r = card.report
        where = f"captured {r.captured_at[:10]} from {r.source_url}" if r.captured_at else f"from {r.source_url}"
        return Grade(PASS, f"report for {card.year} archived: {r.title or '(untitled)'} ({where})")
    if card.images:
        d = card.images[0]
        return Grade(PASS, f"report for {card.year} archived, its tables as images only: {d['title']} "
                           f"(captured {d['captured_at'][:10]} from {d['url']})")
    due = _due(card)
    years = sorted(ev.by_agency.get(card.key, {}))
    near = [y for y in (card.year - 1, card.year + 1) if y in years]
    column = ev.columns.get(card.site_id or "")
    if column is None:
        return Grade(UNKNOWN, f"no report for {card.year}; the agency has no column in the registry, so the "
                              "archive cannot tell whether one was published")
    if column.listed_at is None:
        return Grade(UNKNOWN, f"no report for {card.year}; the column {column.start} was never read by a crawl")
    if column.listed_at[:10] <= due.isoformat():
        return Grade(UNKNOWN, f"no report for {card.year}; the column {column.start} was last read on "
                              f"{column.listed_at[:10]}, not after the deadline {due}")
    if column.deferred:
        return Grade(UNKNOWN, f"no report for {card.year} found, but the column {column.start} was blocked: "
                              f"{column.deferred} pages deferred at the last crawl")
    if column.unfinished:
        return Grade(UNKNOWN, f"no report for {card.year} found, but the column {column.start} was not read in "
                              f"full: {column.unfinished} pages pending or failed at the last crawl")
    return Grade(FAIL, f"no report for {card.year} in the column {column.start}, read in full on "
                       f"{column.listed_at[:10]} (after the deadline {due}); it has the reports for "
                       + " and ".join(str(y) for y in near))


def on_time(card: Card, ev: Evidence) -> Grade:
    due = _due(card)
    rule = "31 March" if due.month == 3 else "31 January"
    if card.report is None and not card.images:
        if published(card, ev).result == FAIL:
            return Grade(FAIL, f"no report for {card.year} by the deadline {due} ({rule} of {card.year + 1})")
        return Grade(UNKNOWN, f"no report for {card.year} in the archive")
    day = _published_date(card) or (card.images[0]["published"] if card.images else None)
    if not day:
        return Grade(UNKNOWN, "the page states no publication date")
    try:
        when = date.fromisoformat(day)
    except ValueError:
        return Grade(UNKNOWN, f"publication date {day!r} is not a date")
    if when <= due:
        return Grade(PASS, f"published {when}, deadline {due} ({rule} of {card.year + 1})")
    return Grade(FAIL, f"published {when}, {(when - due).days} days after the deadline {due} "
                       f"({rule} of {card.year + 1})")


def _no_report(card: Card) -> Grade:
    if card.images:
        return Grade(UNKNOWN, "the report's tables are images: no figure was read")
    return Grade(UNKNOWN, f"no report for {card.year} in the archive")


def complete(card: Card, ev: Evidence) -> Grade:
    if card.report is None:
        return _no_report(card)
    ok, detail = ev.checks.get(card.report.id, {}).get("report.complete", (None, None))
    if ok is None:
        return Grade(UNKNOWN, detail or "report.complete was not checked")
    return Grade(PASS if ok else FAIL, detail or "")


def consistent(card: Card, ev: Evidence) -> Grade:
    if card.report is None:
        return _no_report(card)
    checks = ev.checks.get(card.report.id, {})
    failed = [f"{rule}: {checks[rule][1]}" for rule in IDENTITY_RULES if rule in checks and checks[rule][0] == 0]
    held = [rule for rule in IDENTITY_RULES if rule in checks and checks[rule][0] == 1]
    if failed:
        return Grade(FAIL, "; ".join(failed))
    if held:
        return Grade(PASS, "identities hold: " + ", ".join(held))
    return Grade(UNKNOWN, "no identity could be checked (a value each needs is empty)")


def continuous(card: Card, ev: Evidence) -> Grade:
    if card.report is None:
        return _no_report(card)
    if card.agency_id is None:
        return Grade(UNKNOWN, "the agency name resolves to no registry body, so its reports are not matched "
                              "across years")
    found = ev.cross.get((card.agency_id, card.year), [])
    failed = [f"{rule}: {f['detail']} (reports {f['previous_report_id']} and {f['report_id']})"
              for rule, f in found if f["ok"] is False]
    if failed:
        return Grade(FAIL, "; ".join(failed))
    if found:
        prev = found[0][1]["previous_report_id"]
        return Grade(PASS, f"agrees with the {card.year - 1} report {prev}: "
                           + "; ".join(f"{rule}: {f['detail']}" for rule, f in found))
    if card.year - 1 not in ev.by_agency.get(card.key, {}):
        return Grade(UNKNOWN, f"no report for {card.year - 1} in the archive to compare with")
    return Grade(UNKNOWN, f"the figures linking {card.year - 1} and {card.year} are empty in one of the reports")


def honest(card: Card, ev: Evidence) -> Grade:
    if card.report is None:
        return _no_report(card)
    if card.report.version == "legacy":
        warnings = json.loads(card.report.warnings or "[]")
        differ = [w for w in warnings if _LEGACY_DISAGREES.match(w)]
        if differ:
            return Grade(FAIL, "; ".join(differ))
        return Grade(UNKNOWN, "legacy report: no sentence contradicts the table, but the figures stated in the "
                              "text that agree are not recorded")
    ok, detail = ev.checks.get(card.report.id, {}).get("report.text_matches_table", (None, None))
    if ok is None:
        return Grade(UNKNOWN, detail or "report.text_matches_table was not checked")
    if ok:
        return Grade(PASS, f"the figures the text states agree with the tables ({detail})")
    return Grade(FAIL, detail or "")


def machine_readable(card: Card, ev: Evidence) -> Grade:
    if card.report is None:
        if card.images:
            d = card.images[0]
            return Grade(FAIL, f"the tables are only images (needs OCR): {d['url']}")
        return Grade(UNKNOWN, f"no report for {card.year} in the archive")
    form = card.report.form
    if not form:
        return Grade(UNKNOWN, "the document form was not recorded")
    if "ocr" in form or "image" in form:
        return Grade(FAIL, f"the figures were read from images ({form})")
    return Grade(PASS, f"the tables are text ({form})")


def _differences(old: dict, new: dict) -> list[str]:
    if old == new:  # the usual case, compared in C: copies of one report on several sites
        return []
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return [f"{k}: {old.get(k)} → {new.get(k)}" for k in keys]


def _notice(ev: Evidence, old: ReportRow, new: ReportRow) -> str | None:
    """The correction notice a new version added (更正/修订 in its title, or a sentence
    with those words its text has and the old one had not), else None."""
    if new.title and CORRECTION.search(new.title) and not (old.title and CORRECTION.search(old.title)):
        return new.title
    before = set(re.split(r"[。；;\n]", ev.text(old.id)))
    for sentence in re.split(r"[。；;\n]", ev.text(new.id)):
        if CORRECTION.search(sentence) and sentence not in before:
            return sentence.strip()
    return None


def _replacements(card: Card, ev: Evidence) -> list[tuple[ReportRow, ReportRow]]:
    """Consecutive versions of one document: the same URL captured again with new
    bytes, or a removed URL whose report came back at another URL."""
    by_url: dict[str, list[ReportRow]] = {}
    for r in card.reports:
        by_url.setdefault(r.source_url or f"#{r.id}", []).append(r)
    pairs = [(a, b) for versions in by_url.values() for a, b in zip(versions, versions[1:])]
    for url, versions in by_url.items():
        last = versions[-1]
        if (ev.state(last) or ("",))[0] != "gone":
            continue
        later = [r for u, vs in by_url.items() if u != url for r in vs[:1]
                 if (r.capture_id or 0) > (last.capture_id or 0)]
        if later:
            pairs.append((last, later[0]))
    return pairs


def stable(card: Card, ev: Evidence) -> Grade:
    if card.report is None:
        return _no_report(card)
    changes, corrected = [], []
    for old, new in _replacements(card, ev):
        diff = _differences(ev.facts(old.id), ev.facts(new.id))
        if not diff:
            continue
        shown = ", ".join(diff[:5]) + (f" and {len(diff) - 5} more" if len(diff) > 5 else "")
        when = (new.captured_at or "")[:10]
        notice = _notice(ev, old, new)
        line = f"report {old.id} → {new.id} (captured {when}): {shown}"
        (corrected if notice else changes).append(line + (f", with the notice “{notice[:80]}”" if notice else ""))
    if changes:
        return Grade(FAIL, "figures changed after publishing without a notice of correction: " + "; ".join(changes))
    if corrected:
        return Grade(PASS, "changed with a notice of correction: " + "; ".join(corrected))
    versions = len(card.reports)
    if versions > 1:
        return Grade(PASS, f"{versions} versions archived, no figure changed")
    r = card.report
    if r.url:
        n, first, last = ev.captures(r.url)
        seen = f"seen once, on {(first or '')[:10]}" if n <= 1 else \
            f"seen {n} times from {(first or '')[:10]} to {(last or '')[:10]}"
        return Grade(PASS, f"one version, {seen}; no figure changed")
    return Grade(PASS, "one version archived; no figure changed")


COPIES_NAMED = 10  # copies a `single` detail names: a report carried by hundreds of sites stays one line


def single(card: Card, ev: Evidence) -> Grade:
    if card.report is None:
        return _no_report(card)
    carried = [r for r in card.reports if r.current and (ev.state(r) or ("",))[0] != "gone"]
    urls = {r.source_url for r in carried}
    if len(urls) <= 1:
        return Grade(PASS, f"one document: {card.report.source_url}")
    main = card.report
    # the same bytes are the same publication; other bytes (a repost in another site's
    # page) are compared by their figures, in SQLite first
    others = [r for r in carried if r.source_url != main.source_url and not (r.sha256 and r.sha256 == main.sha256)]
    prints = ev.fingerprints([main.id] + [r.id for r in others]) if others else {}
    differ = []
    for other in others:
        if prints.get(other.id) == prints.get(main.id):
            continue
        diff = _differences(ev.facts(other.id), ev.facts(main.id))
        if diff:
            differ.append(f"{other.source_url} and {main.source_url} differ: " + ", ".join(diff[:5])
                          + (f" and {len(diff) - 5} more" if len(diff) > 5 else ""))
    if differ:
        return Grade(FAIL, "; ".join(differ))
    named = sorted(u or "" for u in urls)
    return Grade(PASS, f"{len(urls)} copies with the same figures: " + ", ".join(named[:COPIES_NAMED])
                 + (f" and {len(named) - COPIES_NAMED} more" if len(named) > COPIES_NAMED else ""))


def kept(card: Card, ev: Evidence) -> Grade:
    years = {y: rs for y, rs in ev.by_agency.get(card.key, {}).items() if y <= card.year}
    online, removed, unchecked = [], [], []
    for year, reports in sorted(years.items()):
        captured = [r for r in reports if r.capture_id is not None]
        if not captured:
            continue
        states = {r.source_url: ev.state(r) for r in captured}
        if any(s and s[0] == "done" for s in states.values()):
            online.append(year)
        elif states and all(s and s[0] == "gone" for s in states.values()):
            removed.append((year, [(u, ev.gone_since(r.url or u)) for r in captured for u in [r.source_url]]))
        else:
            unchecked.append(year)
    if removed:
        return Grade(FAIL, "removed after archiving: " + "; ".join(
            f"{year}: {u} (answers 404/410 since {(since or '?')[:10]})" for year, urls in removed for u, since in urls))
    if unchecked:
        return Grade(UNKNOWN, "not checked at the last crawl: the reports for " + ", ".join(map(str, unchecked)))
    if online:
        span = f"{online[0]}-{online[-1]}" if len(online) > 1 else str(online[0])
        return Grade(PASS, f"the {len(online)} archived reports for {span} were online at the last check")
    return Grade(UNKNOWN, f"no captured report page for {card.year} or earlier to check")


POINTS: dict[str, Callable[[Card, Evidence], Grade]] = {
    "published": published, "on_time": on_time, "complete": complete, "consistent": consistent,
    "continuous": continuous, "honest": honest, "machine_readable": machine_readable, "stable": stable,
    "single": single, "kept": kept,
}


# --- agency-years ---------------------------------------------------------------------

def _cards(db: sqlite_utils.Database, reports: list[ReportRow], images: list[dict], today: date,
           ) -> tuple[list[Card], dict[tuple[int | None, str], dict[int, list[ReportRow]]]]:
    agencies = {i: (n, reg, lvl, site) for i, n, reg, lvl, site in
                db.execute("SELECT id, name, region, level, site_id FROM agencies")}
    site_region = dict(db.execute("SELECT id, region FROM sites").fetchall())
    by_agency: dict[tuple[int | None, str], dict[int, list[ReportRow]]] = {}
    for r in reports:
        key = agency_key(r.agency_id, r.agency)
        by_agency.setdefault(key, {}).setdefault(r.year, []).append(r)
    shots: dict[tuple, dict[int, list[dict]]] = {}
    for d in images:
        shots.setdefault(d["key"], {}).setdefault(d["year"], []).append(d)
    cards = []
    for key in set(by_agency) | set(shots):
        years = by_agency.get(key, {})
        image_years = shots.get(key, {})
        found = [r for rs in years.values() for r in rs]
        if key[0] is not None:
            name, region, level, site_id = agencies[key[0]]
        else:
            sites = [r.site_id for r in found] + [d["site_id"] for ds in image_years.values() for d in ds]
            site_id = max(set(sites), key=sites.count) if any(sites) else None
            name = key[1]
            region = site_region.get(site_id)
            level = "township" if TOWNSHIP.search(name.removesuffix("人民政府")) else None
        site_id = site_id or next((r.site_id for r in found if r.site_id), None)
        kind = next((r.kind for r in reversed(found) if r.kind), None)
        present = set(years) | set(image_years)
        gaps = {y for p in present for y in (p - 1, p + 1)} - present
        for year in sorted(present | gaps):
            card = Card(key, name, year, key[0], region, level, site_id, kind)
            if year not in present:
                if year < FIRST_YEAR or deadline(year, kind, level, name) >= today:
                    continue  # not due yet, or before reports were due
            card.reports = years.get(year, [])
            card.images = image_years.get(year, [])
            current = [r for r in card.reports if r.current] or card.reports
            card.report = current[-1] if current else None
            if card.report and card.report.kind:
                card.kind = card.report.kind
            cards.append(card)
    return cards, by_agency


def compute(db: sqlite_utils.Database, *, sites: list[str] | None = None, today: date | None = None,
            found: dict[str, list[dict]] | None = None, rubric: Rubric | None = None,
            keys: set[tuple[int | None, str]] | None = None, shared: "Shared | None" = None,
            ) -> tuple[list[dict], set[tuple[int | None, str]] | None]:
    """The scorecard rows of every agency (or of those a crawl of `sites` touched, or of
    the agency `keys` given), and the agency keys covered (None: all).  `found`: cross-report
    findings already computed; `shared`: what every chunk of a full recompute reads alike."""
    rubric = rubric or load_rubric()
    today = today or date.today()
    if sites is not None:
        keys = _keys_of_sites(db, sites)
    reports = _reports(db, keys)
    shared = shared or Shared.read(db, found)
    images = [d for d in shared.images if keys is None or d["key"] in keys]
    cards, by_agency = _cards(db, reports, images, today)
    graded = [c.report.id for c in cards if c.report]
    ev = Evidence(db, today, _checks(db, graded if keys is not None else None), shared.cross, shared.states,
                  shared.columns, by_agency)
    rows = []
    for card in cards:
        grades = {p.point: POINTS[p.point](card, ev) for p in rubric.points}
        value, known_weight, known_points, passed = score(grades, rubric)
        row = {"agency": card.agency, "year": card.year, "agency_id": card.agency_id,
               "report_id": card.report.id if card.report else None, "site_id": card.site_id,
               "region": card.region, "level": card.level, "kind": card.kind, "score": value,
               "known_weight": known_weight, "known_points": known_points, "passed_weight": passed,
               "rubric": rubric.version}
        for name, g in grades.items():
            row[name], row[f"{name}_reason"] = g.result, g.reason
        rows.append(row)
    return rows, keys


@dataclass
class Shared:
    """What grading any agency reads from the whole archive: read once for all the chunks
    of a full recompute (the crawl states are the biggest: one entry per report URL)."""
    cross: dict[tuple[int, int], list[tuple[str, dict]]]
    states: dict[str, tuple[str, str | None]]
    columns: dict[str, Column]
    images: list[dict]

    @classmethod
    def read(cls, db: sqlite_utils.Database, found: dict[str, list[dict]] | None = None) -> "Shared":
        found = found if found is not None else crosschecks(db)
        cross: dict[tuple[int, int], list[tuple[str, dict]]] = {}
        for rule in ("applications.carry_link", "active.in_force_flow", "legacy.cumulative_flow"):
            for f in found.get(rule, []):
                cross.setdefault((f["agency_id"], f["year"]), []).append((rule, f))
        return cls(cross, _states(db), _columns(db), _images(db, Resolver.from_db(db)))


def _all_keys(db: sqlite_utils.Database, images: list[dict]) -> list[tuple[int | None, str]]:
    """Every agency a full recompute grades (those with a dated report or a picture of
    one), agencies of the registry first, in a stable order."""
    keys = set(db.execute(f"SELECT DISTINCT {AGENCY_KEY_SQL} FROM reports "
                          "WHERE year IS NOT NULL AND agency IS NOT NULL"))
    keys |= {d["key"] for d in images}
    return sorted(keys, key=lambda k: (k[0] is None, k[0] or 0, k[1]))


def row_columns(rubric: Rubric) -> list[str]:
    """The scorecard columns `compute` fills, in its order (`computed_at` aside)."""
    head = ["agency", "year", "agency_id", "report_id", "site_id", "region", "level", "kind", "score",
            "known_weight", "known_points", "passed_weight", "rubric"]
    return head + [c for p in rubric.points for c in (p.point, f"{p.point}_reason")]


def _batches(items: list, n: int) -> Iterator[list]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def refresh(db: sqlite_utils.Database, *, sites: list[str] | None = None, today: date | None = None,
            found: dict[str, list[dict]] | None = None) -> dict[str, int]:
    """Recompute the scorecard of every agency (or of the agencies a crawl of `sites`
    touched) and write what changed, in short transactions: rows are replaced in place,
    and the rows of agency-years that no longer exist are deleted last."""
    if sites is not None and len(sites) > SITES_AT_ONCE:  # memory in proportion to a chunk, not the crawl
        shared = Shared.read(db, found)
        totals: Counter[str] = Counter()
        for chunk in _batches(sites, SITES_AT_ONCE):
            totals.update(_refresh(db, sites=chunk, today=today, shared=shared))
        return dict(totals)
    if sites is None:
        return _refresh_all(db, today=today, found=found)
    return _refresh(db, sites=sites, today=today, found=found)


def _refresh_all(db: sqlite_utils.Database, *, today: date | None,
                 found: dict[str, list[dict]] | None) -> dict[str, int]:
    """Every agency, AGENCIES_AT_ONCE at a time (all years of an agency in one chunk, as
    its points read them), then the rows of agencies with nothing left to grade."""
    shared = Shared.read(db, found)
    keys = _all_keys(db, shared.images)
    totals: Counter[str] = Counter({"graded": 0, "changed": 0, "removed": 0})
    for chunk in _batches(keys, AGENCIES_AT_ONCE):
        totals.update(_refresh(db, keys=set(chunk), today=today, shared=shared))
    wanted = set(keys)
    stale = [i for i, agency_id, agency in db.execute("SELECT id, agency_id, agency FROM scorecard")
             if agency_key(agency_id, agency) not in wanted]
    _delete_rows(db, stale)
    totals["removed"] += len(stale)
    return dict(totals)


def _refresh(db: sqlite_utils.Database, *, sites: list[str] | None = None,
             keys: set[tuple[int | None, str]] | None = None, today: date | None,
             found: dict[str, list[dict]] | None = None, shared: Shared | None = None) -> dict[str, int]:
    """Grade the agencies of `sites` (or the agency `keys`) and write what changed."""
    rubric = load_rubric()
    rows, keys = compute(db, sites=sites, keys=keys, today=today, found=found, rubric=rubric, shared=shared)
    _write_rubric(db, rubric)
    columns = row_columns(rubric)
    where = ("WHERE agency_id IN (SELECT value FROM json_each(?)) OR (agency_id IS NULL AND agency IN "
             "(SELECT value FROM json_each(?)))")
    params = [_json_ids(k[0] for k in keys), json.dumps(sorted({k[1] for k in keys if k[0] is None}))]
    existing = {(row[1], row[2]): row for row in
                db.execute(f"SELECT id, {', '.join(columns)} FROM scorecard {where}", params)}
    changed = [r for r in rows if existing.get((r["agency"], r["year"]), (None,))[1:] != tuple(r.values())]
    stamp = archive.now()
    for batch in _batches(changed, WRITE_BATCH):
        with archive.transaction(db):
            for r in batch:
                old = existing.get((r["agency"], r["year"]))
                values = {**r, "computed_at": stamp}
                if old is None:
                    db.execute(f"INSERT OR REPLACE INTO scorecard ({', '.join(values)}) VALUES "
                               f"({', '.join('?' * len(values))})", list(values.values()))
                else:
                    db.execute(f"UPDATE scorecard SET {', '.join(f'{c} = ?' for c in values)} WHERE id = ?",
                               [*values.values(), old[0]])
    wanted = {(r["agency"], r["year"]) for r in rows}
    stale = [old[0] for k, old in existing.items() if k not in wanted]  # a year or name these agencies no longer have
    _delete_rows(db, stale)
    return {"graded": len(rows), "changed": len(changed), "removed": len(stale)}


def _delete_rows(db: sqlite_utils.Database, ids: list[int]) -> None:
    """Scorecard rows gone, in short transactions."""
    for batch in _batches(ids, WRITE_BATCH):
        with archive.transaction(db):
            db.conn.executemany("DELETE FROM scorecard WHERE id = ?", [(i,) for i in batch])


def _write_rubric(db: sqlite_utils.Database, rubric: Rubric) -> None:
    have = db.execute("SELECT point, position, weight, name_zh, name_en, pass_zh, pass_en, rubric "
                      "FROM scorecard_rubric ORDER BY position").fetchall()
    want = [(p.point, i, p.weight, p.name_zh, p.name_en, p.pass_zh, p.pass_en, rubric.version)
            for i, p in enumerate(rubric.points, 1)]
    if [tuple(r) for r in have] == want:
        return
    with archive.transaction(db):
        db.execute("DELETE FROM scorecard_rubric")
        db.conn.executemany("INSERT INTO scorecard_rubric VALUES (?,?,?,?,?,?,?,?)", want)


# --- reading ---------------------------------------------------------------------------

def is_current(db: sqlite_utils.Database) -> bool:
    """Whether the stored scorecard was made with this rubric and covers the archive (an
    archive upgraded to step 13 has reports and no scorecard until its first recompute)."""
    version = load_rubric().version
    other = db.execute("SELECT 1 FROM scorecard WHERE rubric != ? LIMIT 1", [version]).fetchone()
    empty = db.execute("SELECT NOT EXISTS (SELECT 1 FROM scorecard) AND EXISTS "
                       "(SELECT 1 FROM reports WHERE year IS NOT NULL AND agency IS NOT NULL)").fetchone()[0]
    return not other and not empty


def read(db: sqlite_utils.Database, *, year: int | None = None, region: str | None = None,
         level: str | None = None) -> list[dict]:
    """Stored rows as `xxgk scorecard` prints them: `points` maps each point to its result
    and reason.  `region` matches a prefix."""
    rubric = load_rubric()
    where, params = ["1 = 1"], []
    if year is not None:
        where.append("year = ?")
        params.append(year)
    if region:
        where.append("region LIKE ? || '%'")
        params.append(region)
    if level:
        where.append("level = ?")
        params.append(level)
    cols = [p.point for p in rubric.points]
    out = []
    for row in db.execute(
            f"SELECT report_id, agency, region, level, year, score, known_weight, known_points, rubric, "
            f"{', '.join(f'{c}, {c}_reason' for c in cols)} FROM scorecard WHERE {' AND '.join(where)} "
            "ORDER BY year, region, agency", params):
        head = dict(zip(("report_id", "agency", "region", "level", "year", "score", "known_weight",
                         "known_points", "rubric"), row[:9]))
        head["points"] = {c: {"result": row[9 + 2 * i], "reason": row[10 + 2 * i]} for i, c in enumerate(cols)}
        out.append(head)
    return out
