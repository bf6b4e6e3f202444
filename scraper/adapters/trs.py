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
        for link in links:
            if _TRS_PAGE.search(link.url) and is_report_link(link.text):
                found.reports.setdefault(link.url, link.text)
        return found
