"""Legacy figures stated in sentences (`2017年，主动公开政府信息数135条，其中…`).

Many 2008-2018 reports give their figures only in prose.  A sentence is cut into clauses
(at ，。；, before 其中, and at 、 only when every piece holds a number); a clause gives a
figure only when it names exactly one indicator (`legacy_template.Indicator.prose`) and
holds exactly one number, written right after the indicator phrase and followed by its
unit (`收到申请数12件`, `行政复议1起`, `收取费用0元`; a bare number is a table row flattened
into text, or a code).  Years, dates, ordinals (第N), percentages and changes
(同比增长N%, 比上年增加N) are not figures.  Everything else that names an indicator next to a
number is a warning, never a guess; a clause with no number (`未发生行政诉讼`) gives nothing,
never 0.  Prose gives only the year's figure (`year`): a clause about a running total
(累计) is not read.
"""

from __future__ import annotations

import re
from functools import lru_cache

from . import legacy_template as L
from .labels import normalize
from .mapping import Fact
from .values import parse_value

# 、 inside an indicator's own wording is not a list separator
_PROTECT = ("信函、传真", "诉讼、举报", "国家安全、公共安全、经济安全", "更改、补充", "公民、法人")
_HOLD = "\x01"
_CLAUSE = re.compile(r"[，。；;！!？?\n]|(?<!\d),|,(?!\d)|(?=其中)")  # not the comma of 1,234
_NUMBER_TEXT = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_NUMBER = re.compile(_NUMBER_TEXT)
_UNIT = "|".join(L.UNITS)
# numbers that are not an indicator's figure
_NOT_FIGURES = (
    re.compile(r"\d+(?:\.\d+)?\s*(?:年|月|日|号|时|%|‰|个百分点|倍|周岁|岁)"),
    re.compile(r"第\s*\d+"),
    re.compile(r"\(\s*\d+\s*\)"),
    re.compile(r"\d+\s*[-~至到]\s*\d+"),
    re.compile(r"(?:增加|减少|增长|下降|上升|提高|降低|同比|环比|比上年|较上年|多出|少了)(?:了)?(?:约)?\s*\d+(?:\.\d+)?"),
)
_FILLER = r"(?:共|共计|合计|总计|为|达|达到|计|有|了|:|数|总数|数量|的)*"
_CONJUNCTION = "、和及与或"
_RUNNING_TOTAL = ("累计", "历年")
_DIGIT = re.compile(r"\d")
_ITEM = re.compile(r"^(?:\d{1,2}[.、)](?!\d)|\(\d{1,2}\))")  # `1.` `(2)` item numbers


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[str, re.Pattern]]:
    return [(i.key, re.compile("|".join(f"(?:{p})" for p in i.prose))) for i in L.INDICATORS if i.prose]


def clauses(line: str) -> list[str]:
    """The clauses of one line, as written."""
    text = line
    for phrase in _PROTECT:
        text = text.replace(phrase, phrase.replace("、", _HOLD))
    out = []
    for piece in _CLAUSE.split(text):
        parts = piece.split("、")
        if len(parts) > 1 and all(_NUMBER.search(p) for p in parts):
            out.extend(parts)
        else:
            out.append(piece)
    return [c.replace(_HOLD, "、").strip() for c in out if c.strip()]


@lru_cache(maxsize=1)
def _any_indicator() -> re.Pattern:
    return re.compile("|".join(f"(?:{p.pattern})" for _key, p in _patterns()))


def _indicators(clause: str) -> list[tuple[str, int, int]]:
    """(key, start, end) of the indicator phrases in a normalized clause, the longest kept
    where two overlap (`政府网站主动公开政府信息` is via_website, not active_total)."""
    if not _any_indicator().search(clause):
        return []
    found = [(key, m.start(), m.end()) for key, pat in _patterns() for m in pat.finditer(clause)
             if m.end() > m.start()]
    found.sort(key=lambda f: f[1] - f[2])
    kept: list[tuple[str, int, int]] = []
    for f in found:
        if all(f[2] <= k[1] or f[1] >= k[2] for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: f[1])


def _figures(clause: str) -> tuple[list[re.Match], bool]:
    """The numbers of a normalized clause that can be figures, and whether others (dates,
    percentages, changes) were set aside."""
    blocked: list[tuple[int, int]] = []
    for pat in _NOT_FIGURES:
        blocked += [(m.start(), m.end()) for m in pat.finditer(clause)]
    numbers = list(_NUMBER.finditer(clause))
    figures = [m for m in numbers if not any(a <= m.start() < b for a, b in blocked)]
    return figures, len(figures) < len(numbers)


def read_clause(clause: str) -> tuple[str, int | float, str, str | None] | str | None:
    """(key, value, indicator phrase, unit) for a clause that states one figure; a reason
    (str) when it names an indicator next to a number but cannot be read; None otherwise."""
    norm = _ITEM.sub("", normalize(clause))
    found = _indicators(norm)
    if not found:
        return None
    figures, set_aside = _figures(norm)
    if not figures:
        return "no figure clearly attached" if set_aside else None
    if any(w in norm for w in _RUNNING_TOTAL):
        return "a running total (累计), not the year's figure"
    if len({k for k, _a, _b in found}) > 1:
        return f"names {len(found)} indicators"
    if len(figures) > 1:
        return f"{len(figures)} numbers for one indicator"
    key, start, end = found[0]
    if start > 0 and norm[start - 1] in _CONJUNCTION:
        return "the indicator is one of several joined by " + norm[start - 1]
    m = re.compile(_FILLER + f"({_NUMBER_TEXT})" + r"\s*(" + _UNIT + r")").match(norm, end)
    if m is None or m.start(1) != figures[0].start():
        return "the number is not written right after the indicator, with its unit"
    value = parse_value(m.group(1)).value
    if value is None:
        return "not a number"
    return key, value, norm[start:end], m.group(2)


def read_prose(lines: list[str], skip: set[int] | frozenset[int] = frozenset()) -> tuple[dict[str, Fact], list[str]]:
    """Figures stated in the text: `legacy.KEY.year` facts with `source="prose"`, the
    clause as raw text, the line number as row (table -1), and the warnings.  `skip`:
    line numbers already read as table rows; lines holding `|` are table rows too."""
    facts: dict[str, Fact] = {}
    warnings: list[str] = []
    for n, line in enumerate(lines):
        if n in skip or "|" in line or not _DIGIT.search(line):
            continue
        for clause in clauses(line):
            if not _DIGIT.search(clause):
                continue  # nothing stated (`未发生行政诉讼`): the common case, skipped early
            got = read_clause(clause)
            if got is None:
                continue
            if isinstance(got, str):
                key = _indicators(_ITEM.sub("", normalize(clause)))[0][0]
                warnings.append(f"legacy.{key}.year: text not read ({got}): {clause}")
                continue
            key, value, phrase, unit = got
            fact_key = f"legacy.{key}.year"
            old = facts.get(fact_key)
            if old is not None:
                if old.value != value:
                    warnings.append(f"{fact_key}: the text states it twice ({old.raw!r} and {clause!r}); "
                                    "kept the first")
                continue
            facts[fact_key] = Fact(fact_key, value, clause, -1, n, -1, phrase, "", "text", unit, "prose")
    return facts, warnings
