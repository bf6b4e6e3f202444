"""Reports published as PDF, Word and spreadsheets (issue 5): every fact of every fixture
attachment against the numbers the fixtures were written from (fixtures/attachments/
expected.json, made by make_attachments.py from its own data, never by the parser)."""

from __future__ import annotations

import io
import json
import shutil
import zipfile

import pytest
from click.testing import CliRunner

import parsers
from conftest import FIXTURES
from parsers.binary import binary_form
from scraper.cli import cli

ATT = FIXTURES / "attachments"
EXPECTED = json.loads((ATT / "expected.json").read_text(encoding="utf-8"))
DOCUMENTS = sorted(k for k, v in EXPECTED.items() if k != "crawl" and not k.endswith(".doc") and "error" not in v)
META = ("title", "agency", "year", "published", "index_no", "version", "kind", "form")
needs_soffice = pytest.mark.skipif(shutil.which("soffice") is None,
                                   reason="LibreOffice (soffice) is not installed; .ci/run installs it "
                                          "(apt-get install libreoffice-core libreoffice-writer libreoffice-calc)")


def _parse(name: str) -> dict:
    return parsers.parse((ATT / name).read_bytes(), url=name).to_json(provenance=True)


def _assert_matches(got: dict, exp: dict) -> None:
    assert got.get("error") is None, got
    assert {k: got[k] for k in META} == {k: exp[k] for k in META}
    assert set(got["facts"]) == set(exp["facts"])  # every key of the template, no more
    wrong = {k: (got["facts"][k], v) for k, v in exp["facts"].items() if got["facts"][k] != v
             or type(got["facts"][k]) is not type(v)}
    assert not wrong, wrong
    assert sorted(got["sections"]) == exp["sections"]


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_fact_of_every_attachment(name):
    _assert_matches(_parse(name), EXPECTED[name])


def test_fixtures_cover_both_templates_and_every_form():
    assert {EXPECTED[n]["version"] for n in DOCUMENTS} == {"2019", "2021"}
    assert {n.rsplit(".", 1)[1] for n in EXPECTED if n != "crawl"} >= {"pdf", "docx", "xlsx", "doc"}
    assert sum(len(EXPECTED[n]["facts"]) for n in DOCUMENTS) == 796  # 198 + 200 + 200 + 198


def test_scanned_pdf_is_needs_ocr_never_an_empty_report():
    got = _parse("scanned.pdf")
    assert got["error"] == "needs_ocr"
    assert "facts" not in got
    assert any("OCR" in w for w in got["warnings"])


def test_pdf_table_continued_after_page_break_is_one_table():
    """Ruled: the applications table breaks after its second row, no header on page 2.
    Unruled: breaks inside the withheld rows, header repeated on page 2."""
    for name, before, after in (("ruled-2019.pdf", "new_received", "withheld.third_party"),
                                ("unruled-2021.pdf", "new_received", "unable.not_held")):
        prov = _parse(name)["provenance"]
        first, later = prov[f"applications.{before}.total"], prov[f"applications.{after}.natural_person"]
        assert first["form"] == later["form"] == "pdf"
        assert first["table"] == later["table"], name
        assert later["row"] > first["row"]
        assert later["col_label"] == "自然人"  # header from page 1, read as one word from a vertical stack


def test_vertical_stack_headers_are_read_as_words():
    prov = _parse("ruled-2019.pdf")["provenance"]
    assert prov["applications.granted.business"]["col_label"] == "商业企业"
    assert prov["applications.granted.nonprofit"]["col_label"] == "社会公益组织"
    prov = _parse("unruled-2021.pdf")["provenance"]
    assert prov["applications.granted.legal_service"]["col_label"] == "法律服务机构"


