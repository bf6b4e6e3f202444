"""Tables published as pictures, read by OCR and guarded by the identities (issue 15).

The fixtures (fixtures/ocr/, written by fixtures/make_ocr.py) are two of our own report
fixtures rendered by chromium into PNG, JPEG (quality 65), a scan-like image-only PDF
turned by 0.5° and a report page whose tables are `<img>`s; the truth is each source
fixture's expected JSON.  Over all of them: at least 98 % of the non-zero cells right and
not one wrong number.  Tesseract is Debian's (`tesseract-ocr`, `tesseract-ocr-chi-sim`,
installed by .ci/run), and so are the CJK fonts the sign glyphs 增/减 are compared with
(`fonts-noto-cjk`): without them these tests fail, they are never skipped.
"""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import time

import pytest
from click.testing import CliRunner

from conftest import FIXTURES
from parsers import parse
from parsers.binary import binary_form
from parsers.mapping import Fact, Mapped
from scraper import pictures
from scraper.cli import cli

OCR = FIXTURES / "ocr"
SOURCES = ("linjiang-gov-2022", "qinghe-mzj-2020-header-breaks")
FORMS = {".png": "png-ocr", ".jpg": "jpeg-ocr", "-scan.pdf": "pdf-ocr", "-img.html": "html-ocr"}


@pytest.fixture(scope="module", autouse=True)
def tesseract():
    from parsers import ocr, ocr_sign

    try:
        ocr.tessdata()
    except ocr.OcrUnavailable as exc:
        pytest.fail(f"OCR tests need Debian's tesseract-ocr and tesseract-ocr-chi-sim (.ci/run installs them): {exc}")
    if not ocr_sign.references("增"):
        pytest.fail("OCR tests need Debian's fonts-noto-cjk (.ci/run installs it): no CJK font found")


def _expected(name: str) -> dict:
    return json.loads((OCR / f"{name}.expected.json").read_text(encoding="utf-8"))


def _parse(path):
    data = path.read_bytes()
    return pictures.parse(data, url=str(path), load=pictures.local_loader(path))


@pytest.fixture(scope="module")
def readings():
    """Every fixture document parsed once: {(name, suffix): (report, seconds)}."""
    out = {}
    for name in SOURCES:
        for suffix in FORMS:
            started = time.perf_counter()
            report = _parse(OCR / f"{name}{suffix}")
            out[(name, suffix)] = (report, time.perf_counter() - started)
    return out


def _signed(key: str, value) -> bool:
    """本年增/减 written 增N / 减N (make_reports.written_change): a sign glyph before the digits."""
    return key.endswith(".change") and bool(value)


def test_no_wrong_number_and_98_percent_of_nonzero_cells_right(readings):
    """Over all eight documents: not one wrong number, and at least 98 % of the non-zero
    cells right, the 16 written 增N (the 2019 本年增/减 column) among them (printed with -s)."""
    right = total = 0
    wrong, per_doc = [], []
    for (name, suffix), (report, seconds) in readings.items():
        truth = _expected(name)["facts"]
        assert report.error is None, (name, suffix, report.warnings)
        assert report.form == FORMS[suffix]
        assert report.version == _expected(name)["version"]
        for key, value in report.facts.items():
            if value is not None and value != truth.get(key):
                wrong.append(f"{name}{suffix} {key}: read {value}, truth {truth.get(key)}")
        doc_right = sum(report.facts.get(k) == v for k, v in truth.items() if v)
        total += sum(1 for v in truth.values() if v)
        right += doc_right
        per_doc.append(f"{name}{suffix}: {doc_right} right, {seconds:.1f} s")
    print(f"\nOCR: {right}/{total} non-zero cells right ({right / total:.1%}); {len(wrong)} wrong; "
          + "; ".join(per_doc))
    assert not wrong, wrong
    assert right / total >= 0.98, f"{right}/{total} non-zero cells right: " + "; ".join(per_doc)


def test_signed_change_cells_are_read_with_their_sign_by_glyph_comparison(readings):
    """增2 at 16 px, which tesseract reads 二2, 夫2, 321 or 二: the sign by glyph comparison,
    the digits right of it read twice; the cell mapped as written, its provenance says how."""
    for suffix in FORMS:
        report, _s = readings[("qinghe-mzj-2020-header-breaks", suffix)]
        signed = {k: v for k, v in _expected("qinghe-mzj-2020-header-breaks")["facts"].items() if _signed(k, v)}
        assert len(signed) == 4
        for key, value in signed.items():
            assert report.facts[key] == value, (suffix, key, report.warnings)
            prov = report.to_json(provenance=True)["provenance"][key]
            assert prov["raw"] == f"增{value}" and prov["source"] == "ocr" and prov["confidence"] >= 80, prov
            assert prov["sign"].startswith("增 by glyph comparison ("), prov


