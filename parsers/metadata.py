"""Report metadata (report-format.md §6) from the page's own lines, meta tags and URL."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .labels import fold_radicals, normalize_keep_spaces, to_simplified

# `2017年`, or a bare year before the report words (`…2017政府信息公开工作年度报告`, 2008-2018 titles)
_YEAR_IN_TITLE = re.compile(r"((?:19|20)\d{2})\s*(?:年|(?=(?:政府|政务|信息公开|度)))")
_REPORT_WORDS = re.compile(
    r"(政府信息公开|政务公开|信息公开)?(工作)?((?:19|20)\d{2}\s*年?)?\s*(年度)?(工作)?(报告|年报)$")
_TITLE = re.compile(r"(年度报告|年报|年度工作报告|工作报告|公开报告)")  # 公开报告: `…2017年政务信息公开报告`
_DATE = re.compile(r"((?:19|20)\d{2})\s*[-年/.]\s*(\d{1,2})\s*[-月/.]\s*(\d{1,2})")
_URL_DATE = re.compile(r"/t((?:19|20)\d{2})(\d{2})(\d{2})_")
_URL_DATE2 = re.compile(r"/((?:19|20)\d{2})(\d{2})(\d{2})/")
_PERIOD = re.compile(r"统计(?:期限|时限|期间|时间|区间)?[^。\d]{0,8}?((?:19|20)\d{2})\s*年\s*1\s*月\s*1\s*日")
_ANY_DATE_LABEL = re.compile(r"(?<![统截办印])(?:日期|时间)\s*[:：]\s*")
_CLOSING_DATE = re.compile(r"^\s*((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*$")
_PUBLISHED_LABEL = re.compile(r"(发布|公开|成文|生成)(日期|时间)\s*[:：]\s*")
_INDEX_LABEL = re.compile(r"索\s*引\s*号\s*[:：]\s*([A-Za-z0-9０-９\-—/_.（）()]+(?:\s?[-/]\s?[A-Za-z0-9]+)*)")
_REGION_END = ("省", "市", "区", "县", "旗", "州", "盟", "镇", "乡", "街道", "自治区", "自治州", "自治县",
               "实验区", "新区", "开发区", "管委会", "街道办事处", "办事处")
_DEPT_END = ("局", "委", "办", "厅", "室", "中心", "院", "所", "站", "队", "部", "处", "馆", "社", "会",
             "署", "组", "办公室", "委员会")


# Label cells of a page's own metadata table (Jiangsu-style 信息公开 pages: `名称 | …`,
# `索引号 | 014314799/2024-00002`, `公开日期 | 2024-01-17`), by the field they give.
_FIELD_LABELS = {
    "名称": "title", "标题": "title", "信息名称": "title", "文件名称": "title",
    "索引号": "index_no", "索引": "index_no",
    "发布机构": "publisher", "发布单位": "publisher",
    "公开日期": "published", "发布日期": "published", "发布时间": "published", "公开时间": "published",
    "成文日期": "written", "生成日期": "written", "发文日期": "written",
}
_FIELD_PUNCT = re.compile(r"[\s\u3000:：]+")
MAX_FIELD_ROWS = 12


def page_fields(tables: list[list]) -> dict[str, str]:
    """Label/value pairs of the page's metadata tables: a cell that is only a field label
    (`索 引 号`, `公开日期：`) and the non-empty cell right after it.  `tables` are lists of
    rows of `Cell`s; only small tables are read (a report table is no metadata block)."""
    out: dict[str, str] = {}
    for rows in tables:
        if not rows or len(rows) > MAX_FIELD_ROWS:
            continue
        for row in rows:
            cells = [c for c in row.cells if not c.continued]
            for label, value in zip(cells, cells[1:]):
                key = _FIELD_LABELS.get(to_simplified(_FIELD_PUNCT.sub("", label.text)))
                text = value.text.strip()
                if key and text and to_simplified(_FIELD_PUNCT.sub("", text)) not in _FIELD_LABELS:
                    out.setdefault(key, normalize_keep_spaces(text))
    return out


@dataclass
class Meta:
    title: str | None = None
    agency: str | None = None
    year: int | None = None
    published: str | None = None
    index_no: str | None = None
    kind: str | None = None
    problems: list[str] | None = None


_NOT_REPORT = re.compile(r"关于.*(通知|函|意见|方案|决定|批复|公告|通报|报告的通知)$|(通知|函)$")


def is_report_title(text: str) -> bool:
    text = to_simplified(text)
    return bool(_TITLE.search(text)) and ("公开" in text or "年报" in text) \
        and not text.startswith("关于") and not _NOT_REPORT.search(text)


# `…年度报告-沭阳县发改局`: the browser title's site suffix after the report words
_SITE_SUFFIX = re.compile(r"^(.*?(?:年度报告|年报|工作报告|公开报告))\s*[-－—–_|｜]\s*[^-－—–_|｜]+$")
_AGENCY_PIECE = re.compile(r"^[\u4e00-\u9fff（）()]{2,30}$")  # a line that can be (part of) an agency name
_REGION_CHAR = re.compile(r"[省市区县旗州盟镇乡]")


def find_title(lines: list[str], meta: dict[str, str], html_title: str | None,
               fields: dict[str, str] | None = None) -> str | None:
    """The report's title: the page's 名称 field, a meta tag, else the page <title> (the part
    naming a report of some year, without the site's name after it; sidebars listing other
    years come before the heading in the body), else the first short line of the page
    that names a report (joined with the line or two above it when the title was printed
    over two lines: `南屏县人民政府` / `2023 年政府信息公开工作年度报告`)."""
    value = (fields or {}).get("title")
    if value and is_report_title(value):
        return value
    for name in ("articletitle", "title", "dc.title"):
        value = meta.get(name)
        if value and is_report_title(value):
            return _without_site(normalize_keep_spaces(value))
    parts = [_without_site(normalize_keep_spaces(p)) for p in re.split(r"\s*[_|｜—–]\s*|\s+-\s+", html_title or "")]
    for part in parts:
        if is_report_title(part) and _YEAR_IN_TITLE.search(part):
            return part
    shown: list[str] = []  # the first 80 non-empty lines, normalized as they are reached (most pages: a few)
    for line in lines[:200]:
        if not line:
            continue
        clean = normalize_keep_spaces(line)
        if 6 <= len(clean) <= 80 and is_report_title(clean) and _YEAR_IN_TITLE.search(clean) \
                and "。" not in clean and "根据" not in clean and "现将" not in clean:
            return _joined_title(shown[-2:], clean)
        shown.append(clean)
        if len(shown) == 80:
            break
    for part in parts:
        if is_report_title(part):
            return part
    return None


def _without_site(title: str) -> str:
    m = _SITE_SUFFIX.match(title)
    return m.group(1).strip() if m and is_report_title(m.group(1)) else title


def _names_agency(name: str | None) -> bool:
    """A whole agency name: a place in it and a body's ending (`东湖区市场监督管理局`)."""
    if not name or len(name) < 2 or not _REGION_CHAR.search(name, 1):
        return False
    simple = to_simplified(name)
    return simple.endswith(("人民政府", "政府")) or simple.endswith(_REGION_END) or simple.endswith(_DEPT_END)


