"""The official forms as pages lay them out, and which cells each failed check involves.

`parsers/templates.py` and `parsers/legacy_template.py` say what the cells *are* (keys,
labels that identify them); this module says how the printed form *draws* them: header
rows, rowspan group labels, the blocks of the active table, the national order of the
legacy statistics table.  It is pure (facts in, layout out) so the report and agency pages
(datasette/plugins/report_page.py, agency_page.py) stay thin and the layout is testable
without a server.

A failed check is explained again from the stored facts (`explain`): the `checks` table
says *that* a rule failed; the cells it involves and the arithmetic (`4 + 0 ≠ 8 + 0`) are
recomputed here with the same definitions as parsers/checks.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from parsers import templates as T
from parsers.checks import compare
from parsers.legacy_template import INDICATORS, SUMS as LEGACY_SUMS
from parsers.values import is_empty

from .fact_keys import COL_EN, ROW_EN

Number = int | float


# --- labels ----------------------------------------------------------------------------

def official(label: str) -> str:
    """Template labels are stored normalized (half-width brackets); the printed form uses
    full-width ones: `(一)予以公开` → `（一）予以公开`."""
    return label.replace("(", "（").replace(")", "）")


SECTION_LABELS: dict[str, tuple[str, str]] = {
    "overview": ("一、总体情况", "overview"),
    "active": ("二、主动公开政府信息情况", "proactive disclosure"),
    "applications": ("三、收到和处理政府信息公开申请情况", "applications received and handled"),
    "appeals": ("四、政府信息公开行政复议、行政诉讼情况", "administrative reviews and lawsuits"),
    "problems": ("五、存在的主要问题及改进情况", "main problems and improvements"),
    "other": ("六、其他需要报告的事项", "other matters"),
}
LEGACY_SECTION_LABELS: dict[str, tuple[str, str]] = {
    "overview": ("一、概述", "overview"),
    "active": ("二、主动公开政府信息的情况", "proactive disclosure"),
    "applications": ("三、依申请公开政府信息和不予公开政府信息的情况", "applications and refusals"),
    "fees": ("四、政府信息公开的收费及减免情况", "fees and waivers"),
    "appeals": ("五、因政府信息公开申请行政复议、提起行政诉讼的情况", "administrative reviews and lawsuits"),
    "problems": ("六、存在的主要问题及改进措施", "main problems and improvements"),
    "other": ("七、其他需要报告的事项", "other matters"),
}

# A failed rule as a short label (lists of reports), Chinese first; the rule id is the title.
RULE_LABELS: dict[str, tuple[str, str]] = {
    "applications.row_total": ("行合计", "row total"),
    "applications.balance": ("收结平衡", "balance"),
    "applications.results_sum": ("结果合计", "results sum"),
    "appeals.group_total": ("复议诉讼合计", "appeals total"),
    "report.on_time": ("逾期", "late"),
    "report.complete": ("不完整", "incomplete"),
    "report.version_matches_year": ("模板与年度不符", "template vs year"),
    "report.text_matches_table": ("文表不符", "text ≠ table"),
    "legacy.sums": ("统计表合计", "legacy sums"),
    "applications.carry_link": ("结转不衔接", "carry-over"),
    "active.in_force_flow": ("现行有效不衔接", "in-force flow"),
    "legacy.cumulative_flow": ("累计不衔接", "cumulative flow"),
}


def rule_label(rule: str) -> tuple[str, str]:
    return RULE_LABELS.get(rule, (rule, rule))


def fmt(value: Number | None) -> str:
    """A number as the form prints it: integers plain (no separators, so scripts read it
    back), decimals as stored (24252.311082, never rounded)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return repr(value)  # 3.0 stays 3.0: the report wrote a decimal
    return str(value)


# --- the forms -------------------------------------------------------------------------

@dataclass
class Label:
    zh: str
    en: str = ""
    rowspan: int = 1
    colspan: int = 1
    cls: str = ""


