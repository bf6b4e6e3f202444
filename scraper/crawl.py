"""The crawl: frontier in the archive, discovery, fetching, archiving, parsing.

State lives in the archive (`frontier`), so a killed crawl resumes where it stopped:
an URL is marked done only after its captures (and report) are committed.  Every
response is archived, errors and redirects included.  Unchanged pages (304, or the same
sha256 as the last capture) store no new body and are not parsed again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Callable

import sqlite_utils

import parsers
from parsers.decode import decode

from . import archive
from .adapters import discover
from .fetch import Fetcher, Response
from .registry import Site

log = logging.getLogger("xxgk.crawl")


@dataclass
class Summary:
    fetched: int = 0
    not_modified: int = 0
    new_reports: int = 0
    changed: int = 0
    failed: int = 0
    blocked: int = 0
    failures: list[str] = field(default_factory=list)  # "site: url: why"

    def line(self) -> str:
        return (f"fetched {self.fetched}, not modified {self.not_modified}, new reports {self.new_reports}, "
                f"changed {self.changed}, failed {self.failed}, blocked {self.blocked}")

    def as_dict(self) -> dict:
        return asdict(self)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Crawl:
    def __init__(self, db: sqlite_utils.Database, sites: list[Site], fetcher: Fetcher, *,
                 max_pages: int | None = None, progress: Callable[[str], None] | None = None) -> None:
        self.db = db
        self.sites = {s.id: s for s in sites}
        self.fetcher = fetcher
        self.max_pages = max_pages
        self.summary = Summary()
        self.progress = progress
        self.run_id: int | None = None
        for s in sites:
            for host in s.netlocs | s.hosts:
                fetcher.allow(host, s.delay)

    # -- frontier
    def _seed(self) -> None:
        """Resume an interrupted run; otherwise start a new pass over every known URL."""
        ids = list(self.sites)
        marks = ",".join("?" * len(ids))
        pending = self.db.execute(
            f"SELECT COUNT(*) FROM frontier WHERE state = 'pending' AND site_id IN ({marks})", ids).fetchone()[0]
        with self.db.conn:
            if not pending:
                self.db.execute(f"UPDATE frontier SET state = 'pending', attempts = 0 WHERE site_id IN ({marks})", ids)
            for s in self.sites.values():
                for url in s.start:
                    self._add(url, s.id, "list", None, 0)
            cur = self.db.execute("INSERT INTO runs (started_at) VALUES (?)", [archive.now()])
            self.run_id = cur.lastrowid

    def _add(self, url: str, site_id: str, role: str, parent: str | None, depth: int) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO frontier (url, site_id, role, parent_url, depth, state, updated_at) "
            "VALUES (?, ?, ?, ?, ?, 'pending', ?)", [url, site_id, role, parent, depth, archive.now()])

    def _next(self, site_id: str) -> tuple[str, str, int, str | None] | None:
        row = self.db.execute(
            "SELECT url, role, depth, parent_url FROM frontier WHERE site_id = ? AND state = 'pending' "
            "ORDER BY CASE role WHEN 'list' THEN 0 WHEN 'report' THEN 1 ELSE 2 END, depth, rowid LIMIT 1",
            [site_id]).fetchone()
        return tuple(row) if row else None

    def _previous(self, url: str) -> tuple[str | None, str | None, str | None]:
        """(etag, last_modified, sha256) of the last good capture of this URL."""
        row = self.db.execute(
            "SELECT etag, last_modified, sha256 FROM captures WHERE url = ? AND status = 200 "
            "AND sha256 IS NOT NULL ORDER BY id DESC LIMIT 1", [url]).fetchone()
        return tuple(row) if row else (None, None, None)

    # -- archive
    def _archive(self, site_id: str, role: str, resp: Response, parent_id: int | None,
                 store_body: bool) -> int:
        record = {
            "site_id": site_id, "url": resp.url, "role": role, "parent_id": parent_id,
            "fetched_at": _iso(resp.fetched_at), "status": resp.status,
            "content_type": resp.content_type, "etag": resp.headers.get("etag"),
            "last_modified": resp.headers.get("last-modified"),
            "sha256": resp.sha256 if store_body else None,
            "size": len(resp.body) if resp.body is not None else None,
            "error": resp.error, "blocked": resp.blocked, "elapsed_ms": resp.elapsed_ms,
            "run_id": self.run_id,
        }
        if resp.body is not None and not store_body:
            record["sha256"] = resp.sha256  # same body as before: reference, not stored again
        return archive.add_capture(self.db, record, resp.body if store_body else None)

    def _fail(self, site_id: str, url: str, why: str) -> None:
        self.summary.failed += 1
        self.summary.failures.append(f"{site_id}: {url}: {why}")
        log.warning("failed %s: %s", url, why)

    # -- one URL
    async def _visit(self, site: Site, url: str, role: str, depth: int, parent: str | None) -> None:
        etag, last_modified, old_sha = self._previous(url)
        result = await self.fetcher.fetch(url, etag=etag, last_modified=last_modified)
        for r in self.fetcher.take_robots_responses():
            self._archive(site.id, "robots", r, None, r.body is not None)
        parent_id = None
        if parent:
            row = self.db.execute("SELECT id FROM captures WHERE url = ? ORDER BY id DESC LIMIT 1", [parent]).fetchone()
            parent_id = row[0] if row else None
        final = result.final
        capture_id = None
        for resp in result.responses:
            same = resp is final and resp.status == 200 and resp.body is not None and resp.sha256 == old_sha
            store = resp.body is not None and not same
            capture_id = self._archive(site.id, role, resp, parent_id, store)
        state = "done"
        if final is None:
            state = "failed"
        elif final.blocked:
            self.summary.blocked += 1
            self.summary.failures.append(f"{site.id}: {url}: blocked ({final.blocked})")
            state = "failed"
        elif final.error or final.status is None:
            self._fail(site.id, url, final.error or "no response")
            state = "failed"
        elif final.status == 304:
            self.summary.not_modified += 1
        elif final.status >= 400:
            self._fail(site.id, url, f"HTTP {final.status}")
            state = "failed"
        elif final.body is not None and final.sha256 == old_sha:
            self.summary.not_modified += 1
        elif final.status == 200 and final.body is not None:
            self.summary.fetched += 1
            self._handle(site, final, role, depth, capture_id)
        with self.db.conn:
            self.db.execute("UPDATE frontier SET state = ?, attempts = attempts + 1, last_capture_id = ?, "
                            "updated_at = ? WHERE url = ?", [state, capture_id, archive.now(), url])
        if self.progress:
            self.progress(url)

    def _handle(self, site: Site, resp: Response, role: str, depth: int, capture_id: int) -> None:
        body = resp.body or b""
        if role == "list":
            text = decode(body, resp.content_type).text
            found = discover(resp.url, text)
            with self.db.conn:
                for u in found.lists:
                    if self._on_site(site, u):
                        self._add(u, site.id, "list", resp.url, depth + 1)
                for u in found.reports:
                    if self._on_site(site, u):
                        self._add(u, site.id, "report", resp.url, depth + 1)
            return
        if role == "report":
            self._parse(site, resp, capture_id)
            text = decode(body, resp.content_type).text if b"<" in body[:2048] else ""
            if text:
                with self.db.conn:
                    for u in discover(resp.url, text).attachments:
                        if self._on_site(site, u):
                            self._add(u, site.id, "attachment", resp.url, depth + 1)

    def _on_site(self, site: Site, url: str) -> bool:
        return self.fetcher.permitted(url) is None

    def _parse(self, site: Site, resp: Response, capture_id: int) -> None:
        try:
            report = parsers.parse(resp.body or b"", url=resp.url, content_type=resp.content_type)
        except Exception as exc:  # noqa: BLE001 - a parser bug must not lose the capture
            log.exception("parser crashed on %s", resp.url)
            with self.db.conn:
                archive.record_document(self.db, capture_id, resp.url, f"parser error: {exc}"[:300])
            self._fail(site.id, resp.url, f"parser error: {exc}")
            return
        if not report.is_report:
            with self.db.conn:
                archive.record_document(self.db, capture_id, resp.url, report.error or "not a report", None,
                                        report.title)
            return
        existed = self.db.execute("SELECT 1 FROM reports WHERE source_url = ? LIMIT 1", [resp.url]).fetchone()
        archive.save_report(self.db, report, site_id=site.id, capture_id=capture_id, sha256=resp.sha256)
        if existed:
            self.summary.changed += 1
        else:
            self.summary.new_reports += 1

    async def _site(self, site: Site) -> None:
        visited = 0
        while True:
            if self.max_pages is not None and visited >= self.max_pages:
                break
            nxt = self._next(site.id)
            if nxt is None:
                break
            url, role, depth, parent = nxt
            visited += 1
            try:
                await self._visit(site, url, role, depth, parent)
            except Exception as exc:  # noqa: BLE001 - one bad URL never ends the crawl
                log.exception("error on %s", url)
                self._fail(site.id, url, f"{type(exc).__name__}: {exc}")
                with self.db.conn:
                    self.db.execute("UPDATE frontier SET state = 'failed', updated_at = ? WHERE url = ?",
                                    [archive.now(), url])

    async def run(self) -> Summary:
        archive.upsert_sites(self.db, self.sites.values())
        self._seed()
        await asyncio.gather(*(self._site(s) for s in self.sites.values()))
        with self.db.conn:
            self.db.execute("UPDATE runs SET finished_at = ?, summary = ? WHERE id = ?",
                            [archive.now(), self.summary.line(), self.run_id])
        return self.summary


async def crawl(db: sqlite_utils.Database, sites: list[Site], *, fetcher: Fetcher | None = None,
                max_pages: int | None = None, progress: Callable[[str], None] | None = None) -> Summary:
    own = fetcher is None
    fetcher = fetcher or Fetcher()
    try:
        return await Crawl(db, sites, fetcher, max_pages=max_pages, progress=progress).run()
    finally:
        if own:
            await fetcher.aclose()
