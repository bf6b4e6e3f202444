"""The disclosure scorecard (issue 12, scorecard.md) on an archive built by hand with
`scraper.archive`: captures, crawl states and documents written as a crawl writes them,
reports with their real per-report checks (`parsers.checks.run_checks`).  Every point is
seen passing, failing and unknown, each case named below with the agency-year that shows
it.  Expected results come from the scenario written here, never from the code under test.

临江市民政局 (department): 2020 clean; 2021 missing from a column read in full; 2022
    changed after publishing without a notice; 2023 changed with a notice of correction,
    its text stating another figure than its table; 2024 missing.
东湖区人民政府 (county government, 31 March): 2020 page answers 404 after archiving; 2021
    breaks the carry-over; 2022 in two copies with different figures.
南屏县城关镇人民政府 (township government, 31 January): 2022 late; 2023 no date, no figures.
南屏县教育局: 2022 only as images (needs_ocr); the column blocked at the last crawl.
南屏县财政局: reports saved without captures; the column never read; no checks, no form.
临江市水利局 (2008-2018, legacy): 2017 breaks legacy.sums, its cumulative flow and its text.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import sqlite3
from datetime import date

import pytest
import sqlite_utils
from click.testing import CliRunner

from parsers import Report
from parsers.checks import run_checks
from parsers.mapping import Fact
from parsers.sections import LEGACY_SECTION_KEYS, SECTION_KEYS
from parsers.templates import TEMPLATES
from scraper import archive, scorecard
from scraper.cli import cli
from scraper.registry import Site

TODAY = date(2025, 6, 1)
READ = "2025-05-01T08:00:00Z"  # every crawled column was last read in full then
BASE = "http://127.0.0.1:1"
SITES = [
    Site(id="linjiang-mzj", name="临江市民政局", start=[f"{BASE}/mzj/"], region="临江市", level="department"),
    Site(id="donghu", name="东湖区人民政府", start=[f"{BASE}/donghu/"], region="临江市东湖区", level="county"),
    Site(id="chengguan", name="南屏县城关镇人民政府", start=[f"{BASE}/cgz/"], region="南屏县城关镇", level="township"),
    Site(id="nanping-jyj", name="南屏县教育局", start=[f"{BASE}/jyj/"], region="南屏县", level="department"),
    Site(id="nanping-czj", name="南屏县财政局", start=[f"{BASE}/czj/"], region="南屏县", level="department"),
    Site(id="linjiang-slj", name="临江市水利局", start=[f"{BASE}/slj/"], region="临江市", level="department"),
]


def modern(agency: str, year: int, *, published: str | None, url: str, kind: str = "agency", carry=(0, 0),
           figures: dict | None = None, stated: int | None = None, notice: str = "", blank: bool = False,
           title: str | None = None, missing: tuple[str, ...] = ()) -> Report:
    """A 2021-template report with every cell found (zeros unless given) and its real checks.
    carry: (carried over, carried forward) by natural persons; stated: the applications
    its overview says it received; blank: every cell found empty; missing: sections and
    keys not found."""
    facts = {k: (None if blank else 0) for k in TEMPLATES["2021"].keys()}
    if not blank:
        over, forward = carry  # balanced: received `forward` new, granted all `over` carried over
        for col in ("natural_person", "total"):
            facts[f"applications.carried_over.{col}"] = over
            facts[f"applications.carried_forward.{col}"] = forward
            facts[f"applications.new_received.{col}"] = forward
            facts[f"applications.granted.{col}"] = over
            facts[f"applications.total.{col}"] = over
        facts.update(figures or {})
    found = {k: Fact(k, v, "" if v is None else str(v), 1, i, 1, "", "", "html") for i, (k, v) in enumerate(facts.items())
             if k not in missing}
    overview = "本年度持续推进政务公开工作。" + (f"全年收到政府信息公开申请{stated}件。" if stated is not None else "") + notice
    report = Report(source=url, title=title or f"{agency}{year}年政府信息公开工作年度报告", agency=agency, year=year,
                    version="2021", kind=kind, published=published, facts=facts, found=found,
                    sections={s: overview if s == "overview" else "无。" for s in SECTION_KEYS if s not in missing})
    report.checks = run_checks(report)
    return report


def legacy(year: int, facts: dict, *, warnings: list[str] | None = None) -> Report:
    found = {k: Fact(k, v, str(v), 0, i, 2, "", "本年度", "html", unit="件") for i, (k, v) in enumerate(facts.items())}
    report = Report(source=f"{BASE}/slj/{year}.html", title=f"临江市水利局{year}年政府信息公开工作年度报告",
                    agency="临江市水利局", year=year, version="legacy", kind="agency", published=f"{year + 1}-03-20",
                    facts=facts, found=found, sections={s: "无。" for s in LEGACY_SECTION_KEYS},
                    warnings=warnings or [])
    report.checks = run_checks(report)
    return report


class Builder:
    """Writes what a crawl writes: captures (with bodies), frontier states, reports."""

    def __init__(self, db):
        self.db = db

    def capture(self, site: str, url: str, at: str, *, role: str = "report", status: int = 200,
                body: bytes | None = None) -> int:
        data = body if body is not None else (url + at).encode() if status == 200 else None
        record = {"site_id": site, "url": url, "role": role, "fetched_at": at, "status": status,
                  "content_type": "text/html", "sha256": hashlib.sha256(data).hexdigest() if data else None,
                  "size": len(data) if data else None}
        return archive.add_capture(self.db, record, data)

    def state(self, site: str, url: str, role: str, state: str, capture_id: int | None) -> None:
        self.db.execute("INSERT OR REPLACE INTO frontier (url, site_id, role, state, last_capture_id, updated_at) "
                        "VALUES (?,?,?,?,?,?)", [url, site, role, state, capture_id, READ])

    def column(self, site: str, *, state: str = "done") -> None:
        """The column's list page, read at READ (deferred: a firewall challenge answered)."""
        url = f"{BASE}/{site}/index.html"
        cid = self.capture(site, url, READ if state == "done" else "2025-05-01T07:00:00Z", role="list")
        self.state(site, url, "list", state, cid)

    def report(self, site: str, report: Report, at: str | None, *, state: str = "done") -> int:
        """Capture the report page at `at` (None: saved without a capture) and save it."""
        cid = None
        if at is not None:
            cid = self.capture(site, report.source, at, body=f"{report.source} {at} {report.facts}".encode())
            self.state(site, report.source, "report", state, cid)
        return archive.save_report(self.db, report, site_id=site, capture_id=cid,
                                   sha256=None if cid is None else self.db.execute(
                                       "SELECT sha256 FROM captures WHERE id = ?", [cid]).fetchone()[0])

    def gone(self, site: str, url: str, at: str) -> None:
        """The page answers 404 now: the crawl's `gone` state."""
        cid = self.capture(site, url, at, status=404)
        self.state(site, url, "report", "gone", cid)


