"""Variants of two known documents: each rewrite reproduces a quirk of variants.md and
must give the same facts as the original (or null with a warning, never another number).

The originals are the real seed (text-flattened) and a fixture site page whose values
are known from fixtures/sites/expected.json.
"""

from __future__ import annotations

import re

import pytest
from opencc import OpenCC

import parsers
from conftest import FIXTURES, SEED

SEED_TEXT = SEED.read_text(encoding="utf-8")
PAGE21 = "qingshan/mzj/zfxxgknb/202201/t20220125_1003.html"
PAGE19 = "qingshan/mzj/zfxxgknb/202001/t20200115_1001.html"


def _seed_parts() -> tuple[str, list[str], str]:
    head, rest = SEED_TEXT.split("二、主动公开政府信息情况:", 1)
    tables, tail = rest.split("五、存在的主要问题及改进措施:", 1)
    lines = [line for line in tables.splitlines() if line.strip()]
    return head + "二、主动公开政府信息情况:\n", lines, "\n五、存在的主要问题及改进措施:" + tail


def _seed_variant(rewrite) -> str:
    head, lines, tail = _seed_parts()
    return head + rewrite(lines) + tail


def _glue(line: str) -> str:
    m = re.match(r"^(.*?[^\d ])((?: \d+){7})$", line)
    return m.group(1) + m.group(2).replace(" ", "") if m and "申请" in line or m and "公开" in line else line


SEED_VARIANTS = {
    "pipe rows with colspan debris": lambda ls: "\n".join("| " + " | ".join(l.split(" ")) + " | ||" for l in ls),
    "one cell per line, blank-line separated": lambda ls: "\n\n".join(c for l in ls for c in l.split(" ")),
    "one cell per line, | separated": lambda ls: "\n|\n".join(c for l in ls for c in l.split(" ")),
    "one cell per line, no separator": lambda ls: "\n".join(c for l in ls for c in l.split(" ")),
    "glued cells (unique row-sum split)": lambda ls: "\n".join(_glue(l) for l in ls),
    "full-width digits and brackets": lambda ls: "\n".join(
        l.translate(str.maketrans("0123456789()", "０１２３４５６７８９（）")) for l in ls),
    "page furniture between rows": lambda ls: "\n".join(
        l + ("\n- 2 -\n第 2 页 共 5 页" if i == 20 else "") for i, l in enumerate(ls)),
}


@pytest.fixture(scope="module")
def seed_report():
    return parsers.parse(SEED_TEXT)


@pytest.mark.parametrize("name", sorted(SEED_VARIANTS))
def test_seed_variant_gives_the_same_facts(name, seed_report):
    report = parsers.parse(_seed_variant(SEED_VARIANTS[name]))
    assert report.error is None
    assert report.version == "2019"
    diff = {k: (report.facts.get(k), v) for k, v in seed_report.facts.items() if report.facts.get(k) != v}
    assert diff == {}
    assert any(w.startswith("active.licensing.change: not a number:") for w in report.warnings)


def test_dropped_empty_cells_give_nulls_and_a_warning_never_shifted_numbers(seed_report):
    text = _seed_variant(lambda ls: "\n".join("2.重复申请 5 3" if l.startswith("2.重复申请") else l for l in ls))
    report = parsers.parse(text)
    row = {k: v for k, v in report.facts.items() if k.startswith("applications.not_processed.duplicate.")}
    assert len(row) == 7 and set(row.values()) == {None}
    assert any("not_processed.duplicate" in w and "2 cells for 7 columns" in w for w in report.warnings)
    others = {k: v for k, v in report.facts.items() if k not in row}
    assert others == {k: v for k, v in seed_report.facts.items() if k not in row}


