"""Dead links from a real server on 127.0.0.1: a column whose list links pages that do not
exist (404, 410) ends `dead N` and exit 0, not `failed N`; later runs ask those links
again only on the backoff days (1, 7, 30, then every 30 after first found dead, the
crawler's clock moved instead of waiting) or when a changed list page links one anew;
real failures (5xx, a start page that is gone) still fail.  The server's request log
shows what was asked."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from click.testing import CliRunner

from conftest import FIXTURES
from scraper import archive
from scraper.cli import cli
from scraper.crawl import Summary, crawl, next_try
from scraper.fetch import Fetcher
from scraper.registry import load_registry
from webserver import respond, serve

DELAY = 0.02
REPORTS = FIXTURES / "sites" / "qingshan" / "mzj" / "zfxxgknb"
PAGES = {"r1.html": REPORTS / "202101" / "t20210120_1002.html",  # 青山市民政局 2020
         "r2.html": REPORTS / "202201" / "t20220125_1003.html",  # 2021
         "r3.html": REPORTS / "202302" / "t20230210_1004.html"}  # 2022
DEAD = [f"d{i}.html" for i in range(1, 7)]  # d1-d5 missing (404), d6 answers 410
T0 = datetime(2025, 1, 10, 18, 30, tzinfo=timezone.utc)


def _column(www: Path, links: list[str]) -> None:
    """The column's list page, one report-looking link per name."""
    items = "".join(f'<li><a href="{name}">青山市民政局{2000 + i}年政府信息公开工作年度报告</a></li>'
                    for i, name in enumerate(links))
    (www / "index.html").write_text(f"<html><body><ul>{items}</ul></body></html>", encoding="utf-8")


def _site(tmp_path: Path) -> Path:
    www = tmp_path / "www"
    www.mkdir()
    for name in ("r1.html", "r2.html"):
        (www / name).write_bytes(PAGES[name].read_bytes())
    _column(www, ["r1.html", "r2.html", *DEAD])
    return www


def _registry(tmp_path: Path, base: str, start: str = "index.html") -> Path:
    path = tmp_path / "sites.toml"
    path.write_text(f'[[site]]\nid = "qingshan"\nname = "青山市民政局"\nstart = ["{base}/{start}"]\n'
                    f'delay = {DELAY}\n', encoding="utf-8")
    return path


def _cli(tmp_path: Path, registry: Path, *args: str):
    return CliRunner().invoke(cli, ["crawl", "--db", str(tmp_path / "archive.db"), "--registry", str(registry),
                                    "--retries", "0", "--timeout", "5", *args])


def _crawl_at(tmp_path: Path, registry: Path, when: datetime) -> Summary:
    """One crawl through the Python API with the crawler's clock at `when`."""
    async def go(db):
        fetcher = Fetcher(retries=0, timeout=5)
        try:
            return await crawl(db, load_registry(registry), fetcher=fetcher, now=lambda: when)
        finally:
            await fetcher.aclose()

    db = archive.open_archive(tmp_path / "archive.db")
    try:
        return asyncio.run(go(db))
    finally:
        db.conn.close()


def _asked(server, names: list[str]) -> dict[str, int]:
    paths = server.paths()
    return {n: paths.count(f"/{n}") for n in names}


def _frontier(tmp_path: Path) -> dict[str, tuple]:
    conn = sqlite3.connect(tmp_path / "archive.db")
    rows = conn.execute("SELECT url, state, dead_answers, next_try FROM frontier").fetchall()
    conn.close()
    return {url.rsplit("/", 1)[1]: tuple(rest) for url, *rest in rows}


def test_dead_links_are_counted_not_failed_and_not_asked_again(tmp_path):
    www = _site(tmp_path)
    with serve(www, {"/d6.html": respond(410, "gone")}) as s:
        registry = _registry(tmp_path, s.base)
        first = _cli(tmp_path, registry)
        after_first = _asked(s, DEAD)
        second = _cli(tmp_path, registry, "--json-summary")
        after_second = _asked(s, DEAD)
    assert first.exit_code == 0, first.output
    assert first.stdout.strip().splitlines()[-1] == (
        "fetched 3, not modified 0, new reports 2, changed 0, failed 0, blocked 0, dead 6")
    assert "failed:" not in first.stderr
    assert "dead: 6 links answer 404/410" in first.stderr
    assert after_first == {n: 1 for n in DEAD}
    states = _frontier(tmp_path)
    assert {n: states[n][:2] for n in DEAD} == {n: ("dead", 1) for n in DEAD}
    conn = sqlite3.connect(tmp_path / "archive.db")
    assert sorted(conn.execute("SELECT status FROM captures WHERE url LIKE '%/d_.html'")) == [(404,)] * 5 + [(410,)]
    assert conn.execute("SELECT count(*) FROM reports").fetchone()[0] == 2

    # the same day again: none of the six asked, nothing failed
    assert second.exit_code == 0, second.output
    assert after_second == after_first
    summary = json.loads(second.stdout.strip().splitlines()[-1])
    assert (summary["dead"], summary["failed"], summary["not_modified"]) == (0, 0, 3)
    assert second.stderr == ""