def build(db) -> None:
    archive.upsert_sites(db, SITES)
    b = Builder(db)
    mzj = f"{BASE}/mzj"
    b.column("linjiang-mzj")
    b.report("linjiang-mzj", modern("临江市民政局", 2020, published="2021-01-20", url=f"{mzj}/2020.html",
                                    carry=(0, 2), stated=2), "2021-01-25T00:00:00Z")
    url = f"{mzj}/2022.html"
    b.report("linjiang-mzj", modern("临江市民政局", 2022, published="2023-01-20", url=url, carry=(1, 1),
                                    figures={"active.rules.made": 1}), "2023-01-25T00:00:00Z")
    b.report("linjiang-mzj", modern("临江市民政局", 2022, published="2023-01-20", url=url, carry=(1, 4),
                                    figures={"active.rules.made": 2}), "2023-03-01T00:00:00Z")
    url = f"{mzj}/2023.html"
    b.report("linjiang-mzj", modern("临江市民政局", 2023, published="2024-01-22", url=url, carry=(4, 0), stated=3),
             "2024-01-25T00:00:00Z")
    b.report("linjiang-mzj", modern("临江市民政局", 2023, published="2024-01-22", url=url, carry=(4, 0), stated=3,
                                    figures={"active.licensing.decisions": 1},
                                    notice="更正说明：第二部分行政许可处理决定数量更正为1件。"), "2024-02-10T00:00:00Z")

    dh = f"{BASE}/donghu"
    b.column("donghu")
    b.report("donghu", modern("东湖区人民政府", 2020, published="2021-03-25", url=f"{dh}/2020.html", kind="government",
                              carry=(0, 3)), "2021-03-26T00:00:00Z")
    b.gone("donghu", f"{dh}/2020.html", "2025-04-01T00:00:00Z")
    b.report("donghu", modern("东湖区人民政府", 2021, published="2022-03-30", url=f"{dh}/2021.html", kind="government",
                              carry=(1, 0)), "2022-04-01T00:00:00Z")
    b.report("donghu", modern("东湖区人民政府", 2022, published="2023-03-15", url=f"{dh}/2022.html", kind="government"),
             "2023-03-16T00:00:00Z")
    b.report("donghu", modern("东湖区人民政府", 2022, published="2023-03-15", url=f"{dh}/2022-copy.html",
                              kind="government", figures={"active.licensing.decisions": 7}), "2023-03-17T00:00:00Z")

    cg = f"{BASE}/cgz"
    b.column("chengguan")
    b.report("chengguan", modern("南屏县城关镇人民政府", 2022, published="2023-03-15", url=f"{cg}/2022.html",
                                 kind="government"), "2023-03-16T00:00:00Z")
    b.report("chengguan", modern("南屏县城关镇人民政府", 2023, published=None, url=f"{cg}/2023.html",
                                 kind="government", blank=True), "2024-01-20T00:00:00Z")

    jy = f"{BASE}/jyj"
    b.column("nanping-jyj", state="deferred")
    b.report("nanping-jyj", modern("南屏县教育局", 2020, published="2021-01-15", url=f"{jy}/2020.html",
                                   missing=("problems", "other", "appeals.review.upheld")),
             "2021-01-16T00:00:00Z")
    cid = b.capture("nanping-jyj", f"{jy}/2022.html", "2023-01-20T00:00:00Z", body=b"<img src=table.png>")
    b.state("nanping-jyj", f"{jy}/2022.html", "report", "done", cid)
    archive.record_document(db, cid, f"{jy}/2022.html", "needs_ocr", None, "南屏县教育局2022年政府信息公开工作年度报告")

    unchecked = modern("南屏县财政局", 2020, published="2021-01-10", url=f"{BASE}/czj/2020.html")
    unchecked.checks = []  # an archive from before the checks: nothing recorded
    b.report("nanping-czj", unchecked, None)
    formless = modern("南屏县财政局", 2022, published="2023-01-10", url=f"{BASE}/czj/2022.html")
    b.report("nanping-czj", formless, None)
    db.execute("UPDATE reports SET form = NULL WHERE source_url = ?", [formless.source])

    b.report("linjiang-slj", legacy(2016, {"legacy.requests_received.cumulative": 40, "legacy.staff.year": 3,
                                           "legacy.staff_full_time.year": 1, "legacy.staff_part_time.year": 2}), None)
    b.report("linjiang-slj", legacy(2017, {
        "legacy.requests_received.year": 12, "legacy.requests_received.cumulative": 53,  # 40 + 12 = 52
        "legacy.staff.year": 5, "legacy.staff_full_time.year": 2, "legacy.staff_part_time.year": 2},
        warnings=["legacy.requests_received.year: the text says 13, the table 12 (table kept)"]), None)
    db.conn.commit()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    path = tmp_path_factory.mktemp("scorecard") / "archive.db"
    db = archive.open_archive(path)
    build(db)
    stats = scorecard.refresh(db, today=TODAY)
    rows = {(r["agency"], r["year"]): r for r in scorecard.read(db)}
    db.conn.close()
    return path, stats, rows