def test_glued_digits_without_a_unique_split_give_nulls():
    # 1+1+0+0+0+0 = 2 can be cut as 1|1|0|0|0|0|2 only; 10+1 = 11 is ambiguous with 1|0|… : build one
    text = _seed_variant(lambda ls: "\n".join(
        "一、本年新收政府信息公开申请数量1010000011" if l.startswith("一、本年新收") else l for l in ls))
    report = parsers.parse(text)
    values = [report.facts[f"applications.new_received.{c}"] for c in
              ("natural_person", "business", "research", "nonprofit", "legal_service", "other_org", "total")]
    assert values == [None] * 7
    assert any("new_received" in w and "split" in w for w in report.warnings)


def _page(rel: str) -> str:
    return (FIXTURES / "sites" / rel).read_text(encoding="utf-8")


def _facts(expected_sites, rel: str) -> dict:
    return expected_sites["reports"]["/" + rel]["facts"]


def _combine_tables(html: str) -> str:
    parts = re.split(r"(<div align=center><table class=MsoNormalTable.*?</table></div>)", html, flags=re.S)
    rows = "".join(re.search(r"<tbody>(.*)</tbody>", p, re.S).group(1) for p in parts if p.startswith("<div align=center><table"))
    out, done = [], False
    for p in parts:
        if p.startswith("<div align=center><table"):
            if not done:
                out.append("<table class=MsoNormalTable border=1><tbody>" + rows + "</tbody></table>")
                done = True
        else:
            out.append(p)
    return "".join(out)


def _split_applications(html: str) -> str:
    i = html.index("4.保护第三方合法权益")
    tr = html.rfind("<tr", 0, i)
    return (html[:tr] + "</tbody></table></div><p class=MsoNormal>&nbsp;</p><div align=center>"
            "<table class=MsoNormalTable border=1><tbody><tr><td>三、本年度办理结果</td><td colspan=9></td></tr>" + html[tr:])


def _truncate_headers(html: str) -> str:
    return re.sub(r"本年新</span><br><span[^>]*>(制作|公开)数量", "本年新", html)


HTML_VARIANTS = {
    "one table holding 二, 三 and 四": (PAGE21, _combine_tables),
    "2019 tables in one combined table": (PAGE19, _combine_tables),
    "traditional-character mirror": (PAGE21, lambda h: OpenCC("s2t").convert(h)),
    "applications split across a page break": (PAGE21, _split_applications),
    "truncated headers 本年新 twice": (PAGE19, _truncate_headers),
    "typos: 现在行有效件数, 第二十条（一）项": (PAGE21, lambda h: h.replace("现行有效件数", "现在行有效件数")
                                             .replace("第二十条第（一）项", "第二十条（一）项")),
    "notes and definitions in labels": (PAGE21, lambda h: h.replace("现行有效件数", "现行有效件数（历史累计）")
                                        .replace(">规章<", ">规章：地方行政规章指省、自治区、直辖市和设区的市人民政府制定的规章<")),
    "结转下一年度继续办理 and 七、总计": (PAGE21, lambda h: h.replace("四、结转下年度继续办理", "四、结转下一年度继续办理")
                                      .replace("（七）总计", "七、总计")),
}


@pytest.mark.parametrize("name", sorted(HTML_VARIANTS))
def test_html_variant_gives_the_expected_facts(name, expected_sites):
    rel, rewrite = HTML_VARIANTS[name]
    report = parsers.parse(rewrite(_page(rel)).encode("utf-8"))
    assert report.error is None
    diff = {k: (report.facts.get(k), v) for k, v in _facts(expected_sites, rel).items() if report.facts.get(k) != v}
    assert diff == {}


@pytest.mark.parametrize("declared", ["gb2312", None, "utf-8"])
def test_gbk_bytes_declared_as_gb2312_wrongly_or_not_at_all(declared, expected_sites):
    html = _page(PAGE21).replace("charset=utf-8", f"charset={declared}") if declared else re.sub(
        r"<meta http-equiv=\"Content-Type\"[^>]*>", "", _page(PAGE21))
    html = html.replace("青山市民政局办公室", "青山市民政局办公室（联系人：王堃）")  # 堃 is GBK, not GB2312
    report = parsers.parse(html.encode("gb18030"))
    assert report.agency == "青山市民政局"
    assert report.encoding == "gb18030"
    assert all(report.facts[k] == v for k, v in _facts(expected_sites, PAGE21).items())


