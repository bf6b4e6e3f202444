"""End to end: a real local HTTP server, `xxgk crawl`, the archive checked against the
values the fixture sites were written from (fixtures/sites/expected.json)."""

from __future__ import annotations

import json
import sqlite3
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from conftest import FIXTURES
from scraper.cli import cli
from webserver import respond, web


def _registry(tmp_path, base: str, extra: str = "") -> str:
    text = (FIXTURES / "sites.toml").read_text(encoding="utf-8").replace("http://127.0.0.1:8080", base)
    path = tmp_path / "sites.toml"
    path.write_text(text + extra, encoding="utf-8")
    return str(path)


def _crawl(tmp_path, registry: str, *args: str):
    db = tmp_path / "archive.db"
    result = CliRunner().invoke(cli, ["crawl", "--db", str(db), "--registry", registry, *args])
    return result, db


def test_crawl_archives_every_fixture_report(tmp_path, expected_sites):
    with web(FIXTURES / "sites") as (base, log):
        result, db = _crawl(tmp_path, _registry(tmp_path, base))
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == (
        "fetched 12, not modified 0, new reports 7, changed 0, failed 0, blocked 0, dead 0")
    conn = sqlite3.connect(db)
    reports = {urlsplit(r[0]).path: r for r in conn.execute(
        "SELECT source_url, agency, year, version, kind, published, id FROM reports WHERE current = 1")}
    assert set(reports) == set(expected_sites["reports"])
    compared = 0
    for path, exp in expected_sites["reports"].items():
        _url, agency, year, version, kind, published, rid = reports[path]
        assert (agency, year, version, kind, published) == (
            exp["agency"], exp["year"], exp["version"], exp["kind"], exp["published"]), path
        facts = dict(conn.execute("SELECT key, value FROM facts WHERE report_id = ?", [rid]).fetchall())
        for key, value in exp["facts"].items():
            assert facts[key] == value, (path, key)
            compared += 1
        ontime = conn.execute("SELECT ok FROM checks WHERE report_id = ? AND rule = 'report.on_time'", [rid]).fetchone()
        assert ontime[0] == int(exp["on_time"]), path
    assert compared > 1300
    outcomes = dict(conn.execute("SELECT url, outcome FROM documents"))
    for path in expected_sites["not_reports"]:
        assert outcomes[base + path] == "not an annual report"
    # raw bytes are kept and retrievable, identical to what was served
    from scraper import archive

    adb = archive.open_archive(db)
    cid, url = conn.execute("SELECT id, url FROM captures WHERE url LIKE '%baishui%2020.shtml'").fetchone()
    assert archive.capture_body(adb, cid) == (FIXTURES / "sites" / urlsplit(url).path.lstrip("/")).read_bytes()
    # the fixture server saw the honest User-Agent and nothing outside the registry
    assert all(entry[3].get("User-Agent", "").startswith("xxgk-archive/") for entry in log)


def test_failed_checks_reach_the_archive(demo_archive):
    conn = sqlite3.connect(demo_archive)
    failed = set(conn.execute("""SELECT r.agency || ' ' || r.year || ' ' || c.rule FROM checks c
                                 JOIN reports r ON r.id = c.report_id WHERE c.ok = 0"""))
    assert {row[0] for row in failed} == {
        "青山市民政局 2020 applications.balance", "青山市民政局 2020 applications.results_sum",
        "青山市民政局 2022 report.on_time", "白水县人民政府 2021 report.version_matches_year",
        "白水县人民政府 2021 report.text_matches_table"}


def test_server_error_is_archived_named_and_exit_code_1(tmp_path):
    site = tmp_path / "www" / "col"
    site.mkdir(parents=True)
    (site / "index.html").write_text(
        '<html><body><a href="t20210120_1.html">某局2020年政府信息公开工作年度报告</a>'
        '<a href="t20210120_2.html">某局2019年政府信息公开工作年度报告</a></body></html>', encoding="utf-8")
    (site / "t20210120_2.html").write_text("<html><body><p>页面已删除</p></body></html>", encoding="utf-8")
    routes = {"/col/t20210120_1.html": respond(500, "Internal Server Error")}
    registry = tmp_path / "sites.toml"
    with web(tmp_path / "www", routes) as (base, _log):
        registry.write_text(f'[[site]]\nid = "x"\nname = "某局"\nstart = ["{base}/col/index.html"]\ndelay = 0\n',
                            encoding="utf-8")
        result, db = _crawl(tmp_path, str(registry), "--json-summary", "--retries", "2", "--backoff", "0.05")
    assert result.exit_code == 1
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["failed"] == 1 and summary["new_reports"] == 0
    assert "t20210120_1.html: HTTP 500" in result.stderr
    conn = sqlite3.connect(db)
    statuses = [r[0] for r in conn.execute("SELECT status FROM captures WHERE url LIKE '%t20210120_1.html'")]
    assert statuses == [500, 500, 500]  # the first try and two retries, each archived
    assert conn.execute("SELECT count(*) FROM reports").fetchone()[0] == 0
    outcome = conn.execute("SELECT outcome FROM documents WHERE url LIKE '%t20210120_2.html'").fetchone()
    assert outcome == ("not an annual report",)