def point(rows, agency, year, name):
    p = rows[(agency, year)]["points"][name]
    return p["result"], p["reason"]


# (agency, year, point, result, words the reason must hold)
CASES = [
    ("临江市民政局", 2020, "published", "pass", [f"{BASE}/mzj/2020.html", "2021-01-25"]),
    ("临江市民政局", 2021, "published", "fail", ["no report for 2021", "read in full on 2025-05-01",
                                                "2022-01-31", "2020 and 2022"]),
    ("南屏县教育局", 2021, "published", "unknown", ["blocked", "1 pages deferred"]),
    ("南屏县财政局", 2021, "published", "unknown", ["never read"]),
    ("南屏县教育局", 2022, "published", "pass", ["images only", f"{BASE}/jyj/2022.html"]),

    ("临江市民政局", 2020, "on_time", "pass", ["published 2021-01-20", "deadline 2021-01-31"]),
    ("东湖区人民政府", 2021, "on_time", "pass", ["published 2022-03-30", "deadline 2022-03-31"]),
    ("南屏县城关镇人民政府", 2022, "on_time", "fail", ["published 2023-03-15", "43 days after the deadline 2023-01-31"]),
    ("临江市水利局", 2016, "on_time", "pass", ["published 2017-03-20", "deadline 2017-03-31"]),
    ("南屏县城关镇人民政府", 2023, "on_time", "unknown", ["no publication date"]),
    ("临江市民政局", 2021, "on_time", "fail", ["no report for 2021 by the deadline 2022-01-31"]),

    ("临江市民政局", 2020, "complete", "pass", ["six sections, every cell found"]),
    ("临江市水利局", 2016, "complete", "pass", ["seven sections"]),
    ("南屏县教育局", 2020, "complete", "fail", ["sections missing: problems, other",
                                              "1 cells not found: appeals.review.upheld"]),
    ("南屏县财政局", 2020, "complete", "unknown", ["not checked"]),
    ("临江市民政局", 2021, "complete", "unknown", ["no report for 2021"]),

    ("临江市民政局", 2020, "consistent", "pass", ["applications.balance", "appeals.group_total"]),
    ("临江市水利局", 2017, "consistent", "fail", ["legacy.sums", "staff.year: 2+2 != 5"]),
    ("南屏县城关镇人民政府", 2023, "consistent", "unknown", ["no identity could be checked"]),

    ("临江市民政局", 2023, "continuous", "pass", ["applications.carry_link", "carried over 4 in 2023, carried forward 4"]),
    ("东湖区人民政府", 2021, "continuous", "fail", ["carried over 1 in 2021, carried forward 3 in 2020"]),
    ("临江市水利局", 2017, "continuous", "fail", ["legacy.cumulative_flow", "cumulative 53 vs 40+12"]),
    ("临江市民政局", 2022, "continuous", "unknown", ["no report for 2021"]),
    ("南屏县城关镇人民政府", 2023, "continuous", "unknown", ["empty"]),

    ("临江市民政局", 2020, "honest", "pass", ["agree", "1 checked"]),
    ("临江市民政局", 2023, "honest", "fail", ["text says 3", "table says 0"]),
    ("临江市水利局", 2017, "honest", "fail", ["the text says 13, the table 12"]),
    ("东湖区人民政府", 2021, "honest", "unknown", ["no number in the prose"]),

    ("临江市民政局", 2020, "machine_readable", "pass", ["text (html)"]),
    ("南屏县教育局", 2022, "machine_readable", "fail", ["images", "needs OCR", f"{BASE}/jyj/2022.html"]),
    ("南屏县财政局", 2022, "machine_readable", "unknown", ["not recorded"]),

    ("临江市民政局", 2022, "stable", "fail", ["without a notice", "active.rules.made: 1 → 2", "2023-03-01"]),
    ("临江市民政局", 2023, "stable", "pass", ["notice of correction", "active.licensing.decisions: 0 → 1", "更正说明"]),
    ("临江市民政局", 2020, "stable", "pass", ["one version, seen once, on 2021-01-25"]),
    ("南屏县教育局", 2022, "stable", "unknown", ["images"]),

    ("临江市民政局", 2020, "single", "pass", ["one document"]),
    ("东湖区人民政府", 2022, "single", "fail", [f"{BASE}/donghu/2022.html", f"{BASE}/donghu/2022-copy.html",
                                              "active.licensing.decisions: 0 → 7"]),
    ("临江市民政局", 2021, "single", "unknown", ["no report for 2021"]),

    ("临江市民政局", 2023, "kept", "pass", ["3 archived reports for 2020-2023", "online"]),
    ("东湖区人民政府", 2022, "kept", "fail", [f"{BASE}/donghu/2020.html", "404/410 since 2025-04-01"]),
    ("南屏县财政局", 2022, "kept", "unknown", ["no captured report page"]),
]


