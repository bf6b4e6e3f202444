"""Per-report checks (report-format.md §5), each a small named rule.

A rule gets the report and returns a `Check`: ok True/False, or None when a value it
needs is null (skipped).  A failed check never changes a value.  Adding a rule is adding
one function to `RULES`.  Cross-report rules (carry_link, in_force_flow) need the archive
and live in `scraper/crosscheck.py`, built on `compare` here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Callable

from . import templates as T
from .legacy_template import SUMS as LEGACY_SUMS
from .sections import LEGACY_SECTION_KEYS, SECTION_KEYS

TOLERANCE = 0
FEES_TOLERANCE = 0.01


@dataclass(frozen=True)
class Check:
    rule: str
    ok: bool | None
    detail: str

    def as_dict(self) -> dict:
        return {"rule": self.rule, "ok": self.ok, "detail": self.detail}


def _fmt(n) -> str:
    return f"{n:g}" if isinstance(n, float) else str(n)


def _summary(rule: str, failures: list[str], checked: int, missing: str) -> Check:
    if failures:
        return Check(rule, False, "; ".join(failures))
    if checked == 0:
        return Check(rule, None, f"skipped: {missing}")
    return Check(rule, True, f"{checked} checked")


def _cols() -> list[str]:
    return [c.key for c in T.APPLICATION_COLS]


def _other_rows(report) -> list[str]:
    facts = report.facts
    if report.applications_layout == "2019" or any(
            facts.get(f"applications.other.{c}") is not None for c in _cols()):
        if not any(facts.get(f"applications.other.{r}.{c}") is not None
                   for r in ("no_correction", "no_fee", "other") for c in _cols()):
            return ["other"]
    return ["other.no_correction", "other.no_fee", "other.other"]


def row_total(report) -> Check:
    rule, facts = "applications.row_total", report.facts
    rows = [r for r in T.APPLICATION_ROWS_2021 if not r.startswith("other")] + _other_rows(report)
    failures, checked = [], 0
    for row in rows:
        vals = [facts.get(f"applications.{row}.{c}") for c in _cols()]
        if any(v is None for v in vals):
            continue
        checked += 1
        if sum(vals[:-1]) != vals[-1]:
            failures.append(f"{row}: {'+'.join(_fmt(v) for v in vals[:-1])} != {_fmt(vals[-1])}")
    return _summary(rule, failures, checked, "no row with all seven values")


def balance(report) -> Check:
    rule, facts = "applications.balance", report.facts
    failures, checked = [], 0
    for col in _cols():
        a, b, c, d = (facts.get(f"applications.{r}.{col}")
                      for r in ("new_received", "carried_over", "total", "carried_forward"))
        if None in (a, b, c, d):
            continue
        checked += 1
        if a + b != c + d:
            failures.append(f"{col}: {_fmt(a)}+{_fmt(b)} != {_fmt(c)}+{_fmt(d)}")
    return _summary(rule, failures, checked, "received, carried-over, total or carried-forward is null")


def results_sum(report) -> Check:
    rule, facts = "applications.results_sum", report.facts
    rows = [r for r in T.RESULT_ROWS if not r.startswith("other")] + _other_rows(report)
    failures, checked = [], 0
    for col in _cols():
        total = facts.get(f"applications.total.{col}")
        parts = [facts.get(f"applications.{r}.{col}") for r in rows]
        if total is None or any(p is None for p in parts):
            continue
        checked += 1
        if sum(parts) != total:
            failures.append(f"{col}: results sum to {_fmt(sum(parts))}, total is {_fmt(total)}")
    return _summary(rule, failures, checked, "a result row or the total is null")


def group_total(report) -> Check:
    rule, facts = "appeals.group_total", report.facts
    failures, checked = [], 0
    for g in T.APPEAL_GROUPS:
        vals = [facts.get(f"appeals.{g.key}.{c.key}") for c in T.APPEAL_COLS]
        if any(v is None for v in vals):
            continue
        checked += 1
        if sum(vals[:-1]) != vals[-1]:
            failures.append(f"{g.key}: {'+'.join(_fmt(v) for v in vals[:-1])} != {_fmt(vals[-1])}")
    return _summary(rule, failures, checked, "an appeals value is null")


TOWNSHIP = re.compile(r"(镇|乡|街道|街道办事处|办事处)$")
LAST_LEGACY_YEAR = 2018  # reports on 2008-2018 fall under the 2007 regulation (国务院令第492号)


def deadline(report) -> date | None:
    """The last day a report on `report.year` may be published (None when the year is unknown)."""
    if not report.year:
        return None
    return deadline_for(report.year, report.kind, report.agency)


def deadline_for(year: int, kind: str | None, agency: str | None, level: str | None = None) -> date:
    """The 2007 regulation (art. 31): every agency's report by 31 March; from 2019 (art.
    49-50) 31 March for the whole-government report of a county or above; 31 January for
    an agency, and for a township or sub-district (乡镇、街道: registry level `township`, or
    the name), which is not "county or above"."""
    if year <= LAST_LEGACY_YEAR:
        return date(year + 1, 3, 31)
    township = level == "township" or bool(agency and TOWNSHIP.search(agency.removesuffix("人民政府")))
    return date(year + 1, 3, 31) if kind == "government" and not township else date(year + 1, 1, 31)


def on_time(report) -> Check:
    rule = "report.on_time"
    if not report.published or not report.year:
        return Check(rule, None, "skipped: published date or year unknown")
    last_day = deadline(report)
    published = date.fromisoformat(report.published)
    if published <= last_day:
        return Check(rule, True, f"published {published} <= {last_day}")
    return Check(rule, False, f"published {published}, {(published - last_day).days} days after {last_day}")


def complete(report) -> Check:
    rule = "report.complete"
    if report.version == "legacy":  # no national table before 2019: the seven sections are the form
        missing = [s for s in LEGACY_SECTION_KEYS if s not in report.sections]
        return Check(rule, not missing, f"sections missing: {', '.join(missing)}" if missing else "seven sections")
    missing_sections = [s for s in SECTION_KEYS if s not in report.sections]
    if report.version is None:
        return Check(rule, False, f"the tables do not tell the template version; {len(report.found)} cells found")
    if report.version not in T.TEMPLATES:
        return Check(rule, None, "skipped: no table of the 2019 or 2021 template (legacy report)")
    missing_cells = [k for k in T.TEMPLATES[report.version].keys() if k not in report.found]
    if report.applications_layout == "2019" and report.version == "2021":
        missing_cells = [k for k in missing_cells if not k.startswith("applications.other.")]
    problems = []
    if missing_sections:
        problems.append(f"sections missing: {', '.join(missing_sections)}")
    if missing_cells:
        shown = ", ".join(missing_cells[:5]) + (f" and {len(missing_cells) - 5} more" if len(missing_cells) > 5 else "")
        problems.append(f"{len(missing_cells)} cells not found: {shown}")
    return Check(rule, not problems, "; ".join(problems) or "six sections, every cell found")


def version_matches_year(report) -> Check:
    """2021 tables for N >= 2021, 2019 tables for 2019-2020, legacy for N <= 2018.

    A legacy report (no template table) on 2019 or later fails: the 2019 regulation made
    the tables part of the report.  Template tables on a year up to 2018 fail too: the
    first template dates from late 2019, after every report on 2018 was due, so such a
    report most likely carries a wrong year (the version stays what the tables say)."""
    rule = "report.version_matches_year"
    if not report.version or not report.year:
        return Check(rule, None, "skipped: version or year unknown")
    expected = "2021" if report.year >= 2021 else "2019" if report.year > LAST_LEGACY_YEAR else "legacy"
    ok = expected == report.version
    return Check(rule, ok, f"{report.version} tables for {report.year}" + ("" if ok else f" (expected {expected})"))


_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def _cn_number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if text in _CN_DIGITS:
        return _CN_DIGITS[text]
    m = re.fullmatch(r"([一二三四五六七八九])?十([一二三四五六七八九])?", text)
    if m:
        return _CN_DIGITS.get(m.group(1) or "一", 1) * 10 + (_CN_DIGITS[m.group(2)] if m.group(2) else 0)
    return None


_NUM = r"(?<![第\d])(\d+|[零〇一二两三四五六七八九十]{1,3})"
_NOT_APPEAL = r"(?![^。；;，,]*(?:复议|诉讼))"
# a count ends its phrase: `三个一`, `12345件` followed by more digits or a closing quote is a name
_COUNT_END = r"(?![零〇一二两三四五六七八九十百千万\d”’」》])"
# requests that are not disclosure applications (hotlines, petitions, consultations)
_NOT_DISCLOSURE = r"(?![^。；;，,]*(?:热线|12345|信访|来信|来电|咨询|留言|投诉))"
# (word the claim needs, pattern over prose, fact key it states)
TEXT_CLAIMS: tuple[tuple[str, re.Pattern, str], ...] = (
    ("申请", re.compile(r"(?:新收|新?收到|受理|接收)了?" + _NOT_APPEAL + _NOT_DISCLOSURE +
                r"[^。；;，,“”]{0,12}?(?:政府信息公开|依申请公开|信息公开)?"
                r"[^。；;，,“”]{0,6}?(?:申请|事项)(?:共|合计)?[^。；;，,“”\d]{0,4}?" + _NUM + r"\s*(?:件|条|宗)" + _COUNT_END),
     "applications.new_received.total"),
    ("结转", re.compile(r"上年(?:度)?结转[^。；;，,“”\d]{0,12}?" + _NUM + r"\s*件" + _COUNT_END), "applications.carried_over.total"),
    ("结转", re.compile(r"结转(?:至|到)?下(?:一)?年度?[^。；;，,“”\d]{0,8}?" + _NUM + r"\s*件" + _COUNT_END),
     "applications.carried_forward.total"),
    ("复议", re.compile(r"(?:收到|发生|办理|涉及|被申请)[^。；;，,“”]{0,8}?(?:政府信息公开)?[^。；;，,“”]{0,4}?行政复议(?:案件|申请)?(?:共)?"
                + _NUM + r"\s*(?:件|起)" + _COUNT_END), "appeals.review.total"),
)


def text_matches_table(report) -> Check:
    rule = "report.text_matches_table"
    text = "\n".join(report.sections.get(s, "") for s in ("overview", "applications", "appeals"))
    prose = "\n".join(line for line in text.split("\n") if "|" not in line)  # not the table rows
    failures, checked = [], 0
    for word, pattern, key in TEXT_CLAIMS:
        if word not in prose:
            continue
        for m in pattern.finditer(prose):
            stated = _cn_number(m.group(1))
            table = report.facts.get(key)
            if stated is None or table is None:
                continue
            checked += 1
            if stated != table:
                failures.append(f"{key}: text says {stated} ({m.group(0)}), table says {_fmt(table)}")
            break
    return _summary(rule, failures, checked, "no number in the prose to compare")


def legacy_sums(report) -> Check:
    """A legacy total against its parts, in `year` and `cumulative` alike.  The parts are the
    rows the report's table lists (a key present, even null): a complete form of them must
    be listed (the four channels or 当面/网络/信函、传真; the national list's eight answers or
    the short form's four, plus any other answer row listed; the six reasons; upheld,
    corrected and other; full- and part-time), and every value present, else not checked."""
    rule, facts = "legacy.sums", report.facts
    if report.version != "legacy":
        return Check(rule, None, "skipped: not a legacy report")
    failures, checked = [], 0
    for s in LEGACY_SUMS:
        for col in ("year", "cumulative"):
            listed = next((f for f in s.forms if all(f"legacy.{k}.{col}" in facts for k in f)), None)
            total = facts.get(f"legacy.{s.total}.{col}")
            if listed is None or total is None:
                continue
            parts = [*listed, *(k for k in s.extras if k not in listed and f"legacy.{k}.{col}" in facts)]
            values = [facts[f"legacy.{k}.{col}"] for k in parts]
            if any(v is None for v in values):
                continue
            checked += 1
            if not compare(sum(values), total):
                failures.append(f"{s.total}.{col}: {'+'.join(_fmt(v) for v in values)} != {_fmt(total)}")
    return _summary(rule, failures, checked, "no legacy total with all its parts")


RULES: tuple[Callable, ...] = (row_total, balance, results_sum, group_total, on_time, complete,
                               version_matches_year, text_matches_table)
LEGACY_RULES: tuple[Callable, ...] = (legacy_sums,)


def run_checks(report) -> list[Check]:
    rules = RULES + LEGACY_RULES if report.version == "legacy" else RULES
    return [rule(report) for rule in rules]


def compare(a, b, *, fees: bool = False) -> bool:
    """Equality with the spec's tolerance (0, or 0.01 for fee amounts)."""
    return abs(a - b) <= (FEES_TOLERANCE if fees else TOLERANCE)
