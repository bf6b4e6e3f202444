"""Re-deriving reports from archived captures with the current parsers; no network.

Parsing is pure and CPU-bound, so it runs in worker processes (`jobs`); every write stays
in this process, one short transaction per capture in capture order, so the archive is
served live while a reparse runs and `jobs=N` writes what `jobs=1` writes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NamedTuple

import sqlite_utils

from parsers import Report

from . import archive, scorecard
from .attachments import reparse_attachments
from .parse_pool import Crash, ParsePool, Unreadable, default_jobs

log = logging.getLogger("xxgk.reparse")


class Parsed(NamedTuple):
    capture_id: int
    url: str
    site_id: str | None
    content_type: str | None
    sha256: str
    report: Report | Crash  # a Crash when the parser raised
    cells: list[tuple] | None  # its `archive.fact_cells`


def parsed_documents(db: sqlite_utils.Database, role: str, pool: ParsePool, *,
                     provenance: bool = True) -> Iterator[Parsed]:
    """Every archived document of `role` (as `archive.archived_documents` lists them),
    parsed by `pool`, in capture order."""
    rows = archive.archived_captures(db, role)
    done = pool.map(((r[1], r[3], r[4]) for r in rows), provenance=provenance)
    for (capture_id, url, site_id, ctype, sha), result in zip(rows, done):
        if result is None:  # the body is gone (`xxgk verify` names it)
            continue
        if isinstance(result, Unreadable):  # what it gave before stays
            log.error("capture %s: archived body %s; its reports are kept (run `xxgk verify`)", capture_id, result.message)
            continue
        report, cells = (result, None) if isinstance(result, Crash) else result
        yield Parsed(capture_id, url, site_id, ctype, sha, report, cells)


@contextmanager
def relaxed_sync(db: sqlite_utils.Database) -> Iterator[None]:
    """`synchronous=NORMAL` while re-deriving: in WAL mode every commit stays atomic (a
    reader or a crash sees the old report or the new), only a power cut may undo the last
    few commits, which the next reparse derives again from the untouched bodies.  Saves
    an fsync per capture, the largest cost of the writing process."""
    (before,) = db.execute("PRAGMA synchronous").fetchone()
    db.execute("PRAGMA synchronous=NORMAL")
    try:
        yield
    finally:
        db.execute(f"PRAGMA synchronous={int(before)}")


def reparse_all(db: sqlite_utils.Database, *, jobs: int = 1,
                progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Re-derive every report of the archive; `jobs` worker processes parse (1: this one)."""
    stats = {"parsed": 0, "reports": 0, "other": 0, "errors": 0}
    with relaxed_sync(db), ParsePool(db, jobs) as pool:
        for doc in parsed_documents(db, "report", pool, provenance=False):  # the cells are enough
            stats["parsed"] += 1
            report = doc.report
            if isinstance(report, Crash):
                log.error("parser crashed on capture %s:\n%s", doc.capture_id, report.trace)
                stats["errors"] += 1
                with archive.transaction(db):
                    archive.delete_reports_of_capture(db, doc.capture_id)
                    archive.record_document(db, doc.capture_id, doc.url, f"parser error: {report.message}"[:300])
            else:
                with archive.transaction(db):  # one commit: a served page sees the old report or the new, never none
                    if report.is_report:  # in place: an unchanged report costs a few reads
                        archive.rederive_report(db, report, site_id=doc.site_id, capture_id=doc.capture_id,
                                                sha256=doc.sha256, cells=doc.cells)
                    else:
                        archive.delete_reports_of_capture(db, doc.capture_id)
                        archive.record_document(db, doc.capture_id, doc.url, report.error or "not a report", None,
                                                report.title)
                stats["reports" if report.is_report else "other"] += 1
            if progress:
                progress(stats["parsed"])
        attached = reparse_attachments(db, parsed=(d[:6] for d in parsed_documents(db, "attachment", pool)))
    for key, n in attached.items():  # attachments merged into the pages again
        stats[key] = stats.get(key, 0) + n
    archive.mark_current(db)
    scorecard.refresh(db)  # every report was re-derived: every agency-year
    return stats