# --- the sign glyph: never another glyph taken for 增 or 减 ---------------------------------

def _drawn(text: str, face: tuple[str, int], px: int, jpeg: int | None = None):
    """`text` drawn at font size `px` and cut like a cell (`ocr._crop`: ink and 4 px)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(face[0], px, index=face[1])
    im = Image.new("L", (px * (len(text) + 2), px * 3), 255)
    ImageDraw.Draw(im).text((px // 2, px), text, font=font, fill=0)
    if jpeg:
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=jpeg)
        im = Image.open(buf).convert("L")
    a = np.asarray(im)
    ys, xs = np.nonzero(a < 128)
    return a[max(0, ys.min() - 4):ys.max() + 5, max(0, xs.min() - 4):xs.max() + 5]


def _faces() -> list[tuple[str, int]]:
    """The installed CJK faces in their Japanese and Chinese glyph forms."""
    from PIL import ImageFont

    from parsers import ocr_sign

    return [f for f in ocr_sign.font_faces() if ImageFont.truetype(f[0], 12, index=f[1]).getname()[0][-2:] in ("JP", "SC")]


# glyphs tesseract reads 增 as, glyphs sharing half of 增 or 减, words of the column, digits
OTHER_GLYPHS = ("二", "夫", "坊", "境", "埠", "坟", "无", "持平", "新增", "约", "憎", "堵", "僧", "赠", "咸", "碱", "喊",
                "冷", "决", "土", "曾", "一", "十", "00", "38", "66")


def test_no_other_glyph_is_taken_for_a_sign_and_the_signs_are_told_apart():
    """Measured over 12 faces (Sans/Serif, regular/bold, Japanese/Chinese/Hong Kong forms),
    13-56 px, plain and JPEG (issue 15): true signs score 0.745 or more, their other sign
    at most 0.42; no other glyph more than 0.685 (憎 at 13 px); the thresholds sit between
    (ocr_sign.ACCEPT 0.72, MARGIN 0.25).  Checked here at the smaller, closer sizes."""
    from parsers import ocr_sign

    worst_true, best_false = 1.0, ("", 0.0)
    for face in _faces():
        for px in (13, 17):
            for glyph in ocr_sign.SIGN_GLYPHS:
                for jpeg in (None, 60):
                    sign = ocr_sign.cjk_sign(_drawn(f"{glyph}12", face, px, jpeg))
                    assert sign.glyph == glyph and sign.clear, (glyph, face, px, jpeg, sign)
                    worst_true = min(worst_true, sign.score - ocr_sign.ACCEPT, sign.score - sign.other - ocr_sign.MARGIN)
            for other in OTHER_GLYPHS:
                sign = ocr_sign.cjk_sign(_drawn(f"{other}5", face, px))
                assert not sign.clear, (other, face, px, sign)
                if sign.score > best_false[1]:
                    best_false = (f"{other} {face[0].rsplit('/', 1)[-1]} {px}px", sign.score)
    print(f"\nsign glyphs: true at least {worst_true:.3f} over the thresholds; best other glyph {best_false}")


@pytest.mark.parametrize("text,cell", [("增2", "增2"), ("减3", "减3"), ("增12", "增12"), ("+2", "+2"), ("-3", "-3"),
                                       ("\u22123", "-3"), ("减少", None), ("增加", None), ("持平", None), ("无", None),
                                       ("二6", None), ("坊2", None), ("-", None), ("\u2014", None), ("16", None)])
def test_a_cell_is_read_signed_only_when_it_is(text, cell):
    """A signed cell gives its canonical form, for the mapping; a word, a dash or a plain
    number never gives a signed reading (减少's 减 is a sign glyph, but 少 is no number)."""
    from parsers import ocr

    for face in _faces()[::3]:  # Sans bold JP, Sans regular SC, Serif regular JP
        for px in (15, 24):
            img = _drawn(text, face, px)
            reading = ocr.read_cell(img, ocr.TEXT_PX / (img.shape[0] - 8), number=True)
            assert (reading.cell_text if reading.signed else None) == cell, (text, face, px, reading)


def test_a_rule_fragment_or_a_far_dash_is_no_minus():
    """A bit of ruling line above the digits, or a dash far left of them, is never a minus."""
    import numpy as np

    from parsers import ocr

    face = _faces()[0]
    img = _drawn("3", face, 24).copy()
    img = np.pad(img, ((0, 0), (24, 0)), constant_values=255)
    fragment = img.copy()
    fragment[4:6, 4:16] = 0  # level with the top of the digit
    far = np.pad(img, ((0, 0), (30, 0)), constant_values=255)
    far[img.shape[0] // 2:img.shape[0] // 2 + 2, 4:14] = 0  # a dash 40 px before the digit
    for case in (fragment, far):
        reading = ocr.read_cell(case, ocr.TEXT_PX / (case.shape[0] - 8), number=True)
        assert not reading.signed and reading.cell_text != "-3", reading


def test_without_a_cjk_font_signed_cells_stay_null_with_a_warning(monkeypatch):
    from parsers import ocr, ocr_sign

    def forget():
        ocr._memo.clear()
        ocr_sign.references.cache_clear()
        ocr_sign._template.cache_clear()

    monkeypatch.setattr(ocr_sign, "FONT_GLOBS", ())
    forget()
    try:
        report = _parse(OCR / "qinghe-mzj-2020-header-breaks.png")
    finally:
        monkeypatch.undo()
        forget()
    signed = [k for k, v in _expected("qinghe-mzj-2020-header-breaks")["facts"].items() if _signed(k, v)]
    assert all(report.facts[k] is None and any(w.startswith(f"{k}: ") for w in report.warnings) for k in signed)
    no_font = [k for k in signed if f"{k}: sign glyph not compared: no CJK font found (Debian fonts-noto-cjk)"
               in "\n".join(report.warnings)]
    assert len(no_font) >= 3, report.warnings  # the fourth is read 321, of too low a confidence


def test_facts_read_by_ocr_say_so_with_their_confidence(readings):
    report, _s = readings[("linjiang-gov-2022", ".png")]
    found = [f for f in report.found.values() if f.value is not None]
    assert found and all(f.source == "ocr" and 0 <= f.confidence <= 100 for f in found)
    prov = report.to_json(provenance=True)["provenance"]["applications.new_received.total"]
    assert prov["source"] == "ocr" and prov["confidence"] >= 60 and prov["raw"] == "204"


def test_every_null_number_says_why_quoting_the_ocr_text(readings):
    for (name, suffix), (report, _s) in readings.items():
        truth = _expected(name)["facts"]
        for key, value in truth.items():
            if value and report.facts.get(key) is None and key in report.found:
                assert any(w.startswith(key) for w in report.warnings), (name, suffix, key, report.warnings)


def test_a_page_with_table_pictures_keeps_its_metadata_and_sections(readings):
    report, _s = readings[("qinghe-mzj-2020-header-breaks", "-img.html")]
    exp = _expected("qinghe-mzj-2020-header-breaks")
    assert (report.title, report.agency, report.year, report.published) == (
        exp["title"], exp["agency"], exp["year"], exp["published"])
    assert set(exp["sections"]) <= set(report.sections)
    # without its pictures the same page is only flagged, naming them
    alone = parse((OCR / "qinghe-mzj-2020-header-breaks-img.html").read_bytes(), url="page.html")
    assert alone.error == "needs_ocr"
    assert alone.pictures == [f"qinghe-mzj-2020-header-breaks-img-{k}.png" for k in (1, 2, 3)]


def test_the_scan_is_straightened(readings):
    report, _s = readings[("linjiang-gov-2022", "-scan.pdf")]
    assert any("turned -0.4" in w or "turned -0.5" in w for w in report.warnings), report.warnings


def _mapped(values: dict[str, int]) -> tuple[Mapped, dict]:
    from parsers.ocr import Reading

    mapped, readings = Mapped(applications_layout="2021"), {}
    for k, (key, v) in enumerate(values.items()):
        mapped.facts[key] = Fact(key, v, str(v), 0, k, 1, key, "", "ocr")
        readings[(0, k, 1)] = Reading(str(v), 95.0, str(v), 95.0)
    return mapped, readings


def _appeals(review: list[int], direct: list[int]) -> dict[str, int]:
    cols = ("upheld", "corrected", "other", "pending", "total")
    return {**{f"appeals.review.{c}": v for c, v in zip(cols, review)},
            **{f"appeals.suit_direct.{c}": v for c, v in zip(cols, direct)}}


def test_guard_nulls_the_cell_that_breaks_an_identity_and_keeps_the_rest():
    from parsers.ocr_guard import guard

    mapped, readings = _mapped(_appeals([1, 2, 8, 0, 6], [0, 1, 0, 0, 1]))  # 8: a misread 3
    guard(mapped, readings)
    review = {k: f.value for k, f in mapped.facts.items() if ".review." in k}
    assert set(review.values()) == {None}  # nothing tells which one of the five is wrong
    assert [f.value for k, f in mapped.facts.items() if ".suit_direct." in k] == [0, 1, 0, 0, 1]
    assert any(w.startswith("appeals.review.other: breaks appeals.group_total review (OCR text '8')")
               for w in mapped.warnings), mapped.warnings


def test_guard_nulls_only_the_suspect_when_other_identities_confirm_the_rest():
    from parsers import templates as T
    from parsers.ocr_guard import guard

    cols = [c.key for c in T.APPLICATION_COLS]
    values = {}
    for row in T.APPLICATION_ROWS_2021:
        for c in cols:
            values[f"applications.{row}.{c}"] = 0
    for row, v in (("new_received", 3), ("granted", 3), ("total", 3)):
        values[f"applications.{row}.natural_person"] = v
        values[f"applications.{row}.total"] = v
    values["applications.granted.natural_person"] = 8  # misread: breaks its row and its column
    mapped, readings = _mapped(values)
    guard(mapped, readings)
    assert mapped.facts["applications.granted.natural_person"].value is None
    assert mapped.facts["applications.granted.total"].value == 3  # confirmed by its column
    assert mapped.facts["applications.total.natural_person"].value == 3
    assert sum(f.value is None for f in mapped.facts.values()) == 1


def test_guard_refuses_low_confidence_and_disagreeing_readings():
    from parsers.ocr import Reading
    from parsers.ocr_guard import guard

    mapped, readings = _mapped({"active.licensing.decisions": 1211, "active.punishment.decisions": 145,
                                "active.coercion.decisions": 6})
    readings[(0, 0, 1)] = Reading("1211", 70.0, "1211", 70.0)  # no identity: 80 needed
    readings[(0, 1, 1)] = Reading("146", 95.0, "145", 95.0)  # two readings, two numbers
    guard(mapped, readings)
    assert [f.value for f in mapped.facts.values()] == [None, None, 6]
    assert any("confidence 70" in w for w in mapped.warnings)
    assert any("readings disagree ('146', digits '145')" in w for w in mapped.warnings)


def test_guard_keeps_a_signed_number_only_with_a_clear_sign_and_sure_digits():
    from parsers.ocr import Reading
    from parsers.ocr_guard import guard
    from parsers.ocr_sign import Sign

    keys = ("active.licensing.change", "active.punishment.change", "active.coercion.change",
            "active.other_services.change")
    mapped = Mapped(applications_layout="2019")
    for k, (key, raw, value) in enumerate(zip(keys, ("减3", "增2", "3", "增6"), (-3, 2, 3, 6))):
        mapped.facts[key] = Fact(key, value, raw, 0, k, 2, key, "本年增/减", "ocr")
    clear = Sign("减", 0.86, 0.31, 15, "glyph comparison")
    readings = {
        (0, 0, 2): Reading("二3", 95.0, "3", 95.0, clear, "3"),  # clear sign, digits read twice
        (0, 1, 2): Reading("二2", 70.0, "2", 70.0, Sign("增", 0.85, 0.3, 15, "glyph comparison"), "2"),  # unsure digits
        (0, 2, 2): Reading("3", 96.0, "3", 96.0, Sign("减", 0.66, 0.3, 15, "glyph comparison")),  # a sign seen, unclear
        (0, 3, 2): Reading("二6", 95.0, "6", 95.0, Sign("增", 0.80, 0.7, 15, "glyph comparison"), "6"),  # too close
    }
    guard(mapped, readings)
    assert [mapped.facts[k].value for k in keys] == [-3, None, None, None]
    assert mapped.facts[keys[0]].provenance()["sign"] == "减 by glyph comparison (0.86; 增 0.31)"
    assert any(w.startswith(f"{keys[1]}: sign 增 by glyph comparison (0.85; 减 0.30), but the digits' OCR confidence 70")
               for w in mapped.warnings), mapped.warnings
    assert any(w.startswith(f"{keys[2]}: sign not read clearly: 减 by glyph comparison (0.66; 增 0.30) (OCR text '3')")
               for w in mapped.warnings), mapped.warnings
    assert any(w.startswith(f"{keys[3]}: sign not read clearly") for w in mapped.warnings), mapped.warnings


@pytest.mark.parametrize("fmt,form", [("GIF", "gif"), ("BMP", "bmp"), ("TIFF", "tiff"), ("PNG", "png"),
                                      ("JPEG", "jpeg")])
def test_picture_files_known_by_their_magic_bytes_and_read(fmt, form):
    from PIL import Image

    from parsers import ocr

    src = Image.open(OCR / "qinghe-mzj-2020-header-breaks-img-3.png")  # the appeals table
    buf = io.BytesIO()
    src.convert("RGB" if fmt == "JPEG" else src.mode).save(buf, fmt)
    data = buf.getvalue()
    assert binary_form(data, url="x.bin") == form
    got = ocr.image_content(data)
    values = [c.text for c in got.rows[-1].cells]  # the appeals table's row of 15 numbers
    truth = ["0", "2", "3", "1", "6", "2", "0", "0", "1", "3", "3", "3", "3", "0", "9"]
    if fmt == "JPEG":  # lossy: a cell may be unread, never read as another number
        assert len(values) == 15 and all(v == t or not v.isdigit() for v, t in zip(values, truth)), values
    else:
        assert values == truth, values


def test_text_starting_with_bm_is_no_bitmap():
    assert binary_form(b"BM is a text file", url="x.txt") is None


def test_pictures_inside_a_docx_are_read_with_its_text():
    import docx
    from docx.shared import Cm

    exp = _expected("qinghe-mzj-2020-header-breaks")
    d = docx.Document()
    d.add_paragraph(exp["title"])
    d.add_paragraph("发布日期：2021-01-25")
    for k in (1, 2, 3):
        d.add_picture(str(OCR / f"qinghe-mzj-2020-header-breaks-img-{k}.png"), width=Cm(15))
    buf = io.BytesIO()
    d.save(buf)
    report = parse(buf.getvalue(), url="report.docx")
    assert report.form == "docx-ocr" and report.title == exp["title"] and report.version == "2019"
    truth = exp["facts"]
    assert all(v == truth[k] for k, v in report.facts.items() if v is not None)
    assert sum(report.facts.get(k) == v for k, v in truth.items() if v) >= 0.9 * sum(1 for v in truth.values() if v)


def test_cli_parse_of_a_picture_prints_the_report_json():
    result = CliRunner().invoke(cli, ["parse", str(OCR / "linjiang-gov-2022.png"), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["form"] == "png-ocr" and out["version"] == "2021"
    assert out["facts"]["applications.new_received.total"] == 204
    assert set(out) >= {"source", "title", "facts", "checks", "sections", "warnings"}


def test_crawl_fetches_the_pictures_and_reads_the_page_with_them(tmp_path):
    from webserver import web

    name = "qinghe-mzj-2020-header-breaks"
    site = tmp_path / "site"
    (site / "mzj").mkdir(parents=True)
    exp = _expected(name)
    page = "/mzj/t20210125_1.html"
    shutil.copy(OCR / f"{name}-img.html", site / page.lstrip("/"))
    for k in (1, 2, 3):
        shutil.copy(OCR / f"{name}-img-{k}.png", site / "mzj" / f"{name}-img-{k}.png")
    (site / "mzj" / "index.html").write_text(
        f'<html><head><meta charset="utf-8"></head><body><ul><li><a href="{page}">{exp["title"]}</a></li></ul>'
        "</body></html>", encoding="utf-8")
    with web(site, {}) as (base, log):
        registry = tmp_path / "sites.toml"
        registry.write_text(f'[[site]]\nid = "qh-mzj"\nname = "{exp["agency"]}"\nregion = "清河县"\n'
                            f'level = "department"\nstart = ["{base}/mzj/index.html"]\ndelay = 0.01\n',
                            encoding="utf-8")
        db = tmp_path / "archive.db"
        result = CliRunner().invoke(cli, ["crawl", "--db", str(db), "--registry", str(registry)])
    assert result.exit_code == 0, result.output
    assert sum(entry[2].endswith(".png") for entry in log) == 3
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT id, form, title, source_url FROM reports WHERE current = 1").fetchall()
    assert len(rows) == 1 and rows[0][1:] == ("html-ocr", exp["title"], base + page), rows
    facts = dict(conn.execute("SELECT key, value FROM facts WHERE report_id = ?", [rows[0][0]]))
    # the same numbers as `xxgk parse` of the page beside its pictures
    direct = _parse(OCR / f"{name}-img.html")
    assert facts == direct.facts
    assert sum(v is not None for v in facts.values()) >= 150
    sources = {r[0] for r in conn.execute("SELECT source FROM fact_values WHERE report_id = ? AND value IS NOT NULL",
                                          [rows[0][0]])}
    assert sources == {"ocr"}
    roles = dict(conn.execute("SELECT role, count(*) FROM report_sources WHERE report_id = ? GROUP BY role",
                              [rows[0][0]]))
    assert roles == {"page": 1, "attachment": 3}