@dataclass
class FormRow:
    labels: list[Label]
    keys: list[str | None]  # one per value column; None: the form has no cell there
    cls: str = ""
    unit: str | None = None  # legacy: the unit column
    indent: int = 0


@dataclass
class Form:
    id: str  # active | applications | appeals | legacy | other
    title_zh: str
    title_en: str
    head: list[list[Label]]
    rows: list[FormRow]
    note: str = ""

    def keys(self) -> set[str]:
        return {k for r in self.rows for k in r.keys if k}


def _row_en(row: str) -> str:
    return ROW_EN.get(row, row.replace("_", " "))


def applications_form(layout: str) -> Form:
    """三、收到和处理政府信息公开申请情况: 26 (2021) or 23 (2019, one （六） row) rows × 7 columns."""
    cols = [c.key for c in T.APPLICATION_COLS]
    rows_order = T.APPLICATION_ROWS_2019 if layout == "2019" else T.APPLICATION_ROWS_2021
    head = [
        [Label("（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）",
               "column identity: first + second = third + fourth", 3, 3, "corner"),
         Label("申请人情况", "applicants", 1, 7)],
        [Label("自然人", COL_EN["natural_person"], 2), Label("法人或其他组织", "legal persons and other organisations", 1, 5),
         Label("总计", "total", 2)],
        [Label(official(c.label), COL_EN[c.key]) for c in T.APPLICATION_COLS[1:6]],
    ]
    results = [r for r in rows_order if r not in ("new_received", "carried_over", "carried_forward")]
    groups = {"withheld": ("（三）不予公开", "withheld"), "unable": ("（四）无法提供", "unable to provide"),
              "not_processed": ("（五）不予处理", "not processed"), "other": ("（六）其他处理", "other handling")}
    rows: list[FormRow] = []
    for row in rows_order:
        keys = [f"applications.{row}.{c}" for c in cols]
        label = official(T.APPLICATION_LABELS[row])
        labels: list[Label] = []
        if row in ("new_received", "carried_over", "carried_forward"):
            labels = [Label(label, _row_en(row), 1, 3)]
        else:
            if row == results[0]:
                labels.append(Label("三、本年度办理结果", "results this year", len(results)))
            group = row.split(".")[0] if "." in row else None
            if group:
                members = [r for r in results if r.startswith(group + ".")]
                if row == members[0]:
                    labels.append(Label(*groups[group], len(members)))
                labels.append(Label(label, _row_en(row).split(": ", 1)[-1]))
            else:
                text = "（六）其他处理" if row == "other" else label
                labels.append(Label(text, _row_en(row), 1, 2))
        rows.append(FormRow(labels, keys, "total" if row == "total" else ""))
    return Form("applications", "三、收到和处理政府信息公开申请情况", "applications received and handled",
                head, rows, "单位：件 · counts in 件")


# The active table's blocks as the notices print them: block title, the header's column
# labels (where the printed form words them differently from templates.ACTIVE_COLS) and rows.
_ACTIVE_BLOCKS: dict[str, tuple[tuple[str, tuple[str, ...], dict[str, str]], ...]] = {
    "2019": (
        ("第二十条第（一）项", ("rules", "normative_docs"), {}),
        ("第二十条第（五）项", ("licensing", "other_services"), {}),
        ("第二十条第（六）项", ("punishment", "coercion"), {}),
        ("第二十条第（八）项", ("fees",), {}),
        ("第二十条第（九）项", ("procurement",), {}),
    ),
    "2021": (
        ("第二十条第（一）项", ("rules", "normative_docs"), {}),
        ("第二十条第（五）项", ("licensing",), {"decisions": "本年处理决定数量"}),
        ("第二十条第（六）项", ("punishment", "coercion"), {"decisions": "本年处理决定数量"}),
        ("第二十条第（八）项", ("fees",), {"amount": "本年收费金额（单位：万元）"}),
    ),
}


