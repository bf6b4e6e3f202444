"""Hanweb (大汉): report pages at `/art/Y/M/D/art_COL_ID.html`; list pages at
`/col/col{ID}/index.html`, whose items are often in an inline `<datastore>` XML
(`<record><![CDATA[<a href=…>]]></record>`) that a plain link scan misses."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urljoin

from .base import Adapter, Link, Links, is_report_link

_ART = re.compile(r"/art/\d{4}/\d{1,2}/\d{1,2}/art_\d+_\d+\.html")
_RECORD_LINK = re.compile(r"<a[^>]+href=['\"]([^'\"]+)['\"][^>]*>(.*?)</a>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")


class Hanweb(Adapter):
    name = "hanweb"

    def recognizes(self, url: str, html: str) -> bool:
        return "<datastore>" in html or "/col/col" in url or bool(_ART.search(html))

    def links(self, url: str, html: str, links: list[Link]) -> Links:
        found = Links()
        candidates = list(links)
        for m in _RECORD_LINK.finditer(html):  # links inside CDATA records
            text = unescape(_TAG.sub("", m.group(2))).strip()
            candidates.append(Link(urljoin(url, unescape(m.group(1))), text))
        for link in candidates:
            if _ART.search(link.url) and is_report_link(link.text):
                found.reports.setdefault(link.url, link.text)
        return found
