"""What the crawl reads from a new body, in its reader processes: kept apart from the
crawl's own modules (HTTP client, event loop, scorecard), so the fork server that starts
the readers imports only what reading needs (0.1 s less before the first parse)."""

from __future__ import annotations

import logging
from typing import NamedTuple

from parsers import Report
from parsers.decode import decode

from . import archive, bodies, convert
from .adapters import discover

log = logging.getLogger("xxgk.crawl")


class Reading(NamedTuple):
    """What `read` prepares for the one process that writes."""
    parsed: object  # the Report of a report or attachment, or the exception its parser raised
    found: object  # the links of a list or report page (Found), or the exception raised reading them
    cells: list[tuple] | None  # a report page's `archive.fact_cells` (its provenance), computed here
    packed: bytes  # the body as the archive stores it (`bodies.pack`), compressed here


def read(body: bytes, url: str, content_type: str | None, role: str) -> Reading:
    """What the crawl reads from a new body, away from the event loop (a worker process
    when there are cores for it): the parse of a report or attachment (a crash turned
    into a value), the links of a list or report page (an exception is returned, and
    raised where the links are used, as if they had been read there), and what the writer
    would otherwise compute itself: a report page's fact cells (its provenance then
    travels in them, not as objects) and the compressed body."""
    parsed = found = cells = None
    page = role == "list" or (role == "report" and b"<" in body[:4096])

    def links_of(tree=None) -> None:  # an exception is kept, and raised in _handle
        nonlocal found
        try:
            found = discover(url, decode(body, content_type).text, tree)
        except Exception as exc:  # noqa: BLE001
            found = exc

    if role in ("report", "attachment"):
        try:  # DOC/WPS/XLS converted first; a page's links read from the parser's tree
            parsed = convert.parse(body, url=url, content_type=content_type, on_tree=links_of if page else None)
        except Exception as exc:  # noqa: BLE001 - a parser bug must not lose the capture
            log.exception("parser crashed on %s", url)
            parsed = exc
    if role == "report" and isinstance(parsed, Report) and parsed.is_report:
        cells = archive.fact_cells(parsed)
        parsed.found = {}  # in the cells; an attachment merged later reads the page again
    if page and found is None:  # a list page, or a page the parser did not read as HTML
        links_of()
    return Reading(parsed, found, cells, bodies.pack(body))
