"""The six sections of a report (report-format.md §1), or the seven of a 2008-2018
report (§3.4, with `fees`), found by fuzzy headings.

Real headings vary (`一、概述`, `1、总体情况`, `五、政府信息公开工作存在的主要问题及改进情况`)
and carry typos (a character doubled, dropped or swapped), so a heading is a short
numbered line that is close enough to one of the known wordings, in report order.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from functools import lru_cache

from .labels import fold_compat, normalize

SECTION_KEYS = ("overview", "active", "applications", "appeals", "problems", "other")
# the 2007 regulation's reports add the fees section (一、概述 … 四、政府信息公开的收费及减免情况 … 七、)
LEGACY_SECTION_KEYS = ("overview", "active", "applications", "fees", "appeals", "problems", "other")
_HEADINGS: dict[str, tuple[str, ...]] = {
    "overview": ("总体情况", "概述", "基本情况", "总体概况"),
    "active": ("主动公开政府信息情况", "主动公开情况", "行政机关主动公开政府信息情况"),
    "applications": ("收到和处理政府信息公开申请情况", "依申请公开政府信息情况", "依申请公开情况",
                     "依申请公开政府信息的情况", "依申请公开政府信息和不予公开政府信息的情况"),
    "fees": ("政府信息公开的收费及减免情况", "政府信息公开收费及减免情况", "收费及减免情况"),
    "appeals": ("政府信息公开行政复议、行政诉讼情况", "行政复议、行政诉讼情况", "被申请行政复议、提起行政诉讼情况",
                "因政府信息公开申请行政复议、提起行政诉讼的情况"),
    "problems": ("存在的主要问题及改进情况", "存在的主要问题及改进措施", "政府信息公开工作存在的主要问题及改进情况",
                 "存在的问题及改进措施", "主要问题和改进措施"),
    "other": ("其他需要报告的事项", "其他事项", "其他需要说明的事项"),
}
_KEYWORDS: dict[str, tuple[str, ...]] = {
    "overview": ("总体", "概述", "概况"),
    "active": ("主动公开",),
    "applications": ("收到和处理", "依申请"),
    "fees": ("收费", "减免"),
    "appeals": ("复议", "诉讼"),
    "problems": ("问题", "改进"),
    "other": ("其他需要", "其他事项", "需要报告"),
}
_NUMERALS = "一二三四五六七"
_PREFIX = re.compile(r"^\s*(?:([一二三四五六七])\s*[、.．,，:：]|([1-7])\s*[、.．,，](?!\d))\s*")
_ORDER = LEGACY_SECTION_KEYS  # every section, in report order
# where an Arabic-numbered heading of each section stands: its place in either era's list
_PLACES = {k: {i for keys in (SECTION_KEYS, LEGACY_SECTION_KEYS) for i, s in enumerate(keys) if s == k} for k in _ORDER}
_CHROME = re.compile(r"(网站主办单位|主办单位[:：]|版权所有|ICP备|网站标识码|公网安备|网站地图|打印本页|关闭窗口|"
                     r"【打印】|【关闭】|分享到|扫一扫|您访问的链接即将离开|上一篇|下一篇)")


def is_chrome(line: str) -> bool:
    """A line of the page around the report (footer, share and print links), not of it."""
    return bool(_CHROME.search(line))


@lru_cache(maxsize=4096)
def _score(section: str, body: str) -> float:
    if section == "fees" and not any(k in body for k in _KEYWORDS["fees"]):
        return 0.0  # only a legacy heading naming fees; never a fuzzy look-alike of another section
    best = max(SequenceMatcher(None, body, normalize(h)).ratio() for h in _HEADINGS[section])
    if any(k in body for k in _KEYWORDS[section]):
        best = max(best, 0.75)
    return best


def find_headings(lines: list[str]) -> dict[str, int]:
    """Line index of each section heading found, in report order."""
    found: dict[str, int] = {}
    next_index = 0
    for i, line in enumerate(lines):
        m = _PREFIX.match(line)
        if not m and ("\u2e80" <= line[:1] <= "\u2fd5" or "\uff01" <= line[:1] <= "\uff5e"):  # １、, Kangxi ⼀
            line = fold_compat(line)
            m = _PREFIX.match(line)
        if not m:
            continue
        body = normalize(line[m.end():]).rstrip(":")
        if not body or len(body) > 40 or re.search(r"[\d|]", body) or "。" in body:
            continue
        chinese = m.group(1) is not None
        position = _NUMERALS.index(m.group(1)) if chinese else int(m.group(2)) - 1
        for k in range(next_index, len(_ORDER)):
            section = _ORDER[k]
            score = _score(section, body)
            placed = position in _PLACES[section]
            if (score >= 0.75 and (chinese or placed)) or (score >= 0.5 and placed):
                found[section] = i
                next_index = k + 1
                break
    return found


def split_sections(lines: list[str]) -> dict[str, str]:
    """Text of each section found: from its heading to the next (or the page chrome)."""
    heads = find_headings(lines)
    order = sorted(heads.items(), key=lambda kv: kv[1])
    out: dict[str, str] = {}
    for n, (section, start) in enumerate(order):
        end = order[n + 1][1] if n + 1 < len(order) else len(lines)
        body: list[str] = []
        for line in lines[start + 1:end]:
            if _CHROME.search(line):
                break
            if line.strip():
                body.append(line)
        out[section] = "\n".join(body).strip()
    return out


def table_region(lines: list[str]) -> tuple[int, int]:
    """Lines that can hold the tables: from 二、 (or the start) to 五、 (or the end)."""
    heads = find_headings(lines)
    start = heads.get("active", heads.get("overview", 0))
    end = heads.get("problems", heads.get("other", len(lines)))
    if end <= start:
        end = len(lines)
    return start, end
