"""Attachments (PDF, Word, spreadsheets linked from a report page) into the archive.

An attachment is archived as a capture whose `parent_id` is the page it was linked from,
and parsed like any document.  When the page is itself a report of the same agency and
year, the two are one report: the page's report is rebuilt with the attachment as a
second source (the page's facts win where both have a value, the attachment fills the
page's blanks, and every disagreement is a warning).  Otherwise the attachment is a
report of its own, with the page's publication date and index number where it has none.
`report_sources` records which documents a report was read from and which facts each
filled.  Parsing happens in the crawler's worker thread (`parse_document`); saving here
runs inside the crawler's per-URL transaction.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterable

import sqlite_utils

from parsers import Report
from parsers.checks import compare, run_checks

from . import archive, convert, pictures

log = logging.getLogger("xxgk.attachments")

META_FIELDS = ("title", "published", "index_no", "kind")


def parse_document(data: bytes, url: str | None, content_type: str | None) -> Report:
    """Any published document (HTML, PDF, DOCX, XLSX; DOC/WPS/XLS converted first)."""
    return convert.parse(data, url=url, content_type=content_type)


def same_report(page: Report, attachment: Report) -> bool:
    return bool(page.agency and page.year and page.agency == attachment.agency and page.year == attachment.year)


def merge(page: Report, attachment: Report) -> tuple[Report, list[str], list[str]]:
    """The page's report with the attachment's facts where the page has none.  Returns the
    merged report, the keys filled from the attachment and the keys where they disagree."""
    merged = copy.deepcopy(page)
    filled: list[str] = []
    disagree: list[str] = []
    where = attachment.source or "attachment"
    if attachment.version and page.version and attachment.version != page.version:
        merged.warnings.append(f"attachment {where}: {attachment.version} tables, the page has {page.version} "
                               "tables; only the page's template keys are compared")
    for key, pv in page.facts.items():
        av = attachment.facts.get(key)
        if av is None:
            continue
        if pv is None:
            merged.facts[key] = av
            if key in attachment.found:
                merged.found[key] = attachment.found[key]
            filled.append(key)
        elif not compare(pv, av, fees=key.startswith("active.fees.")):
            disagree.append(key)
            merged.warnings.append(f"{key}: the page says {pv}, the attachment {where} says {av}; kept the page's")
    for name in META_FIELDS:
        if getattr(merged, name) is None and getattr(attachment, name) is not None:
            setattr(merged, name, getattr(attachment, name))
    for section, text in attachment.sections.items():
        merged.sections.setdefault(section, text)
    if filled:
        merged.warnings.append(f"attachment {where}: filled {len(filled)} cells the page left blank")
    merged.checks = run_checks(merged)
    return merged, filled, disagree


def _capture(db: sqlite_utils.Database, capture_id: int | None) -> dict | None:
    if capture_id is None:
        return None
    row = db.execute("SELECT id, url, role, content_type, sha256, parent_id, site_id FROM captures WHERE id = ?",
                     [capture_id]).fetchone()
    if row is None:
        return None
    return dict(zip(("id", "url", "role", "content_type", "sha256", "parent_id", "site_id"), row))


def _page_report(db: sqlite_utils.Database, page: dict) -> Report | None:
    """The page parsed again from its archived bytes (parsing is pure and deterministic)."""
    data = archive.body(db, page["sha256"]) if page.get("sha256") else None
    if data is None:
        return None
    try:
        return parse_document(data, page["url"], page["content_type"])
    except Exception:  # noqa: BLE001 - a parser bug must not lose the attachment
        log.exception("parser crashed on %s", page["url"])
        return None


def _earlier_attachments(db: sqlite_utils.Database, page_capture: int, url: str) -> list[tuple[dict, Report]]:
    """Attachments already merged into this page capture's report (other URLs), parsed again."""
    out = []
    rows = db.execute("""SELECT DISTINCT s.capture_id FROM report_sources s JOIN reports r ON r.id = s.report_id
                         WHERE r.capture_id = ? AND s.role = 'attachment' AND s.url != ? ORDER BY s.capture_id""",
                      [page_capture, url]).fetchall()
    for (cid,) in rows:
        cap = _capture(db, cid)
        rep = _page_report(db, cap) if cap else None
        if cap and rep is not None and rep.is_report:
            out.append((cap, rep))
    return out