_CN_ITEM = {"一": 1, "五": 5, "六": 6, "八": 8, "九": 9}


def active_form(version: str) -> Form:
    """二、主动公开政府信息情况: the blocks of 第二十条 with their own column headers."""
    version = version if version in _ACTIVE_BLOCKS else "2021"
    by_key = {r.key: r for r in (T.ACTIVE_ROWS_2019 if version == "2019" else T.ACTIVE_ROWS_2021)}
    rows: list[FormRow] = []
    for title, row_keys, col_labels in _ACTIVE_BLOCKS[version]:
        cols = by_key[row_keys[0]].cols
        item = title[title.index("（") + 1:title.index("）")]
        rows.append(FormRow([Label(title, f"Art. 20, item ({_CN_ITEM[item]})", 1, 4)], [], "block"))
        header = [Label("信息内容", "item")] + [
            Label(col_labels.get(c, T.ACTIVE_COLS[c].label), COL_EN.get(c, c)) for c in cols]
        header += [Label("", "")] * (3 - len(cols))
        rows.append(FormRow(header, [], "colhead"))
        for rk in row_keys:
            r = by_key[rk]
            keys: list[str | None] = [f"active.{rk}.{c}" for c in r.cols]
            rows.append(FormRow([Label(r.label, _row_en(rk))], keys + [None] * (3 - len(keys))))
    note = ("收费金额单位：万元；采购总金额单位以原文为准 · fees in 万元, procurement as written" if version == "2019"
            else "收费金额单位：万元 · fees in 万元")
    return Form("active", "二、主动公开政府信息情况", "proactive disclosure", [], rows, note)


def appeals_form() -> Form:
    """四、政府信息公开行政复议、行政诉讼情况: one row of 15 numbers under a three-level header."""
    cols = [c for c in T.APPEAL_COLS]
    head = [
        [Label("行政复议", "administrative review", 1, 5), Label("行政诉讼", "lawsuits", 1, 10)],
        [Label("结果维持", COL_EN["upheld"], 2), Label("结果纠正", COL_EN["corrected"], 2),
         Label("其他结果", COL_EN["other"], 2), Label("尚未审结", COL_EN["pending"], 2), Label("总计", "total", 2),
         Label("未经复议直接起诉", "without prior review", 1, 5), Label("复议后起诉", "after review", 1, 5)],
        [Label(c.label, COL_EN[c.key]) for c in cols] * 2,
    ]
    keys = [f"appeals.{g.key}.{c.key}" for g in T.APPEAL_GROUPS for c in cols]
    return Form("appeals", "四、政府信息公开行政复议、行政诉讼情况", "administrative reviews and lawsuits",
                head, [FormRow([], keys)], "单位：件 · counts in 件")


# The national statistics list's headings (2015-2018 form), above the first indicator of each
# group (a heading whose first row the report lacks goes above the next row it has).
_LEGACY_GROUPS: dict[str, tuple[str, str]] = {
    "active_total": ("一、主动公开情况", "proactive disclosure"),
    "hotspot_responses": ("二、回应解读情况", "responses and interpretation"),
    "requests_received": ("三、依申请公开情况", "applications"),
    "suits_and_complaints": ("四、行政复议、行政诉讼、举报投诉", "reviews, lawsuits, complaints"),
    "fees": ("五、费用、机构和经费", "fees, staff and budget"),
    "meetings": ("六、会议和培训情况", "meetings and training"),
}
# INDICATORS orders specific labels first (for matching); the printed list puts each total
# above its parts.
_LEGACY_PRINT_ORDER: tuple[str, ...] = (
    "active_total", "active_normative_docs", "normative_docs_made", "via_gazette", "via_website", "via_weibo",
    "via_weixin", "via_other", "hotspot_responses", "press_conferences", "press_conferences_heads",
    "online_interviews", "online_interviews_heads", "interpretations", "weibo_weixin_responses", "other_responses",
    "requests_received", "requests_in_person", "requests_fax", "requests_online", "requests_letter",
    "requests_letter_fax", "requests_closed", "requests_closed_on_time", "requests_closed_extended",
    "answers_total", "answers_already_public", "answers_granted", "answers_partly_granted", "answers_refused",
    "refused_state_secret", "refused_commercial_secret", "refused_privacy", "refused_security",
    "refused_not_gov_info", "refused_other_law", "answers_not_this_agency", "answers_not_exist", "answers_amend",
    "answers_other_channel", "answers_other", "suits_and_complaints", "reviews", "reviews_upheld",
    "reviews_corrected", "reviews_other", "suits", "suits_upheld", "suits_corrected", "suits_other", "complaints",
    "complaints_upheld", "complaints_corrected", "complaints_other", "fees", "units", "reading_points", "staff",
    "staff_full_time", "staff_part_time", "budget", "meetings", "trainings", "trainees",
)