@pytest.mark.parametrize("agency, year, name, result, words", CASES,
                         ids=[f"{c[2]}-{c[3]}-{c[0]}-{c[1]}" for c in CASES])
def test_each_point_with_its_reason(graded, agency, year, name, result, words):
    _, _, rows = graded
    got, reason = point(rows, agency, year, name)
    assert got == result, reason
    for w in words:
        assert w in reason, (w, reason)


def test_every_point_is_seen_in_each_of_its_three_results(graded):
    _, _, rows = graded
    seen = {(p, g["result"]) for r in rows.values() for p, g in r["points"].items()}
    for p in scorecard.POINTS:
        assert {(p, "pass"), (p, "fail"), (p, "unknown")} <= seen, p
    assert all(g["reason"] for r in rows.values() for g in r["points"].values())


def test_agency_years_include_the_gaps_and_nothing_not_yet_due(graded):
    _, stats, rows = graded
    years = {a: sorted(y for b, y in rows if b == a) for a, _ in rows}
    assert years["临江市民政局"] == [2019, 2020, 2021, 2022, 2023, 2024]  # 2024: due 2025-01-31, before TODAY
    assert years["南屏县教育局"] == [2019, 2020, 2021, 2022, 2023]  # 2022 from its image-only document
    assert years["临江市水利局"] == [2015, 2016, 2017, 2018]
    assert 2025 not in {y for _, y in rows}  # not due until 2026
    assert stats["graded"] == len(rows)


def test_the_graded_report_is_the_newest_current_version(graded):
    path, _, rows = graded
    with sqlite3.connect(path) as conn:
        newest = conn.execute("SELECT id FROM reports WHERE source_url = ? AND current = 1",
                              [f"{BASE}/mzj/2022.html"]).fetchone()[0]
    assert rows[("临江市民政局", 2022)]["report_id"] == newest
    assert rows[("临江市民政局", 2021)]["report_id"] is None


def test_score_is_over_the_weight_known(graded):
    _, _, rows = graded
    rubric = scorecard.load_rubric()
    weights = {p.point: p.weight for p in rubric.points}
    assert sum(weights.values()) == 100 and weights["published"] == 20 and weights["kept"] == 2
    for (agency, year), r in rows.items():
        known = [p for p, g in r["points"].items() if g["result"] != "unknown"]
        passed = [p for p, g in r["points"].items() if g["result"] == "pass"]
        assert r["known_weight"] == sum(weights[p] for p in known)
        assert r["known_points"] == len(known)
        assert r["rubric"] == rubric.version
        if r["known_weight"] * 2 < 100:
            assert r["score"] is None, (agency, year)
        else:
            assert r["score"] == round(100 * sum(weights[p] for p in passed) / r["known_weight"], 1)
    # 2020 passes all ten points; 东湖区 2021 fails continuous (10) and kept (2: its 2020 page is
    # gone) of the 95 known (honest unknown)
    assert rows[("临江市民政局", 2020)]["score"] == 100.0
    assert rows[("东湖区人民政府", 2021)]["known_weight"] == 95
    assert rows[("东湖区人民政府", 2021)]["score"] == round(100 * 83 / 95, 1)
    # a year with no report: published and on_time fail, nothing else known: no score, never 0 or 100
    assert rows[("临江市民政局", 2021)]["score"] is None


