"""A report page whose tables are pictures: the pictures fetched (IO) and read with the page.

`parsers.parse` flags such a page `needs_ocr` and lists the `<img src>` standing where its
tables belong (`Report.pictures`).  Here the bytes of those pictures are found (beside a
local file for `xxgk parse`, among the page's archived attachments for the crawl, which
fetches them as attachments of the page) and the page is parsed again with them: its
metadata and sections from the page, its tables from the pictures by OCR, guarded
(`parsers.ocr_guard`).  The crawl reads each picture in its worker thread when it is
fetched (`parsers.ocr` keeps the reading by content), so the page's second parse, in the
crawl's transaction, only maps cells.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urljoin, urlsplit

from . import convert

Loader = Callable[[str], "bytes | None"]


def parse(data: bytes, *, url: str | None = None, content_type: str | None = None,
          load: Loader | None = None):
    """`convert.parse`, and for a page whose tables are pictures, the page read again with
    the pictures `load` finds (by their `src` as written)."""
    import parsers

    report = convert.parse(data, url=url, content_type=content_type)
    if report.error != "needs_ocr" or not report.pictures or load is None:
        return report
    found = [b for b in (load(src) for src in report.pictures) if b]
    if not found:
        return report
    return parsers.parse(data, url=url, content_type=content_type, pictures=found)


def local_loader(path: str | Path) -> Loader:
    """Pictures beside a local HTML file: relative `src` (or file: URLs) only, never the network."""
    base = Path(path).resolve().parent

    def load(src: str) -> bytes | None:
        parts = urlsplit(src)
        if parts.scheme not in ("", "file") or parts.netloc:
            return None
        target = Path(unquote(parts.path)) if parts.path.startswith("/") and parts.scheme == "file" \
            else base / unquote(parts.path)
        try:
            return target.read_bytes()
        except OSError:
            return None

    return load


def picture_urls(report, page_url: str) -> list[str]:
    """Absolute URLs of a needs_ocr page's table pictures (http and https only)."""
    out = []
    for src in report.pictures if report is not None and getattr(report, "error", None) == "needs_ocr" else []:
        u = urljoin(page_url, src)
        if urlsplit(u).scheme in ("http", "https") and u not in out:
            out.append(u)
    return out


def _archived_loader(db, page_url: str, page_capture: int) -> Loader:
    """The bytes of a page's pictures as the crawl archived them (attachments of that page)."""
    from . import archive

    def load(src: str) -> bytes | None:
        row = db.execute("SELECT sha256 FROM captures WHERE url = ? AND parent_id = ? AND status = 200 "
                         "AND sha256 IS NOT NULL ORDER BY id DESC LIMIT 1",
                         [urljoin(page_url, src), page_capture]).fetchone()
        return archive.body(db, row[0]) if row else None

    return load


def save_picture(db, site_id: str, att_cap: dict | None, report) -> str | None:
    """A picture fetched as an attachment of a page whose tables are pictures: the page
    parsed again with every picture of it archived so far and saved as the page's report
    ('merged'); None when the attachment is no such picture (the caller goes on)."""
    from parsers.ocr import IMAGE_FORMS

    from . import archive
    from .attachments import _capture, _sources

    if att_cap is None or not att_cap.get("parent_id") or getattr(report, "form", "").split("-")[0] not in IMAGE_FORMS:
        return None
    page_cap = _capture(db, att_cap["parent_id"])
    if page_cap is None or page_cap["role"] != "report" or not page_cap.get("sha256"):
        return None
    data = archive.body(db, page_cap["sha256"])
    first = convert.parse(data, url=page_cap["url"], content_type=page_cap["content_type"]) if data else None
    if first is None or first.error != "needs_ocr" or att_cap["url"] not in picture_urls(first, page_cap["url"]):
        return None
    load = _archived_loader(db, page_cap["url"], page_cap["id"])
    merged = parse(data, url=page_cap["url"], content_type=page_cap["content_type"], load=load)
    if not merged.is_report:
        archive.record_document(db, att_cap["id"], att_cap["url"], "picture of a page's tables", None, None)
        return "not a report"
    archive.delete_reports_of_capture(db, page_cap["id"])
    report_id = archive.save_report(db, merged, site_id=site_id, capture_id=page_cap["id"], sha256=page_cap["sha256"])
    rows = [(page_cap["id"], page_cap["url"], "page", merged.form, None, None)]
    for u in picture_urls(first, page_cap["url"]):
        cap = db.execute("SELECT id FROM captures WHERE url = ? AND parent_id = ? AND sha256 IS NOT NULL "
                         "ORDER BY id DESC LIMIT 1", [u, page_cap["id"]]).fetchone()
        if cap:
            rows.append((cap[0], u, "attachment", "picture-ocr", None, None))
            archive.record_document(db, cap[0], u, "merged", report_id, None)
    _sources(db, report_id, rows)
    return "merged"
