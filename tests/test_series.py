"""Legacy reports in the archive (issue 10): units and prose provenance kept per fact, the
headline figures of a 2008-2018 report joined to the modern ones (`report_summary`,
`agency_years`), the `series` view across the three eras, and `legacy.cumulative_flow`
across years.  Reports are built here by hand (the parsers have their own tests), so each
expected number is the one written below."""

from __future__ import annotations

import sqlite3

import pytest

from parsers import Report
from parsers.mapping import Fact
from scraper import archive
from scraper.crosscheck import run_crosschecks
from scraper.registry import Site

SITE = Site(id="linjiang-slj", name="临江市水利局", start=["http://127.0.0.1:1/slj/"], region="临江市",
            level="department")


def _fact(key: str, value, raw: str, *, unit: str | None = None, source: str = "table", row: int = 3) -> Fact:
    table = -1 if source == "prose" else 0
    return Fact(key, value, raw, table, row, 2, raw, "本年度", "html", unit=unit, source=source)


def _legacy(year: int, facts: list[Fact]) -> Report:
    return Report(source=f"http://127.0.0.1:1/slj/{year}.html", title=f"临江市水利局{year}年政府信息公开工作年度报告",
                  agency="临江市水利局", year=year, version="legacy", kind="agency", published=f"{year + 1}-03-20",
                  facts={f.key: f.value for f in facts}, found={f.key: f for f in facts})


def _modern(year: int, version: str, facts: dict) -> Report:
    return Report(source=f"http://127.0.0.1:1/slj/{year}.html", title=f"临江市水利局{year}年政府信息公开工作年度报告",
                  agency="临江市水利局", year=year, version=version, kind="agency", published=f"{year + 1}-01-20",
                  facts=facts)


@pytest.fixture()
def db(tmp_path):
    conn = archive.open_archive(tmp_path / "archive.db")
    archive.upsert_sites(conn, [SITE])
    archive.save_report(conn, _legacy(2016, [
        _fact("legacy.requests_received.year", 10, "10", unit="件"),
        _fact("legacy.requests_received.cumulative", 40, "40", unit="件"),
        _fact("legacy.answers_granted.year", 7, "7", unit="件"),
        _fact("legacy.reviews.year", 1, "1", unit="件"),
        _fact("legacy.fees.year", 0.05, "0.05", unit="万元"),
    ]), site_id=SITE.id, capture_id=None, sha256=None)
    archive.save_report(conn, _legacy(2017, [
        _fact("legacy.requests_received.year", 12, "12", unit="件"),
        _fact("legacy.requests_received.cumulative", 53, "53", unit="件"),  # 40 + 12 = 52: a break
        _fact("legacy.answers_granted.year", 9, "9", unit="件"),
        _fact("legacy.suits.year", 2, "2017年，本局被提起行政诉讼2件", source="prose", row=41),
    ]), site_id=SITE.id, capture_id=None, sha256=None)
    archive.save_report(conn, _modern(2019, "2019", {
        "applications.new_received.total": 15, "applications.granted.total": 11,
        "applications.partly_granted.total": 2, "appeals.review.total": 0,
        "appeals.suit_direct.total": 1, "appeals.suit_after_review.total": 1}),
        site_id=SITE.id, capture_id=None, sha256=None)
    archive.save_report(conn, _modern(2021, "2021", {
        "applications.new_received.total": 21, "applications.granted.total": 16,
        "appeals.suit_direct.total": 3, "appeals.suit_after_review.total": None}),
        site_id=SITE.id, capture_id=None, sha256=None)
    conn.conn.close()
    return tmp_path / "archive.db"


def test_units_and_prose_provenance_are_kept(db):
    conn = sqlite3.connect(db)
    rows = {k: (v, raw, unit, source) for k, v, raw, unit, source in conn.execute(
        "SELECT f.key, f.value, f.raw, f.unit, f.source FROM facts f JOIN reports r ON r.id = f.report_id "
        "WHERE r.version = 'legacy' AND r.year = ?", [2016])}
    assert rows["legacy.fees.year"] == (0.05, "0.05", "万元", "table")
    assert rows["legacy.requests_received.year"] == (10, "10", "件", "table")
    prose = conn.execute("SELECT value, raw, source, grid_table, grid_row FROM facts WHERE key = 'legacy.suits.year'"
                         ).fetchall()
    assert prose == [(2, "2017年，本局被提起行政诉讼2件", "prose", -1, 41)]


