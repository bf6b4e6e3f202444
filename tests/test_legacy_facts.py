"""Legacy (2008-2018) figures: the statistics table in every layout, prose, legacy.sums.

Every document here is written for the test (fictional 临江市, 东湖区, 南屏县 bodies) and
read through the real readers (`html_grid` + `html_text` for pages, `text_rows` for
flattened text); every expected number is the one written in the document above it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from parsers.checks import legacy_sums, run_checks
from parsers.decode import decode
from parsers.html_grid import document_tables, parse_html
from parsers.html_text import html_lines
from parsers.legacy import LegacyRead, read_legacy
from parsers.record import Report
from parsers.text_rows import text_rows

REPORTS = Path(__file__).resolve().parent.parent / "fixtures" / "reports"


def read_html(body: str) -> LegacyRead:
    doc = parse_html(f"<html><body>{body}</body></html>")
    tables = document_tables(doc)
    rows = [row for _table, table_rows in tables for row in table_rows]
    return read_legacy(rows, html_lines(doc, tables))


def read_text(text: str) -> LegacyRead:
    return read_legacy(text_rows(text), text.splitlines())


def values(read: LegacyRead, source: str | None = None) -> dict:
    return {k: f.value for k, f in read.facts.items() if source is None or f.source == source}


def tr(*cells: str) -> str:
    return "<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in cells) + "</tr>"


# --- the national list: 指标 / 单位 / 统计数 ----------------------------------------------

NATIONAL = "<p>临江市民政局2016年政府信息公开情况统计表</p><table>" + "".join([
    tr("统计指标", "单位", "统计数"),
    tr('<td colspan="1">一、主动公开情况</td>', "", ""),
    tr("（一）主动公开政府信息数（不同渠道和方式公开相同信息计1条）", "条", "135"),
    tr("其中：主动公开规范性文件数", "条", "6"),
    tr("制发规范性文件总数", "件", "7"),
    tr("（二）通过不同渠道和方式公开政府信息的情况", "", ""),
    tr("1.政府公报公开政府信息数", "条", "12"),
    tr("2.政府网站公开政府信息数", "条", "50"),
    tr("3.政务微博公开政府信息数", "条", "40"),
    tr("4.政务微信公开政府信息数", "条", "30"),
    tr("5.其他方式公开政府信息数", "条", "3"),
    tr("二、回应解读情况", "", ""),
    tr("（一）回应公众关注热点或重大舆情数（不含网络等方式回应）", "次", "4"),
    tr("1.参加或举办新闻发布会总次数", "次", "5"),
    tr("其中：主要负责同志参加新闻发布会次数", "次", "2"),
    tr("2.政府网站在线访谈次数", "次", "3"),
    tr("其中：主要负责同志参加政府网站在线访谈次数", "次", "1"),
    tr("3.政策解读稿件发布数", "篇", "9"),
    tr("三、依申请公开情况", "", ""),
    tr("（一）收到申请数", "件", "21"),
    tr("1.当面申请数", "件", "5"),
    tr("2.传真申请数", "件", "1"),
    tr("3.网络申请数", "件", "12"),
    tr("4.信函申请数", "件", "3"),
    tr("（二）申请办结数", "件", "20"),
    tr("1.按时办结数", "件", "19"),
    tr("2.延期办结数", "件", "1"),
    tr("（三）申请答复数", "件", "20"),
    tr("1.属于已主动公开范围数", "件", "4"),
    tr("2.同意公开答复数", "件", "8"),
    tr("3.同意部分公开答复数", "件", "2"),
    tr("4.不同意公开答复数", "件", "3"),
    tr("其中：涉及国家秘密", "件", "1"),
    tr("涉及商业秘密", "件", "0"),
    tr("涉及个人隐私", "件", "1"),
    tr("危及国家安全、公共安全、经济安全和社会稳定", "件", "0"),
    tr("不是《条例》所指政府信息", "件", "1"),
    tr("法律法规规定的其他情形", "件", "0"),
    tr("5.不属于本行政机关公开数", "件", "1"),
    tr("6.申请信息不存在数", "件", "1"),
    tr("7.告知作出更改补充数", "件", "0"),
    tr("8.告知通过其他途径办理数", "件", "1"),
    tr("四、行政复议数量", "件", "3"),
    tr("1.维持具体行政行为数", "件", "2"),
    tr("2.被依法纠错数", "件", "1"),
    tr("3.其他情形数", "件", "0"),
    tr("五、行政诉讼数量", "件", "2"),
    tr("1.维持具体行政行为或者驳回原告诉讼请求数", "件", "1"),
    tr("2.被依法纠错数", "件", "0"),
    tr("3.其他情形数", "件", "1"),
    tr("六、举报投诉数量", "件", "1"),
    tr("1.维持具体行政行为数", "件", "0"),
    tr("2.被纠错数", "件", "1"),
    tr("3.其他情形数", "件", "—"),
    tr("七、依申请公开信息收取的费用", "万元", "0.02"),
    tr("八、机构建设和保障经费情况", "", ""),
    tr("1.政府信息公开工作专门机构数", "个", "1"),
    tr("2.设置政府信息公开查阅点数", "个", "2"),
    tr("3.从事政府信息公开工作人员数", "人", "5"),
    tr("其中：1.专职人员数（不包括政府公报及政府网站工作人员数）", "人", "2"),
    tr("兼职人员数", "人", "3"),
    tr("4.政府信息公开专项经费（不包括用于政府公报编辑管理及政府网站建设维护等方面的经费）", "万元", "3.5"),
    tr("九、政府信息公开会议和培训情况", "", ""),
    tr("1.召开政府信息公开工作会议或专题会议数", "次", "2"),
    tr("2.举办各类培训班数", "次", "1"),
    tr("3.接受培训人员数", "人次", "40"),
]) + "</table>"


def test_national_list_every_row_under_its_key():
    read = read_html(NATIONAL)
    assert values(read) == {
        "legacy.active_total.year": 135, "legacy.active_normative_docs.year": 6,
        "legacy.normative_docs_made.year": 7, "legacy.via_gazette.year": 12, "legacy.via_website.year": 50,
        "legacy.via_weibo.year": 40, "legacy.via_weixin.year": 30, "legacy.via_other.year": 3,
        "legacy.hotspot_responses.year": 4, "legacy.press_conferences.year": 5,
        "legacy.press_conferences_heads.year": 2, "legacy.online_interviews.year": 3,
        "legacy.online_interviews_heads.year": 1, "legacy.interpretations.year": 9,
        "legacy.requests_received.year": 21, "legacy.requests_in_person.year": 5, "legacy.requests_fax.year": 1,
        "legacy.requests_online.year": 12, "legacy.requests_letter.year": 3, "legacy.requests_closed.year": 20,
        "legacy.requests_closed_on_time.year": 19, "legacy.requests_closed_extended.year": 1,
        "legacy.answers_total.year": 20, "legacy.answers_already_public.year": 4,
        "legacy.answers_granted.year": 8, "legacy.answers_partly_granted.year": 2,
        "legacy.answers_refused.year": 3, "legacy.refused_state_secret.year": 1,
        "legacy.refused_commercial_secret.year": 0, "legacy.refused_privacy.year": 1,
        "legacy.refused_security.year": 0, "legacy.refused_not_gov_info.year": 1,
        "legacy.refused_other_law.year": 0, "legacy.answers_not_this_agency.year": 1,
        "legacy.answers_not_exist.year": 1, "legacy.answers_amend.year": 0,
        "legacy.answers_other_channel.year": 1,
        "legacy.reviews.year": 3, "legacy.reviews_upheld.year": 2, "legacy.reviews_corrected.year": 1,
        "legacy.reviews_other.year": 0, "legacy.suits.year": 2, "legacy.suits_upheld.year": 1,
        "legacy.suits_corrected.year": 0, "legacy.suits_other.year": 1, "legacy.complaints.year": 1,
        "legacy.complaints_upheld.year": 0, "legacy.complaints_corrected.year": 1,
        "legacy.complaints_other.year": None,
        "legacy.fees.year": 0.02, "legacy.units.year": 1, "legacy.reading_points.year": 2,
        "legacy.staff.year": 5, "legacy.staff_full_time.year": 2, "legacy.staff_part_time.year": 3,
        "legacy.budget.year": 3.5, "legacy.meetings.year": 2, "legacy.trainings.year": 1,
        "legacy.trainees.year": 40,
    }
    assert read.table_found and read.indicators == 59
    assert read.warnings == []


def test_national_list_keeps_unit_and_provenance():
    read = read_html(NATIONAL)
    fees = read.facts["legacy.fees.year"]
    assert (fees.unit, fees.raw, fees.row_label, fees.col_label, fees.source) == (
        "万元", "0.02", "七、依申请公开信息收取的费用", "统计数", "table")
    assert read.facts["legacy.trainees.year"].unit == "人次"
    assert read.facts["legacy.interpretations.year"].unit == "篇"
    corrected = read.facts["legacy.suits_corrected.year"]
    assert (corrected.table, corrected.row, corrected.col, corrected.row_label) == (0, 48, 2, "2.被依法纠错数")
    assert corrected.provenance() == {"raw": "0", "table": 0, "row": 48, "col": 2, "row_label": "2.被依法纠错数",
                                      "col_label": "统计数", "form": "html", "unit": "件"}


# --- provincial short labels with 历年累计 -------------------------------------------------

PROVINCIAL = "<table>" + "".join([
    tr("指标名称", "计量单位", "本年度", "历年累计"),
    tr("主动公开文件数", "件", "88", "1,204"),
    tr("网上申请数", "件", "6", "41"),
    tr("当面申请数", "件", "2", "15"),
    tr("信函、传真申请数", "件", "1", "9"),
    tr("申请总数", "件", "9", "65"),
    tr("2.同意部分公开答复数", "件", "1", "3"),
    tr("同意公开答复数", "件", "5", "48"),
    tr("不予公开答复数", "件", "1", "4"),
    tr("其他类型答复数", "件", "2", "10"),
    tr("行政复议数", "件", "0", "2"),
    tr("接受行政诉讼、举报数", "件", "", "1"),
]) + "</table>"


def test_provincial_short_labels_and_running_totals():
    read = read_html(PROVINCIAL)
    assert values(read) == {
        "legacy.active_total.year": 88, "legacy.active_total.cumulative": 1204,
        "legacy.requests_online.year": 6, "legacy.requests_online.cumulative": 41,
        "legacy.requests_in_person.year": 2, "legacy.requests_in_person.cumulative": 15,
        "legacy.requests_letter_fax.year": 1, "legacy.requests_letter_fax.cumulative": 9,
        "legacy.requests_received.year": 9, "legacy.requests_received.cumulative": 65,
        "legacy.answers_partly_granted.year": 1, "legacy.answers_partly_granted.cumulative": 3,
        "legacy.answers_granted.year": 5, "legacy.answers_granted.cumulative": 48,
        "legacy.answers_refused.year": 1, "legacy.answers_refused.cumulative": 4,
        "legacy.answers_other.year": 2, "legacy.answers_other.cumulative": 10,
        "legacy.reviews.year": 0, "legacy.reviews.cumulative": 2,
        "legacy.suits_and_complaints.year": None, "legacy.suits_and_complaints.cumulative": 1,
    }
    assert read.facts["legacy.active_total.cumulative"].col_label == "历年累计"
    assert read.facts["legacy.active_total.year"].unit == "件"


def test_partly_granted_row_is_never_a_modern_key():
    read = read_html(PROVINCIAL)
    fact = read.facts["legacy.answers_partly_granted.year"]
    assert (fact.value, fact.row_label) == (1, "2.同意部分公开答复数")
    assert not any(k.startswith(("applications.", "active.", "appeals.")) for k in read.facts)


@pytest.mark.parametrize("header, year_label, cum_label", [
    (("统计指标", "计量单位", "数量", "累计"), "数量", "累计"),
    (("指 标", "单 位", "2017年度", "历年累计"), "2017年度", "历年累计"),
    (("项目", "单位", "本年", "累计数"), "本年", "累计数"),
])
def test_column_roles_from_header_labels(header, year_label, cum_label):
    read = read_html("<table>" + tr(*header) + tr("行政诉讼数量", "件", "4", "11") + "</table>")
    assert values(read) == {"legacy.suits.year": 4, "legacy.suits.cumulative": 11}
    assert read.facts["legacy.suits.year"].col_label == year_label
    assert read.facts["legacy.suits.cumulative"].col_label == cum_label


def test_cumulative_column_first():
    read = read_html("<table>" + tr("指标", "历年累计", "本年度") + tr("行政复议数量", "9", "2") + "</table>")
    assert values(read) == {"legacy.reviews.year": 2, "legacy.reviews.cumulative": 9}


def test_table_split_in_two_continues_with_the_first_header():
    first = "<table>" + tr("指标名称", "计量单位", "本年度", "历年累计") + tr("主动公开信息数", "条", "70", "400") + "</table>"
    second = "<p>（续表）</p><table>" + tr("行政复议数量", "件", "1", "6") + tr("被依法纠错数", "件", "0", "2") + "</table>"
    read = read_html(first + second)
    assert values(read) == {
        "legacy.active_total.year": 70, "legacy.active_total.cumulative": 400,
        "legacy.reviews.year": 1, "legacy.reviews.cumulative": 6,
        "legacy.reviews_corrected.year": 0, "legacy.reviews_corrected.cumulative": 2,
    }
    assert read.facts["legacy.reviews.cumulative"].table == 1


def test_no_header_label_and_one_number_is_the_year():
    read = read_html("<table>" + tr("主动公开政府信息数", "条", "35") + tr("收到申请数", "6") + tr("行政复议数量", "0")
                     + "</table>")
    assert values(read) == {"legacy.active_total.year": 35, "legacy.requests_received.year": 6,
                            "legacy.reviews.year": 0}
    assert read.facts["legacy.active_total.year"].unit == "条"
    assert read.table_found


def test_no_header_two_numbers_are_not_guessed():
    read = read_html("<table>" + tr("收到申请数", "件", "6", "40") + "</table>")
    assert values(read) == {}
    assert any("legacy.requests_received" in w and "6 40" in w for w in read.warnings)


def test_numbered_labels_split_over_cells_and_units_in_labels():
    read = read_html("<table>" + "".join([
        tr('<td colspan="2">指标</td>', "单位", "统计数"),
        tr('<td rowspan="3">八、机构建设和保障经费情况</td><td>1.政府信息公开工作专门机构数</td>', "个", "1"),
        tr("（1）从事政府信息公开工作人员数", "人", "4"),
        tr("政府信息公开专项经费（万元）", "", "2.75"),
    ]) + "</table>")
    assert values(read) == {"legacy.units.year": 1, "legacy.staff.year": 4, "legacy.budget.year": 2.75}
    assert read.facts["legacy.budget.year"].unit == "万元"
    assert read.facts["legacy.staff.year"].row_label == "（1）从事政府信息公开工作人员数"


# --- sub-rows and their parents ------------------------------------------------------

def test_sub_row_without_parent_is_not_read():
    read = read_html("<table>" + tr("指标", "单位", "统计数") + tr("七、依申请公开信息收取的费用", "元", "0")
                     + tr("被依法纠错数", "件", "1") + tr("其中：涉及国家秘密", "件", "2") + "</table>")
    assert values(read) == {"legacy.fees.year": 0}
    assert read.facts["legacy.fees.year"].unit == "元"
    assert sum("has no parent row above" in w for w in read.warnings) == 2
    assert any("'被依法纠错数'" in w and "1" in w for w in read.warnings)


def test_sub_rows_follow_the_nearest_parent():
    read = read_html("<table>" + "".join([
        tr("指标", "单位", "统计数"),
        tr("举报投诉数量", "件", "2"), tr("被依法纠错数", "件", "1"),
        tr("行政复议数量", "件", "4"), tr("其他情形数", "件", "3"),
        tr("不同意公开答复数", "件", "5"), tr("其中：涉及个人隐私", "件", "5"),
    ]) + "</table>")
    assert values(read) == {"legacy.complaints.year": 2, "legacy.complaints_corrected.year": 1,
                            "legacy.reviews.year": 4, "legacy.reviews_other.year": 3,
                            "legacy.answers_refused.year": 5, "legacy.refused_privacy.year": 5}


# --- values -------------------------------------------------------------------------

def test_values_blank_dash_none_and_several_numbers():
    read = read_html("<table>" + "".join([
        tr("指标名称", "计量单位", "本年度", "历年累计"),
        tr("行政复议数量", "件", "&nbsp;", "无"),
        tr("行政诉讼数量", "件", "1 2", "3"),
        tr("政策解读稿件发布数", "", "12篇", "—"),
        tr("依申请公开信息收取的费用", "元", "251.50", "/"),
    ]) + "</table>")
    assert values(read) == {
        "legacy.reviews.year": None, "legacy.reviews.cumulative": None,
        "legacy.suits.year": None, "legacy.suits.cumulative": 3,
        "legacy.interpretations.year": 12, "legacy.interpretations.cumulative": None,
        "legacy.fees.year": 251.5, "legacy.fees.cumulative": None,
    }
    assert read.facts["legacy.interpretations.year"].unit == "篇"
    assert read.facts["legacy.fees.year"].unit == "元"
    assert any(w.startswith("legacy.suits.year") and "1 2" in w for w in read.warnings)
    assert read.table_found  # suits, interpretations and fees have numbers


# --- text rows ----------------------------------------------------------------------

TEXT_TABLE = """东湖区教育局2015年政府信息公开情况统计表
指标名称 计量单位 本年度 历年累计
一、主动公开政府信息数 条 210 1,800
其中： 主动公开规范性文件数 条 4 31
二、受理政府信息公开申请数 件 14 90
| 1.当面申请数 | 件 | 3 | 20 |
| 2.网络申请数 | 件 | 11 | — |
三、行政复议数 件 1
"""


def test_text_rows_with_header():
    read = read_text(TEXT_TABLE)
    assert values(read) == {
        "legacy.active_total.year": 210, "legacy.active_total.cumulative": 1800,
        "legacy.active_normative_docs.year": 4, "legacy.active_normative_docs.cumulative": 31,
        "legacy.requests_received.year": 14, "legacy.requests_received.cumulative": 90,
        "legacy.requests_in_person.year": 3, "legacy.requests_in_person.cumulative": 20,
        "legacy.requests_online.year": 11, "legacy.requests_online.cumulative": None,
    }
    assert read.facts["legacy.requests_in_person.year"].form == "text"
    assert read.facts["legacy.active_total.year"].row == 2
    assert any(w.startswith("legacy.reviews:") and "1 cells for 2 columns" in w for w in read.warnings)


def test_text_rows_without_header():
    read = read_text("行政复议数 件 2\n行政诉讼数 件 1\n举报投诉数量 0\n")
    assert values(read) == {"legacy.reviews.year": 2, "legacy.suits.year": 1, "legacy.complaints.year": 0}
    assert read.table_found


# --- prose --------------------------------------------------------------------------

PROSE = """临江市农业局2017年政府信息公开工作年度报告
一、概述
2017年，主动公开政府信息数135条，其中政府网站公开政府信息数50条。
二、依申请公开政府信息情况
全年共受理政府信息公开申请12件，其中当面申请3件、网络申请9件。
三、因政府信息公开申请行政复议、提起行政诉讼的情况
本年度行政复议1起，未发生行政诉讼。
四、政府信息公开的收费及减免情况
收取费用0元。
"""


def test_prose_figures():
    read = read_text(PROSE)
    assert values(read) == {
        "legacy.active_total.year": 135, "legacy.via_website.year": 50,
        "legacy.requests_received.year": 12, "legacy.requests_in_person.year": 3,
        "legacy.requests_online.year": 9, "legacy.reviews.year": 1, "legacy.fees.year": 0,
    }
    fact = read.facts["legacy.via_website.year"]
    assert (fact.source, fact.raw, fact.table, fact.row, fact.row_label, fact.unit) == (
        "prose", "其中政府网站公开政府信息数50条", -1, 2, "政府网站公开政府信息数", "条")
    assert read.facts["legacy.fees.year"].unit == "元"
    assert read.facts["legacy.active_total.year"].provenance()["source"] == "prose"
    assert "legacy.suits.year" not in read.facts  # 未发生行政诉讼: no number written, no fact
    assert not read.table_found and read.indicators == 0


@pytest.mark.parametrize("sentence, key", [
    ("主动公开政府信息同比增长15%。", "legacy.active_total.year"),
    ("截至2017年12月31日，累计主动公开政府信息1200条。", "legacy.active_total.year"),
    ("主动公开政府信息135条比上年的120条", "legacy.active_total.year"),
    ("收到当面、网络申请共12件。", "legacy.requests_online.year"),
    ("行政复议和行政诉讼各1起。", "legacy.reviews.year"),
    ("第3次召开新闻发布会", "legacy.press_conferences.year"),
])
def test_ambiguous_prose_gives_no_fact_but_a_warning(sentence, key):
    read = read_text(f"一、概述\n{sentence}\n")
    assert values(read) == {}
    assert any(w.startswith(key) and "text not read" in w for w in read.warnings)


@pytest.mark.parametrize("sentence", ["未发生行政复议和行政诉讼。", "本年度未收取任何费用。", "2017年召开新闻发布会"])
def test_prose_without_a_figure_gives_nothing(sentence):
    assert values(read_text(f"一、概述\n{sentence}\n")) == {}


def test_table_wins_over_prose_and_a_disagreement_is_a_warning():
    page = ("<p>2016年，共受理政府信息公开申请22件，行政复议2起，举报投诉1件。</p>" + NATIONAL)
    read = read_html(page)
    assert read.facts["legacy.requests_received.year"].value == 21
    assert read.facts["legacy.requests_received.year"].source == "table"
    assert "legacy.requests_received.year: the text says 22, the table 21 (table kept)" in read.warnings
    assert read.facts["legacy.reviews.year"].value == 3
    assert "legacy.reviews.year: the text says 2, the table 3 (table kept)" in read.warnings
    assert not any(w.startswith("legacy.complaints.year") for w in read.warnings)  # they agree


def test_prose_fills_keys_the_table_does_not_give():
    read = read_html("<p>本年度行政诉讼2起。</p><table>" + tr("指标", "单位", "本年度") + tr("行政复议数量", "件", "1")
                     + tr("行政诉讼数量", "件", "") + "</table>")
    assert values(read, "table") == {"legacy.reviews.year": 1}
    assert values(read, "prose") == {"legacy.suits.year": 2}
    assert any(w.startswith("legacy.suits.year: the table cell is blank") for w in read.warnings)


# --- modern reports are never read as legacy ----------------------------------------

@pytest.mark.parametrize("name", ["hanzhong-mzj-2020.txt", "linjiang-gov-2022.html", "nanping-gov-2021-mixed.html",
                                  "donghu-tjj-2021-space.txt", "xilin-gov-2021-glued.txt"])
def test_modern_tables_give_no_legacy_table_rows(name):
    data = (REPORTS / name).read_bytes()
    text = decode(data, None).text
    if name.endswith(".html"):
        read = read_html(text)
    else:
        read = read_text(text)
    assert read.indicators == 0 and not read.table_found
    assert values(read, "table") == {}


def test_never_raises_on_odd_rows():
    from parsers.cells import Cell, Row
    rows = [Row([]), Row([Cell("", 0, 0, 0)]), Row([Cell("行政复议数", 0, 1, 0, 0)], "pdf")]
    assert isinstance(read_legacy(rows, ["", "行政复议", "|||"]), LegacyRead)


# --- legacy.sums --------------------------------------------------------------------

def _report(facts: dict, version: str = "legacy") -> Report:
    return Report(source="x", version=version, facts=facts)


def test_sums_ok_on_the_national_list():
    facts = values(read_html(NATIONAL))
    check = legacy_sums(_report(facts))
    # received 5+1+12+3=21, answers 4+8+2+3+1+1+0+1=20, reasons 1+0+1+0+1+0=3, reviews 2+1+0=3,
    # suits 1+0+1=2, staff 2+3=5; complaints: its 其他情形数 is blank, not checked
    assert (check.rule, check.ok, check.detail) == ("legacy.sums", True, "6 checked")


def test_sums_failed_names_the_total_and_column():
    facts = values(read_html(PROVINCIAL))
    facts["legacy.requests_received.cumulative"] = 66
    check = legacy_sums(_report(facts))
    # year: 2+6+1=9 ok; answers 5+1+1+2=9 vs no answers_total: not checked
    assert check.ok is False
    assert check.detail == "requests_received.cumulative: 15+41+9 != 66"


def test_sums_with_the_short_answer_form_and_an_extra_answer_row():
    facts = {"legacy.answers_total.year": 10, "legacy.answers_granted.year": 5,
             "legacy.answers_partly_granted.year": 1, "legacy.answers_refused.year": 1,
             "legacy.answers_other.year": 2, "legacy.answers_not_exist.year": 1}
    assert legacy_sums(_report(facts)).ok is True
    facts["legacy.answers_not_exist.year"] = 2
    assert legacy_sums(_report(facts)).detail == "answers_total.year: 5+1+1+2+2 != 10"


@pytest.mark.parametrize("facts", [
    {},
    {"legacy.requests_received.year": 9, "legacy.requests_online.year": 6, "legacy.requests_in_person.year": 2},
    {"legacy.staff.year": 5, "legacy.staff_full_time.year": 2, "legacy.staff_part_time.year": None},
    {"legacy.reviews.year": None, "legacy.reviews_upheld.year": 1, "legacy.reviews_corrected.year": 0,
     "legacy.reviews_other.year": 0},
])
def test_sums_skipped_when_a_part_is_missing_or_null(facts):
    check = legacy_sums(_report(facts))
    assert check.ok is None and check.detail.startswith("skipped")


def test_sums_only_for_legacy_reports():
    assert "legacy.sums" not in {c.rule for c in run_checks(_report({}, version="2021"))}
    assert "legacy.sums" in {c.rule for c in run_checks(_report({}))}


# --- more layouts -------------------------------------------------------------------

def test_list_drawn_side_by_side():
    read = read_html("<table>" + "".join([
        tr("指标", "单位", "统计数", "指标", "单位", "统计数"),
        tr("主动公开政府信息数", "条", "64", "行政复议数量", "件", "2"),
        tr("收到申请数", "件", "7", "被依法纠错数", "件", "1"),
        tr("1.当面申请数", "件", "4", "行政诉讼数量", "件", "0"),
        tr("2.网络申请数", "件", "3", "被依法纠错数", "件", "0"),
    ]) + "</table>")
    assert values(read) == {
        "legacy.active_total.year": 64, "legacy.reviews.year": 2, "legacy.requests_received.year": 7,
        "legacy.reviews_corrected.year": 1, "legacy.requests_in_person.year": 4, "legacy.suits.year": 0,
        "legacy.requests_online.year": 3, "legacy.suits_corrected.year": 0,
    }
    assert read.facts["legacy.suits_corrected.year"].col == 5


def test_two_year_columns_are_not_guessed():
    read = read_html("<table>" + tr("指标名称", "计量单位", "2017年", "2016年") + tr("行政复议数量", "件", "3", "1") + "</table>")
    assert values(read) == {}
    assert "legacy.reviews: numbers outside the value columns: 3 under 2017年, 1 under 2016年; values left null" \
        in read.warnings


def test_note_column_and_unit_in_header():
    read = read_html("<table>" + tr("序号", "指标", "本年度（件）", "备注") + tr("1", "收到申请数", "9", "含转办2件")
                     + tr("2", "申请办结数", "9", "") + "</table>")
    assert values(read) == {"legacy.requests_received.year": 9, "legacy.requests_closed.year": 9}


def test_prose_thousands_and_item_numbers():
    read = read_text("二、主动公开情况\n1.全年主动公开政府信息数1,204条，其中通过政府网站主动公开政府信息980条。\n")
    assert values(read) == {"legacy.active_total.year": 1204, "legacy.via_website.year": 980}
    assert read.facts["legacy.via_website.year"].row_label == "通过政府网站主动公开政府信息"


def test_a_row_without_its_unit_cell_is_not_read():
    read = read_html("<table>" + tr("指标", "单位", "本年度") + tr("收到申请数", "12") + tr("申请办结数", "件", "11")
                     + "</table>")
    assert values(read) == {"legacy.requests_closed.year": 11}
    assert "legacy.requests_received: numbers outside the value columns: 12 under 单位; values left null" \
        in read.warnings


def test_an_unknown_heading_ends_the_parent():
    read = read_html("<table>" + "".join([
        tr("指标", "单位", "本年度"),
        tr("行政复议数量", "件", "2"), tr("被依法纠错数", "件", "1"),
        tr("行政诉讼情况", "", ""), tr("被依法纠错数", "件", "0"),
        tr("其中：", "", ""), tr("其他情形数", "件", "1"),
    ]) + "</table>")
    assert values(read) == {"legacy.reviews.year": 2, "legacy.reviews_corrected.year": 1}
    assert sum("has no parent row above" in w for w in read.warnings) == 2


def test_a_bare_qizhong_row_keeps_the_parent():
    read = read_html("<table>" + tr("指标", "单位", "本年度") + tr("不同意公开答复数", "件", "2") + tr("其中：", "", "")
                     + tr("涉及国家秘密", "件", "2") + "</table>")
    assert values(read) == {"legacy.answers_refused.year": 2, "legacy.refused_state_secret.year": 2}


def test_last_year_and_change_columns_are_not_read():
    read = read_html("<table>" + tr("指标", "单位", "本年累计", "上年度", "比上年增减(%)") + tr("收到申请数", "件", "30", "24", "25")
                     + "</table>")
    assert values(read) == {"legacy.requests_received.year": 30}
    assert read.facts["legacy.requests_received.year"].col_label == "本年累计"