def legacy_order() -> list[str]:
    """Every legacy indicator in the national list's printed order (any not listed: after)."""
    known = {i.key for i in INDICATORS}
    return [k for k in _LEGACY_PRINT_ORDER if k in known] + [i.key for i in INDICATORS if i.key not in _LEGACY_PRINT_ORDER]


def legacy_form(units: Mapping[str, str | None], present: Iterable[str]) -> Form:
    """政府信息公开情况统计表: the indicators this report states, in the national order, with
    the unit written beside each (else the national list's, in brackets) and the columns
    the report has (本年 always; 累计 when any running total is stated)."""
    present = set(present)
    by_key = {i.key: i for i in INDICATORS}
    rows_present = {k.split(".")[1] for k in present if k.startswith("legacy.")}
    has_cumulative = any(k.endswith(".cumulative") for k in present)
    cols = ["year", "cumulative"] if has_cumulative else ["year"]
    head = [[Label("指标", "indicator"), Label("计量单位", "unit"), Label("本年", "this year")]
            + ([Label("累计", "cumulative")] if has_cumulative else [])]
    rows: list[FormRow] = []
    order = legacy_order() + sorted(rows_present - set(_LEGACY_PRINT_ORDER) - {i.key for i in INDICATORS})
    pending_heading: tuple[str, str] | None = None
    for key in order:
        if key in _LEGACY_GROUPS:
            pending_heading = _LEGACY_GROUPS[key]
        if key not in rows_present:
            continue
        if pending_heading:
            rows.append(FormRow([Label(*pending_heading, 1, 2 + len(cols))], [], "block"))
            pending_heading = None
        ind = by_key.get(key)
        depth, parent = 0, ind.parent if ind else None
        while parent:
            depth += 1
            parent = by_key[parent].parent if parent in by_key else None
        unit = next((units[f"legacy.{key}.{c}"] for c in cols if units.get(f"legacy.{key}.{c}")), None)
        if unit is None and ind and ind.unit:
            unit = f"（{ind.unit}）"  # the national list's unit; the report wrote none
        rows.append(FormRow([Label(ind.label if ind else key, key.replace("_", " "))],
                            [f"legacy.{key}.{c}" for c in cols], unit=unit, indent=depth))
    return Form("legacy", "政府信息公开情况统计表", "statistics table (2008-2018, national indicator list)",
                head, rows, "计量单位以原文为准；括号内为全国统计表的单位 · units as written; in brackets: the national list's")


