"""The adapter interface and what all adapters share: reading a page's links."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urldefrag, urljoin, urlsplit

from lxml import html as lxml_html

ATTACHMENT = re.compile(r"\.(pdf|docx?|wps|xlsx?|et)(\?|$)", re.I)
_REPORT_TEXT = re.compile(r"(年度报告|年报|年度工作报告|工作报告|公开报告)")  # 公开报告: `…2017年政务信息公开报告`
_YEAR = re.compile(r"(?:19|20)\d{2}")


@dataclass(frozen=True)
class Link:
    url: str
    text: str


@dataclass
class Links:
    reports: dict[str, str] = field(default_factory=dict)  # url → link text
    lists: dict[str, str] = field(default_factory=dict)
    attachments: dict[str, str] = field(default_factory=dict)

    def merge(self, other: "Links") -> None:
        for mine, theirs in ((self.reports, other.reports), (self.lists, other.lists),
                             (self.attachments, other.attachments)):
            for k, v in theirs.items():
                mine.setdefault(k, v)


def page_links(url: str, html: str, doc=None) -> list[Link]:
    """Every <a href> of a page as absolute URLs (fragments dropped), in page order.
    `doc`: the page's lxml tree when it was parsed already (by the report parser)."""
    if doc is None:
        try:
            doc = lxml_html.document_fromstring(html or "<html></html>")
        except (ValueError, lxml_html.etree.ParserError):
            return []
    base = url
    for b in doc.iter("base"):
        if b.get("href"):
            base = urljoin(url, b.get("href").strip())
            break
    out: list[Link] = []
    for a in doc.iter("a"):
        href = (a.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "mailto:", "tel:", "#")):
            continue
        text = " ".join("".join(a.itertext()).split()) or (a.get("title") or "").strip()
        if a.get("title") and len(a.get("title")) > len(text):
            text = a.get("title").strip()
        out.append(Link(urldefrag(urljoin(base, href))[0], text))
    # a report shown in the page through a viewer: <iframe>/<embed>/<object> of the file,
    # or pdf.js's viewer.html?file=… (the file is what the archive needs)
    for el in doc.iter("iframe", "embed", "object"):
        src = (el.get("src") or el.get("data") or "").strip()
        if src and not src.startswith(("javascript:", "about:", "data:")):
            out.append(Link(urldefrag(urljoin(base, src))[0], (el.get("title") or "").strip()))
    for link in list(out):
        target = parse_qs(urlsplit(link.url).query).get("file")
        if target and ATTACHMENT.search(target[0]):
            out.append(Link(urljoin(link.url, target[0]), link.text))
    return out


_PUBLISHES = re.compile(r"关于(公布|印发|发布|公开|公示)")
_TRUNCATED = re.compile(r"(信息公开|政务公开)[^。]{0,12}(…|\.{3}|。{3})\s*$")


def is_report_link(text: str) -> bool:
    """Link text naming an annual disclosure report of some year; also a list's
    truncated text (`青山市民政局2022年政府信息公开工…`) that stops before 年度报告.
    A notice is followed only when it publishes the report (`关于公布…年度报告的通知`
    carries the report itself), not when it is about making one (`关于做好…`, `…的说明`)."""
    text = text.strip()
    if not _YEAR.search(text):
        return False
    if "关于" in text and not _PUBLISHES.search(text):
        return False
    if _REPORT_TEXT.search(text) and ("公开" in text or "年报" in text):
        return True
    return bool(_TRUNCATED.search(text))


class Adapter:
    """Recognizes a CMS family's list pages and reads their links."""

    name = "base"

    def recognizes(self, url: str, html: str) -> bool:
        raise NotImplementedError

    def links(self, url: str, html: str, links: list[Link]) -> Links:
        raise NotImplementedError
