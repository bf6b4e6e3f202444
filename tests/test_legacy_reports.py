"""Reports on 2008-2018 (the 2007 regulation): titles, sections, checks, classification
and the needs-OCR decision (report-format.md §2, §3.4, §5, §6).

The whole-page cases live in fixtures/reports/legacy-* (fixtures/make_legacy.py) and are
compared by tests/test_fixture_reports.py; here each rule is tested on its own.
"""

from __future__ import annotations

import pytest

from parsers.checks import complete, on_time, version_matches_year
from parsers.metadata import agency_from_title, find_year, is_report_title, kind_of
from parsers.record import Report
from parsers.sections import LEGACY_SECTION_KEYS, SECTION_KEYS, find_headings, split_sections

LEGACY_TITLES = [
    "临江市水利局2017年信息公开年度报告",
    "临江市水利局2017政府信息公开工作年度报告",
    "临江市水利局2017年度政府信息公开报告",
    "临江市水利局2017年政务信息公开报告",
    "临江市水利局2017年政府信息公开工作报告",
    "临江市水利局2017 年 政府信息公开 年度报告",
    "临江市水利局2017年政府信息公开年报",
]


@pytest.mark.parametrize("title", LEGACY_TITLES)
def test_every_legacy_title_form_names_a_report_with_its_year_and_agency(title):
    assert is_report_title(title)
    assert find_year(title, "", None) == (2017, "title")
    assert agency_from_title(title) == "临江市水利局"
    assert kind_of(agency_from_title(title)) == "agency"


@pytest.mark.parametrize("title", ["关于做好2015年政务公开工作的通知", "临江市2016年政府信息公开工作会议通知",
                                   "临江市水利局政府信息公开指南", "临江市水利局政府信息公开目录",
                                   "关于2014年政府信息公开工作要点落实情况的函", "临江市2017年政务公开工作要点"])
def test_non_reports_filed_in_the_column_are_not_report_titles(title):
    assert not is_report_title(title)


def test_a_whole_government_legacy_title():
    assert agency_from_title("南屏县2016年度政府信息公开工作报告") == "南屏县"
    assert kind_of("南屏县") == "government"


LEGACY_HEADINGS = ["一、概述", "二、主动公开政府信息的情况", "三、依申请公开政府信息和不予公开政府信息的情况",
                   "四、政府信息公开的收费及减免情况", "五、因政府信息公开申请行政复议、提起行政诉讼的情况",
                   "六、政府信息公开工作存在的主要问题及改进措施", "七、其他需要报告的事项"]


def test_the_seven_legacy_sections_are_found_with_their_text():
    lines = [x for h in LEGACY_HEADINGS for x in (h, f"{h[2:]}的正文。")]
    assert list(find_headings(lines)) == list(LEGACY_SECTION_KEYS)
    sections = split_sections(lines)
    assert sections["fees"] == "政府信息公开的收费及减免情况的正文。"
    assert sections["other"] == "其他需要报告的事项的正文。"


def test_arabic_numbered_legacy_and_modern_headings_each_keep_their_places():
    legacy = [f"{n}、{h[2:]}" for n, h in enumerate(LEGACY_HEADINGS, start=1)]
    assert list(find_headings(legacy)) == list(LEGACY_SECTION_KEYS)
    modern = ["1、总体情况", "2、主动公开政府信息情况", "3、收到和处理政府信息公开申请情况",
              "4、政府信息公开行政复议、行政诉讼情况", "5、存在的主要问题及改进情况", "6、其他需要报告的事项"]
    assert list(find_headings(modern)) == list(SECTION_KEYS)  # 4、 is appeals, never fees


def _report(**kw) -> Report:
    r = Report(source=None, **{k: v for k, v in kw.items() if k != "sections"})
    r.sections = kw.get("sections", {})
    return r