def test_mixed_versions_read_each_table_on_its_own(expected_sites):
    def app_table(h: str) -> tuple[int, int]:
        i = h.index("（本列数据的勾稽关系为")
        return h.rfind("<div align=center><table", 0, i), h.index("</table></div>", i) + len("</table></div>")

    h21, h19 = _page(PAGE21), _page(PAGE19)
    a1, b1 = app_table(h21)
    a2, b2 = app_table(h19)
    report = parsers.parse((h21[:a1] + h19[a2:b2] + h21[b1:]).encode("utf-8"))
    assert report.version == "2021" and report.applications_layout == "2019"
    e19 = _facts(expected_sites, PAGE19)
    for col in ("natural_person", "total"):
        assert report.facts[f"applications.other.{col}"] == e19[f"applications.other.{col}"]
        for sub in ("no_correction", "no_fee", "other"):
            assert report.facts[f"applications.other.{sub}.{col}"] is None
    assert report.facts["active.rules.in_force"] == _facts(expected_sites, PAGE21)["active.rules.in_force"]
    checks = {c.rule: c.ok for c in report.checks}
    assert checks["applications.results_sum"] is True  # the single row counts in the sum


def test_published_from_the_url_alone():
    html = re.sub(r'<meta name="PubDate"[^>]*>', "", _page(PAGE21)).replace("发布日期：2022年01月25日", "")
    report = parsers.parse(html.encode("utf-8"), url="https://www.example.gov.cn/zfxxgknb/202201/t20220126_1003.html")
    assert report.published == "2022-01-26"


def test_heading_typos_still_find_all_sections():
    html = _page(PAGE21).replace("五、存在的主要问题及改进情况", "五、存在的主要问问题及改进情况") \
        .replace("二、主动公开政府信息情况", "二、主动公开政府信自情况")
    report = parsers.parse(html.encode("utf-8"))
    assert set(report.sections) == {"overview", "active", "applications", "appeals", "problems", "other"}
    assert report.sections["problems"].startswith("一是信息公开的及时性有待提高")


def test_tables_only_as_images_need_ocr():
    html = re.sub(r"<div align=center><table class=MsoNormalTable.*?</table></div>",
                  '<p><img src="table.png" alt=""></p>', _page(PAGE21), flags=re.S)
    report = parsers.parse(html.encode("utf-8"))
    assert report.error == "needs_ocr"


def test_published_from_a_bare_date_label_or_else_the_closing_date():
    seed = SEED_TEXT.replace("发布时间: 2021年01月20日 13:32", "日期: 2021-01-21")
    assert parsers.parse(seed).published == "2021-01-21"
    undated = SEED_TEXT.replace("发布时间: 2021年01月20日 13:32", "").replace(
        "无其他需要报告的事项。", "无其他需要报告的事项。\n\n汉中市民政局\n2021年1月22日")
    report = parsers.parse(undated)
    assert report.published == "2021-01-22"
    assert any(w.startswith("published: no publication date on the page") for w in report.warnings)
    assert "published" not in " ".join(parsers.parse(SEED_TEXT).warnings)


def test_digits_in_separate_paragraphs_of_one_cell_are_never_joined(expected_sites):
    html = _page(PAGE21)
    value = _facts(expected_sites, PAGE21)["active.rules.in_force"]
    cell = re.search(r"<td[^>]*><p[^>]*><span[^>]*>" + str(value) + r"</span></p></td>", html)
    two = cell.group(0).replace(f">{value}</span></p>", f">{value}</span></p><p class=MsoNormal><span>7</span></p>")
    report = parsers.parse(html.replace(cell.group(0), two, 1).encode("utf-8"))
    key = next(k for k, f in report.found.items() if f.raw == f"{value} 7")
    assert report.facts[key] is None
    assert any(w.startswith(f"{key}: more than one number") for w in report.warnings)


