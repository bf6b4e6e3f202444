"""One document through the whole pipeline: the body of `parsers.parse`."""

from __future__ import annotations

import re
from typing import Any, Callable

from . import templates as T
from .binary import binary_form, extract
from .checks import LAST_LEGACY_YEAR, run_checks
from .decode import declared, decode
from .html_grid import BYTE_ENCODINGS, document_tables, new_cache, parse_html, parse_html_bytes
from .html_text import html_lines
from .images import Picture, mark_pictures, picture_lines, pictures_where_tables_belong
from .legacy import LegacyRead, read_legacy
from .legacy_template import INDICATORS
from .mapping import Mapped, map_rows
from .metadata import is_report_title, page_fields, read_meta
from .record import Report
from .sections import find_headings, is_chrome, split_sections, table_region
from .text_rows import text_rows

# the fullest legacy 统计表: every indicator, the year's figure and the running total
LEGACY_MAX_CELLS = 2 * len(INDICATORS)
_HTML_SNIFF = re.compile(r"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|table|div|p)\b", re.I | re.S)


def _looks_html(text: str, url: str | None, content_type: str | None) -> bool:
    if content_type and "html" in content_type.lower():
        return True
    if url and re.search(r"\.(s?html?|jhtml|jsp|aspx?|php)(\?|#|$)", url, re.I):
        return True
    return bool(_HTML_SNIFF.match(text[:2000].lstrip("\ufeff")))


def _meta_tags(doc) -> dict[str, str]:
    """`<meta name=… content=…>`, and the CMS's own date elements (`<publishtime>`)."""
    out: dict[str, str] = {}
    for m in doc.iter("meta"):
        name = (m.get("name") or m.get("property") or "").strip().lower()
        if name and m.get("content"):
            out.setdefault(name, m.get("content").strip())
    for el in doc.iter("publishtime", "pubtime"):
        text = "".join(el.itertext()).strip()
        if text:
            out.setdefault(el.tag, text)
    return out


def _has_grid(tables: list) -> bool:
    """A table drawn as a grid of at least 5 rows by 3 columns: a table we failed to read
    is not a picture of one."""
    return any(len(rows) >= 5 and max(len(r.cells) for r in rows) >= 3 for _t, rows in tables if rows)


def parse(data: bytes | str, *, url: str | None = None, content_type: str | None = None,
          pictures: list[bytes] | None = None, on_tree: Callable[[Any], None] | None = None) -> Report:
    """Parse one document (HTML page or flattened text) into a `Report`.  Never raises on
    bad input: unreadable or non-report documents come back with `error` set.
    `pictures`: the bytes of the page's table pictures (`Report.pictures` of its
    needs_ocr parse, fetched by the caller), read by OCR when the page has no tables.
    `on_tree`: called once with an HTML page's lxml tree (comments and scripts removed)
    before the parse reads it, and must not change it: a crawler reads the page's links
    there rather than parsing the page a second time."""
    picture_bytes = pictures
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
    fields: dict[str, str] = {}
    html_title = None
    if doc is None and _looks_html(text, url, content_type):
        doc = parse_html(text.replace("\x00", ""))
    if doc is not None:
        if on_tree is not None:
            on_tree(doc)
        cache = new_cache(doc)
        tables = document_tables(doc, cache)
        rows = [row for _table, table_rows in tables for row in table_rows]
        pictures = [] if _has_grid(tables) else mark_pictures(doc)
        lines = html_lines(doc, tables)  # after the grids: it replaces the tables
        lines, pictures = picture_lines(lines, pictures)
        meta = _meta_tags(doc)
        fields = page_fields([table_rows for _table, table_rows in tables])
        t = doc.find(".//title")
        html_title = "".join(t.itertext()).strip() if t is not None else None
        mapped = map_rows(rows)
        legacy = _read_legacy(mapped, rows, lines)
        if not mapped.tables and not legacy.table_found:  # tables drawn with <p>s, or text in a <pre>
            mapped = map_text(lines)
            report.form = "html-text"
        if not mapped.tables and not legacy.table_found and picture_bytes:
            got = _read_pictures(picture_bytes)
            report.warnings.extend(got.warnings)
            if got.rows:
                mapped = _guarded(got)
                report.form = "html-ocr"
                return finish(report, mapped, lines, meta=meta, html_title=html_title, url=url, has_images=False,
                              legacy=legacy, pictures=pictures, fields=fields, ocr=True)
    else:
        text = text.replace("\x00", "")
        lines = [ln.strip() for ln in text.splitlines()]  # blank lines kept: provenance is the line number
        mapped = map_text(lines)
        legacy = _read_legacy(mapped, text_rows("\n".join(lines), 0), lines)
        report.form = "text"
        pictures = []

    return finish(report, mapped, lines, meta=meta, html_title=html_title, url=url, has_images=False,
                  legacy=legacy, pictures=pictures, fields=fields)


