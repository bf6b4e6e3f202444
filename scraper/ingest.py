"""Captures made elsewhere (a WARC, a WACZ, a mirror folder) into the archive, parsed as a
crawl would have parsed them.

A crawl knows each URL's role from how it reached it; an import has only the captures, so
the roles are read back from how the pages link each other, with the crawler's own
discovery: a registry start page, a page linked as a list, or a page that links lists or
reports (and no attachments) is a `list`, followed but not parsed, as in a crawl; a page
linked as a report, and any other page, is a `report` page, parsed; a PDF/Word/spreadsheet
linked as an attachment from a report page is that page's `attachment` (merged into its
report by `save_attachment`, as in a crawl), and one linked from nowhere else is a report
of its own.  Pages go first so their attachments find them.

Dedup is the crawler's: a body identical to the URL's last capture is recorded as a
capture but neither stored again nor parsed; a capture already in the archive (same URL,
time, status and body) is not added twice, so importing a file again changes nothing.
Each capture with its report is one transaction, like a crawled URL.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Iterable
from urllib.parse import urlsplit

import sqlite_utils

from parsers.binary import binary_form
from parsers.decode import decode

from . import archive
from .adapters import discover
from .adapters.base import ATTACHMENT
from .attachments import parse_document, save_attachment

log = logging.getLogger("xxgk.ingest")

TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain")


@dataclass
class Found:
    """One response read from a web archive or a mirror, before it enters the archive."""

    url: str
    fetched_at: str  # UTC, `YYYY-MM-DDTHH:MM:SSZ` like a crawl's captures
    status: int | None
    content_type: str | None
    body: bytes | None
    where: str  # the file (and record) it came from, for messages
    etag: str | None = None
    last_modified: str | None = None

    @property
    def sha256(self) -> str | None:
        return hashlib.sha256(self.body).hexdigest() if self.body is not None else None


@dataclass
class Summary:
    captures: int = 0
    unchanged: int = 0  # same body as the URL's last capture: recorded, not parsed
    already: int = 0  # in the archive already: not added again
    new_reports: int = 0
    changed: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)  # "where: why"

    def fail(self, where: str, why: str) -> None:
        self.failed += 1
        self.failures.append(f"{where}: {why}")

    def line(self) -> str:
        return (f"imported {self.captures}, unchanged {self.unchanged}, already archived {self.already}, "
                f"new reports {self.new_reports}, changed {self.changed}, failed {self.failed}")


def is_document(url: str, content_type: str | None, body: bytes | None) -> bool:
    """An HTML/text page or a PDF/Word/spreadsheet file: what the archive keeps from a web
    archive (images, scripts and styles are left out)."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype in TEXT_TYPES:
        return True
    if body and binary_form(body, url, content_type):
        return True
    if not ctype and body is not None:
        head = body[:1024].lstrip().lower()
        return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head
    return False


def _is_html(f: Found) -> bool:
    return f.body is not None and binary_form(f.body, f.url, f.content_type) is None