def test_dead_links_are_asked_again_on_the_backoff_days(tmp_path):
    www = _site(tmp_path)
    with serve(www, {"/d6.html": respond(410, "gone")}) as s:
        registry = _registry(tmp_path, s.base)
        asked = []
        for day in (0, 0, 1, 2, 6, 7, 8, 29, 30, 31, 59, 60):
            summary = _crawl_at(tmp_path, registry, T0 + timedelta(days=day, hours=-3 if day else 0))
            assert summary.failed == 0, summary.failures
            counts = _asked(s, DEAD)
            asked.append((day, set(counts.values()), summary.dead))
    # each dead link asked once on day 0, then again only on days 1, 7, 30 and 60
    assert asked == [(0, {1}, 6), (0, {1}, 0), (1, {2}, 6), (2, {2}, 0), (6, {2}, 0), (7, {3}, 6), (8, {3}, 0),
                     (29, {3}, 0), (30, {4}, 6), (31, {4}, 0), (59, {4}, 0), (60, {5}, 6)]
    states = _frontier(tmp_path)
    assert states["d1.html"] == ("dead", 5, (T0 + timedelta(days=90)).date().isoformat())


def test_next_try_schedule():
    first = date(2025, 1, 10)
    assert [next_try(first, n, first) for n in (1, 2, 3)] == [date(2025, 1, 11), date(2025, 1, 17),
                                                               date(2025, 2, 9)]
    assert next_try(first, 4, date(2025, 2, 9)) == date(2025, 3, 11)
    # a crawl that did not run for weeks asks again the next day, not in the past
    assert next_try(first, 2, date(2025, 3, 1)) == date(2025, 3, 2)


def test_a_changed_list_page_that_links_a_dead_link_anew_asks_it_again(tmp_path):
    www = _site(tmp_path)
    with serve(www, {"/d6.html": respond(410, "gone")}) as s:
        registry = _registry(tmp_path, s.base)
        _crawl_at(tmp_path, registry, T0)
        # the list changes (a new report above, d2 dropped): the dead links stay unasked
        (www / "r3.html").write_bytes(PAGES["r3.html"].read_bytes())
        _column(www, ["r3.html", "r1.html", "r2.html", *[n for n in DEAD if n != "d2.html"]])
        changed = _crawl_at(tmp_path, registry, T0)
        assert _asked(s, DEAD) == {n: 1 for n in DEAD}
        assert (changed.new_reports, changed.dead) == (1, 0)
        # the list links d2 again: d2, and only d2, is asked at once
        _column(www, ["r3.html", "r1.html", "r2.html", *DEAD])
        relinked = _crawl_at(tmp_path, registry, T0)
    assert _asked(s, DEAD) == {n: 2 if n == "d2.html" else 1 for n in DEAD}
    assert (relinked.dead, relinked.failed) == (1, 0)
    assert _frontier(tmp_path)["d2.html"][:2] == ("dead", 2)


def test_a_dead_link_that_comes_back_is_archived_as_a_report(tmp_path):
    www = _site(tmp_path)
    with serve(www, {"/d6.html": respond(410, "gone")}) as s:
        registry = _registry(tmp_path, s.base)
        _crawl_at(tmp_path, registry, T0)
        (www / "d3.html").write_bytes(PAGES["r3.html"].read_bytes())  # the site puts the page back
        back = _crawl_at(tmp_path, registry, T0 + timedelta(days=1))
    assert (back.new_reports, back.dead, back.failed, back.fetched) == (1, 5, 0, 1)
    assert _frontier(tmp_path)["d3.html"] == ("done", 0, None)
    conn = sqlite3.connect(tmp_path / "archive.db")
    assert conn.execute("SELECT agency, year FROM reports WHERE source_url LIKE '%/d3.html'").fetchall() == [
        ("青山市民政局", 2022)]


def test_a_server_error_still_fails(tmp_path):
    www = _site(tmp_path)
    _column(www, ["r1.html", "d1.html", "e.html"])
    with serve(www, {"/e.html": respond(500, "oops")}) as s:
        result = _cli(tmp_path, _registry(tmp_path, s.base), "--json-summary")
    assert result.exit_code == 1
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["failed"], summary["dead"]) == (1, 1)
    assert "e.html: HTTP 500" in result.stderr and "d1.html" not in result.stderr
    assert _frontier(tmp_path)["e.html"][0] == "failed"


def test_a_start_page_that_is_gone_still_fails(tmp_path):
    www = _site(tmp_path)
    with serve(www) as s:
        registry = _registry(tmp_path, s.base, start="moved.html")
        first = _cli(tmp_path, registry)
        second = _cli(tmp_path, registry)
        asked = s.paths().count("/moved.html")
    for result in (first, second):
        assert result.exit_code == 1
        assert result.stdout.strip().splitlines()[-1].endswith("failed 1, blocked 0, dead 0")
        assert "moved.html: HTTP 404" in result.stderr
    assert asked == 2  # asked every run: the registry entry needs fixing
    assert _frontier(tmp_path)["moved.html"][0] == "failed"