def test_registry_errors_are_usage_errors(tmp_path):
    bad = tmp_path / "sites.toml"
    bad.write_text('[[site]]\nid = "Bad Id"\nname = "x"\nstart = ["http://127.0.0.1:1/"]\n', encoding="utf-8")
    result, _db = _crawl(tmp_path, str(bad))
    assert result.exit_code == 2
    assert "sites.toml:2" in result.output and "'id'" in result.output  # the line of the field


@pytest.mark.parametrize("body", [b"", b"\xff\xfe\x00garbage", b"<html><body><table><tr><td colspan=99999>x"])
def test_garbage_pages_never_crash_the_crawl(tmp_path, body):
    site = tmp_path / "www"
    site.mkdir()
    (site / "index.html").write_text('<a href="r.html">某局2021年政府信息公开工作年度报告</a>', encoding="utf-8")
    (site / "r.html").write_bytes(body)
    registry = tmp_path / "sites.toml"
    with web(site) as (base, _log):
        registry.write_text(f'[[site]]\nid = "x"\nname = "某局"\nstart = ["{base}/index.html"]\ndelay = 0\n',
                            encoding="utf-8")
        result, db = _crawl(tmp_path, str(registry))
    assert result.exit_code == 0, result.output
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM reports").fetchone()[0] == 0
    assert conn.execute("SELECT outcome FROM documents").fetchone()[0] == "not an annual report"


def _one_report_site(tmp_path):
    """A column listing one fixture report page."""
    site = tmp_path / "www"
    site.mkdir()
    (site / "index.html").write_text(
        '<a href="t20220125_1003.html">青山市民政局2021年政府信息公开工作年度报告</a>', encoding="utf-8")
    page = FIXTURES / "sites" / "qingshan/mzj/zfxxgknb/202201/t20220125_1003.html"
    (site / "t20220125_1003.html").write_bytes(page.read_bytes())
    return site


def test_a_removed_report_is_named_once_and_its_archived_copy_kept(tmp_path):
    site = _one_report_site(tmp_path)
    registry = tmp_path / "sites.toml"
    with web(site) as (base, log):
        registry.write_text(f'[[site]]\nid = "x"\nname = "青山市民政局"\nstart = ["{base}/index.html"]\ndelay = 0\n',
                            encoding="utf-8")
        first, db = _crawl(tmp_path, str(registry), "--retries", "0")
        (site / "t20220125_1003.html").unlink()  # the site drops the page; its list still links it
        second, _ = _crawl(tmp_path, str(registry), "--retries", "0")
        asked_before = sum(1 for entry in log if entry[2].endswith("t20220125_1003.html"))
        third, _ = _crawl(tmp_path, str(registry), "--retries", "0")
        asked_after = sum(1 for entry in log if entry[2].endswith("t20220125_1003.html"))
    assert first.exit_code == 0
    assert second.exit_code == 1 and "removed from the site" in second.stderr
    assert third.exit_code == 0 and asked_after == asked_before  # not asked again
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM reports WHERE current = 1").fetchone()[0] == 1


def test_check_names_registry_entries_to_correct(tmp_path):
    site = _one_report_site(tmp_path)
    (site / "empty.html").write_text("<p>栏目建设中</p>", encoding="utf-8")
    registry = tmp_path / "sites.toml"
    with web(site) as (base, _log):
        registry.write_text(
            f'[[site]]\nid = "new"\nname = "青山市民政局"\nstart = ["{base}/index.html"]\ndelay = 0\nverified = false\n'
            f'[[site]]\nid = "moved"\nname = "某县"\nstart = ["{base}/empty.html"]\ndelay = 0\n', encoding="utf-8")
        result, db = _crawl(tmp_path, str(registry))
    assert result.exit_code == 0, result.output
    out = CliRunner().invoke(cli, ["check", "--db", str(db)]).output
    assert "青山市民政局 (new)" in out and "set verified = true" in out
    assert "某县 (moved)" in out and "no report found" in out


def test_cross_report_checks_on_the_demo_archive(demo_archive):
    from scraper import archive
    from scraper.crosscheck import run_crosschecks

    findings = run_crosschecks(archive.open_archive(demo_archive))
    carry = findings["applications.carry_link"]
    assert len(carry) == 5
    assert [(f["agency"], f["year"]) for f in carry if f["ok"] is False] == [("白水县人民政府", 2022)]
    flow = findings["active.in_force_flow"]
    assert len(flow) == 2 and all(f["ok"] for f in flow)  # 青山市民政局 2021 → 2022, rules and normative docs
    assert findings["duplicates"] == []
