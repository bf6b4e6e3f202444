"""The crawler with attachments, over a real HTTP server on 127.0.0.1: a report page and
the PDF it links to are one report (page facts win, the PDF fills the page's blanks, the
disagreement is a warning); a PDF linked from a page that is no report is its own report."""

from __future__ import annotations

import json
import sqlite3

from click.testing import CliRunner

from conftest import FIXTURES
from scraper.cli import cli
from webserver import respond, web

ATT = FIXTURES / "attachments"
EXP = json.loads((ATT / "expected.json").read_text(encoding="utf-8"))["crawl"]
PDF = "application/pdf"


def _crawl(tmp_path, base: str, start: str):
    registry = tmp_path / "sites.toml"
    registry.write_text(f'[[site]]\nid = "qs-jtj"\nname = "{EXP["agency"]}"\nregion = "青山市"\n'
                        f'level = "department"\nstart = ["{base}{start}"]\ndelay = 0.01\n', encoding="utf-8")
    db = tmp_path / "archive.db"
    result = CliRunner().invoke(cli, ["crawl", "--db", str(db), "--registry", str(registry)])
    return result, sqlite3.connect(db)


def test_page_and_its_pdf_become_one_report_with_both_sources(tmp_path):
    pdf = (ATT / EXP["attachment_file"]).read_bytes()
    with web(ATT / "site", {EXP["attachment"]: respond(200, pdf, PDF)}) as (base, log):
        result, conn = _crawl(tmp_path, base, "/jtj/ndbg/index.html")
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("fetched 3, not modified 0, new reports 1,")
    assert any(entry[2] == EXP["attachment"] for entry in log)
    # the attachment is archived byte for byte, linked to the page it came from
    page_id, page_url = conn.execute("SELECT id, url FROM captures WHERE role = 'report'").fetchone()
    att_id, parent, sha = conn.execute("SELECT id, parent_id, sha256 FROM captures WHERE role = 'attachment'").fetchone()
    assert parent == page_id and page_url == base + EXP["page"]
    from scraper import archive

    assert archive.capture_body(archive.open_archive(tmp_path / "archive.db"), att_id) == pdf
    # one current report, read from both documents
    reports = conn.execute("SELECT id, agency, year, source_url, capture_id, warnings FROM reports "
                           "WHERE current = 1").fetchall()
    assert len(reports) == 1
    rid, agency, year, source, capture_id, warnings = reports[0]
    assert (agency, year, source, capture_id) == (EXP["agency"], EXP["year"], base + EXP["page"], page_id)
    facts = dict(conn.execute("SELECT key, value FROM facts WHERE report_id = ?", [rid]))
    assert facts == EXP["facts"]
    sources = {r[0]: r[1:] for r in conn.execute(
        "SELECT role, url, capture_id, form, filled, disagreements FROM report_sources WHERE report_id = ?", [rid])}
    assert sources["page"][:3] == (base + EXP["page"], page_id, "html")
    assert sources["attachment"][:3] == (base + EXP["attachment"], att_id, "pdf")
    assert sorted(json.loads(sources["attachment"][3])) == EXP["filled_from_attachment"]
    assert json.loads(sources["attachment"][4]) == EXP["disagreements"]
    warned = json.loads(warnings)
    for key in EXP["disagreements"]:
        assert any(w.startswith(f"{key}: the page says") for w in warned), warned
    outcomes = dict(conn.execute("SELECT capture_id, outcome FROM documents"))
    assert outcomes[att_id] == "merged" and outcomes[page_id] == "report"
    # the page-only report of the same capture was replaced, not kept beside the merged one
    assert conn.execute("SELECT count(*) FROM reports").fetchone()[0] == 1
    # `xxgk reparse` derives the same merged report again from the archived bytes alone
    result = CliRunner().invoke(cli, ["reparse", "--db", str(tmp_path / "archive.db")])
    assert result.exit_code == 0, result.output
    current = conn.execute("SELECT id, source_url FROM reports WHERE current = 1").fetchall()
    assert [r[1] for r in current] == [base + EXP["page"]]
    assert dict(conn.execute("SELECT key, value FROM facts WHERE report_id = ?", [current[0][0]])) == EXP["facts"]
    assert conn.execute("SELECT count(*) FROM report_sources WHERE report_id = ?", [current[0][0]]).fetchone()[0] == 2


def test_pdf_linked_from_a_short_page_is_a_report_of_its_own(tmp_path):
    """The page only links to the PDF (no tables): the PDF is the report."""
    page = ('<html><head><meta charset="utf-8"><meta name="PubDate" content="2022-01-18 10:00">'
            "<title>青山市生态环境局2021年政府信息公开工作年度报告</title></head><body>"
            "<h1>青山市生态环境局2021年政府信息公开工作年度报告</h1><p>详见附件。</p>"
            '<p><a href="/a/report.pdf">青山市生态环境局2021年政府信息公开工作年度报告.pdf</a></p></body></html>')
    index = ('<html><head><meta charset="utf-8"></head><body><a href="/a/t20220118_1.html">'
             "青山市生态环境局2021年政府信息公开工作年度报告</a></body></html>")
    routes = {"/a/index.html": respond(200, index), "/a/t20220118_1.html": respond(200, page),
              "/a/report.pdf": respond(200, (ATT / "unruled-2021.pdf").read_bytes(), PDF)}
    with web(tmp_path, routes) as (base, _log):
        result, conn = _crawl(tmp_path, base, "/a/index.html")
    assert result.exit_code == 0, result.output
    rows = conn.execute("SELECT id, source_url, form, agency, year FROM reports WHERE current = 1").fetchall()
    assert [r[1:] for r in rows] == [(base + "/a/report.pdf", "pdf", "青山市生态环境局", 2021)]
    facts = dict(conn.execute("SELECT key, value FROM facts WHERE report_id = ?", [rows[0][0]]))
    expected = json.loads((ATT / "expected.json").read_text(encoding="utf-8"))["unruled-2021.pdf"]["facts"]
    assert facts == expected
    outcomes = {r[0]: r[1] for r in conn.execute("SELECT url, outcome FROM documents")}
    assert outcomes[base + "/a/t20220118_1.html"] == "not an annual report"
    result = CliRunner().invoke(cli, ["reparse", "--db", str(tmp_path / "archive.db")])
    assert result.exit_code == 0, result.output
    again = conn.execute("SELECT id, source_url FROM reports WHERE current = 1").fetchall()
    assert [r[1] for r in again] == [base + "/a/report.pdf"]
    assert conn.execute("SELECT count(*) FROM reports").fetchone()[0] == 1
