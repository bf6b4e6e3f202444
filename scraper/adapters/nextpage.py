"""Pagination by links: "下一页"/"next" and page numbers, `?page=N`-style parameters, or
pages of the same column directory (`list_2.html`, `index_3.shtml`)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .base import Adapter, Link, Links

_NEXT = re.compile(r"^(下一页|下页|后一页|尾页|末页|next|>|›|»)$", re.I)
_PAGE_PARAM = re.compile(r"[?&](page|pageNo|pageIndex|pageNum|pn|p|curpage|currentPage)=\d+", re.I)
MAX_PAGE_NUMBER = 999


def same_column(a: str, b: str) -> bool:
    """Both URLs on one host, `b` in `a`'s directory or below."""
    pa, pb = urlsplit(a), urlsplit(b)
    if pa.netloc != pb.netloc:
        return False
    return pb.path.startswith(pa.path.rsplit("/", 1)[0] + "/")


class NextPage(Adapter):
    name = "nextpage"

    def recognizes(self, url: str, html: str) -> bool:
        return True

    def links(self, url: str, html: str, links: list[Link]) -> Links:
        found = Links()
        for link in links:
            pager = _NEXT.match(link.text) or (re.fullmatch(r"\d{1,3}", link.text)
                                               and int(link.text) <= MAX_PAGE_NUMBER)
            if pager and (_PAGE_PARAM.search(link.url) or same_column(url, link.url)) and link.url != url:
                found.lists.setdefault(link.url, link.text)
        return found
