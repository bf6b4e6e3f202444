"""TRS WCM: `index.html`, `index_1.html`, … with the page count in `createPageHTML(n, …)`,
report pages at `/YYYYMM/tYYYYMMDD_N.html`."""

from __future__ import annotations

import re
from urllib.parse import urljoin

from .base import Adapter, Link, Links, is_report_link

_CREATE_PAGE = re.compile(r"createPageHTML\(\s*['\"]?(\d+)['\"]?\s*,\s*['\"]?(\d+)['\"]?\s*,\s*['\"]([\w\-]+)['\"]\s*,\s*['\"](\w+)['\"]")
_COUNT_VAR = re.compile(r"var\s+(?:countPage|m_nPageCount|pageCount)\s*=\s*['\"]?(\d+)")
_TRS_PAGE = re.compile(r"/t(?:19|20)\d{6}_\d+\.s?html?$")
MAX_PAGES = 500


class Trs(Adapter):
    name = "trs"

    def recognizes(self, url: str, html: str) -> bool:
        return "createPageHTML" in html or bool(_COUNT_VAR.search(html)) or bool(_TRS_PAGE.search(html))

    def links(self, url: str, html: str, links: list[Link]) -> Links:
        found = Links()
        m = _CREATE_PAGE.search(html)
        if m:
            count, name, ext = min(int(m.group(1)), MAX_PAGES), m.group(3), m.group(4)
        elif (m2 := _COUNT_VAR.search(html)):
            count, name, ext = min(int(m2.group(1)), MAX_PAGES), "index", "html"
        else:
            count = 0
        for n in range(1, count):
            found.lists.setdefault(urljoin(url, f"{name}_{n}.{ext}"), f"page {n + 1}")
        for link in links:
            if _TRS_PAGE.search(link.url) and is_report_link(link.text):
                found.reports.setdefault(link.url, link.text)
        return found