def parse_binary(data: bytes, form: str, *, url: str | None = None) -> Report:
    """A file report (PDF, Word, spreadsheet) through the same mapping, metadata,
    sections and checks as HTML; `binary.extract` reads the file."""
    report = Report(source=url, form=form)
    got = extract(data, form)
    if got.error and not got.lines:
        report.error = got.error
        report.warnings.extend(got.warnings)
        return report
    if hasattr(got, "readings"):  # tables read from pictures (OCR): only their grids, guarded
        report.form = f"{form}-ocr"
        mapped = _guarded(got)
        report.warnings.extend(got.warnings)
        if not mapped.tables:  # ruled boxes, but no table of the templates could be read in them
            report.form, report.error = form, "needs_ocr"
            report.warnings.append(f"ocr: the {form} shows no table of the templates that OCR could read (needs OCR)")
            return report
        meta = {"title": got.title} if got.title else {}
        return finish(report, mapped, got.lines, meta=meta, html_title=None, url=url,
                      has_images=bool(got.error), legacy=LegacyRead(), ocr=True)
    # the file's tables as grids, and the same content read as text lines (a PDF printed
    # from text has no rules; its columns are in the words): the reading that places more
    # cells wins (neither ever places a number under a wrong key)
    candidates = [map_rows(got.rows)] if got.rows else []
    candidates += [map_text(lines) for lines in (got.lines, got.raw_lines) if lines]
    mapped = max(candidates, key=lambda m: (sum(f.value is not None for f in m.facts.values()), len(m.facts)),
                 default=None) or map_text([])
    legacy = _read_legacy(mapped, got.rows or text_rows("\n".join(got.lines), 0), got.lines)
    report.warnings.extend(got.warnings)
    meta = {"title": got.title} if got.title else {}
    return finish(report, mapped, got.lines, meta=meta, html_title=None, url=url,
                  has_images=got.has_images or got.error == "needs_ocr", legacy=legacy)


def _read_pictures(pictures: list[bytes]):
    """The tables in a page's pictures (`parsers.ocr`); never raises."""
    from . import ocr
    from .binary import Extracted

    try:
        return ocr.pictures_content(list(pictures), "picture")
    except ocr.OcrUnavailable as exc:
        return Extracted(error="needs_ocr", warnings=[f"pictures: cannot run OCR: {exc}"])
    except Exception as exc:  # noqa: BLE001 - a broken picture is a warning, never a crash
        return Extracted(error="needs_ocr", warnings=[f"pictures: cannot read: {type(exc).__name__}: {exc}"[:300]])


def _guarded(got) -> Mapped:
    """The template mapping of tables read by OCR, after the guard (`parsers.ocr_guard`)."""
    from .ocr_guard import guard

    mapped = map_rows(got.rows)
    guard(mapped, got.readings)
    return mapped


def finish(report: Report, mapped: Mapped, lines: list[str], *, meta: dict[str, str], html_title: str | None,
           url: str | None, has_images: bool, legacy: LegacyRead | None = None,
           pictures: list[Picture] | None = None, fields: dict[str, str] | None = None,
           ocr: bool = False) -> Report:
    """What every input form shares once its tables are read: metadata, sections, the
    report/not-a-report decision, the era (template tables or legacy figures), the facts
    and the checks.  `has_images`: a file shows pictures where text could be; `pictures`:
    an HTML page's pictures that may stand for its tables (`parsers.images`); `fields`: the
    page's own metadata table (`metadata.page_fields`)."""
    legacy = legacy or LegacyRead()
    m = read_meta(lines, meta, html_title, url, fields)
    report.title, report.agency, report.year = m.title, m.agency, m.year
    report.published, report.index_no, report.kind = m.published, m.index_no, m.kind
    report.sections = split_sections(lines)
    modern = _template_tables(mapped, legacy)
    # a picture of the template tables is a report's tables even with no title around it
    looks_like_report = _is_report(report, mapped, legacy, modern) or (
        ocr and modern and bool(mapped.version) and len(mapped.facts) >= OCR_MIN_CELLS)
    legacy_era = report.year is None or report.year <= LAST_LEGACY_YEAR
    stated = legacy.table_found or (legacy_era and bool(legacy.facts))  # figures a reader can use
    table_pictures = _pictures_for_tables(report, lines, pictures) if pictures is not None else []
    pictured = has_images or bool(table_pictures)
    if not mapped.tables and not stated and pictured and (looks_like_report or not any(lines)):
        report.error = "needs_ocr"
        report.pictures = [p.src for p in table_pictures if p.src]
        report.warnings.append(f"tables: none found as text; the {report.form} document shows images (needs OCR)")
        return report
    if not looks_like_report:
        report.error = "not an annual report"
        report.title = report.title or html_title or next((ln for ln in lines if ln), None)
        return report
    report.warnings.extend(m.problems or [])
    if modern:
        _fill(report, mapped)
    else:
        _fill_legacy(report, legacy)
    report.checks = run_checks(report)
    return report