def test_pdf_page_furniture_is_not_text():
    from parsers.pdf import pdf_content

    for name, furniture in (("ruled-2019.pdf", ("青山市交通运输局文件", "- 1 -", "- 2 -")),
                            ("unruled-2021.pdf", ("青山市生态环境局政府信息公开", "第 1 页 共 2 页"))):
        lines = pdf_content((ATT / name).read_bytes()).lines
        assert not [ln for ln in lines if any(f.replace(" ", "") == ln.replace(" ", "") for f in furniture)], name
        assert any("年度报告" in ln for ln in lines)


def test_unruled_blank_cells_stay_null_and_values_keep_their_columns():
    got = _parse("unruled-2021.pdf")
    assert got["facts"]["applications.carried_over.natural_person"] == 2
    assert got["facts"]["applications.carried_over.business"] is None
    assert got["facts"]["applications.carried_over.total"] == 2
    assert got["provenance"]["applications.carried_over.total"]["col_label"] == "总计"


def test_docx_merged_cells_expand_like_html():
    import docx

    from parsers.word import table_grid

    table = docx.Document(str(ATT / "merged-2021.docx")).element.body.findall(
        "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}tbl")[1]
    rows = table_grid(table, 1)
    by_label = {"".join(c.text for c in r.cells if not c.text.replace(" ", "").isdigit()): r for r in rows}
    internal = next(r for k, r in by_label.items() if "内部事务" in k)
    group = [c for c in internal.cells if "不予公开" in c.text]
    assert len(group) == 1 and group[0].continued and group[0].origin[0] < internal.cells[-1].row  # vMerge
    header = rows[0]
    assert [(c.col, c.span) for c in header.cells] == [(0, 3), (3, 7)]  # gridSpan, one Cell per cell
    assert all(len({c.origin for c in r.cells}) == len(r.cells) for r in rows)


def test_xlsx_merged_ranges_expand():
    from parsers.sheet import xlsx_content

    rows = xlsx_content((ATT / "report-2019.xlsx").read_bytes()).rows
    corner = [c for r in rows for c in r.cells if "勾稽关系" in c.text]
    assert len(corner) == 3 and [c.continued for c in corner] == [False, True, True] and corner[0].span == 3


def test_doc_without_conversion_is_needs_conversion():
    got = parsers.parse((ATT / "merged-2021.doc").read_bytes(), url="merged-2021.doc").to_json()
    assert got["error"] == "needs_conversion"
    assert "LibreOffice" in got["warnings"][0]


@needs_soffice
def test_doc_converted_with_libreoffice_matches_every_fact():
    from scraper.convert import parse

    got = parse((ATT / "merged-2021.doc").read_bytes(), url="merged-2021.doc").to_json()
    _assert_matches(got, EXPECTED["merged-2021.doc"])


@pytest.mark.parametrize("data,url,ctype,form", [
    (b"%PDF-1.4\n...", None, None, "pdf"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "WordDocument".encode("utf-16-le"), None, None, "doc"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "WordDocument".encode("utf-16-le"), "http://x/a.wps", None, "wps"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "Workbook".encode("utf-16-le"), None, None, "xls"),
    ("<html>", None, None, None),
    (b"<html><body>report</body></html>", "http://x/a.pdf", "text/html", None),
    (b"\x00\x01garbage\x00", "http://x/a.pdf", None, "pdf"),
])
def test_form_from_magic_bytes(data, url, ctype, form):
    assert binary_form(data, url, ctype) == form


