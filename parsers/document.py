"""One document through the whole pipeline: the body of `parsers.parse`."""

from __future__ import annotations

import re

from . import templates as T
from .binary import binary_form, extract
from .checks import run_checks
from .decode import declared, decode
from .html_grid import BYTE_ENCODINGS, document_tables, new_cache, parse_html, parse_html_bytes
from .html_text import html_lines
from .mapping import Mapped, map_rows
from .metadata import is_report_title, read_meta
from .record import Report
from .sections import split_sections, table_region
from .text_rows import text_rows

_HTML_SNIFF = re.compile(r"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|table|div|p)\b", re.I | re.S)


def _looks_html(text: str, url: str | None, content_type: str | None) -> bool:
    if content_type and "html" in content_type.lower():
        return True
    if url and re.search(r"\.(s?html?|jhtml|jsp|aspx?|php)(\?|#|$)", url, re.I):
        return True
    return bool(_HTML_SNIFF.match(text[:2000].lstrip("\ufeff")))


def _meta_tags(doc) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in doc.iter("meta"):
        name = (m.get("name") or m.get("property") or "").strip().lower()
        if name and m.get("content"):
            out.setdefault(name, m.get("content").strip())
    return out


def _image_table(doc, tables: list) -> bool:
    """A report whose tables are pictures: images on the page and no table drawn as a
    grid of at least 5 rows by 3 columns (a table we failed to read is not an image)."""
    if doc.find(".//img") is None:
        return False
    return not any(len(rows) >= 5 and max(len(r.cells) for r in rows) >= 3 for _t, rows in tables if rows)


def parse(data: bytes | str, *, url: str | None = None, content_type: str | None = None) -> Report:
    """Parse one document (HTML page or flattened text) into a `Report`.  Never raises on
    bad input: unreadable or non-report documents come back with `error` set."""
    if isinstance(data, bytes) and (form := binary_form(data, url, content_type)):
        return parse_binary(data, form, url=url)
    report = Report(source=url)
    doc = None
    if isinstance(data, bytes):
        hint = declared(data, content_type)
        if hint in BYTE_ENCODINGS and _looks_html(data[:4096].decode(hint, "ignore"), url, content_type):
            doc = parse_html_bytes(data, hint)  # the fast path: a page whose bytes match its charset
            report.encoding = hint if doc is not None else None
        if doc is None:
            decoded = decode(data, content_type)
            text = decoded.text
            report.encoding = decoded.encoding
            if decoded.lossy:
                report.warnings.append(f"encoding: bytes not valid {decoded.encoding}; replaced")
    else:
        text = data.encode("utf-8", "replace").decode("utf-8")  # lone surrogates become '?'
    meta: dict[str, str] = {}
    html_title = None
    if doc is None and _looks_html(text, url, content_type):
        doc = parse_html(text.replace("\x00", ""))
    if doc is not None:
        cache = new_cache(doc)
        tables = document_tables(doc, cache)
        rows = [row for _table, table_rows in tables for row in table_rows]
        has_images = _image_table(doc, tables)
        lines = html_lines(doc, tables)  # after the grids: it replaces the tables
        meta = _meta_tags(doc)
        t = doc.find(".//title")
        html_title = "".join(t.itertext()).strip() if t is not None else None
        mapped = map_rows(rows)
        if not mapped.tables:  # tables drawn with <p>s, or text in a <pre>
            mapped = map_text(lines)
            report.form = "html-text"
    else:
        text = text.replace("\x00", "")
        lines = [ln.strip() for ln in text.splitlines()]  # blank lines kept: provenance is the line number
        mapped = map_text(lines)
        report.form = "text"
        has_images = False

    return finish(report, mapped, lines, meta=meta, html_title=html_title, url=url, has_images=has_images)


def parse_binary(data: bytes, form: str, *, url: str | None = None) -> Report:
    """A file report (PDF, Word, spreadsheet) through the same mapping, metadata,
    sections and checks as HTML; `binary.extract` reads the file."""
    report = Report(source=url, form=form)
    got = extract(data, form)
    if got.error and not got.lines:
        report.error = got.error
        report.warnings.extend(got.warnings)
        return report
    # the file's tables as grids, and the same content read as text lines (a PDF printed
    # from text has no rules; its columns are in the words): the reading that places more
    # cells wins (neither ever places a number under a wrong key)
    candidates = [map_rows(got.rows)] if got.rows else []
    candidates += [map_text(lines) for lines in (got.lines, got.raw_lines) if lines]
    mapped = max(candidates, key=lambda m: (sum(f.value is not None for f in m.facts.values()), len(m.facts)),
                 default=None) or map_text([])
    report.warnings.extend(got.warnings)
    meta = {"title": got.title} if got.title else {}
    return finish(report, mapped, got.lines, meta=meta, html_title=None, url=url,
                  has_images=got.has_images or got.error == "needs_ocr")


def finish(report: Report, mapped: Mapped, lines: list[str], *, meta: dict[str, str], html_title: str | None,
           url: str | None, has_images: bool) -> Report:
    """What every input form shares once its tables are mapped: metadata, sections,
    the report/not-a-report decision, the facts of the template, and the checks."""
    m = read_meta(lines, meta, html_title, url)
    report.title, report.agency, report.year = m.title, m.agency, m.year
    report.published, report.index_no, report.kind = m.published, m.index_no, m.kind
    report.sections = split_sections(lines)
    looks_like_report = _is_report(report, mapped)
    if not mapped.tables and has_images and (looks_like_report or not any(lines)):
        report.error = "needs_ocr"
        report.warnings.append(f"tables: none found as text; the {report.form} document shows images (needs OCR)")
        return report
    if not looks_like_report:
        report.error = "not an annual report"
        report.title = report.title or html_title or next((ln for ln in lines if ln), None)
        return report
    report.warnings.extend(m.problems or [])
    _fill(report, mapped)
    report.checks = run_checks(report)
    return report


def map_text(lines: list[str]) -> Mapped:
    """Tables read from text lines (flattened pages, PDF text), within the table sections."""
    start, end = table_region(lines)
    return map_rows(text_rows("\n".join(lines[start:end]), 0, first_line=start))


def _is_report(report: Report, mapped: Mapped) -> bool:
    titled = bool(report.title and is_report_title(report.title))
    if mapped.tables and (titled or len(report.sections) >= 3):
        return True
    return titled and len(report.sections) >= 3


def _fill(report: Report, mapped: Mapped) -> None:
    # no table of either template: a 2008-2018 style report with free-form tables
    report.version = mapped.version or (None if mapped.tables else "legacy")
    report.applications_layout = mapped.applications_layout
    if report.version is None:
        report.warnings.append(f"version: the tables found ({', '.join(sorted(mapped.tables))}) do not tell "
                               "the 2019 template from the 2021 one; only the cells found are listed")
    report.found = mapped.facts
    report.warnings = mapped.warnings + report.warnings
    keys = T.TEMPLATES[report.version].keys() if report.version in T.TEMPLATES else []
    facts = {k: None for k in keys}
    for key, fact in mapped.facts.items():
        facts[key] = fact.value
    if report.applications_layout == "2019" and report.version == "2021":
        report.warnings.append("applications: a single （六）其他处理 row in a 2021 report; "
                               "the three 2021 sub-rows are left null")
    report.facts = facts
