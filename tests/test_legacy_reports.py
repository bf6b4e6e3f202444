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
