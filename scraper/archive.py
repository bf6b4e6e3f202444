"""Reading and writing the SQLite archive (cli.md, "Archive"); the DDL is in `schema.py`.

Raw bytes are kept once per distinct body (zstd-compressed, keyed by sha256: `bodies`) and every
response gets a `captures` row.  Reports are never overwritten: a changed page or a
re-published report becomes a new row and the older one is marked `current = 0`.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import Iterable, Iterator

import sqlite_utils

from parsers import Report
from parsers.templates import label_of

from . import agencies, bodies, fact_keys, schema
from .agencies import Resolver
from .archive_file import ArchiveError, check as check_archive


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """Commit at the end, or roll back on error; inside an outer `transaction` the outer
    one decides (so the crawl can commit a URL's captures, report and frontier state as
    one unit that a kill never leaves half-written)."""
    if db.conn.in_transaction:
        yield
        return
    db.conn.execute("BEGIN")
    try:
        yield
        schema.index_sections(db.conn)
    except BaseException:
        db.conn.rollback()
        raise
    db.conn.commit()


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def open_archive(path: str | Path) -> sqlite_utils.Database:
    """Open (creating or upgrading) an archive; WAL so readers never block the crawl.
    A path that is not an archive (or not one this version knows) raises `ArchiveError`
    before anything is written to it."""
    if str(path) != ":memory:":
        check_archive(path, create=True)
    try:
        conn = sqlite3.connect(str(path), timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        # WAL with synchronous=NORMAL survives a killed process; only a power cut may lose
        # the last commits (never corrupt the archive), and a commit costs no fsync
        conn.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.OperationalError as exc:  # a read-only file or directory
        raise ArchiveError(path, f"cannot write it ({exc})") from None
    db = sqlite_utils.Database(conn)
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=30000")
    schema.migrate(db)
    fact_keys.sync(db)
    with db.conn:  # sections a writer other than ours committed unindexed (raw SQL)
        schema.index_sections(db.conn)
    return db


# --- writes -------------------------------------------------------------------------

UPSERT_SITE = """INSERT INTO sites (id, name, region, region_code, level, start, allow, verified, updated_at)
VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, region = excluded.region,
region_code = excluded.region_code, level = excluded.level, start = excluded.start, allow = excluded.allow,
verified = excluded.verified, updated_at = excluded.updated_at"""


def upsert_sites(db: sqlite_utils.Database, sites: Iterable) -> None:
    """The registry's sites into `sites` (what the registry no longer names is kept), then
    their agencies.  One statement for all (a table upsert per site cost 0.5 ms each)."""
    sites, stamp = list(sites), now()
    with db.conn:
        db.conn.executemany(UPSERT_SITE, [
            (s.id, s.name, s.region, s.region_code, s.level, json.dumps(s.start, ensure_ascii=False),
             json.dumps(s.allow, ensure_ascii=False), int(s.verified), stamp) for s in sites])
    agencies.sync_sites(db, sites)
    agencies.assign_all(db)


def store_body(db: sqlite_utils.Database, sha256: str, data: bytes, packed: bytes | None = None) -> None:
    """`packed`: `bodies.pack(data)`, when a worker compressed it already."""
    db.execute("INSERT OR IGNORE INTO bodies (sha256, size, compression, data) VALUES (?, ?, ?, ?)",
               [sha256, len(data), bodies.COMPRESSION, packed if packed is not None else bodies.pack(data)])


def body(db: sqlite_utils.Database, sha256: str) -> bytes | None:
    """The archived bytes of a body (None: not archived); `bodies.BodyError` when the
    stored bytes are damaged."""
    row = db.execute("SELECT compression, data FROM bodies WHERE sha256 = ?", [sha256]).fetchone()
    return None if row is None else bodies.unpack(row[0], row[1])


def capture_body(db: sqlite_utils.Database, capture_id: int) -> bytes | None:
    row = db.execute("SELECT sha256 FROM captures WHERE id = ?", [capture_id]).fetchone()
    return body(db, row[0]) if row and row[0] else None


def add_capture(db: sqlite_utils.Database, record: dict, data: bytes | None, packed: bytes | None = None) -> int:
    """Archive one response (body first, then its row) in one transaction."""
    with transaction(db):
        if data is not None and record.get("sha256"):
            store_body(db, record["sha256"], data, packed)
        cur = db.execute(
            "INSERT INTO captures (" + ", ".join(record) + ") VALUES (" + ", ".join("?" * len(record)) + ")",
            list(record.values()))
        return cur.lastrowid


INSERT_FACTS = "INSERT INTO fact_values (report_id, key_id, value, raw, cell, unit, source) VALUES (?,?,?,?,?,?,?)"
INSERT_CHECKS = "INSERT INTO checks (report_id, rule, ok, detail) VALUES (?,?,?,?)"
INSERT_SECTIONS = "INSERT INTO sections (report_id, section, text) VALUES (?,?,?)"


def write_counted(db: sqlite_utils.Database, table: str, sql: str, rows: list[tuple]) -> None:
    """Run an INSERT or DELETE on `table` for each of `rows`; for the tables row_counts
    counts by statement (schema step 15), add or subtract the rows it changed."""
    changed = db.conn.executemany(sql, rows).rowcount if rows else 0
    if changed > 0 and table in schema.COUNTED_BY_STATEMENT:
        sign = -1 if sql.lstrip().upper().startswith("DELETE") else 1
        db.conn.execute("UPDATE row_counts SET n = n + ? WHERE name = ?", [sign * changed, table])


def save_report(db: sqlite_utils.Database, report: Report, *, site_id: str | None, capture_id: int | None,
                sha256: str | None, cells: list[tuple] | None = None) -> int:
    """Insert a parsed report with its facts (`cells`: its `fact_cells`, when already
    computed), checks and sections; older versions of the same source document stop being
    current (they stay in the archive)."""
    failed = sum(1 for c in report.checks if c.ok is False)
    with transaction(db):
        if report.source:
            db.execute("UPDATE reports SET current = 0 WHERE source_url = ? AND current = 1", [report.source])
        cur = db.execute(
            """INSERT INTO reports (site_id, agency, year, version, kind, title, published, index_no,
               source_url, capture_id, sha256, current, applications_layout, form, encoding, warnings,
               n_warnings, n_failed_checks, parsed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,1,?,?,?,?,?,?,?)""",
            [site_id, report.agency, report.year, report.version, report.kind, report.title,
             report.published, report.index_no, report.source, capture_id, sha256,
             report.applications_layout, report.form, report.encoding,
             json.dumps(report.warnings, ensure_ascii=False), len(report.warnings), failed, now()])
        report_id = cur.lastrowid
        agency_id = Resolver.from_db(db).resolve(report.agency)
        if agency_id is not None:
            db.execute("UPDATE reports SET agency_id = ? WHERE id = ?", [agency_id, report_id])
        write_counted(db, "fact_values", INSERT_FACTS, fact_rows(db, report_id, report, cells))
        db.execute(schema.FIGURES_UPSERT + " WHERE r.id = ?", [report_id])
        write_counted(db, "checks", INSERT_CHECKS, [(report_id, c.rule, None if c.ok is None else int(c.ok), c.detail)
                                                    for c in report.checks])
        write_counted(db, "sections", INSERT_SECTIONS, [(report_id, s, t) for s, t in report.sections.items()])
        if capture_id is not None:
            record_document(db, capture_id, report.source, "report", report_id, report.title)
    return report_id


def rederive_report(db: sqlite_utils.Database, report: Report, *, site_id: str | None, capture_id: int,
                    sha256: str | None, cells: list[tuple] | None = None) -> int:
    """A capture's report written again after a reparse, in place when the capture has
    exactly one report: the same id (links to /report/<id> keep working) and only what
    differs rewritten, so an unchanged report costs a few reads instead of rewriting its
    facts and re-indexing its sections.  Otherwise (none, or several) as `save_report`.
    Attachments merged into it are unlinked until `reparse_attachments` merges them again."""
    ids = [r[0] for r in db.execute("SELECT id FROM reports WHERE capture_id = ?", [capture_id])]
    if len(ids) != 1:
        with transaction(db):
            delete_reports_of_capture(db, capture_id)
            return save_report(db, report, site_id=site_id, capture_id=capture_id, sha256=sha256, cells=cells)
    (report_id,) = ids
    with transaction(db):
        db.execute("""UPDATE reports SET site_id = ?, agency = ?, agency_id = ?, year = ?, version = ?, kind = ?,
                      title = ?, published = ?, index_no = ?, source_url = ?, sha256 = ?, applications_layout = ?,
                      form = ?, encoding = ?, warnings = ?, n_warnings = ?, n_failed_checks = ?, parsed_at = ?
                      WHERE id = ?""",
                   [site_id, report.agency, Resolver.from_db(db).resolve(report.agency), report.year, report.version,
                    report.kind, report.title, report.published, report.index_no, report.source, sha256,
                    report.applications_layout, report.form, report.encoding,
                    json.dumps(report.warnings, ensure_ascii=False), len(report.warnings),
                    sum(1 for c in report.checks if c.ok is False), now(), report_id])
        facts = fact_rows(db, report_id, report, cells)
        old = db.execute("SELECT report_id, key_id, value, raw, cell, unit, source FROM fact_values "
                         "WHERE report_id = ? ORDER BY key_id", [report_id]).fetchall()
        if old != facts:  # both in key-id order (12 == 12.0: a value read back as an integer is the same)
            write_counted(db, "fact_values", "DELETE FROM fact_values WHERE report_id = ?", [(report_id,)])
            write_counted(db, "fact_values", INSERT_FACTS, facts)
            db.execute(schema.FIGURES_UPSERT + " WHERE r.id = ?", [report_id])
        checks = sorted((c.rule, None if c.ok is None else int(c.ok), c.detail) for c in report.checks)
        if db.execute("SELECT rule, ok, detail FROM checks WHERE report_id = ? ORDER BY rule",
                      [report_id]).fetchall() != checks:
            write_counted(db, "checks", "DELETE FROM checks WHERE report_id = ?", [(report_id,)])
            write_counted(db, "checks", INSERT_CHECKS, [(report_id, *c) for c in checks])
        _rewrite_sections(db, report_id, report.sections)
        db.execute("DELETE FROM report_sources WHERE report_id = ?", [report_id])
        db.execute("UPDATE documents SET report_id = NULL WHERE report_id = ? AND capture_id != ?",
                   [report_id, capture_id])
        record_document(db, capture_id, report.source, "report", report_id, report.title)
    return report_id


def _rewrite_sections(db: sqlite_utils.Database, report_id: int, sections: dict[str, str]) -> None:
    """Only the sections whose text changed touch the full-text indexes."""
    old = dict(db.execute("SELECT section, text FROM sections WHERE report_id = ?", [report_id]).fetchall())
    gone = [(report_id, name) for name in old if name not in sections]
    write_counted(db, "sections", "DELETE FROM sections WHERE report_id = ? AND section = ?", gone)
    db.conn.executemany("UPDATE sections SET text = ? WHERE report_id = ? AND section = ?",
                        [(text, report_id, name) for name, text in sections.items()
                         if name in old and old[name] != text])
    write_counted(db, "sections", INSERT_SECTIONS,
                  [(report_id, name, text) for name, text in sections.items() if name not in old])


def fact_rows(db: sqlite_utils.Database, report_id: int, report: Report,
              cells: list[tuple] | None = None) -> list[tuple]:
    """`fact_values` rows (schema steps 2 and 11) in key-id order: `fact_cells` (given, when
    a worker process computed them already) with each key replaced by its catalogue id."""
    ids = fact_keys.key_ids(db)
    cells = fact_cells(report) if cells is None else cells
    for key in [c[0] for c in cells if c[0] not in ids]:  # keys the catalogue does not know yet
        table, rest = key.split(".", 1)
        row_key, col_key = rest.rsplit(".", 1)
        ids[key] = db.execute(
            "INSERT INTO fact_keys (key, table_name, row_key, col_key, label, column_name) VALUES (?,?,?,?,?,?)",
            [key, table, row_key, col_key, label_of(key), fact_keys.column_name(row_key, col_key)]).lastrowid
    rows = [(report_id, ids[key], value, raw, cell, unit, source) for key, value, raw, cell, unit, source in cells]
    rows.sort(key=itemgetter(1))
    return rows


def fact_cells(report: Report) -> list[tuple]:
    """(key, value, raw, cell, unit, source) of every fact, as `fact_values` keeps them: `raw`
    only when it is not simply the integer, the grid position packed into `cell`, the unit
    written beside the value and the source when it is not a table cell (a prose figure keeps
    its sentence as `raw`).  Pure, so a reparse computes it in its worker processes."""
    out = []
    found = report.found
    for key, value in report.facts.items():
        f = found.get(key)
        raw, cell, unit, source = None, None, None, None
        if f is not None:
            unit, source = f.unit, (None if f.source == "table" else f.source)
            plain = isinstance(value, int) and not isinstance(value, bool) and f.raw == str(value)
            raw = None if plain else f.raw
            if 0 <= f.table < 2000 and 0 <= f.row < 1000 and 0 <= f.col < 1000:
                cell = f.table * 1_000_000 + f.row * 1_000 + f.col
            else:
                cell = json.dumps([f.table, f.row, f.col])
        out.append((key, value, raw, cell, unit, source))
    return out


def record_document(db: sqlite_utils.Database, capture_id: int, url: str | None, outcome: str,
                    report_id: int | None = None, title: str | None = None) -> None:
    db.execute("INSERT OR REPLACE INTO documents (capture_id, url, outcome, report_id, title, parsed_at) "
               "VALUES (?,?,?,?,?,?)", [capture_id, url, outcome, report_id, title, now()])


def delete_reports_of_capture(db: sqlite_utils.Database, capture_id: int) -> None:
    """Drop what was derived from one capture (before re-deriving it); the capture stays."""
    ids = [r[0] for r in db.execute("SELECT id FROM reports WHERE capture_id = ?", [capture_id])]
    for table in ("fact_values", "report_figures", "checks", "sections", "report_sources"):
        write_counted(db, table, f"DELETE FROM {table} WHERE report_id = ?", [(i,) for i in ids])
    db.execute("DELETE FROM documents WHERE capture_id = ?", [capture_id])
    # an attachment merged into one of these reports points at it: unlinked until re-merged
    db.conn.executemany("UPDATE documents SET report_id = NULL WHERE report_id = ?", [(i,) for i in ids])
    db.conn.executemany("DELETE FROM reports WHERE id = ?", [(i,) for i in ids])


def mark_current(db: sqlite_utils.Database) -> None:
    """The newest capture's report of each source document is the current one."""
    with db.conn:
        db.execute("UPDATE reports SET current = 0")
        db.execute("""UPDATE reports SET current = 1 WHERE id IN (
            SELECT id FROM reports r WHERE capture_id = (
                SELECT max(capture_id) FROM reports r2 WHERE r2.source_url IS r.source_url))""")


def archived_captures(db: sqlite_utils.Database, role: str) -> list[tuple]:
    """(capture id, url, site id, content type, sha256) of the first capture of every
    distinct body each URL of this role has had: what a re-parse goes over."""
    return db.execute(
        "SELECT id, url, site_id, content_type, sha256 FROM captures WHERE role = ? AND status = 200 "
        "AND sha256 IS NOT NULL AND id IN (SELECT min(id) FROM captures WHERE role = ? AND "
        "status = 200 AND sha256 IS NOT NULL GROUP BY url, sha256) ORDER BY id", [role, role]).fetchall()


def archived_documents(db: sqlite_utils.Database, role: str):
    """`archived_captures` with each body: (capture id, url, site id, content type, sha256, bytes)."""
    for capture_id, url, site_id, ctype, sha in archived_captures(db, role):
        data = body(db, sha)
        if data is not None:
            yield capture_id, url, site_id, ctype, sha, data
