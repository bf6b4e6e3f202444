"""Discovery adapters, one small module per CMS family behind one interface.

Each adapter looks at a fetched list page and returns the links worth following:
report pages, further list pages (pagination) and attachments.  `discover()` asks the
adapters that recognize the page and merges what they find; `nextpage` (pagination
links) and `generic` (report links by text, attachments) always run.
A new CMS family is a new module added to `ADAPTERS`.
"""

from __future__ import annotations

from .base import Adapter, Links, page_links
from .generic import Generic
from .gkmlpt import Gkmlpt
from .hanweb import Hanweb
from .nextpage import NextPage
from .trs import Trs

ADAPTERS: tuple[Adapter, ...] = (Trs(), Hanweb(), Gkmlpt(), NextPage(), Generic())


def discover(url: str, html: str, doc=None) -> Links:
    """The links worth following from a page; `doc`: its lxml tree, when parsed already."""
    links = page_links(url, html, doc)
    found = Links()
    for adapter in ADAPTERS:
        if adapter.recognizes(url, html):
            found.merge(adapter.links(url, html, links))
    return found


__all__ = ["ADAPTERS", "Adapter", "Links", "discover"]
