"""The crawl: frontier in the archive, discovery, fetching, archiving, parsing.

State lives in the archive (`frontier`), so a killed crawl resumes where it stopped.
Everything one URL produces (its robots.txt and HTTP responses, the parsed report, the
links found, its frontier state) is written as one unit after the fetch, a savepoint of a
batch committed every `COMMIT_EVERY` seconds (`group_commit`), so a kill leaves either all
of it or none: nothing lost, nothing twice.  Every response is archived, errors and
redirects included.  Unchanged pages (304, or the same sha256 as
the last capture) store no new body and are not parsed again.

Frontier states: pending → done | failed | disallowed (robots.txt) | deferred (the host
was blocked by a firewall challenge or deferred this run; asked again next run) | gone (an
archived page now answers 404/410) | dead (a link never archived answers 404/410).  A site
with pending or deferred URLs resumes; a site whose pass finished starts a new pass.

Gone and dead URLs are not asked again by a new pass, so a column that links pages which
no longer exist does not fail every night: a dead link is asked again on the 1st, 7th and
30th day after it was first found dead, then every 30 days (`DEAD_BACKOFF_DAYS`), and a
gone or dead link is asked again at once when a changed page links it anew (its previous
version did not link it).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Callable
from urllib.parse import urlsplit

import sqlite_utils

from parsers.decode import decode

from . import archive, schema, scorecard
from .adapters import discover
from .adapters.base import ATTACHMENT
from .attachments import save_attachment
from .fetch import Fetcher, Response, Result
from .group_commit import GroupCommit
from .parse_pool import default_jobs, reader_processes, started
from .pictures import picture_urls
from .reading import Reading, read
from .registry import Site

log = logging.getLogger("xxgk.crawl")
MAX_DEPTH = 8  # links from the start page; real columns are 1-3 deep
IN_FLIGHT = 4  # URLs of one site being fetched, parsed or archived at once
COMMIT_EVERY = 0.25  # seconds: URLs' outcomes committed together (`group_commit`)
ACTIVE_SITES = 512  # sites crawled at once: far more than requests in flight, so politeness, not this, limits
PROCESSES_FROM = 16  # sites in a crawl from which parsing moves to worker processes by default
DEAD_BACKOFF_DAYS = (1, 7, 30)  # days after a link was first found dead; then every 30 days


@dataclass
class Summary:
    fetched: int = 0
    not_modified: int = 0
    new_reports: int = 0
    changed: int = 0
    failed: int = 0
    blocked: int = 0
    dead: int = 0  # 404/410 answers this run from links never archived: not failures
    failures: list[str] = field(default_factory=list)  # "site: url: why"

    def line(self) -> str:
        return (f"fetched {self.fetched}, not modified {self.not_modified}, new reports {self.new_reports}, "
                f"changed {self.changed}, failed {self.failed}, blocked {self.blocked}, dead {self.dead}")

    def as_dict(self) -> dict:
        return asdict(self)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def next_try(first_dead: date, answers: int, today: date) -> date:
    """The day a dead link is asked again after its `answers`-th 404/410: 1, 7, 30 days
    after it was first found dead, then every 30 days; never before tomorrow."""
    if answers <= len(DEAD_BACKOFF_DAYS):
        due = first_dead + timedelta(days=DEAD_BACKOFF_DAYS[answers - 1])
    else:
        due = today + timedelta(days=DEAD_BACKOFF_DAYS[-1])
    return max(due, today + timedelta(days=1))


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Crawl:
    def __init__(self, db: sqlite_utils.Database, sites: list[Site], fetcher: Fetcher, *,
                 max_pages: int | None = None, progress: Callable[[str], None] | None = None,
                 now: Callable[[], datetime] = _utcnow, read_jobs: int | None = None) -> None:
        self.db = db
        if read_jobs is None:  # a few sites' parsing fits in a thread; processes cost ~1 s to start
            read_jobs = default_jobs() if len(sites) >= PROCESSES_FROM else 1
        self.read_jobs = read_jobs  # 1: a thread of this process
        self.readers = None
        self.readers_up: Future | None = None  # done once the reader processes are up
        self.now = now  # the clock dead-link backoff reads (tests move it by days)
        self.sites = {s.id: s for s in sites}
        self.fetcher = fetcher
        self.max_pages = max_pages
        self.summary = Summary()
        self.progress = progress
        self.run_id: int | None = None
        self._named_hosts: set[str] = set()  # hosts already named as deferred in this run
        self.commits = GroupCommit(db.conn, COMMIT_EVERY, before_commit=schema.index_sections)
        self.turns = asyncio.Lock()
        fetcher.allow_sites(sites)

    # -- frontier
    def _seed(self) -> None:
        """Per site: resume an interrupted pass, or start a new one over every known URL."""
        with archive.transaction(self.db):
            for s in self.sites.values():
                unfinished = self.db.execute(
                    "SELECT COUNT(*) FROM frontier WHERE site_id = ? AND state IN ('pending', 'deferred')",
                    [s.id]).fetchone()[0]
                if unfinished:
                    self.db.execute("UPDATE frontier SET state = 'pending' WHERE site_id = ? AND state = 'deferred'",
                                    [s.id])
                else:  # a new pass; gone and dead links are not asked again (see _outcome)
                    self.db.execute("UPDATE frontier SET state = 'pending', attempts = 0 "
                                    "WHERE site_id = ? AND state NOT IN ('gone', 'dead')", [s.id])
                self.db.execute("UPDATE frontier SET state = 'pending' WHERE site_id = ? AND state = 'dead' "
                                "AND next_try <= ?", [s.id, self.now().date().isoformat()])
                for url in s.start:
                    self._add(url, s.id, "list", None, 0)
                    self.db.execute("UPDATE frontier SET state = 'pending' WHERE url = ? AND state IN ('gone', 'dead')",
                                    [url])  # a start page is always asked
            cur = self.db.execute("INSERT INTO runs (started_at) VALUES (?)", [archive.now()])
            self.run_id = cur.lastrowid

    def _add(self, url: str, site_id: str, role: str, parent: str | None, depth: int) -> None:
        """Queue a URL not seen before (gone and dead ones are for `_relink`)."""
        self.db.execute(
            "INSERT OR IGNORE INTO frontier (url, site_id, role, parent_url, depth, state, updated_at) "
            "VALUES (?, ?, ?, ?, ?, 'pending', ?)", [url, site_id, role, parent, depth, archive.now()])

    def _relink(self, page: Response, capture_id: int, urls: list[str]) -> None:
        """Ask again the gone and dead URLs this changed page links anew (its previous
        version did not link them): the site may have put them back.  A page that merely
        changed (a counter, a new report above them) does not, or a column with many dead
        links would ask them all whenever it changes."""
        waiting = []
        for url in dict.fromkeys(urls):
            row = self.db.execute(
                "SELECT c.run_id FROM frontier f LEFT JOIN captures c ON c.id = f.last_capture_id "
                "WHERE f.url = ? AND f.state IN ('gone', 'dead')", [url]).fetchone()
            if row is not None and row[0] != self.run_id:  # not already asked this run
                waiting.append(url)
        if not waiting:
            return
        before = self._links_before(page.url, capture_id)
        for url in waiting:
            if url not in before:
                log.info("asking again %s: %s links it anew", url, page.url)
                self.db.execute("UPDATE frontier SET state = 'pending' WHERE url = ?", [url])

    def _links_before(self, url: str, capture_id: int) -> set[str]:
        """Every link of the version of this page archived before `capture_id` (none if
        there was none)."""
        row = self.db.execute(
            "SELECT sha256, content_type FROM captures WHERE url = ? AND status = 200 AND sha256 IS NOT NULL "
            "AND id < ? ORDER BY id DESC LIMIT 1", [url, capture_id]).fetchone()
        data = archive.body(self.db, row[0]) if row else None
        if data is None:
            return set()
        found = discover(url, decode(data, row[1]).text)
        return set(found.lists) | set(found.reports) | set(found.attachments)

    # the order a site's pending URLs are asked in: by role, then depth, then discovery
    _ORDER = {
        "list": "CASE role WHEN 'list' THEN 0 WHEN 'attachment' THEN 1 ELSE 2 END, depth, rowid",
        "document": "CASE role WHEN 'attachment' THEN 0 WHEN 'report' THEN 1 ELSE 2 END, depth, rowid",
    }

    def _next(self, site_id: str, busy: set[str] = frozenset(),
              prefer: str = "list") -> tuple[str, str, int, str | None] | None:
        """The next pending URL of a site, skipping those in flight.  `prefer` "list": a
        list page (they lead to the rest); "document": a report's attachments as soon as
        they are known (their conversion and parsing are slow, so they overlap the
        remaining polite fetches), then reports; either falls back to the other kind."""
        marks = ",".join("?" * len(busy))
        row = self.db.execute(
            "SELECT url, role, depth, parent_url FROM frontier WHERE site_id = ? AND state = 'pending' "
            + (f"AND url NOT IN ({marks}) " if busy else "")
            + f"ORDER BY {self._ORDER[prefer]} LIMIT 1",
            [site_id, *busy]).fetchone()
        return tuple(row) if row else None

    def _previous(self, url: str) -> tuple[str | None, str | None, str | None]:
        """(etag, last_modified, sha256) of the last good capture of this URL."""
        row = self.db.execute(
            "SELECT etag, last_modified, sha256 FROM captures WHERE url = ? AND status = 200 "
            "AND sha256 IS NOT NULL ORDER BY id DESC LIMIT 1", [url]).fetchone()
        return tuple(row) if row else (None, None, None)

    # -- archive
    def _archive(self, site_id: str, role: str, resp: Response, parent_id: int | None,
                 store_body: bool, packed: bytes | None = None) -> int:
        record = {
            "site_id": site_id, "url": resp.url, "role": role, "parent_id": parent_id,
            "fetched_at": _iso(resp.fetched_at), "status": resp.status,
            "content_type": resp.content_type, "etag": resp.headers.get("etag"),
            "last_modified": resp.headers.get("last-modified"),
            "sha256": resp.sha256 if resp.body is not None else None,  # same body as before: a reference
            "size": len(resp.body) if resp.body is not None else None,
            "error": resp.error, "blocked": resp.blocked, "elapsed_ms": resp.elapsed_ms,
            "run_id": self.run_id,
        }
        return archive.add_capture(self.db, record, resp.body if store_body else None, packed)

    def _fail(self, site_id: str, url: str, why: str) -> None:
        self.summary.failed += 1
        self.summary.failures.append(f"{site_id}: {url}: {why}")
        log.warning("failed %s: %s", url, why)

    # -- one URL
    async def _visit(self, site: Site, url: str, role: str, depth: int, parent: str | None) -> None:
        previous = functools.cache(self._previous)  # asked up to four times a URL; nothing else archives it meanwhile
        result = await self.fetcher.fetch(url, validators=lambda u: previous(u)[:2])
        final = result.final
        old_sha = previous(final.url)[2] if final is not None else None
        fresh = (final is not None and final.status == 200 and final.body is not None and not final.error
                 and not final.blocked and final.sha256 != old_sha)
        reading = None
        if fresh and role in ("report", "attachment", "list"):
            reading = await self._read(final, role)
        async with self.turns:  # the URLs' outcomes one at a time, each in a turn of its own,
            await asyncio.sleep(0)  # so a burst of answers being saved does not hold back requests
            self._record(site, url, role, depth, parent, result, final, fresh, reading, previous)
        if self.progress:
            self.progress(url)

    def _record(self, site: Site, url: str, role: str, depth: int, parent: str | None, result: Result,
                final: Response | None, fresh: bool, reading: Reading | None,
                previous: Callable[[str], tuple]) -> None:
        """A URL's whole outcome, as one unit (a savepoint of the batch): no await in here."""
        with self.commits.unit():
            for r in result.robots:
                self._archive(site.id, "robots", r, None, r.body is not None)
            parent_id = None
            if parent:
                row = self.db.execute("SELECT id FROM captures WHERE url = ? ORDER BY id DESC LIMIT 1",
                                      [parent]).fetchone()
                parent_id = row[0] if row else None
            capture_id = None
            for resp in result.responses:
                unchanged = resp.body is not None and resp.sha256 == previous(resp.url)[2]
                capture_id = self._archive(site.id, role, resp, parent_id, resp.body is not None and not unchanged,
                                           reading.packed if reading is not None and resp is final else None)
            state = self._outcome(site, url, result, previous)
            if state == "done" and fresh:
                self.summary.fetched += 1
                self._handle(site, final, role, depth, capture_id, reading or Reading(None, None, None, b""))
            elif state == "done" and final is not None and final.status in (200, 304):
                self.summary.not_modified += 1
            self.db.execute("UPDATE frontier SET state = ?, attempts = attempts + 1, last_capture_id = ?, "
                            "updated_at = ? WHERE url = ?", [state, capture_id, archive.now(), url])
            if state == "done":  # a dead link that came back is a page like any other
                self.db.execute("UPDATE frontier SET dead_since = NULL, dead_answers = 0, next_try = NULL "
                                "WHERE url = ? AND dead_since IS NOT NULL", [url])

    def _outcome(self, site: Site, url: str, result: Result, previous: Callable[[str], tuple]) -> str:
        """The frontier state for this URL, with failures and blocks counted and named."""
        final = result.final
        if result.skipped:
            kind, why = result.skipped
            if kind == "disallowed":
                log.info("%s", why)
                return "disallowed"
            if kind == "deferred":  # named once per host; its URLs wait for the next run
                host = urlsplit(url).netloc
                if host not in self._named_hosts:
                    self._named_hosts.add(host)
                    self._fail(site.id, url, why)
            if kind in ("blocked", "deferred"):
                return "deferred"
            self._fail(site.id, url, why)
            return "failed"
        if final is None:
            self._fail(site.id, url, "no response")
            return "failed"
        if final.blocked:
            self.summary.blocked += 1
            self.summary.failures.append(f"{site.id}: {url}: blocked ({final.blocked}); host not asked again this run")
            log.warning("blocked at %s: %s", url, final.blocked)
            return "deferred"
        if final.error or final.status is None:
            self._fail(site.id, url, final.error or "no response")
            if self.fetcher.state(final.url).deferred:  # Retry-After too long: named here, once
                self._named_hosts.add(urlsplit(final.url).netloc)
                return "deferred"
            return "failed"
        if final.status == 304 or 200 <= final.status < 300:
            return "done"
        if final.status in (404, 410) and url not in site.start and previous(url)[2] is not None:
            # a page we archived has been removed: named once; later passes do not ask again
            # unless a changed list page links it anew, so a nightly run does not fail forever
            # (a start page that is gone keeps failing: the registry entry needs fixing)
            self._fail(site.id, url, f"HTTP {final.status}: removed from the site (the archived copy is kept)")
            return "gone"
        if final.status in (404, 410) and url not in site.start:
            # a link to a page that never existed for us: nothing was lost, nothing went
            # wrong this run; counted as dead and asked again only with backoff
            self._dead(url, final.status)
            return "dead"
        self._fail(site.id, url, f"HTTP {final.status}")
        return "failed"

    def _dead(self, url: str, status: int) -> None:
        """Count a dead answer and set when the link is asked next (`next_try`)."""
        self.summary.dead += 1
        log.info("dead link %s: HTTP %s", url, status)
        now = self.now()
        since, answers = self.db.execute("SELECT dead_since, dead_answers FROM frontier WHERE url = ?",
                                         [url]).fetchone()
        since = since or _iso(now.timestamp())
        answers += 1
        due = next_try(date.fromisoformat(since[:10]), answers, now.date())
        self.db.execute("UPDATE frontier SET dead_since = ?, dead_answers = ?, next_try = ? WHERE url = ?",
                        [since, answers, due.isoformat(), url])

    async def _read(self, resp: Response, role: str) -> Reading:
        """`reading.read` in a worker process (or thread), while the other hosts' requests go on."""
        args = (resp.body or b"", resp.url, resp.content_type, role)
        if self.readers is not None and role == "list" and not self.readers_up.done():
            return await asyncio.to_thread(read, *args)  # a list page's links need no parser: no wait
        if self.readers is not None:
            try:
                await asyncio.wrap_future(self.readers_up)  # no waiting on the loop while they start
                return await asyncio.get_running_loop().run_in_executor(self.readers, read, *args)
            except BrokenProcessPool as exc:  # a worker died (a parser crash below Python), or none could
                readers, self.readers = self.readers, None  # start: threads from here on (other reads wait here too)
                if readers is not None:
                    log.error("reader processes unusable at %s (%s); reading in threads for the rest of the run",
                              resp.url, exc)
                    readers.shutdown(wait=False, cancel_futures=True)
        return await asyncio.to_thread(read, *args)

    def _handle(self, site: Site, resp: Response, role: str, depth: int, capture_id: int,
                reading: Reading) -> None:
        """Follow a new body's links (lists: reports and pages; reports: attachments) and
        save what was parsed; called inside the URL's unit.  `reading`: what `reading.read` made
        of the body (its links, when it found them already)."""
        parsed, found = reading.parsed, reading.found
        if role == "attachment":  # merged into its page's report, or a report of its own
            if save_attachment(self.db, site.id, capture_id, parsed) == "new":
                self.summary.new_reports += 1
            return
        body = resp.body or b""
        is_report = False
        if role == "report":
            is_report = self._save(site, resp, capture_id, parsed, reading.cells)
            if b"<" not in body[:4096]:
                return
        if found is None:
            found = discover(resp.url, decode(body, resp.content_type).text)
        elif isinstance(found, Exception):
            raise found
        if depth >= MAX_DEPTH:
            return
        linked: list[str] = []
        if role == "list" or not is_report:
            for u in found.lists:
                if self._on_site(u):
                    self._add(u, site.id, "list", resp.url, depth + 1)
                    linked.append(u)
            for u in found.reports:
                if self._on_site(u):
                    self._add(u, site.id, "report", resp.url, depth + 1)
                    linked.append(u)
        if role == "report":  # attachments, and the pictures standing for a page's tables (read by OCR)
            for u in list(found.attachments) + [u for u in found.reports if ATTACHMENT.search(u)] \
                    + picture_urls(parsed, resp.url):
                if self._on_site(u):
                    self._add(u, site.id, "attachment", resp.url, depth + 1)
                    linked.append(u)
        self._relink(resp, capture_id, linked)

    def _on_site(self, url: str) -> bool:
        return self.fetcher.permitted(url) is None

    def _save(self, site: Site, resp: Response, capture_id: int, report, cells: list[tuple] | None) -> bool:
        """Store a parsed report (or why the page is not one); True if it was a report."""
        if isinstance(report, Exception) or report is None:
            archive.record_document(self.db, capture_id, resp.url, f"parser error: {report}"[:300])
            self._fail(site.id, resp.url, f"parser error: {report}")
            return False
        if not report.is_report:
            archive.record_document(self.db, capture_id, resp.url, report.error or "not a report", None,
                                    report.title)
            return False
        existed = self.db.execute("SELECT 1 FROM reports WHERE source_url = ? LIMIT 1", [resp.url]).fetchone()
        archive.save_report(self.db, report, site_id=site.id, capture_id=capture_id, sha256=resp.sha256, cells=cells)
        if existed:
            self.summary.changed += 1
        else:
            self.summary.new_reports += 1
        return True

    async def _site(self, site: Site) -> None:
        """Visit a site's pending URLs, up to IN_FLIGHT at once: the fetcher still asks each
        host one request at a time with its delay, but the next request need not wait
        while the last response is parsed and archived.  List pages and documents take
        turns: all of a column's list pages first would leave every report's parsing to
        the second half of the crawl, when the cores are short, while the first half
        waits on polite delays with little to parse (at 100 hosts on 2 cores, turns put
        the last parse 0.25 s closer to the last answer)."""
        visited = 0
        prefer = "list"
        busy: dict[asyncio.Task, str] = {}
        while True:
            nxt = None
            if self.max_pages is None or visited < self.max_pages:
                nxt = self._next(site.id, set(busy.values()), prefer) if len(busy) < IN_FLIGHT else None
            if nxt is None:
                if not busy:
                    break
                done, _ = await asyncio.wait(busy, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    busy.pop(task)
                continue
            url, role, depth, parent = nxt
            prefer = "document" if role == "list" else "list"
            visited += 1
            busy[asyncio.create_task(self._visit_safely(site, url, role, depth, parent))] = url

    async def _all_sites(self) -> None:
        """Every site, at most ACTIVE_SITES at once: a site's coroutine, its URL tasks and
        their waiting fetches are alive only while it is crawled, so memory stays flat in
        the size of the registry (20,000 sites at once held about 30 KB each)."""
        pending = iter(self.sites.values())  # shared: each site is taken by one slot

        async def slot() -> None:
            for site in pending:
                await self._site(site)

        await asyncio.gather(*(slot() for _ in range(min(ACTIVE_SITES, len(self.sites)))))

    async def _visit_safely(self, site: Site, url: str, role: str, depth: int, parent: str | None) -> None:
        try:
            await self._visit(site, url, role, depth, parent)
        except Exception as exc:  # noqa: BLE001 - one bad URL never ends the crawl
            log.exception("error on %s", url)
            self._fail(site.id, url, f"{type(exc).__name__}: {exc}")
            with self.commits.unit():
                self.db.execute("UPDATE frontier SET state = 'failed', updated_at = ? WHERE url = ?",
                                [archive.now(), url])

    async def _archive_unreported(self) -> None:
        """robots.txt answers the fetcher read ahead (`Fetcher.warm`) for a host that no URL
        was asked of after all (`--max-pages 0`, a resumed pass on another host): archived
        under the site whose start page they were read for, like any other response."""
        for url, resp in await self.fetcher.unreported():
            site = next((s for s in self.sites.values() if url in s.start), None)
            if site is not None:
                with self.commits.unit():
                    self._archive(site.id, "robots", resp, None, resp.body is not None)

    async def _flush_every(self) -> None:
        """Commit the batch while the crawl waits on the network, so the live archive
        shows new reports within `COMMIT_EVERY` and no lock is held through a wait."""
        while True:
            await asyncio.sleep(COMMIT_EVERY)
            self.commits.flush()

    async def run(self) -> Summary:
        # WAL with synchronous=NORMAL survives a killed process; only a power cut may
        # lose the last commits (never corrupt the archive)
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.readers = reader_processes(self.read_jobs)
        if self.readers is not None:  # they start on the other cores while this one seeds the frontier
            self.readers_up = started(self.readers)
        flusher = None
        try:
            archive.upsert_sites(self.db, self.sites.values())
            self._seed()
            flusher = asyncio.create_task(self._flush_every())
            await self._all_sites()
            await self._archive_unreported()
        finally:
            if flusher is not None:
                flusher.cancel()
            self.commits.flush()
            if self.readers is not None:
                self.readers.shutdown(cancel_futures=True)
                self.readers = None
        with archive.transaction(self.db):
            self.db.execute("UPDATE runs SET finished_at = ?, summary = ? WHERE id = ?",
                            [archive.now(), self.summary.line(), self.run_id])
            ids = list(self.sites)
            self.db.execute(
                f"UPDATE sites SET reached_at = ? WHERE reached_at IS NULL AND id IN ({','.join('?' * len(ids))}) "
                "AND EXISTS (SELECT 1 FROM reports WHERE reports.site_id = sites.id)", [archive.now(), *ids])
        try:  # the agency-years this crawl touched; everything above is committed whatever happens here
            scorecard.refresh(self.db, sites=ids, today=self.now().date())
        except Exception:  # noqa: BLE001 - a scorecard bug must not fail a finished crawl
            log.exception("the scorecard was not recomputed (run `xxgk check` to retry)")
        return self.summary


async def crawl(db: sqlite_utils.Database, sites: list[Site], *, fetcher: Fetcher | None = None,
                max_pages: int | None = None, progress: Callable[[str], None] | None = None,
                now: Callable[[], datetime] = _utcnow, read_jobs: int | None = None) -> Summary:
    """Crawl `sites`; `read_jobs` processes parse and read links (default: the cores from
    `PROCESSES_FROM` sites on; 1: a thread of this process)."""
    own = fetcher is None
    fetcher = fetcher or Fetcher()
    try:
        return await Crawl(db, sites, fetcher, max_pages=max_pages, progress=progress, now=now,
                           read_jobs=read_jobs).run()
    finally:
        if own:
            await fetcher.aclose()
