"""A live archive (issue 9): the real `xxgk serve` answers every table, view and canned
query while the real `xxgk crawl` (new reports, a changed report) and then `xxgk reparse`
and `xxgk check` write to the same file, and afterwards serves exactly what the file
holds, without a restart.  Also: the row counters the served table pages read stay exact
through every kind of write."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import ROOT
from datasette_server import datasette
from live import Poller, served_count, served_paths
from webserver import FIXTURE_WEB, fixture_registry, fixture_web

from scraper import archive, schema
from test_crawl_web import DELAY, EXPECTED


def _xxgk(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scraper", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def _file_counts(db: Path, names: list[str]) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {n: conn.execute(f"SELECT count(*) FROM [{n}]").fetchone()[0] for n in names}
    finally:
        conn.close()


def counted_tables(conn: sqlite3.Connection) -> set[str]:
    """The tables with row counters: step 9's (`COUNTED_TABLES`, frozen with it) and every
    table a later step created with `schema._counter`, told by their insert triggers, and
    those step 15 counts by statement."""
    return {name.removeprefix("row_counts_").removesuffix("_ai") for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'row_counts_%_ai'")} \
        | set(schema.COUNTED_BY_STATEMENT)


def assert_row_counts_exact(db: Path) -> None:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        kept = dict(conn.execute("SELECT name, n FROM row_counts"))
        assert set(kept) == counted_tables(conn) >= set(schema.COUNTED_TABLES) | {"scorecard", "scorecard_rubric"}
        actual = {t: conn.execute(f"SELECT count(*) FROM [{t}]").fetchone()[0] for t in kept}
    finally:
        conn.close()
    assert kept == actual


def test_serving_during_crawl_reparse_and_check(tmp_path):
    web = tmp_path / "web"
    shutil.copytree(FIXTURE_WEB, web)
    db = tmp_path / "archive.db"
    with fixture_web(web) as servers:
        registry = tmp_path / "sites.toml"
        registry.write_text(fixture_registry(servers, DELAY, EXPECTED), encoding="utf-8")
        first = _xxgk("crawl", "--db", str(db), "--registry", str(registry), "--site", "songlin",
                      "--site", "yunling", "--retries", "1", "--backoff", "0.05")
        assert first.returncode == 0, first.stderr
        reports_before = _file_counts(db, ["reports"])["reports"]
        with datasette(db) as base:
            paths = served_paths(db)
            assert len(paths) > 35  # every table and view, every canned query
            assert served_count(base, "reports") == reports_before
            with Poller(base, paths, rate=10) as poller:
                # a report changed in place: a new version of it
                page = web / "yunling" / "art/2024/1/17/art_2701_8807.html"
                stat = page.stat()
                page.write_bytes(page.read_bytes().replace("认真贯彻落实".encode(), "全面贯彻落实".encode()))
                os.utime(page, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
                second = _xxgk("crawl", "--db", str(db), "--registry", str(registry), "--retries", "1",
                               "--backoff", "0.05", "--json-summary")
                assert second.returncode == 0, second.stderr
                assert '"changed": 1' in second.stdout
                served_after_crawl = served_count(base, "reports")
                reparse = _xxgk("reparse", "--db", str(db))
                assert reparse.returncode == 0, reparse.stderr
                check = _xxgk("check", "--db", str(db))
                assert check.returncode == 0, check.stderr
            during = poller.answers  # asked while crawl, reparse and check wrote (at 10 a second)
            poller.cycle()  # every path once more, after the last write

            assert poller.failures == [], poller.failures[:5]
            assert during >= 10 and poller.answers == during + len(paths)
            # new reports and the new version were served without a restart
            names = [p.split("/")[2].split(".json")[0] for p in paths if p.endswith(".json?_size=5")]
            file_counts = _file_counts(db, names)
            assert served_after_crawl == file_counts["reports"] > reports_before
            assert max(poller.report_counts) == file_counts["reports"]
            # what is served now is what the file holds: every table and view
            for name in names:
                if not name.startswith(("sections_fts", "sections_bigrams")):  # FTS: not counted rows
                    assert served_count(base, name) == file_counts[name], name
    assert_row_counts_exact(db)


def test_row_counts_stay_exact_through_every_write(tmp_path, demo_archive):
    """Crawl (inserts, INSERT OR REPLACE of documents and figures), reparse (deletes and
    re-inserts), a report saved by hand: the counters equal count(*) throughout."""
    db = tmp_path / "archive.db"
    shutil.copy(demo_archive, db)
    assert_row_counts_exact(db)
    with sqlite3.connect(db) as conn:  # so that the reparse rewrites facts, checks and sections
        conn.create_function("xxgk_bigrams", 1, schema.bigrams)
        conn.execute("UPDATE fact_values SET value = value + 1 WHERE report_id IN (SELECT id FROM reports LIMIT 2)")
        conn.execute("UPDATE checks SET detail = 'x' WHERE report_id IN (SELECT id FROM reports LIMIT 2)")
        conn.execute("DELETE FROM sections WHERE rowid IN (SELECT min(rowid) FROM sections GROUP BY report_id)")
        conn.execute("UPDATE row_counts SET n = (SELECT count(*) FROM sections) WHERE name = 'sections'")
    assert_row_counts_exact(db)
    assert _xxgk("reparse", "--db", str(db)).returncode == 0
    assert_row_counts_exact(db)
    conn = archive.open_archive(db)
    capture = conn.execute("SELECT capture_id FROM reports LIMIT 1").fetchone()[0]
    with conn.conn:
        archive.delete_reports_of_capture(conn, capture)
    conn.conn.close()
    assert_row_counts_exact(db)


def test_serving_upgrades_an_archive_from_before_the_counters(tmp_path):
    """`xxgk serve` brings an older archive (made before row_counts) to the current schema
    first, so its counters start exact; `--immutable` serves the file as it is."""
    db = tmp_path / "archive.db"
    before = schema.MIGRATIONS.index(schema.ROW_COUNTS)
    conn = sqlite3.connect(db)
    conn.create_function("xxgk_bigrams", 1, schema.bigrams)
    conn.execute("PRAGMA journal_mode=WAL")
    for script in schema.MIGRATIONS[:before]:
        for statement in schema._statements(script):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {before}")
    conn.executemany("INSERT INTO reports (agency, year, title) VALUES (?, ?, ?)",
                     [(f"临江市{d}", 2017 + i, f"临江市{d}{2017 + i}年政府信息公开工作年度报告")
                      for i, d in enumerate(("民政局", "财政局", "水利局"))])
    conn.commit()
    conn.close()
    with datasette(db, "--immutable") as base:
        assert served_count(base, "reports") == 3
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == before
    with datasette(db) as base:
        assert served_count(base, "reports") == 3
        assert served_count(base, "report_applications") == 3  # a view counted as its table
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == len(schema.MIGRATIONS)
    assert_row_counts_exact(db)
