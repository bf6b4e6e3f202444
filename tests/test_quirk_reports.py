"""Issue 14, the last percent, in files: two-line titles (PDF, Word), row labels damaged in a
PDF's text layer, labels wrapped over printed lines, the appeals in two tables.  Every
fact and field of each file in fixtures/attachments/quirks/ against the numbers its
generator chose (make_quirks.py, never the parser); and the limits of reading a damaged
label: only by the official row order, never when it could be two rows."""

from __future__ import annotations

import json

import pytest

import parsers
from conftest import FIXTURES
from parsers.cells import Cell, Row
from parsers.mapping import map_rows

QUIRKS = FIXTURES / "attachments" / "quirks"
EXPECTED = json.loads((QUIRKS / "expected.json").read_text(encoding="utf-8"))
META = ("title", "agency", "year", "published", "index_no", "version", "kind", "form")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_fact_and_field_of_each_file(name):
    exp = EXPECTED[name]
    got = parsers.parse((QUIRKS / name).read_bytes(), url=name).to_json(provenance=True)
    assert got.get("error") is None, got
    assert {k: got[k] for k in META} == {k: exp[k] for k in META}
    assert set(got["facts"]) == set(exp["facts"])
    wrong = {k: (got["facts"][k], v) for k, v in exp["facts"].items()
             if got["facts"][k] != v or type(got["facts"][k]) is not type(v)}
    assert not wrong, wrong
    assert sorted(got["sections"]) == exp["sections"]
    missing = [w for w in exp["warnings_contain"] if not any(w in have for have in got["warnings"])]
    assert not missing, got["warnings"]


def test_damaged_labels_keep_their_printed_text_as_provenance():
    got = parsers.parse((QUIRKS / "nanping-gov-2023-twoline.pdf").read_bytes(), url="x.pdf").to_json(provenance=True)
    prov = got["provenance"]["applications.withheld.prohibited.total"]
    assert prov["row_label"].endswith("2.其他法律行政止公开")
    assert prov["raw"] == "3"


def _rows(labels_values: list[tuple[str, list[int]]]) -> list[Row]:
    head = ["", "自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"]
    rows = [Row([Cell(t, 0, 0, i) for i, t in enumerate(head)], "pdf")]
    for r, (label, vals) in enumerate(labels_values, start=1):
        rows.append(Row([Cell(label, 0, r, 0)] + [Cell(str(v), 0, r, i + 1) for i, v in enumerate(vals)], "pdf"))
    return rows


ONE = [1, 0, 0, 0, 0, 0, 1]
TWO = [2, 0, 0, 0, 0, 0, 2]


def test_a_damaged_label_between_its_neighbours_is_read_with_a_warning():
    mapped = map_rows(_rows([("1.属于国家秘密", ONE), ("2.其他法律行政止公开", TWO), ("3.危及“三安全一稳定”", ONE)]))
    assert mapped.facts["applications.withheld.prohibited.total"].value == 2
    assert any("read as '2.其他法律行政法规禁止公开'" in w for w in mapped.warnings)


def test_a_damaged_label_whose_next_row_is_not_the_template_next_stays_unread():
    """Row 3 missing after it: the damaged row could be row 2 or row 3 lost its label."""
    mapped = map_rows(_rows([("1.属于国家秘密", ONE), ("2.其他法律行政止公开", TWO), ("4.保护第三方合法权益", ONE)]))
    assert "applications.withheld.prohibited.total" not in mapped.facts
    assert "applications.withheld.security.total" not in mapped.facts
    assert any("2.其他法律行政止公开" in w and "left out" in w for w in mapped.warnings)


def test_a_label_that_could_be_two_template_rows_stays_unread():
    """Where 2.重复申请 belongs, a label as close to 4.无正当理由大量反复申请: no guess."""
    mapped = map_rows(_rows([("1.信访举报投诉类申请", ONE), ("2.大量复申请", TWO), ("3.要求提供公开出版物", ONE)]))
    assert "applications.not_processed.duplicate.total" not in mapped.facts
    assert "applications.not_processed.excessive.total" not in mapped.facts
    assert mapped.facts["applications.not_processed.publication.total"].value == 1
    assert any("could be" in w and "2.大量复申请" in w for w in mapped.warnings)