def forms_for(version: str | None, applications_layout: str | None, keys: Iterable[str],
              units: Mapping[str, str | None] | None = None) -> list[Form]:
    """The forms a report of this version is drawn on, plus `other` for any fact no form
    places (a mixed or unknown layout), so that every stored figure is on the page."""
    keys = list(keys)
    if version == "legacy":
        forms = [legacy_form(units or {}, keys)]
    else:
        if version not in ("2019", "2021"):  # unknown: the layout of the keys it has
            version = "2019" if any(k.split(".")[-1] in ("new_made", "prev_items") for k in keys) else "2021"
        layout = applications_layout or version
        if layout == "2021" and any(k.startswith("applications.other.") and k.count(".") == 2 for k in keys) and not any(
                k.startswith(("applications.other.no_correction.", "applications.other.no_fee.",
                              "applications.other.other.")) for k in keys):
            layout = "2019"
        forms = [active_form(version), applications_form(layout), appeals_form()]
    placed = set().union(*(f.keys() for f in forms))
    rest = [k for k in keys if k not in placed]
    if rest:
        forms.append(Form("other", "其他数据", "other figures", [[Label("指标", "key"), Label("数值", "value")]],
                          [FormRow([Label(k, "")], [k]) for k in rest]))
    return forms


# --- facts as cells ----------------------------------------------------------------------

@dataclass
class Cell:
    key: str
    value: Number | None
    raw: str | None
    state: str  # number | blank | unread | absent
    unit: str | None = None
    source: str = "table"
    label: str = ""
    label_en: str = ""
    position: tuple | None = None  # (table, row, col) as stored, 0-based
    checks: list[str] = field(default_factory=list)  # the failed rules it is part of
    findings: list[str] = field(default_factory=list)  # the ids of their notes

    @property
    def text(self) -> str:
        return fmt(self.value) if self.state == "number" else ""

    @property
    def where(self) -> str:
        """Where in the document the figure was read, counted from 1 for people."""
        if self.position is None:
            return ""
        t, r, c = self.position
        if self.source == "prose" or t is not None and t < 0:
            return f"正文第 {r + 1} 行（文字叙述）· prose, line {r + 1}"
        return f"第 {t + 1} 张表 第 {r + 1} 行 第 {c + 1} 列 · table {t + 1}, row {r + 1}, column {c + 1}"


def cell_of(key: str, row: Mapping | None) -> Cell:
    """A `facts` view row (or None: the key has no row) as a cell of the form."""
    if row is None:
        return Cell(key, None, None, "absent")
    value, raw = row["value"], row["raw"]
    if value is not None:
        state = "number"
    elif raw is not None and raw.strip() and not is_empty(raw):
        state = "unread"  # text the parser could not read as one number
    else:
        state = "blank"
    pos = None
    if row["grid_table"] is not None or row["grid_row"] is not None:
        pos = (row["grid_table"], row["grid_row"], row["grid_col"])
    label, label_en = row["label"] or "", row["label_en"] or ""
    if key.startswith("legacy."):  # the catalogue knows the modern keys; the legacy list labels its own
        _, ind, col = key.split(".")
        label = f"{_LEGACY_BY_KEY[ind].label if ind in _LEGACY_BY_KEY else ind} › {_LEGACY_COLS.get(col, col)}"
        label_en = f"{ind.replace('_', ' ')} › {col}"
    return Cell(key, value, raw, state, row["unit"], row["source"] or "table", label, label_en, pos)


_LEGACY_BY_KEY = {i.key: i for i in INDICATORS}
_LEGACY_COLS = {"year": "本年", "cumulative": "累计"}


# --- failed checks, explained -------------------------------------------------------------

@dataclass
class Finding:
    rule: str
    cells: list[str]  # the keys it involves, highlighted
    arithmetic: str  # 4 + 0 ≠ 8 + 0
    part: str = ""  # which column, row or group
    other_report: int | None = None  # cross-report: the other year's report
    other_year: int | None = None
    id: str = ""  # the note's element id on the page
    homes: list[str] = field(default_factory=list)  # the forms it is noted under


def _sum_text(values: list[Number]) -> str:
    return " + ".join(fmt(v) for v in values)


def _application_cols() -> list[tuple[str, str]]:
    return [(c.key, f"{official(c.label)} · {COL_EN[c.key]}") for c in T.APPLICATION_COLS]


