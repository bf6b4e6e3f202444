"""Re-deriving reports from archived captures with the current parsers; no network."""

from __future__ import annotations

import logging

import sqlite_utils

from . import archive, convert, scorecard
from .attachments import reparse_attachments

log = logging.getLogger("xxgk.reparse")


def reparse_all(db: sqlite_utils.Database) -> dict[str, int]:
    stats = {"parsed": 0, "reports": 0, "other": 0, "errors": 0}
    for capture_id, url, site_id, ctype, sha, data in archive.archived_documents(db, "report"):
        stats["parsed"] += 1
        try:
            report = convert.parse(data, url=url, content_type=ctype)  # DOC/WPS/XLS converted first
        except Exception as exc:  # noqa: BLE001 - keep going; the capture is untouched
            log.exception("parser crashed on capture %s", capture_id)
            stats["errors"] += 1
            with db.conn:
                archive.delete_reports_of_capture(db, capture_id)
                archive.record_document(db, capture_id, url, f"parser error: {exc}"[:300])
            continue
        with archive.transaction(db):  # one commit: a served page sees the old report or the new, never none
            archive.delete_reports_of_capture(db, capture_id)
            if report.is_report:
                archive.save_report(db, report, site_id=site_id, capture_id=capture_id, sha256=sha)
            else:
                archive.record_document(db, capture_id, url, report.error or "not a report", None, report.title)
        stats["reports" if report.is_report else "other"] += 1
    for key, n in reparse_attachments(db).items():  # attachments merged into the pages again
        stats[key] = stats.get(key, 0) + n
    archive.mark_current(db)
    scorecard.refresh(db)  # every report was re-derived: every agency-year
    return stats
