"""TRS WCM: `index.html`, `index_1.html`, … with the page count in a
`createPageHTML(…)` call, report pages at `/YYYYMM/tYYYYMMDD_N.html`.

The call comes in several shapes: `createPageHTML(7, 0, "index", "html")`,
`createPageHTML('page_div', 7, 0, 'index', 'html', 120)`; the count is the first
number, the file name the argument before the extension."""

from __future__ import annotations

import re
from urllib.parse import urljoin

from .base import Adapter, Link, Links, is_report_link

_CALL = re.compile(r"createPageHTML\s*\(([^)]*)\)")
_COUNT_VAR = re.compile(r"var\s+(?:countPage|m_nPageCount|pageCount)\s*=\s*['\"]?(\d+)")
_TRS_PAGE = re.compile(r"/t(?:19|20)\d{6}_\d+\.s?html?$")
_EXTS = ("html", "htm", "shtml", "jhtml")
MAX_PAGES = 500
# lists written by script (`var url = "./202301/t20230105_5901300.html"; var title = "…";`
# then document.write), invisible to a plain <a href> scan
_SCRIPT = re.compile(r"<script[^>]*>(.*?)</script>", re.S | re.I)
_SCRIPT_URL = re.compile(r"""["']((?:\.{1,2}/|/|https?://)[^"'<>\s]*?/t(?:19|20)\d{6}_\d+\.s?html?)["']""")
_SCRIPT_TITLE = re.compile(r"""["']([^"'<>]*?[\u4e00-\u9fff]{4}[^"'<>]*)["']""")  # any Chinese text
_NEAR = 400  # characters between a script's URL and the title that goes with it


def page_count(html: str) -> tuple[int, str, str] | None:
    """(pages, file name, extension) of a TRS list, from its pager script."""
    for m in _CALL.finditer(html):
        args = [a.strip().strip("'\"") for a in m.group(1).split(",")]
        numbers = [int(a) for a in args if a.isdigit()]
        ext_at = next((i for i, a in enumerate(args) if a.lower() in _EXTS), None)
        if numbers and ext_at and re.fullmatch(r"[\w\-]+", args[ext_at - 1]):
            return min(numbers[0], MAX_PAGES), args[ext_at - 1], args[ext_at]
    if (m := _COUNT_VAR.search(html)):
        return min(int(m.group(1)), MAX_PAGES), "index", "html"
    return None


class Trs(Adapter):
    name = "trs"

    def recognizes(self, url: str, html: str) -> bool:
        return "createPageHTML" in html or bool(_COUNT_VAR.search(html)) or bool(_TRS_PAGE.search(html))

    def links(self, url: str, html: str, links: list[Link]) -> Links:
        found = Links()
        pages = page_count(html)
        if pages:
            count, name, ext = pages
            for n in range(1, count):
                found.lists.setdefault(urljoin(url, f"{name}_{n}.{ext}"), f"page {n + 1}")
        for link in [*links, *script_links(url, html)]:
            if _TRS_PAGE.search(link.url) and is_report_link(link.text):
                found.reports.setdefault(link.url, link.text)
        return found


def script_links(url: str, html: str) -> list[Link]:
    """Links a list page writes with script: each TRS page URL in a script, paired with
    the first Chinese string after it (`{url: …, title: …}`, `var u = …; var t = …`,
    `<a href=…>…</a>`), else the nearest one before it, within reach (none: no link);
    the caller keeps those whose title names a report."""
    out: list[Link] = []
    for block in _SCRIPT.finditer(html):
        code = block.group(1)
        titles = [(m.start(), m.end(), m.group(1)) for m in _SCRIPT_TITLE.finditer(code)]
        if not titles:
            continue
        for m in _SCRIPT_URL.finditer(code):
            after = [t for start, _end, t in titles if 0 <= start - m.end() <= _NEAR]
            before = [t for _start, end, t in reversed(titles) if 0 <= m.start() - end <= _NEAR]
            title = (after or before or [None])[0]
            if title:
                out.append(Link(urljoin(url, m.group(1)), title))
    return out