def _other_rows(facts: Mapping[str, Number | None], layout: str | None) -> list[str]:
    """`other` (2019's one row) or the 2021 three, as parsers.checks reads them."""
    split = ("no_correction", "no_fee", "other")
    cols = [c.key for c in T.APPLICATION_COLS]
    if layout == "2019" or any(facts.get(f"applications.other.{c}") is not None for c in cols):
        if not any(facts.get(f"applications.other.{r}.{c}") is not None for r in split for c in cols):
            return ["other"]
    return [f"other.{r}" for r in split]


def explain(rule: str, detail: str | None, facts: Mapping[str, Number | None], *, layout: str | None = None,
            missing: Iterable[str] = ()) -> list[Finding]:
    """The parts of a failed per-report rule: the cells of each failing row, column or
    group and its arithmetic.  A rule without cells (on_time, version) gives one finding
    without cells."""
    f = facts.get
    out: list[Finding] = []
    if rule == "applications.balance":
        for col, label in _application_cols():
            a, b, c, d = (f(f"applications.{r}.{col}") for r in ("new_received", "carried_over", "total", "carried_forward"))
            if None not in (a, b, c, d) and a + b != c + d:
                out.append(Finding(rule, [f"applications.{r}.{col}" for r in
                                          ("new_received", "carried_over", "total", "carried_forward")],
                                   f"{fmt(a)} + {fmt(b)} ≠ {fmt(c)} + {fmt(d)}", label))
    elif rule == "applications.row_total":
        rows = [r for r in T.APPLICATION_ROWS_2021 if not r.startswith("other")] + _other_rows(facts, layout)
        for row in rows:
            keys = [f"applications.{row}.{c}" for c, _ in _application_cols()]
            vals = [f(k) for k in keys]
            if None not in vals and sum(vals[:-1]) != vals[-1]:
                out.append(Finding(rule, keys, f"{_sum_text(vals[:-1])} ≠ {fmt(vals[-1])}",
                                   official(T.APPLICATION_LABELS[row])))
    elif rule == "applications.results_sum":
        rows = [r for r in T.RESULT_ROWS if not r.startswith("other")] + _other_rows(facts, layout)
        for col, label in _application_cols():
            total = f(f"applications.total.{col}")
            parts = [f(f"applications.{r}.{col}") for r in rows]
            if total is not None and None not in parts and sum(parts) != total:
                out.append(Finding(rule, [f"applications.{r}.{col}" for r in rows] + [f"applications.total.{col}"],
                                   f"{_sum_text(parts)} = {fmt(sum(parts))} ≠ {fmt(total)}", label))
    elif rule == "appeals.group_total":
        for g in T.APPEAL_GROUPS:
            keys = [f"appeals.{g.key}.{c.key}" for c in T.APPEAL_COLS]
            vals = [f(k) for k in keys]
            if None not in vals and sum(vals[:-1]) != vals[-1]:
                out.append(Finding(rule, keys, f"{_sum_text(vals[:-1])} ≠ {fmt(vals[-1])}", g.label))
    elif rule == "legacy.sums":
        for s in LEGACY_SUMS:
            for col in ("year", "cumulative"):
                listed = next((form for form in s.forms if all(f"legacy.{k}.{col}" in facts for k in form)), None)
                total = f(f"legacy.{s.total}.{col}")
                if listed is None or total is None:
                    continue
                parts = [*listed, *(k for k in s.extras if k not in listed and f"legacy.{k}.{col}" in facts)]
                values = [facts[f"legacy.{k}.{col}"] for k in parts]
                if None in values or compare(sum(values), total):
                    continue
                out.append(Finding(rule, [f"legacy.{k}.{col}" for k in parts] + [f"legacy.{s.total}.{col}"],
                                   f"{_sum_text(values)} = {fmt(sum(values))} ≠ {fmt(total)}", f"{s.total}.{col}"))
    elif rule == "report.text_matches_table":
        for m in re.finditer(r"([a-z_]+(?:\.[a-z_]+)+): text says (\S+) \((.*?)\), table says (\S+)", detail or ""):
            out.append(Finding(rule, [m.group(1)], f"正文 text {m.group(2)}（{m.group(3)}）≠ 表格 table {m.group(4)}"))
    elif rule == "report.complete":
        keys = list(missing)
        out.append(Finding(rule, keys, detail or "", f"{len(keys)} 个单元格未找到 · cells not found" if keys else ""))
    if not out:  # nothing to point at (a date, the version), or the facts no longer show it
        out.append(Finding(rule, [], detail or ""))
    return out