def _joined_title(above: list[str], title: str) -> str:
    """The title line with the lines printed above it that hold the rest of its agency:
    only when the line alone names no whole agency (`2023 年政府信息公开工作年度报告`,
    `理局2022年…` under `东湖区市场监督管`) and the lines joined do."""
    if _names_agency(agency_from_title(title)):
        return title
    for k in (1, 2):
        pieces = above[len(above) - k:] if len(above) >= k else None
        if not pieces or not all(_AGENCY_PIECE.match(p.replace(" ", "")) and not is_report_title(p) for p in pieces):
            continue
        joined = "".join(p.replace(" ", "") for p in pieces) + title
        if _names_agency(agency_from_title(joined)):
            return joined
    return title


_AGENCY_CUTS = (r"^关于", r"^((?:19|20)\d{2})年(度)?", r"(的)?(政府信息公开|政务信息公开|政务公开|信息公开).*$",
                r"((?:19|20)\d{2})年度?", r"((?:19|20)\d{2})$")


def agency_from_title(title: str) -> str | None:
    """`汉中市民政局2020年政府信息公开年度报告` → `汉中市民政局`.  The words are found on
    the simplified form and cut from the title as written (traditional stays traditional)."""
    original = title.replace(" ", "")
    simple = to_simplified(original)
    if len(simple) != len(original):
        original = simple
    for pattern in _AGENCY_CUTS:
        m = re.search(pattern, simple)
        if m:
            simple = simple[:m.start()] + simple[m.end():]
            original = original[:m.start()] + original[m.end():]
    return original.strip("《》“”\"'()（） ") or None


def kind_of(agency: str | None) -> str | None:
    """`government` for a whole-government report of a region, else `agency`."""
    if not agency:
        return None
    agency = to_simplified(agency)
    name = agency.removesuffix("人民政府").removesuffix("政府")
    if agency.endswith(("人民政府", "政府")) and not agency.endswith(("办公室", "办公厅")):
        return "government"
    if name.endswith(_DEPT_END) and not name.endswith(("管委会", "办事处")):
        return "agency"
    if name.endswith(_REGION_END):
        return "government"
    return "agency"


_META_DATES = ("pubdate", "publishdate", "firstpublishedtime", "dc.date", "dcterms.issued", "publishtime", "pubtime")
_OWN_PUBLISHED_LABEL = re.compile(r"(发布|公开)(日期|时间)\s*[:：]\s*")


