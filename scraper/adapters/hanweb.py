"""Hanweb (大汉): report pages at `/art/Y/M/D/art_COL_ID.html`; column pages at
`/col/col{ID}/index.html` whose first records sit in an inline `<datastore>` XML
(`<record><![CDATA[<a href=…>]]></record>`) that a plain link scan misses; the rest
come from `/module/web/jpage/dataproxy.jsp?startrecord=S&endrecord=E&perpage=P` with the
parameters of the `<nextgroup>` link (the page's jpage script POSTs them; the JSP reads
query and form parameters alike, so they go in the URL and every group is one GET that
the archive can key, compare and resume)."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from .base import Adapter, Link, Links, is_report_link

_ART = re.compile(r"/art/\d{4}/\d{1,2}/\d{1,2}/art_\d+_\d+\.html")
_RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S | re.I)
_RECORD_LINK = re.compile(r"<a[^>]+href=['\"]([^'\"]+)['\"][^>]*>(.*?)</a>", re.S | re.I)
_TITLE = re.compile(r"title=['\"]([^'\"]+)['\"]")
_NEXTGROUP = re.compile(r"<nextgroup>\s*<!\[CDATA\[.*?href=['\"]([^'\"]*dataproxy\.jsp[^'\"]*)['\"]", re.S | re.I)
_PROXY = re.compile(r"proxyUrl\s*[:=]\s*['\"]([^'\"]+)['\"]")
_TAG = re.compile(r"<[^>]+>")
MAX_GROUPS = 500


def _number(name: str, text: str) -> int | None:
    m = re.search(name + r"\s*[:=]\s*['\"]?(\d+)", text, re.I)
    return int(m.group(1)) if m else None


def _xml_number(tag: str, text: str) -> int | None:
    m = re.search(rf"<{tag}>\s*(\d+)\s*</{tag}>", text, re.I)
    return int(m.group(1)) if m else None


class Hanweb(Adapter):
    name = "hanweb"

    def recognizes(self, url: str, html: str) -> bool:
        return ("<datastore>" in html or "dataproxy.jsp" in url or "/col/col" in url
                or bool(_ART.search(html)))

    def links(self, url: str, html: str, links: list[Link]) -> Links:
        found = Links()
        candidates = list(links)
        for record in _RECORD.findall(html):  # links inside CDATA records
            for m in _RECORD_LINK.finditer(record):
                text = unescape(_TAG.sub("", m.group(2))).strip()
                title = _TITLE.search(m.group(0))
                if title and len(unescape(title.group(1))) > len(text):
                    text = unescape(title.group(1)).strip()
                candidates.append(Link(urljoin(url, unescape(m.group(1)).strip()), text))
        for link in candidates:
            if _ART.search(link.url) and is_report_link(link.text):
                found.reports.setdefault(link.url, link.text)
        for group in self.groups(url, html):
            found.lists.setdefault(group, "dataproxy group")
        return found

    def groups(self, url: str, html: str) -> list[str]:
        """The dataproxy URLs of the record groups after the ones this page holds."""
        parts = urlsplit(url)
        if parts.path.endswith("dataproxy.jsp"):  # a group answered: its URL has the parameters
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            try:
                start, end = int(query["startrecord"]), int(query["endrecord"])
                per_page = int(query.get("perpage") or end - start + 1)
            except (KeyError, ValueError):
                return []
            total = _xml_number("totalrecord", html)
            params = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                      if k not in ("startrecord", "endrecord", "perpage")]
            proxy = urljoin(url, parts.path)
            step, first = end - start + 1, end + 1
        else:
            nextgroup = _NEXTGROUP.search(html)
            total = _number("totalRecord", html)
            if not nextgroup or total is None:
                return []
            link = urljoin(url, unescape(nextgroup.group(1)).strip())
            proxy_path = _PROXY.search(html)
            proxy = urljoin(url, proxy_path.group(1)) if proxy_path else link.split("?", 1)[0]
            params = parse_qsl(urlsplit(link).query, keep_blank_values=True)
            per_page = _number("perPage", html) or 15
            step = per_page * (_number("groupSize", html) or 3)
            first = len(_RECORD.findall(html)) + 1
        if total is None or step <= 0:
            return []
        out = []
        for start in range(first, total + 1, step):
            if len(out) >= MAX_GROUPS:
                break
            query = [("startrecord", str(start)), ("endrecord", str(min(start + step - 1, total))),
                     ("perpage", str(per_page))] + list(params)
            out.append(f"{proxy}?{urlencode(query)}")
        return out
