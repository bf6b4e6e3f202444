"""Parsing archived bodies in worker processes, results in submission order.

Workers read the bodies themselves through their own read-only connection (WAL: they
never block the writer), so only a sha256 goes out and a parsed `Report` comes back;
the process that owns the pool does every write.  A bounded number of documents is in
flight, so memory does not grow with the archive.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import NamedTuple

import sqlite_utils

from parsers import Report

from . import archive, bodies, convert

BATCH = 4  # documents a task: fewer round trips through the pool's queues
AHEAD = 3  # tasks in flight per worker: enough to keep each busy, few enough to stay small

Item = tuple[str, "str | None", str]  # url, content type, sha256 of the body


class Crash(NamedTuple):
    """A parser exception, as text (exceptions do not always pickle)."""
    message: str
    trace: str


class Unreadable(NamedTuple):
    """An archived body whose stored bytes do not decompress: nothing to parse, and what
    was derived from it before stays (`xxgk verify` names the body)."""
    message: str


class Derived(NamedTuple):
    """A parsed report with its `fact_values` cells (`archive.fact_cells`), computed where
    it was parsed.  Without provenance (`report.found` emptied) when the cells are all the
    writer needs: a third of the bytes to send back and to unpickle in the writer."""
    report: Report
    cells: list[tuple]


def parse_body(data: bytes, url: str, content_type: str | None, provenance: bool = True):
    """One document as a reparse reads it: DOC/WPS/XLS converted first, then `parsers.parse`;
    a `Derived`, or a `Crash` (an exception, so one bad document never stops the rest)."""
    try:
        report = convert.parse(data, url=url, content_type=content_type)
        cells = archive.fact_cells(report)
    except Exception as exc:  # noqa: BLE001 - reported by the caller, the capture untouched
        return Crash(str(exc), traceback.format_exc())
    if not provenance:
        report.found = {}
    return Derived(report, cells)


_worker_conn: sqlite3.Connection | None = None


def _open_worker(db_file: str, owner: int) -> None:
    global _worker_conn
    follow(owner)
    _worker_conn = sqlite3.connect(Path(db_file).resolve().as_uri() + "?mode=ro", uri=True, timeout=30)


def _parse_in_worker(items: list[Item], provenance: bool) -> list:
    """A few documents per task: each task costs a round trip through the pool's queues."""
    out = []
    for url, content_type, sha in items:
        out.append(_parse_stored(_worker_conn, url, content_type, sha, provenance))
    return out


def _parse_stored(conn: sqlite3.Connection, url: str, content_type: str | None, sha: str, provenance: bool):
    """`parse_body` of an archived body; None when it is missing, `Unreadable` when its
    stored bytes are damaged."""
    row = conn.execute("SELECT compression, data FROM bodies WHERE sha256 = ?", [sha]).fetchone()
    if row is None:
        return None
    try:
        body = bodies.unpack(*row)
    except bodies.BodyError as exc:
        return Unreadable(str(exc))
    return parse_body(body, url, content_type, provenance)


def default_jobs() -> int:
    """The cores this process may use (a container's CPU set, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def reader_processes(jobs: int) -> ProcessPoolExecutor | None:
    """Worker processes for a crawl's parsing (None for 1 job: a thread does it).  Started
    from a fork server that has the parsers imported, never forked from the crawl itself
    (its event loop and threads must not be copied); workers end when the crawl does,
    killed or not (their pipe to it closes)."""
    if jobs <= 1 or "forkserver" not in multiprocessing.get_all_start_methods():
        return None
    ctx = multiprocessing.get_context("forkserver")
    # lean_imports first: sqlite-utils without pandas, 0.3 s of the fork server's start;
    # the PDF and Word readers' libraries (0.15 s) imported once there, not in every worker
    ctx.set_forkserver_preload(["scraper.lean_imports", "parsers", "scraper.convert", "scraper.adapters",
                                "scraper.reading", "pdfplumber", "docx"])
    return ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_reader_start, initargs=(os.getpid(),))


READER_NICENESS = 10  # below the crawl's own process, whose event loop times every request


def _reader_start(owner: int) -> None:
    """A crawl's reader process: ends with the crawl, and yields the CPU to it.  The crawl
    process is the one that keeps each host's requests on time; when the cores are short,
    parsing (throughput, with a queue in front of it) waits a little rather than every host."""
    follow(owner)
    try:
        os.nice(READER_NICENESS)
    except OSError:  # not allowed here: parse at the same priority
        pass


def started(pool: ProcessPoolExecutor) -> Future:
    """Start the pool's workers in a thread of their own; the future is done when they
    are up.  The first submit to a pool starts the fork server and waits for it to import
    the parsers (about half a second): done on the event loop, that stalled every host."""
    done: Future = Future()

    def warm() -> None:
        try:
            pool.submit(int).result()
        except Exception as exc:  # noqa: BLE001 - no processes (a fork limit, a broken fork server): threads
            done.set_exception(exc if isinstance(exc, BrokenProcessPool) else BrokenProcessPool(repr(exc)))
        else:
            done.set_result(None)

    threading.Thread(target=warm, name="xxgk-start-readers", daemon=True).start()
    return done


def follow(owner: int) -> None:
    """End this worker when the process that owns the pool is gone (a SIGKILLed crawl or
    reparse): a pool worker waits on a pipe it holds both ends of, so it would never
    notice by itself."""
    def watch() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(owner, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:  # a process of someone else now has that id: ours is gone
                os._exit(0)

    threading.Thread(target=watch, name="xxgk-follow-owner", daemon=True).start()


def db_file(db: sqlite_utils.Database) -> str | None:
    """The file behind a connection; None for an in-memory database."""
    for _, name, path in db.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return path or None
    return None


class ParsePool:
    """`map` parses (url, content type, sha256) items, in this process when `jobs` is 1
    (or the archive has no file to share), else in `jobs` worker processes."""

    def __init__(self, db: sqlite_utils.Database, jobs: int = 1) -> None:
        self.db = db
        path = db_file(db)
        self.executor: ProcessPoolExecutor | None = None
        if jobs > 1 and path:
            methods = multiprocessing.get_all_start_methods()
            # fork: workers start with the parsers imported (no re-import per worker)
            ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
            self.executor = ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_open_worker,
                                                initargs=(path, os.getpid()))
        self.jobs = jobs if self.executor else 1

    def map(self, items: Iterable[Item], *,
            provenance: bool = True) -> Iterator[Derived | Crash | Unreadable | None]:
        """The parse of each item (a Derived, a Crash, an Unreadable, or None when its body
        is missing), in order."""
        if self.executor is None:
            for url, content_type, sha in items:
                yield _parse_stored(self.db.conn, url, content_type, sha, provenance)
            return
        pending: deque[Future] = deque()
        batch: list[Item] = []
        for item in items:
            batch.append(item)
            if len(batch) < BATCH:
                continue
            pending.append(self.executor.submit(_parse_in_worker, batch, provenance))
            batch = []
            if len(pending) >= self.jobs * AHEAD:
                yield from pending.popleft().result()
        if batch:
            pending.append(self.executor.submit(_parse_in_worker, batch, provenance))
        while pending:
            yield from pending.popleft().result()

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(cancel_futures=True)
            self.executor = None

    def __enter__(self) -> "ParsePool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