def test_series_joins_the_three_eras(db):
    conn = sqlite3.connect(db)
    got = {(y, i): (v, era, key) for y, i, v, era, key in conn.execute(
        "SELECT year, indicator, value, era, source_key FROM series WHERE agency = '临江市水利局'")}
    assert got[(2016, "applications_received")] == (10, "legacy", "legacy.requests_received.year")
    assert got[(2017, "applications_received")] == (12, "legacy", "legacy.requests_received.year")
    assert got[(2019, "applications_received")] == (15, "2019", "applications.new_received.total")
    assert got[(2021, "applications_received")] == (21, "2021", "applications.new_received.total")
    assert got[(2016, "granted")] == (7, "legacy", "legacy.answers_granted.year")
    assert got[(2019, "partly_granted")] == (2, "2019", "applications.partly_granted.total")
    assert got[(2016, "reviews")] == (1, "legacy", "legacy.reviews.year")
    assert got[(2017, "lawsuits")] == (2, "legacy", "legacy.suits.year")
    assert got[(2019, "lawsuits")][0] == 2  # 未经复议直接起诉 1 + 复议后起诉 1
    assert (2021, "lawsuits") not in got  # one of the two parts has no number: no sum, no row
    assert (2016, "partly_granted") not in got  # never found: no row, never a 0
    assert (2019, "reviews") in got and got[(2019, "reviews")][0] == 0  # a written 0 stays


def test_agency_years_runs_from_the_legacy_years(db):
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT year, version, new_received, granted, lawsuits FROM report_summary "
                        "WHERE agency = '临江市水利局' ORDER BY year").fetchall()
    assert rows == [(2016, "legacy", 10, 7, None), (2017, "legacy", 12, 9, 2), (2019, "2019", 15, 11, 2),
                    (2021, "2021", 21, 16, None)]


def test_cumulative_flow_across_legacy_years(db):
    conn = archive.open_archive(db)
    found = run_crosschecks(conn)["legacy.cumulative_flow"]
    assert [(f["year"], f["ok"], f["detail"]) for f in found] == [
        (2017, False, "requests_received: cumulative 53 vs 40+12")]


def test_series_follows_new_versions_and_deletions(db):
    """A changed report (a new version at the same URL) replaces its series rows; a report
    deleted for a re-parse takes its rows with it; the view stays one row per stored value."""
    conn = archive.open_archive(db)
    archive.save_report(conn, _modern(2021, "2021", {"applications.new_received.total": 22,
                                                    "applications.granted.total": 16}),
                        site_id=SITE.id, capture_id=None, sha256=None)
    rows = conn.execute("SELECT year, value FROM series WHERE indicator = 'applications_received' ORDER BY year"
                        ).fetchall()
    assert rows == [(2016, 10), (2017, 12), (2019, 15), (2021, 22)]
    old = conn.execute("SELECT id FROM reports WHERE year = 2016").fetchone()[0]
    with conn.conn:
        for table in ("fact_values", "report_figures", "checks", "sections"):
            conn.execute(f"DELETE FROM {table} WHERE report_id = ?", [old])
        conn.execute("DELETE FROM reports WHERE id = ?", [old])
    assert 2016 not in {y for (y,) in conn.execute("SELECT year FROM series")}
    with conn.conn:  # current flags rewritten (as archive.mark_current does after a re-parse)
        conn.execute("UPDATE reports SET current = 0")
        assert conn.execute("SELECT count(*) FROM series").fetchone()[0] == 0
        conn.execute("UPDATE reports SET current = 1 WHERE id IN (SELECT max(id) FROM reports GROUP BY source_url)")
    n_view = conn.execute("SELECT count(*) FROM series").fetchone()[0]
    n_rows = conn.execute("SELECT count(*) FROM series_values").fetchone()[0]
    kept = conn.execute("SELECT n FROM row_counts WHERE name = 'series_values'").fetchone()[0]
    assert n_view == n_rows == kept == 10


def test_series_totals_sums_each_indicator_per_year_and_era(db):
    from scraper.serve import metadata

    sql = metadata()["databases"]["archive"]["queries"]["series_totals"]["sql"]
    rows = sqlite3.connect(db).execute(sql).fetchall()
    got = {(y, i, e): (total, n) for y, i, e, total, n in rows}
    assert got[(2016, "applications_received", "legacy")] == (10, 1)
    assert got[(2019, "lawsuits", "2019")] == (2, 1)
    assert got[(2021, "applications_received", "2021")] == (21, 1)
    assert (2016, "partly_granted", "legacy") not in got
    assert sum(n for _t, n in got.values()) == sqlite3.connect(db).execute("SELECT count(*) FROM series").fetchone()[0]
