"""An HTML page as lines of text, the way a reader sees it.

Metadata lines (索引号, 发布日期), section headings and prose are found in this text;
table rows become one line each with ` | ` between cells, so flattened-text parsing can
still read a table that HTML structure alone does not reveal (tables drawn with `<p>`s).
"""

from __future__ import annotations

import re

from .html_grid import cell_text

_BLOCKS = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "section",
           "article", "header", "footer", "nav", "dt", "dd", "dl", "blockquote", "pre", "form",
           "title", "center", "hr", "address", "figure", "figcaption", "main", "aside"}
_WS = re.compile(r"[ \t\r\f\v\u3000\u00a0\u200b\ufeff]+")


def _owner(el):
    """The nearest <table> above `el`."""
    parent = el.getparent()
    while parent is not None and parent.tag != "table":
        parent = parent.getparent()
    return parent


def _has_table(td) -> bool:
    return any(True for el in td.iter("table") if el is not td)


def html_lines(doc) -> list[str]:
    parts: list[str] = []

    def walk(node) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag in ("script", "style", "noscript", "template", "head"):
            return
        if tag == "table":
            for tr in node.iter("tr"):
                if _owner(tr) is not node:
                    continue
                tds = [td for td in tr if isinstance(td.tag, str) and td.tag in ("td", "th")]
                if any(_has_table(td) for td in tds):  # a layout row: read its cells as blocks
                    for td in tds:
                        parts.append("\n")
                        walk_children(td)
                        parts.append("\n")
                    continue
                cells = [cell_text(td) for td in tds]
                if any(cells):
                    parts.append("\n" + " | ".join(cells) + "\n")
            return
        block = tag in _BLOCKS
        if block:
            parts.append("\n")
        walk_children(node)
        if block:
            parts.append("\n")

    def walk_children(node) -> None:
        if node.text:
            parts.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                parts.append(child.tail)

    body = doc.find("body")
    walk(body if body is not None else doc)
    text = "".join(parts)
    lines = [_WS.sub(" ", line).strip() for line in text.split("\n")]
    return [line for line in lines if line]