def publication_fields(lines: list[str], meta: dict[str, str], fields: dict[str, str] | None) -> dict[str, str]:
    """The page's own statements of its publication date, by where they stand: its 公开日期
    field, its meta and `<publishtime>` tags, its first `发布日期：` line."""
    out: dict[str, str] = {}
    value = (fields or {}).get("published")
    if value and (m := _DATE.search(value)) and (d := _iso(m)):
        out["the 公开日期 field"] = d
    for name in _META_DATES:
        value = meta.get(name)
        if value and (m := _DATE.search(value)) and (d := _iso(m)):
            out[f"<{name}>"] = d
            break
    for line in lines[:80]:
        m = _OWN_PUBLISHED_LABEL.search(line)
        if m and (d := _DATE.search(line[m.end():m.end() + 30])) and (iso := _iso(d)):
            out[f"the line {line[:m.end()].strip()[-6:]!r}"] = iso
            break
    return out


def find_published(lines: list[str], meta: dict[str, str], url: str | None) -> str | None:
    for name in _META_DATES:
        value = meta.get(name)
        if value and (m := _DATE.search(value)):
            return _iso(m)
    for line in lines[:80]:
        m = _PUBLISHED_LABEL.search(line)
        if m and (d := _DATE.search(line[m.end():m.end() + 30])):
            return _iso(d)
    if url and ((m := _URL_DATE.search(url)) or (m := _URL_DATE2.search(url))):
        return _iso(m)
    for line in lines[:80]:  # a bare `日期：` / `时间：` label in the page header
        m = _ANY_DATE_LABEL.search(line)
        if m and (d := _DATE.search(line[m.end():m.end() + 30])):
            return _iso(d)
    return None


def closing_date(lines: list[str]) -> str | None:
    """The date under the report's signature (`汉中市民政局` / `2021年1月20日`), last lines."""
    for line in reversed(lines[-80:]):
        m = _CLOSING_DATE.match(line)
        if m:
            return _iso(m)
    return None


def _iso(m: re.Match) -> str | None:
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}"


_INDEX_VALUE = re.compile(r"^[A-Za-z0-9\-—/_.（）()]+(?:\s?[-/]\s?[A-Za-z0-9]+)*$")


def find_index_no(lines: list[str], meta: dict[str, str], fields: dict[str, str] | None = None) -> str | None:
    value = (fields or {}).get("index_no", "").strip()
    if value and _INDEX_VALUE.match(value):
        return value
    for line in lines[:80]:
        m = _INDEX_LABEL.search(line)
        if m:
            return m.group(1).strip()
    return meta.get("indexno") or meta.get("index_no") or None


def find_year(title: str | None, text: str, published: str | None) -> tuple[int | None, str | None]:
    """(year, how) — from the title, else the statistics period, else published - 1."""
    if title and (m := _YEAR_IN_TITLE.search(normalize_keep_spaces(title))):
        return int(m.group(1)), "title"
    if m := _PERIOD.search(text):
        return int(m.group(1)), "period"
    if published:
        return int(published[:4]) - 1, "published"
    return None, None


def read_meta(lines: list[str], meta: dict[str, str], html_title: str | None, url: str | None,
              fields: dict[str, str] | None = None) -> Meta:
    """`fields`: the page's own metadata table (`page_fields`), read before its lines."""
    title = find_title(lines, meta, html_title, fields)
    closing = closing_date(lines)
    # 發布日期, 索引號 on mirror sites; Kangxi radicals (⽇, ⼀) that some PDF fonts print for 日, 一
    lines = to_simplified(fold_radicals("\n".join(lines[:400]))).split("\n")
    own = publication_fields(lines, meta, fields)
    problems = []
    if own:  # never a date later than the page's own publication fields
        published = min(own.values())
        if len(set(own.values())) > 1:
            problems.append("published: the page's dates compete (" + ", ".join(f"{d} from {w}" for w, d in own.items())
                            + f"); the earliest, {published}, is taken")
    else:
        published = find_published(lines, meta, url)
    dated_by_closing = published is None and closing is not None
    published = published or closing
    text = "\n".join(lines)
    year, how = find_year(title, text, published)
    agency = agency_from_title(title) if title else None
    out = Meta(title=title, agency=agency, year=year, published=published,
               index_no=find_index_no(lines, meta, fields), kind=kind_of(agency), problems=problems)
    period = _PERIOD.search(text)
    if how == "title" and period and int(period.group(1)) != year:
        out.problems.append(f"year: the title says {year}, the statistics period {period.group(1)}; "
                            "the title's year is used")
    if dated_by_closing:
        out.problems.append(f"published: no publication date on the page; taken from the report's closing date ({closing})")
    if how == "published":
        out.problems.append(f"year: not in the title or a statistics period; taken as published year - 1 ({year})")
    if title is None:
        out.problems.append("title: no line names an annual report")
    return out
