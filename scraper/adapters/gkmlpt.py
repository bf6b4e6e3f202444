"""Guangdong's shared platform (政府信息公开目录平台, gkmlpt): report pages at
`…/content/post_N.html` (or `/gkmlpt/content/A/B/post_N.html`); column lists either as
ordinary pages (`index.html`, `index_2.html`, handled by the other adapters) or as the
platform's JSON API, `/gkmlpt/api/all/{column}?page=N&sid=S`, answering
`{"articles": [{"title": …, "url": …}, …], "total": N}`: its pages are followed by `page`
until `total` articles are covered.  Give the API URL as a registry `start` URL."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from .base import Adapter, Link, Links, is_report_link

_POST = re.compile(r"/content/(?:\d+/\d+/)?post_\d+\.html$")
MAX_API_PAGES = 200


def _with_page(url: str, page: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "page"]
    return urlunsplit(parts._replace(query=urlencode([("page", str(page))] + query)))


class Gkmlpt(Adapter):
    name = "gkmlpt"

    def recognizes(self, url: str, html: str) -> bool:
        return "/gkmlpt/" in url or bool(_POST.search(html)) or "/content/post_" in html

    def links(self, url: str, html: str, links: list[Link]) -> Links:
        found = Links()
        for link in links:
            if _POST.search(link.url) and is_report_link(link.text):
                found.reports.setdefault(link.url, link.text)
        if "/gkmlpt/api/" in urlsplit(url).path:
            self._api(url, html, found)
        return found

    def _api(self, url: str, text: str, found: Links) -> None:
        try:
            data = json.loads(text)
        except ValueError:
            return
        articles = data.get("articles") if isinstance(data, dict) else None
        if not isinstance(articles, list):
            return
        for a in articles:
            if isinstance(a, dict) and isinstance(a.get("url"), str) and is_report_link(str(a.get("title", ""))):
                found.reports.setdefault(urljoin(url, a["url"]), str(a["title"]))
        page = dict(parse_qsl(urlsplit(url).query)).get("page", "1")
        total = data.get("total")
        if not (page.isdigit() and isinstance(total, int) and articles):
            return
        page_no = int(page)
        if page_no * len(articles) < total and page_no < MAX_API_PAGES:
            found.lists.setdefault(_with_page(url, page_no + 1), f"page {page_no + 1}")