def _sources(db: sqlite_utils.Database, report_id: int, rows: list[tuple]) -> None:
    db.conn.executemany("INSERT OR REPLACE INTO report_sources (report_id, capture_id, url, role, form, filled, "
                        "disagreements) VALUES (?,?,?,?,?,?,?)", [(report_id, *r) for r in rows])


def save_attachment(db: sqlite_utils.Database, site_id: str, capture_id: int, report) -> str:
    """Store one parsed attachment; returns 'merged', 'new', 'not a report' or 'failed'."""
    att_cap = _capture(db, capture_id)
    url = att_cap["url"] if att_cap else None
    if isinstance(report, Exception) or report is None:
        archive.record_document(db, capture_id, url, f"parser error: {report}"[:300])
        return "failed"
    if (picture := pictures.save_picture(db, site_id, att_cap, report)) is not None:
        return picture  # a picture of its page's tables: the page read again with it (OCR)
    if not report.is_report:
        archive.record_document(db, capture_id, url, report.error or "not a report", None, report.title)
        return "not a report"
    page_cap = _capture(db, att_cap["parent_id"]) if att_cap else None
    page = _page_report(db, page_cap) if page_cap and page_cap["role"] == "report" else None
    if page is not None and page.is_report and same_report(page, report):
        merged, filled, disagree = page, [], []
        earlier = _earlier_attachments(db, page_cap["id"], url)
        for cap, rep in earlier + [(att_cap, report)]:
            merged, f, d = merge(merged, rep)
            if cap is att_cap:
                filled, disagree = f, d
            else:
                cap["filled"], cap["disagree"] = f, d
        archive.delete_reports_of_capture(db, page_cap["id"])
        report_id = archive.save_report(db, merged, site_id=site_id, capture_id=page_cap["id"],
                                        sha256=page_cap["sha256"])
        rows = [(page_cap["id"], page_cap["url"], "page", page.form, None, None)]
        rows += [(cap["id"], cap["url"], "attachment", rep.form, json.dumps(cap["filled"]),
                  json.dumps(cap["disagree"])) for cap, rep in earlier]
        rows.append((capture_id, url, "attachment", report.form, json.dumps(filled), json.dumps(disagree)))
        _sources(db, report_id, rows)
        archive.record_document(db, capture_id, url, "merged", report_id, report.title)
        return "merged"
    if page is not None:
        for name in ("published", "index_no"):
            if getattr(report, name) is None and getattr(page, name) is not None:
                setattr(report, name, getattr(page, name))
                report.warnings.append(f"{name}: from the page that links to this attachment ({page_cap['url']})")
        if page.is_report:
            report.warnings.append(f"attachment: the linking page is a report of {page.agency} {page.year}, "
                                   "not the same report; kept apart")
        report.checks = run_checks(report)
    report_id = archive.save_report(db, report, site_id=site_id, capture_id=capture_id,
                                    sha256=att_cap["sha256"] if att_cap else None)
    _sources(db, report_id, [(capture_id, url, "attachment", report.form, None, None)])
    return "new"


def reparse_attachments(db: sqlite_utils.Database, parsed: Iterable | None = None) -> dict[str, int]:
    """Parse every archived attachment again and merge it again (after `reparse_all` has
    re-derived the pages' own reports, which drops earlier merges).  `parsed`: the
    attachments already parsed elsewhere (`reparse.parsed_documents`, in worker processes)."""
    if parsed is None:
        parsed = ((cid, url, site, ctype, sha, _parse_or_exception(data, url, ctype, cid))
                  for cid, url, site, ctype, sha, data in archive.archived_documents(db, "attachment"))
    stats = {"parsed": 0, "reports": 0, "merged": 0, "other": 0, "errors": 0}
    for capture_id, url, site_id, ctype, sha, report in parsed:
        stats["parsed"] += 1
        if not isinstance(report, (Report, Exception)):  # a worker's Crash: message and traceback as text
            log.error("parser crashed on capture %s:\n%s", capture_id, report.trace)
            report = RuntimeError(report.message)
        with archive.transaction(db):
            archive.delete_reports_of_capture(db, capture_id)
            outcome = save_attachment(db, site_id, capture_id, report)
        key = {"new": "reports", "merged": "merged", "failed": "errors"}.get(outcome, "other")
        stats[key] += 1
    return stats


def _parse_or_exception(data: bytes, url: str, ctype: str | None, capture_id: int) -> Report | Exception:
    try:
        return parse_document(data, url, ctype)
    except Exception as exc:  # noqa: BLE001 - keep going; the capture is untouched
        log.exception("parser crashed on capture %s", capture_id)
        return exc