def test_the_deadline_rule():
    assert scorecard.deadline(2022, "government", "county", "东湖区人民政府") == date(2023, 3, 31)
    assert scorecard.deadline(2022, "government", "township", "南屏县城关镇人民政府") == date(2023, 1, 31)
    assert scorecard.deadline(2022, "government", None, "南屏县城关镇人民政府") == date(2023, 1, 31)  # by its name
    assert scorecard.deadline(2022, "agency", "department", "临江市民政局") == date(2023, 1, 31)
    assert scorecard.deadline(2017, "agency", "department", "临江市民政局") == date(2018, 3, 31)


def test_a_column_read_before_the_deadline_tells_nothing(tmp_path):
    db = archive.open_archive(tmp_path / "archive.db")
    archive.upsert_sites(db, SITES[:1])
    b = Builder(db)
    b.column("linjiang-mzj")  # read 2025-05-01
    b.report("linjiang-mzj", modern("临江市民政局", 2024, published="2025-01-20", url=f"{BASE}/mzj/2024.html"),
             "2025-01-21T00:00:00Z")
    db.conn.commit()
    rows, _ = scorecard.compute(db, today=date(2027, 2, 1))
    by_year = {r["year"]: r for r in rows}
    assert by_year[2025]["published"] == "unknown"
    assert "last read on 2025-05-01, not after the deadline 2026-01-31" in by_year[2025]["published_reason"]
    rows, _ = scorecard.compute(db, today=date(2025, 6, 1))
    assert {r["year"] for r in rows} == {2023, 2024}  # 2025 not yet due


def test_refresh_writes_only_what_changed_and_drops_what_is_gone(graded, tmp_path):
    path, _, rows = graded
    copy = tmp_path / "archive.db"
    shutil.copy(path, copy)
    db = archive.open_archive(copy)
    assert scorecard.refresh(db, today=TODAY)["changed"] == 0
    # the 2021 report of 东湖区 reaches the archive late: only 东湖区's rows are recomputed
    b = Builder(db)
    rid = b.report("donghu", modern("东湖区人民政府", 2019, published="2020-03-20", url=f"{BASE}/donghu/2019.html",
                                    kind="government"), "2020-03-21T00:00:00Z")
    db.conn.commit()
    before = dict(db.execute("SELECT agency || year, computed_at FROM scorecard WHERE agency != '东湖区人民政府'"))
    stats = scorecard.refresh(db, sites=["donghu"], today=TODAY)
    assert stats["changed"] >= 1
    row = db.execute("SELECT report_id, published FROM scorecard WHERE agency = '东湖区人民政府' AND year = 2019").fetchone()
    assert row == (rid, "pass")
    assert dict(db.execute("SELECT agency || year, computed_at FROM scorecard WHERE agency != '东湖区人民政府'")) == before
    # the township's captures re-parsed as no report: its graded reports are unlinked at once,
    # and its rows go at the next recompute
    with db.conn:
        for (cid,) in db.execute("SELECT capture_id FROM reports WHERE agency = '南屏县城关镇人民政府'").fetchall():
            archive.delete_reports_of_capture(db, cid)
    assert db.execute("SELECT count(report_id), count(*) FROM scorecard WHERE agency = '南屏县城关镇人民政府'"
                      ).fetchone() == (0, 4)
    scorecard.refresh(db, today=TODAY)
    assert db.execute("SELECT count(*) FROM scorecard WHERE agency = '南屏县城关镇人民政府'").fetchone() == (0,)
    counts = dict(db.execute("SELECT name, n FROM row_counts WHERE name LIKE 'scorecard%'"))
    assert counts == {"scorecard": db.execute("SELECT count(*) FROM scorecard").fetchone()[0], "scorecard_rubric": 10}