OCR_MIN_CELLS = 40  # template cells found in a picture for it to count as a report's tables


def _placed(mapped: Mapped) -> int:
    return sum(f.value is not None for f in mapped.facts.values())


def _read_legacy(mapped: Mapped, rows: list, lines: list[str]) -> LegacyRead:
    """The legacy figures, unless the template tables already place more figures than
    the fullest legacy table could (a modern report: nothing legacy to read, half the time)."""
    return LegacyRead() if _placed(mapped) > LEGACY_MAX_CELLS else read_legacy(rows, lines)


def _template_tables(mapped: Mapped, legacy: LegacyRead) -> bool:
    """Whether the tables read are the 2019/2021 templates.  A legacy 统计表 also matches a
    few template rows (`2.同意部分公开答复数` looks like partly_granted, `制发规范性文件总数`
    like the 2021 active table): when it places at least as many figures as the template
    mapping, the tables are legacy and no template cell is kept."""
    if not mapped.tables:
        return False
    if not legacy.table_found:
        return True
    legacy_cells = sum(f.value is not None and f.source == "table" for f in legacy.facts.values())
    return _placed(mapped) > legacy_cells


def _pictures_for_tables(report: Report, lines: list[str], pictures: list[Picture]) -> list[Picture]:
    """Pictures in the report body where the tables belong: the body runs from the title
    line (or the first section heading) to the page chrome after the last heading."""
    if not pictures:
        return []
    heads = sorted(find_headings(lines).values())
    title_line = next((i for i, ln in enumerate(lines) if report.title and ln.replace(" ", "") ==
                       report.title.replace(" ", "")), None)
    start = title_line if title_line is not None else (heads[0] if heads else 0)
    last = heads[-1] if heads else start
    end = next((i for i in range(last + 1, len(lines)) if is_chrome(lines[i])), len(lines))
    first_heading = heads[0] if heads else title_line
    return pictures_where_tables_belong(pictures, start, end, first_heading)


def map_text(lines: list[str]) -> Mapped:
    """Tables read from text lines (flattened pages, PDF text), within the table sections."""
    start, end = table_region(lines)
    return map_rows(text_rows("\n".join(lines[start:end]), 0, first_line=start))


def _is_report(report: Report, mapped: Mapped, legacy: LegacyRead, modern: bool) -> bool:
    """A page naming an annual report (title or heading) with tables of either era or
    the sections of one; a titled page on a year up to 2018, or with the 2007 headings
    (四、…收费及减免情况), is a legacy report even in prose alone.  A letter, notice or guide
    filed in the column names no report, whatever its year."""
    titled = bool(report.title and is_report_title(report.title))
    if (modern or legacy.table_found) and (titled or len(report.sections) >= 3):
        return True
    if titled and ("fees" in report.sections or (report.year is not None and report.year <= LAST_LEGACY_YEAR)):
        return True
    return titled and len(report.sections) >= 3


def _fill_legacy(report: Report, legacy: LegacyRead) -> None:
    """A 2008-2018 report: only the legacy figures found, each with its provenance (no
    template cell comes from a legacy table)."""
    report.version = "legacy"
    report.found = dict(legacy.facts)
    report.facts = {key: fact.value for key, fact in legacy.facts.items()}
    report.warnings = legacy.warnings + report.warnings


def _fill(report: Report, mapped: Mapped) -> None:
    report.version = mapped.version
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