def test_legacy_reports_are_due_by_31_march_whatever_the_agency():
    assert on_time(_report(year=2017, published="2018-03-30", kind="agency", agency="临江市水利局")).ok is True
    assert on_time(_report(year=2017, published="2018-04-01", kind="agency", agency="临江市水利局")).ok is False
    assert on_time(_report(year=2016, published="2017-03-31", kind="government", agency="东湖区大桥镇")).ok is True
    # from 2019 the agency's deadline is 31 January again
    assert on_time(_report(year=2019, published="2020-03-30", kind="agency", agency="临江市水利局")).ok is False


def test_a_legacy_report_is_complete_with_its_seven_sections_and_no_cells():
    seven = {k: "…" for k in LEGACY_SECTION_KEYS}
    assert complete(_report(version="legacy", sections=seven)).ok is True
    six = {k: "…" for k in SECTION_KEYS}
    check = complete(_report(version="legacy", sections=six))
    assert check.ok is False and "fees" in check.detail


@pytest.mark.parametrize("version,year,ok", [("legacy", 2008, True), ("legacy", 2018, True), ("legacy", 2019, False),
                                             ("legacy", 2022, False), ("2019", 2018, False), ("2021", 2016, False),
                                             ("2019", 2019, True), ("2021", 2021, True)])
def test_version_matches_year_across_the_eras(version, year, ok):
    assert version_matches_year(_report(version=version, year=year)).ok is ok


# --- whole pages: classification, needs_ocr, era ----------------------------------------

import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import parsers  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "fixtures" / "reports"


def legacy_page(title: str = "临江市水利局2017年政府信息公开工作年度报告", *, where_tables: str = "",
                intro_extra: str = "", active: str = "全年主动公开各类信息，及时更新门户网站专栏。", chrome: str = "") -> bytes:
    """A small 2017 prose report: seven legacy headings, `where_tables` under 三、, page chrome."""
    texts = ["概述正文。", active, "依申请公开正文。" + where_tables, "未收取费用。", "未发生行政复议。", "问题与措施。", "无。"]
    body = "".join(f"<p>{h}</p><p>{t}</p>" for h, t in zip(LEGACY_HEADINGS, texts))
    return (f'<html><head><meta charset="utf-8"><title>{title}</title></head><body>'
            f'<div class="header"><img src="/images/logo.png" width="980" height="120"></div>'
            f"<h1>{title}</h1><p>发布日期：2018年03月20日</p><p>{intro_extra}</p>{body}"
            f"<p>临江市水利局</p><p>2018年3月20日</p>"
            f'<div class="share">分享到：<a href="#"><img src="/images/wx.png"></a></div>{chrome}'
            f'<div class="footer"><p>版权所有：临江市人民政府</p><img src="/images/dzjg.png"></div></body></html>').encode()


BIG = '<p><img src="/u/2018/tjb.jpg" width="620" height="880"></p>'


def test_a_prose_report_with_logo_share_icons_and_badges_is_a_legacy_report():
    report = parsers.parse(legacy_page())
    assert report.error is None and report.version == "legacy"
    assert report.facts == {} and set(report.sections) == set(LEGACY_SECTION_KEYS)


@pytest.mark.parametrize("picture", [BIG, '<p><img src="/u/2018/tjb.jpg"></p>',
                                     '<p><img src="/u/2018/tjb.jpg" style="width:640px"></p>'])
def test_a_large_or_unsized_picture_where_the_tables_belong_needs_ocr(picture):
    assert parsers.parse(legacy_page(where_tables=picture)).error == "needs_ocr"