def _zip(name: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(name, "<x/>")
    return buf.getvalue()


@pytest.mark.parametrize("data,error", [
    (b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer\n%%EOF", "unreadable"),
    ((ATT / "ruled-2019.pdf").read_bytes()[:3000], "unreadable"),
    (_zip("word/document.xml"), "unreadable"),
    (_zip("xl/workbook.xml"), "unreadable"),
    (b"\x00\x01garbage\x00", "unreadable"),
])
def test_broken_files_are_flagged_not_crashes(data, error):
    got = parsers.parse(data, url="http://x/a.pdf").to_json()
    assert got["error"] == error and got["warnings"]


def test_cli_prints_the_same_json_form_for_pdf_docx_and_html(tmp_path):
    html = next((FIXTURES / "sites").rglob("t20210120_*.html"))
    args = ["parse", str(ATT / "ruled-2019.pdf"), str(ATT / "merged-2021.docx"), str(html), "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    objs = [json.loads(line) for line in result.output.splitlines()]
    assert [o["source"] for o in objs] == args[1:4]
    assert {frozenset(o) for o in objs} == {frozenset(objs[2])}  # the same fields as HTML
    assert [o["form"] for o in objs[:2]] == ["pdf", "docx"]
    for o, name in zip(objs, ("ruled-2019.pdf", "merged-2021.docx")):
        assert o["facts"] == EXPECTED[name]["facts"]
        assert {c["rule"] for c in o["checks"]} == {c["rule"] for c in objs[2]["checks"]}


@needs_soffice
def test_cli_converts_doc():
    result = CliRunner().invoke(cli, ["parse", str(ATT / "merged-2021.doc"), "--json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    assert got["form"] == "doc" and got["facts"] == EXPECTED["merged-2021.doc"]["facts"]


def test_without_libreoffice_the_cli_says_needs_conversion_and_why(monkeypatch):
    from scraper import convert

    monkeypatch.setattr(convert, "soffice", lambda: None)
    monkeypatch.setattr(convert, "_memo", convert._Memo())  # forget conversions done by earlier tests
    result = CliRunner().invoke(cli, ["parse", str(ATT / "merged-2021.doc"), "--json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    assert got["error"] == "needs_conversion"
    assert "conversion: LibreOffice (soffice) is not installed" in got["warnings"]
    assert any("convert it to docx with LibreOffice" in w for w in got["warnings"])  # what the user can do


@needs_soffice
def test_the_same_document_is_converted_once(monkeypatch):
    """A form linked from many pages starts LibreOffice once, also when asked at once."""
    from concurrent.futures import ThreadPoolExecutor

    from scraper import convert

    monkeypatch.setattr(convert, "_memo", convert._Memo())
    calls = []
    real = convert._convert
    monkeypatch.setattr(convert, "_convert", lambda data, form, timeout: calls.append(form) or real(data, form, timeout=timeout))
    data = (ATT / "merged-2021.doc").read_bytes()
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: convert.convert(data, "doc"), range(3)))
    assert len(calls) == 1
    assert len({r for r in results}) == 1 and results[0].startswith(b"PK")


@needs_soffice
def test_a_broken_ole2_file_is_flagged_without_starting_libreoffice(monkeypatch):
    """A file of zeros behind an OLE2 signature or a download cut in half: olefile cannot
    read its directory, LibreOffice could not either (it writes nothing for these), so it
    is not started; the cut that still holds the whole directory is converted as before."""
    from scraper import convert

    monkeypatch.setattr(convert, "_memo", convert._Memo())
    started = []
    real = convert._convert
    monkeypatch.setattr(convert, "_convert", lambda data, form, timeout: started.append(len(data)) or real(data, form, timeout=timeout))
    whole = (ATT / "merged-2021.doc").read_bytes()
    for broken in (whole[:8] + b"\0" * 504, whole[:len(whole) // 2], whole[:len(whole) - 512]):
        report = convert.parse(broken, url="http://example.test/zn.doc")
        assert not report.facts and report.error == "needs_conversion"
        assert any(w.startswith("conversion: ") and "OLE2" in w for w in report.warnings), report.warnings
        assert not any("convert it to" in w for w in report.warnings)  # that advice cannot help this file
    assert started == []
    report = convert.parse(whole[:len(whole) - 100], url="http://example.test/nb.doc")  # the tail is slack space
    assert started == [len(whole) - 100] and report.form == "doc"
    assert report.facts == EXPECTED["merged-2021.doc"]["facts"]