def test_a_crawl_of_many_sites_is_graded_in_chunks_alike(graded, tmp_path, monkeypatch):
    """The sites of a big crawl are graded SITES_AT_ONCE at a time: the rows are the ones
    grading them all together gives."""
    path, _, rows = graded
    copy = tmp_path / "archive.db"
    shutil.copy(path, copy)
    db = archive.open_archive(copy)
    sites = [r[0] for r in db.execute("SELECT id FROM sites ORDER BY id")]
    assert len(sites) >= 3
    with db.conn:
        db.execute("DELETE FROM scorecard")
    chunks = []
    real_compute = scorecard.compute

    def compute(db, *, sites=None, **kw):
        chunks.append(list(sites))
        return real_compute(db, sites=sites, **kw)

    monkeypatch.setattr(scorecard, "SITES_AT_ONCE", 2)
    monkeypatch.setattr(scorecard, "compute", compute)
    stats = scorecard.refresh(db, sites=sites, today=TODAY)
    assert [len(c) for c in chunks] == [2] * (len(sites) // 2) + [1] * (len(sites) % 2)
    assert sum(chunks, []) == sites
    assert stats["graded"] >= stats["changed"] == len(rows)
    again = {(r["agency"], r["year"]): r for r in scorecard.read(db)}
    assert {k: {c: v for c, v in r.items() if c != "computed_at"} for k, r in again.items()} == \
        {k: {c: v for c, v in r.items() if c != "computed_at"} for k, r in rows.items()}


def test_a_full_recompute_grades_the_agencies_in_chunks_alike(graded, tmp_path, monkeypatch):
    """`xxgk check` grades AGENCIES_AT_ONCE agencies at a time (every year of an agency in
    one chunk): the rows are the ones grading them all together gives, and rows of an
    agency that no longer has a report go (its reports re-parsed as no report)."""
    path, _, rows = graded
    copy = tmp_path / "archive.db"
    shutil.copy(path, copy)
    db = archive.open_archive(copy)
    with db.conn:
        db.execute("DELETE FROM scorecard")
    chunks = []
    real_compute = scorecard.compute

    def compute(db, *, keys=None, **kw):
        chunks.append(sorted(keys, key=str))
        return real_compute(db, keys=keys, **kw)

    monkeypatch.setattr(scorecard, "AGENCIES_AT_ONCE", 2)
    monkeypatch.setattr(scorecard, "compute", compute)
    stats = scorecard.refresh(db, today=TODAY)
    agencies = set(db.execute("SELECT DISTINCT agency_id, CASE WHEN agency_id IS NULL THEN agency ELSE '' END "
                              "FROM scorecard"))
    assert len(agencies) >= 5 and [len(c) for c in chunks] == [2] * (len(agencies) // 2) + [1] * (len(agencies) % 2)
    assert {k for c in chunks for k in c} == agencies
    assert stats == {"graded": len(rows), "changed": len(rows), "removed": 0}
    again = {(r["agency"], r["year"]): r for r in scorecard.read(db)}
    assert {k: {c: v for c, v in r.items() if c != "computed_at"} for k, r in again.items()} == \
        {k: {c: v for c, v in r.items() if c != "computed_at"} for k, r in rows.items()}
    with db.conn:
        for (cid,) in db.execute("SELECT capture_id FROM reports WHERE agency = '南屏县城关镇人民政府'").fetchall():
            archive.delete_reports_of_capture(db, cid)
    gone = db.execute("SELECT count(*) FROM scorecard WHERE agency = '南屏县城关镇人民政府'").fetchone()[0]
    assert gone > 0
    assert scorecard.refresh(db, today=TODAY)["removed"] == gone
    assert db.execute("SELECT count(*) FROM scorecard WHERE agency = '南屏县城关镇人民政府'").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM scorecard").fetchone()[0] == len(rows) - gone


def test_xxgk_scorecard_json_csv_table_and_filters(graded):
    path, _, rows = graded
    run = CliRunner().invoke
    result = run(cli, ["scorecard", "--db", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert {(r["agency"], r["year"]) for r in out} >= set(rows)  # today's date may add rows not yet due on TODAY
    first = next(r for r in out if (r["agency"], r["year"]) == ("临江市民政局", 2022))
    assert set(first) == {"report_id", "agency", "region", "level", "year", "score", "known_weight", "known_points",
                          "rubric", "points"}
    assert first["points"]["stable"]["result"] == "fail" and first["region"] == "临江市"

    result = run(cli, ["scorecard", "--db", str(path), "--format", "json", "--year", "2022", "--region", "南屏县",
                       "--level", "township"])
    assert [(r["agency"], r["year"]) for r in json.loads(result.output)] == [("南屏县城关镇人民政府", 2022)]

    result = run(cli, ["scorecard", "--db", str(path), "--format", "csv", "--year", "2023"])
    table = list(csv.DictReader(io.StringIO(result.output)))
    dh = next(r for r in table if r["agency"] == "东湖区人民政府")
    assert dh["published"] == "fail" and dh["report_id"] == "" and "2023" in dh["published_reason"]
    assert {r["year"] for r in table} == {"2023"}

    result = run(cli, ["scorecard", "--db", str(path), "--year", "2022"])
    assert result.exit_code == 0
    assert "南屏县城关镇人民政府" in result.output and "on_time: published 2023-03-15" in result.output


def test_xxgk_scorecard_refuses_a_bad_archive_in_one_line(tmp_path):
    for bad in (tmp_path / "missing.db", tmp_path):
        result = CliRunner().invoke(cli, ["scorecard", "--db", str(bad)])
        assert result.exit_code == 2
        assert result.output.startswith(f"error: {bad}: ") and result.output.count("\n") == 1, result.output
    not_sqlite = tmp_path / "notes.db"
    not_sqlite.write_text("临江市民政局年报笔记", encoding="utf-8")
    result = CliRunner().invoke(cli, ["scorecard", "--db", str(not_sqlite)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert not_sqlite.read_text(encoding="utf-8") == "临江市民政局年报笔记"


def test_check_recomputes_every_row_and_a_new_rubric_is_recomputed_on_reading(graded, tmp_path):
    path, _, _ = graded
    copy = tmp_path / "archive.db"
    shutil.copy(path, copy)
    with sqlite3.connect(copy) as conn:
        conn.execute("UPDATE scorecard SET published = 'pass', score = 1 WHERE agency = '临江市民政局' AND year = 2021")
    result = CliRunner().invoke(cli, ["check", "--db", str(copy)])
    assert result.exit_code == 0 and "scorecard: " in result.output
    with sqlite3.connect(copy) as conn:
        assert conn.execute("SELECT published, score FROM scorecard WHERE agency = '临江市民政局' AND year = 2021"
                            ).fetchone() == ("fail", None)
        conn.execute("UPDATE scorecard SET rubric = 'older', score = 1")
    result = CliRunner().invoke(cli, ["scorecard", "--db", str(copy), "--format", "json"])
    assert {r["rubric"] for r in json.loads(result.output)} == {scorecard.load_rubric().version}
    assert all(r["score"] != 1 for r in json.loads(result.output))


# --- the crawled demo archive: kept current by the crawl, served by Datasette -----------

def test_the_crawl_grades_every_report_it_wrote(demo_archive, expected_sites):
    """`xxgk demo` crawls the fixture sites: the crawl itself wrote the scorecard."""
    conn = sqlite3.connect(f"file:{demo_archive}?mode=ro", uri=True)
    reports = conn.execute("SELECT r.id, a.name, r.year FROM reports r JOIN agencies a ON a.id = r.agency_id "
                           "WHERE r.current = 1").fetchall()
    rows = {(r["agency"], r["year"]): r for r in scorecard.read(sqlite_utils.Database(conn))}
    failed_identity = {rid for (rid,) in conn.execute(
        "SELECT DISTINCT report_id FROM checks WHERE ok = 0 AND rule IN (SELECT value FROM json_each(?))",
        [json.dumps(scorecard.IDENTITY_RULES)])}
    conn.close()
    assert reports and len(reports) == len(expected_sites["reports"])
    for rid, agency, year in reports:
        row = rows[(agency, year)]
        assert row["report_id"] == rid
        assert all(p["result"] in ("pass", "fail", "unknown") and p["reason"] for p in row["points"].values())
        assert row["points"]["published"]["result"] == "pass"
        assert row["points"]["machine_readable"]["result"] == "pass"
        assert row["points"]["kept"]["result"] == "pass"
        assert (row["points"]["consistent"]["result"] == "fail") == (rid in failed_identity), (agency, year)
    for e in expected_sites["reports"].values():
        on_time = rows[(e["agency"], e["year"])]["points"]["on_time"]
        assert on_time["result"] == ("pass" if e["on_time"] else "fail"), on_time
        assert e["published"] in on_time["reason"]
    assert failed_identity  # the fixture sites hold broken identities


def test_reparse_recomputes_the_scorecard(demo_archive, tmp_path):
    db = tmp_path / "archive.db"
    shutil.copy(demo_archive, db)
    with sqlite3.connect(db) as conn:
        want = conn.execute("SELECT agency, year, report_id IS NOT NULL, score FROM scorecard ORDER BY agency, year"
                            ).fetchall()
        conn.execute("DELETE FROM scorecard")
    result = CliRunner().invoke(cli, ["reparse", "--db", str(db)])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(db) as conn:
        got = conn.execute("SELECT agency, year, report_id IS NOT NULL, score FROM scorecard ORDER BY agency, year"
                           ).fetchall()
    assert want and got == want


def test_served_by_xxgk_serve(demo_archive, tmp_path):
    from datasette_server import datasette
    from test_datasette import get, query

    db = tmp_path / "archive.db"
    shutil.copy(demo_archive, db)
    with sqlite3.connect(db) as conn:
        want = {(a, y): s for a, y, s in conn.execute("SELECT agency, year, score FROM scorecard")}
        points = [p for (p,) in conn.execute("SELECT point FROM scorecard_rubric ORDER BY position")]
    with datasette(db) as base:
        page = get(base, "/archive/scorecard.json", _shape="objects", _size="max")
        assert {(r["agency"], r["year"]): r["score"] for r in page["rows"]} == want
        assert page["filtered_table_rows_count"] == len(want)
        assert {"year", "region", "level", *points} <= set(page["facet_results"])
        assert points == list(scorecard.POINTS)
        rubric = query(base, "scorecard_rubric")
        assert sum(r["weight"] for r in rubric) == 100 and all(r["name_zh"] and r["pass_en"] for r in rubric)

        ranking = query(base, "scorecard_ranking", year=2022, region="", level="")
        scored = sorted((s for (a, y), s in want.items() if y == 2022 and s is not None), reverse=True)
        assert [r["score"] for r in ranking if r["score"] is not None] == scored
        assert ranking[0]["rank"] == 1
        county = query(base, "scorecard_ranking", year=2022, region="青山市白水", level="county")
        assert [r["agency"] for r in county] == ["白水县人民政府"]

        shares = {r["year"]: r for r in query(base, "scorecard_by_year", region="")}
        with sqlite3.connect(db) as conn:
            passed, graded = conn.execute("SELECT sum(on_time = 'pass'), sum(on_time != 'unknown') FROM scorecard "
                                          "WHERE year = 2022").fetchone()
        assert shares[2022]["on_time"] == round(100 * passed / graded, 1)
        meta = get(base, "/-/metadata.json")
        chart = meta["plugins"]["xxgk-charts"]["scorecard_by_year"]
        assert chart["transform"][0]["fold"] == points


def test_a_report_carried_by_many_sites_is_named_in_one_short_line():
    """`single` names the first COPIES_NAMED copies and counts the rest (a report mirrored
    on 5,000 sites once made a 200 KB cell and held the end of a crawl for seconds)."""
    from types import SimpleNamespace

    copies = [SimpleNamespace(id=i, current=1, source_url=f"http://site{i:02d}.example/nb.html", sha256=None)
              for i in range(12)]
    card = SimpleNamespace(report=copies[0], reports=copies)
    same = {"applications.new_received.total": 3}
    ev = SimpleNamespace(state=lambda r: None, facts=lambda report_id: same, fingerprints=lambda ids: {})
    grade = scorecard.single(card, ev)
    assert grade.result == "pass"
    assert grade.reason.startswith("12 copies with the same figures: http://site00.example/nb.html, ")
    assert grade.reason.count("http://") == scorecard.COPIES_NAMED == 10
    assert grade.reason.endswith("http://site09.example/nb.html and 2 more")


def test_copies_of_the_same_bytes_are_one_publication_whatever_was_parsed_from_them():
    """Two sites serving the same bytes publish the same figures: `single` passes without
    reading any figure (a parser version that read one copy differently is not the
    agency's inconsistency)."""
    from types import SimpleNamespace

    def copy(i, sha):
        return SimpleNamespace(id=i, current=1, source_url=f"http://site{i}.example/nb.html", sha256=sha)

    def unread(*_):
        raise AssertionError("figures read for copies of the same bytes")

    card = SimpleNamespace(report=copy(0, "ab" * 32), reports=[copy(0, "ab" * 32), copy(1, "ab" * 32)])
    ev = SimpleNamespace(state=lambda r: None, facts=unread, fingerprints=unread)
    assert scorecard.single(card, ev).result == "pass"
    card.reports.append(copy(2, "cd" * 32))  # other bytes: their figures are compared
    ev = SimpleNamespace(state=lambda r: None, fingerprints=lambda ids: {i: f"print {i}" for i in ids},
                         facts=lambda i: {"applications.new_received.total": 4 if i == 2 else 3})
    grade = scorecard.single(card, ev)
    assert grade.result == "fail" and "applications.new_received.total: 4 → 3" in grade.reason


def test_fingerprints_are_equal_for_equal_figures_and_only_then(tmp_path):
    """Reposts in other pages (other bytes) are compared by a fingerprint made in SQLite;
    12 and 12.0 fingerprint apart yet are the same figure, so `single` still passes."""
    from types import SimpleNamespace

    db = archive.open_archive(tmp_path / "a.db")

    def save(url, facts):
        return archive.save_report(db, Report(source=url, agency="东湖区人民政府", year=2022, version="2021",
                                              facts=facts), site_id=None, capture_id=None, sha256=None)

    a = save("http://a.example/1.html", {"applications.new_received.total": 12, "applications.granted.total": 3})
    b = save("http://b.example/1.html", {"applications.granted.total": 3, "applications.new_received.total": 12})
    c = save("http://c.example/1.html", {"applications.new_received.total": 12.0, "applications.granted.total": 3})
    d = save("http://d.example/1.html", {"applications.new_received.total": 13, "applications.granted.total": 3})
    ev = scorecard.Evidence(db, date(2023, 3, 1), {}, {}, {}, {}, {})
    prints = ev.fingerprints([a, b, c, d])
    assert prints[a] == prints[b] and prints[a] != prints[d]
    rows = {r.id: r for r in scorecard._reports(db, None)}
    card = SimpleNamespace(report=rows[a], reports=[rows[a], rows[b], rows[c]])
    assert scorecard.single(card, ev).result == "pass"
    card.reports.append(rows[d])
    grade = scorecard.single(card, ev)
    assert grade.result == "fail" and grade.reason.count("differ") == 1 and "http://d.example/1.html" in grade.reason
