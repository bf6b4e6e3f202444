"""Any site: report pages and attachments chosen by link text (and title attribute)."""

from __future__ import annotations

from .base import ATTACHMENT, Adapter, Link, Links, is_report_link


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
        return found