@pytest.mark.parametrize("kw", [
    {"where_tables": '<p><img src="/u/2018/photo.jpg" width="120" height="90"></p>'},  # small
    {"where_tables": '<p><img src="/u/2018/ewm.jpg" width="400" height="400" alt="二维码"></p>'},  # a QR code
    {"where_tables": '<p><img src="/u/2018/banner.jpg" width="900" height="60"></p>'},  # a title strip
    {"intro_extra": '<img src="/u/2018/cover.jpg">'},  # unsized, before the headings
    {"chrome": f'<div class="bottom">{BIG}</div>'},  # in the page's footer block
    {"where_tables": '<p><a href="/u/2018/tjb.doc"><img src="/images/fujian_doc.gif"></a>附件</p>'},  # file icon
])
def test_logos_qr_codes_icons_and_chrome_pictures_never_need_ocr(kw):
    report = parsers.parse(legacy_page(**kw))
    assert report.error is None and report.version == "legacy"


def test_a_picture_beside_figures_stated_in_the_text_is_not_ocr_work():
    report = parsers.parse(legacy_page(where_tables=BIG, active="2017年，主动公开政府信息数135条。"))
    assert report.error is None and report.version == "legacy"
    assert report.facts == {"legacy.active_total.year": 135}
    assert report.found["legacy.active_total.year"].source == "prose"


@pytest.mark.parametrize("title", ["关于做好2015年政务公开工作的通知", "临江市水利局政府信息公开指南",
                                   "临江市2016年政府信息公开工作会议通知"])
def test_a_page_in_the_column_that_is_not_a_report_stays_not_a_report(title):
    report = parsers.parse(legacy_page(title))
    assert report.error == "not an annual report"


def test_a_2019_prose_page_without_tables_is_no_legacy_report_by_its_year():
    page = legacy_page("临江市水利局2019年政府信息公开工作年度报告").replace("四、政府信息公开的收费及减免情况".encode(), b"")
    report = parsers.parse(page.replace("五、因政府".encode(), "四、因政府".encode()))
    # still titled with six sections: a report, but its version check fails (the tables are missing)
    assert report.version == "legacy"
    assert {c.rule: c.ok for c in report.checks}["report.version_matches_year"] is False


def test_the_provincial_table_gives_only_legacy_keys():
    doc = REPORTS / "legacy-nanping-gov-2014-provincial.html"
    report = parsers.parse(doc.read_bytes())
    assert report.version == "legacy"
    assert report.facts and all(k.startswith("legacy.") for k in report.facts)
    assert report.facts["legacy.answers_partly_granted.year"] is not None
    assert not any("partly_granted" in w and "applications" in w for w in report.warnings)


def test_modern_tables_keep_their_version_on_a_legacy_year():
    page = (REPORTS / "linjiang-gov-2022.html").read_bytes().replace("2022年".encode(), "2018年".encode())
    report = parsers.parse(page)
    assert report.year == 2018 and report.version == "2021"
    assert report.facts["applications.new_received.total"] is not None
    assert {c.rule: c.ok for c in report.checks}["report.version_matches_year"] is False


def test_xxgk_parse_json_prints_legacy_facts():
    doc = REPORTS / "legacy-donghu-gov-2016-national.html"
    want = json.loads(doc.with_suffix(".expected.json").read_text(encoding="utf-8"))
    proc = subprocess.run([sys.executable, "-m", "scraper", "parse", str(doc.relative_to(ROOT)), "--json", "--provenance"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["version"] == "legacy" and out["year"] == 2016 and out["agency"] == "东湖区人民政府"
    assert out["facts"] == want["facts"] and len(out["facts"]) >= 60
    # the same label, 被依法纠错数, under 行政复议数量 and under 行政诉讼数量: two rows, two keys
    review, suit = (out["provenance"][f"legacy.{k}_corrected.year"] for k in ("reviews", "suits"))
    assert "被依法纠错数" in review["row_label"] and "被依法纠错数" in suit["row_label"] and review["row"] < suit["row"]
    assert review["unit"] == "件" and out["provenance"]["legacy.budget.year"]["unit"] == "万元"
    assert set(out["sections"]) == set(LEGACY_SECTION_KEYS)
    assert {c["rule"] for c in out["checks"]} >= {"report.on_time", "report.complete", "report.version_matches_year"}
