"""Any site: report links by their text, "下一页" / `?page=N` pagination, attachments."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .base import ATTACHMENT, Adapter, Link, Links, is_report_link

_NEXT = re.compile(r"^(下一页|下页|后一页|next|>|›|»)$", re.I)
_PAGE_PARAM = re.compile(r"[?&](page|pageNo|pageIndex|pn|p|curpage|currentPage)=\d+", re.I)


def same_column(a: str, b: str) -> bool:
    """Both URLs on one host, `b` in `a`'s directory or below."""
    pa, pb = urlsplit(a), urlsplit(b)
    if pa.netloc != pb.netloc:
        return False
    return pb.path.startswith(pa.path.rsplit("/", 1)[0] + "/")


class Generic(Adapter):
    name = "generic"

    def recognizes(self, url: str, html: str) -> bool:
        return True

    def links(self, url: str, html: str, links: list[Link]) -> Links:
        found = Links()
        for link in links:
            if ATTACHMENT.search(link.url):
                if is_report_link(link.text) or is_report_link(link.url):
                    found.reports.setdefault(link.url, link.text)
                else:
                    found.attachments.setdefault(link.url, link.text)
                continue
            if is_report_link(link.text):
                found.reports.setdefault(link.url, link.text)
                continue
            if (_NEXT.match(link.text) or re.fullmatch(r"\d{1,3}", link.text)) and (
                    _PAGE_PARAM.search(link.url) or same_column(url, link.url)):
                if link.url != url:
                    found.lists.setdefault(link.url, link.text)
        return found
