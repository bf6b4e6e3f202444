"""The fixture web (fixtures/web: four agencies, each its own host) crawled through
`xxgk crawl`: discovery in every CMS style, attachments, politeness in the request log,
an unchanged second run that stores and parses nothing, a changed page that becomes a
new version, a SIGKILLed crawl that resumes without loss or duplicates, the lock, and the
progress bar only on a terminal."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from conftest import ROOT
from scraper import archive
from scraper import crawl as crawl_module
from scraper.cli import cli
from scraper.crawl import IN_FLIGHT
from scraper.lock import ArchiveLock
from test_crawl_faults import assert_polite
from webserver import FIXTURE_WEB, fixture_registry, fixture_web

DELAY = 0.05
EXPECTED = json.loads((FIXTURE_WEB / "expected.json").read_text(encoding="utf-8"))
AGENCY = {"songlin": "松林市财政局", "yunling": "云岭县人民政府", "hekou": "河口镇人民政府"}


def _crawl(registry: Path, db: Path, *args: str):
    result = CliRunner().invoke(cli, ["crawl", "--db", str(db), "--registry", str(registry), "--json-summary",
                                      "--retries", "1", "--backoff", "0.05", *args])
    return result, json.loads(result.stdout.strip().splitlines()[-1])


def _snapshot(conn) -> dict:
    return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
            for t in ("reports", "documents", "facts", "checks", "sections")} | {
        "bodies": conn.execute("SELECT sha256 FROM bodies ORDER BY 1").fetchall()}


@pytest.fixture()
def web_and_registry(tmp_path):
    with fixture_web() as servers:
        registry = tmp_path / "sites.toml"
        registry.write_text(fixture_registry(servers, DELAY, EXPECTED), encoding="utf-8")
        yield servers, registry


def test_fixture_web_first_and_unchanged_second_run(tmp_path, web_and_registry):
    servers, registry = web_and_registry
    db = tmp_path / "archive.db"
    result, first = _crawl(registry, db)
    assert result.exit_code == 0, result.output
    conn = sqlite3.connect(db)

    # every report of every CMS style found and parsed
    got = {(urlsplit(u).path, a, y) for u, a, y in conn.execute(
        "SELECT source_url, agency, year FROM reports WHERE source_url NOT LIKE '%.pdf' "
        "AND source_url NOT LIKE '%.docx'")}
    want = {(path, meta["agency"], meta["year"]) for exp in EXPECTED.values() for path, meta in exp["reports"].items()}
    assert got == want
    assert first["new_reports"] >= len(want) == 19  # and what the attachment parser makes of the PDFs
    assert first["failed"] == first["blocked"] == 0

    # Hanweb: the records after the inline three came from dataproxy.jsp groups
    proxy = [p for p in servers["yunling"].paths() if "dataproxy.jsp" in p]
    assert len(proxy) == 3 and all("columnid=2701" in p for p in proxy)
    # GBK: the query-string pages followed by 下一页
    assert [p for p in servers["hekou"].paths() if "list.html" in p] == [
        p for p in EXPECTED["hekou"]["lists"]]
    # attachments from report pages, kept byte for byte
    adb = archive.open_archive(db)
    shiqiao = servers["shiqiao"].base
    for path in EXPECTED["shiqiao"]["attachments"]:
        cid, role = conn.execute("SELECT id, role FROM captures WHERE url = ?", [shiqiao + path]).fetchone()
        assert role == "attachment"
        assert archive.capture_body(adb, cid) == (FIXTURE_WEB / "shiqiao" / path.lstrip("/")).read_bytes()
    # politeness, per host: robots.txt first, nothing disallowed, gaps never under the delay
    for name, server in servers.items():
        assert server.paths()[0] == "/robots.txt"
        for prefix in EXPECTED[name]["disallowed"]:
            assert not [p for p in server.paths() if p.startswith(prefix)], name
        assert_polite(server.log, DELAY)
        assert all(h["User-Agent"].startswith("xxgk-archive/") for _t, _m, _p, h in server.log)
    assert conn.execute("SELECT count(*) FROM frontier WHERE state = 'disallowed'").fetchone()[0] == 2

    # second run over the unchanged web: 304 or identical, nothing stored, nothing parsed
    before = _snapshot(conn)
    sent_first = sum(s.traffic[0] for s in servers.values())
    marks = {name: len(s.log) for name, s in servers.items()}
    result, second = _crawl(registry, db)
    assert result.exit_code == 0, result.output
    assert second == {"fetched": 0, "not_modified": first["fetched"], "new_reports": 0, "changed": 0,
                      "failed": 0, "blocked": 0, "dead": 0, "failures": []}
    assert _snapshot(conn) == before
    run2 = conn.execute("SELECT max(run_id) FROM captures").fetchone()[0]
    old = {r[0] for r in conn.execute("SELECT sha256 FROM captures WHERE run_id < ? AND sha256 IS NOT NULL", [run2])}
    for url, status, sha in conn.execute("SELECT url, status, sha256 FROM captures WHERE run_id = ? "
                                         "AND role != 'robots'", [run2]):
        assert status in (301, 304) or (status == 200 and sha in old), (url, status)
    statuses = dict(conn.execute("SELECT status, count(*) FROM captures WHERE run_id = ? AND role != 'robots' "
                                 "GROUP BY status", [run2]))
    assert statuses[304] > statuses.get(200, 0)  # static pages answer 304; only dataproxy XML is re-sent
    sent_second = sum(s.traffic[0] for s in servers.values()) - sent_first
    assert sent_second / sent_first < 0.01
    for name, s in servers.items():  # the same URLs asked again, nothing more
        assert sorted(s.paths()[marks[name]:]) == sorted(s.paths()[:marks[name]])
    report = [h for _t, _m, p, h in servers["songlin"].log[marks["songlin"]:] if p.endswith("_3105.html")]
    assert report[0].get("If-None-Match") and report[0].get("If-Modified-Since")  # conditional requests


def test_a_registry_larger_than_the_site_window_is_crawled_whole(tmp_path, web_and_registry, monkeypatch):
    """With 2 sites at once (ACTIVE_SITES), the four agencies still all get crawled, never
    more than two of them at a time."""
    servers, registry = web_and_registry
    monkeypatch.setattr(crawl_module, "ACTIVE_SITES", 2)
    active, most = set(), [0]
    real_site = crawl_module.Crawl._site

    async def counted(self, site):
        active.add(site.id)
        most[0] = max(most[0], len(active))
        try:
            await real_site(self, site)
        finally:
            active.discard(site.id)

    monkeypatch.setattr(crawl_module.Crawl, "_site", counted)
    db = tmp_path / "archive.db"
    result, summary = _crawl(registry, db)
    assert result.exit_code == 0, result.output
    assert most[0] == 2
    with sqlite3.connect(db) as conn:
        sites = {r[0] for r in conn.execute("SELECT DISTINCT site_id FROM captures")}
        paths = {urlsplit(u).path for (u,) in conn.execute("SELECT source_url FROM reports")}
    assert sites == set(servers)
    assert {p for exp in EXPECTED.values() for p in exp["reports"]} <= paths


def test_robots_txt_is_asked_while_the_crawl_sets_up_and_archived_all_the_same(tmp_path, web_and_registry,
                                                                             monkeypatch):
    """Every host's robots.txt request leaves before the archive is opened (the answers
    come back while the crawl sets up); each is archived once, with the first page then
    asked no sooner than the delay after it."""
    servers, registry = web_and_registry
    real_open, opened = archive.open_archive, []

    def open_archive(path):
        opened.append(time.time())
        return real_open(path)

    monkeypatch.setattr(archive, "open_archive", open_archive)
    db = tmp_path / "archive.db"
    result, _ = _crawl(registry, db, "--concurrency", str(len(servers)))
    assert result.exit_code == 0, result.output
    for server in servers.values():
        assert server.log[0][2] == "/robots.txt" and server.log[0][0] < opened[0]
        assert_polite(server.log, DELAY)
    with sqlite3.connect(db) as conn:
        robots = conn.execute("SELECT site_id, url FROM captures WHERE role = 'robots'").fetchall()
    assert sorted(robots) == sorted((key, server.base + "/robots.txt") for key, server in servers.items())


def test_robots_txt_read_ahead_for_a_site_asked_nothing_is_still_archived(tmp_path, web_and_registry):
    """`--max-pages 0` asks no page, yet the robots.txt answers read ahead are archived."""
    servers, registry = web_and_registry
    db = tmp_path / "archive.db"
    result, summary = _crawl(registry, db, "--max-pages", "0", "--concurrency", "2")
    assert result.exit_code == 0, result.output and summary["fetched"] == 0
    asked = {key for key, server in servers.items() if server.log}
    assert len(asked) == 2 and all(server.paths() == ["/robots.txt"] for key, server in servers.items() if key in asked)
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT site_id, role, url FROM captures").fetchall()
    assert sorted(rows) == sorted((key, "robots", servers[key].base + "/robots.txt") for key in asked)


def test_changed_page_becomes_a_new_version(tmp_path, web_and_registry):
    servers, registry = web_and_registry
    db = tmp_path / "archive.db"
    _crawl(registry, db)
    page = FIXTURE_WEB / "yunling" / "art/2024/1/17/art_2701_8807.html"
    original = page.read_bytes()
    stat = page.stat()
    try:
        page.write_bytes(original.replace("认真贯彻落实".encode(), "全面贯彻落实".encode()))
        os.utime(page, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
        result, summary = _crawl(registry, db)
    finally:
        page.write_bytes(original)
        os.utime(page, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert result.exit_code == 0, result.output
    assert summary["changed"] == 1 and summary["new_reports"] == 0 and summary["fetched"] == 1
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT current, capture_id FROM reports WHERE source_url LIKE '%art_2701_8807.html' "
                        "ORDER BY id").fetchall()
    assert [r[0] for r in rows] == [0, 1] and rows[0][1] != rows[1][1]


def test_sigkill_mid_crawl_then_resume(tmp_path):
    """Kill `xxgk crawl` with SIGKILL mid-crawl, run it again: the archive is intact,
    every URL captured once, the crawl completes."""
    db = tmp_path / "archive.db"
    cmd = [sys.executable, "-m", "scraper", "crawl", "--db", str(db), "--registry", str(tmp_path / "sites.toml"),
           "--retries", "0"]
    with fixture_web(latency=0.05) as servers:
        (tmp_path / "sites.toml").write_text(fixture_registry(servers, DELAY, EXPECTED), encoding="utf-8")
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while sum(len(s.log) for s in servers.values()) < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        asked_before = sum(len(s.log) for s in servers.values())
        conn = sqlite3.connect(db)
        assert conn.execute("SELECT finished_at FROM runs").fetchall() == [(None,)]  # killed mid-run
        done_before = conn.execute("SELECT count(*) FROM frontier WHERE state = 'done'").fetchone()[0]
        conn.close()
        assert 0 < done_before
        second = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert {s for (s,) in conn.execute("SELECT DISTINCT state FROM frontier")} == {"done", "disallowed"}
    assert conn.execute("SELECT count(*) FROM reports").fetchone()[0] == 19
    dupes = conn.execute("SELECT url, count(*) FROM captures WHERE role != 'robots' GROUP BY url "
                         "HAVING count(*) > 1").fetchall()
    assert dupes == []  # every capture once
    assert conn.execute("SELECT count(*) FROM reports GROUP BY source_url HAVING count(*) > 1").fetchall() == []
    # the resumed run asked only what was not done (plus what was in flight at the kill:
    # at most IN_FLIGHT URLs per site, fetched but not yet committed)
    pages = {}
    for s in servers.values():
        for p in s.paths():
            if p != "/robots.txt":
                pages[(s.base, p)] = pages.get((s.base, p), 0) + 1
    assert max(pages.values()) <= 2 and sum(n - 1 for n in pages.values()) <= len(servers) * IN_FLIGHT
    assert asked_before < sum(len(s.log) for s in servers.values())
    assert second.stdout.strip().splitlines()[-1].startswith("fetched ")


def test_a_second_crawl_on_a_locked_archive_exits_3(tmp_path):
    registry = tmp_path / "sites.toml"
    registry.write_text('[[site]]\nid = "x"\nname = "某局"\nstart = ["http://127.0.0.1:9/"]\n', encoding="utf-8")
    db = tmp_path / "archive.db"
    with ArchiveLock(db):
        result = CliRunner().invoke(cli, ["crawl", "--db", str(db), "--registry", str(registry)])
    assert result.exit_code == 3
    assert "another crawl is writing this archive" in result.stderr and result.stdout == ""


def _run_with_stderr(cmd: list[str], tty: bool) -> tuple[int, str, str]:
    if not tty:
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
        return p.returncode, p.stdout, p.stderr
    master, slave = pty.openpty()
    p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    err = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            err += chunk
        elif p.poll() is not None:
            break
    out = p.stdout.read().decode()
    p.wait()
    os.close(master)
    return p.returncode, out, err.decode("utf-8", "replace")


@pytest.mark.parametrize("tty", [True, False])
def test_progress_only_on_a_terminal_summary_on_stdout(tmp_path, tty):
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text('<a href="r.html">某局2021年政府信息公开工作年度报告</a>', encoding="utf-8")
    (www / "r.html").write_text("<p>x</p>", encoding="utf-8")
    from webserver import serve

    with serve(www) as s:
        (tmp_path / "sites.toml").write_text(
            f'[[site]]\nid = "x"\nname = "某局"\nstart = ["{s.base}/index.html"]\ndelay = 0\n', encoding="utf-8")
        code, out, err = _run_with_stderr([sys.executable, "-m", "scraper", "crawl", "--db", str(tmp_path / "a.db"),
                                           "--registry", str(tmp_path / "sites.toml")], tty)
    assert code == 0
    assert out.splitlines() == ["fetched 2, not modified 0, new reports 0, changed 0, failed 0, blocked 0, dead 0"]
    if tty:
        assert "\r" in err and "2 fetched" in err and "r.html" in err
    else:
        assert err == ""