class Sites:
    """Registry sites of the archive, matched by host (and the longest start path when
    several sites share a host)."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.entries: list[tuple[str, set[str], list[str]]] = []
        for sid, start, allow in db.execute("SELECT id, start, allow FROM sites"):
            starts = json.loads(start or "[]")
            netlocs = {urlsplit(u).netloc.lower() for u in starts} | {a.lower() for a in json.loads(allow or "[]")}
            self.entries.append((sid, netlocs, starts))

    def site_of(self, url: str) -> str | None:
        parts = urlsplit(url)
        best, best_len = None, -1
        for sid, netlocs, starts in self.entries:
            if parts.netloc.lower() not in netlocs and (parts.hostname or "").lower() not in netlocs:
                continue
            length = max((len(_dir(s)) for s in starts if url.startswith(_dir(s))), default=0)
            if length > best_len:
                best, best_len = sid, length
        return best


def _dir(url: str) -> str:
    return url[: url.rfind("/") + 1] if "/" in urlsplit(url).path else url


class Ingest:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.sites = Sites(db)
        self.summary = Summary()
        self.linked_as_attachment: dict[str, list[str]] = {}  # attachment url → the pages linking it
        self.linked_from: dict[str, list[str]] = {}  # list or report url → the pages linking it
        self.with_attachments: set[str] = set()  # pages that link attachments
        self.linked_as_report: set[str] = set()
        self.linked_as_list: set[str] = set()
        self.starts = {u for _sid, _netlocs, starts in self.sites.entries for u in starts}
        self.with_links: set[str] = set()  # pages that link lists or reports

    def run(self, found: Iterable[Found]) -> Summary:
        items = sorted((f for f in found), key=lambda f: f.fetched_at)
        pages = [f for f in items if f.body is None or _is_html(f)]
        files = [f for f in items if not (f.body is None or _is_html(f))]
        for f in pages:
            self._links(f)
        for f in pages + files:
            try:
                self._one(f)
            except Exception as exc:  # noqa: BLE001 - one bad record never ends the import
                log.exception("error on %s", f.url)
                self.summary.fail(f.where, f"{f.url}: {type(exc).__name__}: {exc}")
        return self.summary

    def _links(self, f: Found) -> None:
        """Remember which pages link which documents (the roles are read from them)."""
        if f.status != 200 or f.body is None:
            return
        found = discover(f.url, decode(f.body, f.content_type).text)
        for u in list(found.attachments) + [u for u in found.reports if ATTACHMENT.search(u)]:
            self.linked_as_attachment.setdefault(u, []).append(f.url)
            self.with_attachments.add(f.url)
        for u in list(found.reports) + list(found.lists):
            self.linked_from.setdefault(u, []).append(f.url)
            self.with_links.add(f.url)
        self.linked_as_report.update(found.reports)
        self.linked_as_list.update(found.lists)

    def _previous_sha(self, url: str) -> str | None:
        row = self.db.execute("SELECT sha256 FROM captures WHERE url = ? AND status = 200 AND sha256 IS NOT NULL "
                              "ORDER BY fetched_at DESC, id DESC LIMIT 1", [url]).fetchone()
        return row[0] if row else None

    def _archived(self, f: Found, sha: str | None) -> bool:
        return self.db.execute("SELECT 1 FROM captures WHERE url = ? AND fetched_at = ? AND status IS ? "
                               "AND sha256 IS ? LIMIT 1", [f.url, f.fetched_at, f.status, sha]).fetchone() is not None

    def _page_capture(self, urls: list[str], role: str | None = None) -> int | None:
        """The latest archived capture of one of these pages (of this role)."""
        for url in urls:
            row = self.db.execute("SELECT id FROM captures WHERE url = ? AND status = 200 AND sha256 IS NOT NULL"
                                  + (" AND role = ?" if role else "") + " ORDER BY fetched_at DESC, id DESC LIMIT 1",
                                  [url, role] if role else [url]).fetchone()
            if row:
                return row[0]
        return None

    def _one(self, f: Found) -> None:
        sha = f.sha256
        if self._archived(f, sha):
            self.summary.already += 1
            return
        fresh = f.status == 200 and f.body is not None and sha != self._previous_sha(f.url)
        html = f.body is None or _is_html(f)
        role, parent = self._role(f, html)
        parsed = None
        if fresh and role in ("report", "attachment"):  # as a crawl: list pages are followed, not parsed
            try:
                parsed = parse_document(f.body, f.url, f.content_type)
            except Exception as exc:  # noqa: BLE001 - a parser bug must not lose the capture
                log.exception("parser crashed on %s", f.url)
                parsed = exc
        record = {
            "site_id": self.sites.site_of(f.url), "url": f.url, "role": role, "parent_id": parent,
            "fetched_at": f.fetched_at, "status": f.status, "content_type": f.content_type,
            "etag": f.etag, "last_modified": f.last_modified, "sha256": sha,
            "size": len(f.body) if f.body is not None else None,
        }
        with archive.transaction(self.db):
            capture_id = archive.add_capture(self.db, record, f.body if sha != self._previous_sha(f.url) else None)
            self.summary.captures += 1
            if not fresh:
                if f.status == 200:
                    self.summary.unchanged += 1
                return
            if parsed is None:
                return
            self._save(f, record, capture_id, parsed)

    def _role(self, f: Found, html: bool) -> tuple[str, int | None]:
        """The role a crawl would have given this URL, from how the other pages link it
        (a start page of the registry is a list, as in a crawl)."""
        if urlsplit(f.url).path == "/robots.txt":
            return "robots", None
        parent = self._page_capture(self.linked_from.get(f.url, []))
        if html:
            if f.url in self.starts:
                return "list", None
            if f.url in self.linked_as_report:
                return "report", parent
            if f.url in self.linked_as_list or (f.url in self.with_links and f.url not in self.with_attachments):
                return "list", parent
            return "report", parent
        page = self._page_capture(self.linked_as_attachment.get(f.url, []), "report")
        if page is not None:
            return "attachment", page
        return "report", parent

    def _save(self, f: Found, record: dict, capture_id: int, parsed) -> None:
        """Store what was parsed, as the crawler does (inside the capture's transaction)."""
        site_id, role = record["site_id"], record["role"]
        if role == "list":
            return
        if role == "attachment":
            outcome = save_attachment(self.db, site_id, capture_id, parsed)
            if outcome == "new":
                self.summary.new_reports += 1
            elif outcome == "failed":
                self.summary.fail(f.where, f"{f.url}: parser error: {parsed}")
            return
        if isinstance(parsed, Exception):
            archive.record_document(self.db, capture_id, f.url, f"parser error: {parsed}"[:300])
            self.summary.fail(f.where, f"{f.url}: parser error: {parsed}")
            return
        if not parsed.is_report:
            archive.record_document(self.db, capture_id, f.url, parsed.error or "not a report", None, parsed.title)
            return
        existed = self.db.execute("SELECT 1 FROM reports WHERE source_url = ? LIMIT 1", [f.url]).fetchone()
        archive.save_report(self.db, parsed, site_id=site_id, capture_id=capture_id, sha256=record["sha256"])
        self._newest_current(f.url)
        if existed:
            self.summary.changed += 1
        else:
            self.summary.new_reports += 1

    def _newest_current(self, source_url: str) -> None:
        """The report of the latest capture is the current one, even when an import brings
        an older capture than the archive holds (`save_report` assumes the newest)."""
        self.db.execute("UPDATE reports SET current = (id = (SELECT r.id FROM reports r JOIN captures c "
                        "ON c.id = r.capture_id WHERE r.source_url = ? ORDER BY c.fetched_at DESC, c.id DESC "
                        "LIMIT 1)) WHERE source_url = ?", [source_url, source_url])


def ingest(db: sqlite_utils.Database, found: Iterable[Found]) -> Summary:
    """Archive and parse these captures; see the module docstring."""
    return Ingest(db).run(found)