def test_tables_that_do_not_tell_the_version_are_not_called_legacy():
    text = SEED_TEXT[:SEED_TEXT.index("第二十条第(一)项")] + SEED_TEXT[SEED_TEXT.index("三、收到和处理政府信息公开申请情况"):]
    report = parsers.parse(text.replace("(六)其他处理 0 0 0 0 0 0 0\n", ""))  # no active table, no （六） row
    assert report.version is None
    assert report.facts["applications.new_received.total"] == 4 and report.facts["appeals.review.upheld"] == 1
    assert any(w.startswith("version: the tables found") for w in report.warnings)
    assert {c.rule: c.ok for c in report.checks}["report.complete"] is False


def test_appeals_drawn_as_three_rows_of_five():
    a, b = SEED_TEXT.index("行政复议 行政诉讼"), SEED_TEXT.index("五、存在的主要问题")
    text = SEED_TEXT[:a] + ("项目 结果维持 结果纠正 其他结果 尚未审结 总计\n行政复议 1 0 0 0 1\n"
                            "行政诉讼未经复议直接起诉 0 2 0 0 2\n行政诉讼复议后起诉 0 0 0 3 3\n\n") + SEED_TEXT[b:]
    facts = parsers.parse(text).facts
    assert [facts[f"appeals.review.{c}"] for c in ("upheld", "corrected", "other", "pending", "total")] == [1, 0, 0, 0, 1]
    assert [facts[f"appeals.suit_direct.{c}"] for c in ("upheld", "corrected", "other", "pending", "total")] == [0, 2, 0, 0, 2]
    assert facts["appeals.suit_after_review.pending"] == 3 and facts["appeals.suit_after_review.total"] == 3


def test_statistics_period_gives_the_year_and_flags_a_title_that_disagrees():
    untitled = SEED_TEXT.replace("汉中市民政局2020年政府信息公开年度报告", "汉中市民政局政府信息公开年度报告", 1)
    with_period = untitled.replace("现将汉中市民政局2020年度", "本报告中所列数据的统计期限自2020年1月1日起至2020年12月31日止。现将汉中市民政局2020年度", 1)
    assert parsers.parse(with_period).year == 2020
    clash = SEED_TEXT.replace("现将汉中市民政局2020年度", "本报告统计期限自2019年1月1日起至2019年12月31日止。现将", 1)
    report = parsers.parse(clash)
    assert report.year == 2020
    assert any(w.startswith("year: the title says 2020, the statistics period 2019") for w in report.warnings)


@pytest.mark.parametrize("agency, kind, ok", [
    ("汉中市民政局", "agency", False),          # an agency: 31 January
    ("汉台区人民政府", "government", True),     # county level and above: 31 March
    ("龙江镇人民政府", "government", False),    # a township is not county or above: 31 January
    ("大明宫街道办事处", "government", False),
])
def test_deadline_depends_on_who_publishes(agency, kind, ok):
    text = SEED_TEXT.replace("汉中市民政局2020年政府信息公开年度报告", f"{agency}2020年政府信息公开年度报告", 1) \
        .replace("发布时间: 2021年01月20日", "发布时间: 2021年03月15日")
    report = parsers.parse(text)
    assert (report.agency, report.kind) == (agency, kind)
    assert {c.rule: c.ok for c in report.checks}["report.on_time"] is ok


def test_kangxi_radicals_and_full_width_numbering_some_pdf_fonts_print():
    text = SEED_TEXT.replace("一、总体情况", "⼀、总体情况").replace("五、存在的主要问题", "５、存在的主要问题") \
        .replace("发布时间: 2021年01月20日", "发布时间: 2021年01⽉20⽇")  # ⼀ U+2F00, ⽉ U+2F49, ⽇ U+2F47
    report = parsers.parse(text)
    assert set(report.sections) == {"overview", "active", "applications", "appeals", "problems", "other"}
    assert report.published == "2021-01-20"