def test_a_label_sharing_too_little_with_the_expected_row_stays_unread():
    mapped = map_rows(_rows([("1.属于国家秘密", ONE), ("2.其他事项", TWO), ("3.危及“三安全一稳定”", ONE)]))
    assert "applications.withheld.prohibited.total" not in mapped.facts


REPORTS = FIXTURES / "reports"


def test_statistics_period_with_digits_split_by_a_source_line_break():
    """No year in the title: the year comes from 统计期限为20</span>\\n<span>21年…, not from
    the published date (which a warning would name)."""
    page = (REPORTS / "beiling-hbj-2021-year-period.html").read_text(encoding="utf-8")
    assert page.count("统计期限为2021年") == 1
    page = page.replace("统计期限为2021年", "统计期限为<span>20</span>\n<span>21年</span>")
    report = parsers.parse(page.encode("utf-8"), url="x.html")
    assert report.year == 2021
    assert not any(w.startswith("year:") for w in report.warnings), report.warnings


def test_digits_in_separate_lines_of_a_pre_stay_apart():
    """A report pasted as text in a <pre>: its newlines are line breaks, `4` and `5` two cells."""
    from parsers.html_grid import parse_html
    from parsers.html_text import html_lines

    doc = parse_html("<html><body><pre>一、本年新收政府信息公开申请数量\n4\n5</pre><p>共2</p></body></html>")
    assert html_lines(doc, []) == ["一、本年新收政府信息公开申请数量", "4", "5", "共2"]


@pytest.mark.parametrize("lines, title", [
    (["南屏县人民政府", "2023 年政府信息公开工作年度报告"], "南屏县人民政府2023 年政府信息公开工作年度报告"),
    (["临江市", "交通运输局", "2023年政府信息公开工作年度报告"], "临江市交通运输局2023年政府信息公开工作年度报告"),
    (["东湖区", "市场监督管理局2023年政府信息公开工作年度报告"], "东湖区市场监督管理局2023年政府信息公开工作年度报告"),
    # a title naming its agency is never joined to a line above it (the site's name, a header)
    (["临江市人民政府", "2023年东湖区政府信息公开工作年度报告"], "2023年东湖区政府信息公开工作年度报告"),
    (["临江市人民政府", "临江市财政局2023年政府信息公开工作年度报告"], "临江市财政局2023年政府信息公开工作年度报告"),
    (["索引号：LJ-2024-01", "2023年政府信息公开工作年度报告"], "2023年政府信息公开工作年度报告"),
])
def test_a_title_printed_over_lines_is_joined_only_to_complete_its_agency(lines, title):
    from parsers.metadata import find_title

    assert find_title(lines, {}, None) == title


def _prose_report(overview: str, received: int = 70):
    from parsers.checks import text_matches_table
    from parsers.record import Report

    report = Report(source=None, sections={"overview": overview}, facts={"applications.new_received.total": received})
    return text_matches_table(report)


@pytest.mark.parametrize("overview", [
    "建立第一时间登记受理、第一时间研究办理、第一时间回复申请的“三个一”工作机制。",
    "推行“一网通办”，受理政务服务申请“一件事”。",
    "全年受理12345政务服务热线转办申请86件。",
    "受理信访事项申请15件。",
    "收到的申请中，第3件为重复申请。",
])
def test_numerals_in_slogans_names_hotlines_and_ranks_are_no_count(overview):
    assert _prose_report(overview).ok is None  # nothing compared: neither a pass nor a false alarm


def test_the_count_after_a_slogan_is_compared():
    text = "建立第一时间登记受理、第一时间回复申请的“三个一”工作机制。全年共受理政府信息公开申请{n}件。"
    assert _prose_report(text.format(n=70)).ok is True
    assert _prose_report(text.format(n=69)).ok is False