def cross_findings(this: Mapping[str, Number | None], version: str | None, year: int,
                   prev: Mapping[str, Number | None] | None, prev_id: int | None, prev_version: str | None,
                   nxt: Mapping[str, Number | None] | None, next_id: int | None,
                   next_version: str | None) -> list[Finding]:
    """Failed cross-report checks (scraper/crosscheck.py) between this report and the
    agency's previous and next year: the cells of *this* report they involve, the other
    year's report to link."""
    out: list[Finding] = []

    def pair(earlier, later, later_is_this: bool, other_id, other_year):
        ev, lv = earlier["__version"], later["__version"]
        a, b = later.get("applications.carried_over.total"), earlier.get("applications.carried_forward.total")
        if a is not None and b is not None and not compare(a, b):
            key = "applications.carried_over.total" if later_is_this else "applications.carried_forward.total"
            out.append(Finding("applications.carry_link", [key],
                               f"{year if later_is_this else year + 1} 上年结转 carried over {fmt(a)} ≠ "
                               f"{year - 1 if later_is_this else year} 结转下年度 carried forward {fmt(b)}",
                               "总计 · total", other_id, other_year))
        if ev == "2021" and lv == "2021":
            for row in ("rules", "normative_docs"):
                made, repealed, now = (later.get(f"active.{row}.{c}") for c in ("made", "repealed", "in_force"))
                before = earlier.get(f"active.{row}.in_force")
                if None in (made, repealed, now, before) or compare(now, before + made - repealed):
                    continue
                keys = ([f"active.{row}.{c}" for c in ("made", "repealed", "in_force")] if later_is_this
                        else [f"active.{row}.in_force"])
                out.append(Finding("active.in_force_flow", keys,
                                   f"{fmt(now)} ≠ {fmt(before)} + {fmt(made)} − {fmt(repealed)}",
                                   official(dict((r.key, r.label) for r in T.ACTIVE_ROWS_2021)[row]), other_id, other_year))
        if ev == "legacy" and lv == "legacy":
            rows = sorted({k.rsplit(".", 1)[0] for k in later if k.endswith(".cumulative")})
            for row in rows:
                now, this_year, before = later.get(f"{row}.cumulative"), later.get(f"{row}.year"), earlier.get(f"{row}.cumulative")
                if None in (now, this_year, before):
                    continue
                if compare(now, before + this_year, fees=row.endswith((".fees", ".budget"))):
                    continue
                keys = [f"{row}.cumulative", f"{row}.year"] if later_is_this else [f"{row}.cumulative"]
                out.append(Finding("legacy.cumulative_flow", keys,
                                   f"{fmt(now)} ≠ {fmt(before)} + {fmt(this_year)}", row.removeprefix("legacy."),
                                   other_id, other_year))

    me = dict(this, __version=version)
    if prev is not None:
        pair(dict(prev, __version=prev_version), me, True, prev_id, year - 1)
    if nxt is not None:
        pair(me, dict(nxt, __version=next_version), False, next_id, year + 1)
    return out


CROSS_KEYS = ("applications.carried_over.total", "applications.carried_forward.total",
              *(f"active.{r}.{c}" for r in ("rules", "normative_docs") for c in ("made", "repealed", "in_force")))
