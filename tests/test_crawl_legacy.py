"""A legacy report column (fixtures/legacy-site, written by fixtures/make_legacy.py) crawled
by the real `xxgk crawl` from a real server on 127.0.0.1: every 2008-2018 report reaches
`reports` as version legacy with its figures in `facts` (prose ones marked), and the letter
and the disclosure guide filed beside them do not."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3

from click.testing import CliRunner

from conftest import FIXTURES
from scraper.cli import cli
from scraper.fixture_server import serve_folder

SITE = FIXTURES / "legacy-site"
REPORTS = FIXTURES / "reports"


def _listed() -> dict[str, dict]:
    """Each page the column's list links to, with its expected JSON."""
    index = (SITE / "ndbg" / "index.html").read_text(encoding="utf-8")
    names = re.findall(r'href="([^"]+\.html)"', index)
    return {n: json.loads((REPORTS / n).with_suffix(".expected.json").read_text(encoding="utf-8")) for n in names}


def test_the_column_lists_reports_and_the_pages_that_are_not():
    listed = _listed()
    assert len([w for w in listed.values() if "error" not in w]) >= 10
    assert {w["error"] for w in listed.values() if "error" in w} == {"not an annual report"}
    assert all((REPORTS / name).exists() for name in listed)


def _column(folder):
    """The column as a site serves it: its list page and the fixture pages it links (the
    same bytes the fixture tests read)."""
    shutil.copytree(SITE, folder)
    for name in _listed():
        shutil.copy(REPORTS / name, folder / "ndbg" / name)
    return folder


def test_a_crawl_of_the_legacy_column_puts_every_report_in_reports(tmp_path):
    listed = _listed()
    with serve_folder(_column(tmp_path / "site")) as base:
        registry = tmp_path / "sites.toml"
        registry.write_text(f'[[site]]\nid = "linjiang-legacy"\nname = "临江市"\nregion = "临江市"\nlevel = "city"\n'
                            f'start = ["{base}/ndbg/index.html"]\ndelay = 0.01\n', encoding="utf-8")
        db = tmp_path / "archive.db"
        result = CliRunner().invoke(cli, ["crawl", "--db", str(db), "--registry", str(registry)])
    assert result.exit_code == 0, result.output
    conn = sqlite3.connect(db)
    reports = {url.rsplit("/", 1)[1]: (rid, agency, year, version) for rid, url, agency, year, version in conn.execute(
        "SELECT id, source_url, agency, year, version FROM reports WHERE current = 1")}
    want_reports = {n: w for n, w in listed.items() if "error" not in w}
    assert set(reports) == set(want_reports)
    for name, want in want_reports.items():
        rid, agency, year, version = reports[name]
        assert (agency, year, version) == (want["agency"], want["year"], "legacy"), name
        facts = dict(conn.execute("SELECT key, value FROM facts WHERE report_id = ?", [rid]))
        assert facts == want["facts"], name
        parts = conn.execute("SELECT DISTINCT table_name FROM facts WHERE report_id = ?", [rid]).fetchall()
        assert parts == [("legacy",)], name
    # the letter and the guide: not followed as report links (关于做好…, no year), or if
    # fetched, judged no report
    outcomes = dict(conn.execute("SELECT url, outcome FROM documents"))
    for name, want in listed.items():
        if "error" in want:
            assert outcomes.get(f"{base}/ndbg/{name}", "not an annual report") == "not an annual report", name
