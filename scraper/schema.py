"""The archive schema: the one module that owns DDL, with migrations.

`MIGRATIONS` is an append-only list; entry N brings an archive from `user_version` N to
N+1.  An older archive upgrades in place when opened, inside one transaction per step,
so a failed upgrade leaves the archive as it was.  Never edit a released step: add one.
"""

from __future__ import annotations

import sqlite_utils

INITIAL = """
CREATE TABLE IF NOT EXISTS sites (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, region TEXT, region_code TEXT, level TEXT,
    start TEXT, allow TEXT, verified INTEGER, updated_at TEXT
);
CREATE TABLE IF NOT EXISTS bodies (
    sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, compression TEXT NOT NULL, data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS captures (
    id INTEGER PRIMARY KEY, site_id TEXT REFERENCES sites(id), url TEXT NOT NULL,
    final_url TEXT, role TEXT, parent_id INTEGER REFERENCES captures(id),
    fetched_at TEXT NOT NULL, status INTEGER, content_type TEXT, etag TEXT, last_modified TEXT,
    sha256 TEXT REFERENCES bodies(sha256), size INTEGER, error TEXT, blocked TEXT,
    elapsed_ms INTEGER, run_id INTEGER
);
CREATE INDEX IF NOT EXISTS captures_url ON captures(url, fetched_at);
CREATE INDEX IF NOT EXISTS captures_site ON captures(site_id);
CREATE TABLE IF NOT EXISTS reports (
    id INTEGER PRIMARY KEY, site_id TEXT REFERENCES sites(id), agency TEXT, year INTEGER,
    version TEXT, kind TEXT, title TEXT, published TEXT, index_no TEXT, source_url TEXT,
    capture_id INTEGER REFERENCES captures(id), sha256 TEXT, current INTEGER NOT NULL DEFAULT 1,
    applications_layout TEXT, form TEXT, encoding TEXT, warnings TEXT, n_warnings INTEGER,
    n_failed_checks INTEGER, parsed_at TEXT
);
CREATE INDEX IF NOT EXISTS reports_agency_year ON reports(agency, year);
CREATE INDEX IF NOT EXISTS reports_site ON reports(site_id, year);
CREATE INDEX IF NOT EXISTS reports_source ON reports(source_url);
CREATE TABLE IF NOT EXISTS facts (
    report_id INTEGER NOT NULL REFERENCES reports(id), key TEXT NOT NULL, table_name TEXT,
    row_key TEXT, col_key TEXT, value NUMERIC, raw TEXT, label TEXT, row_label TEXT,
    col_label TEXT, grid_table INTEGER, grid_row INTEGER, grid_col INTEGER,
    PRIMARY KEY (report_id, key)
);
CREATE INDEX IF NOT EXISTS facts_key ON facts(key, value);
CREATE TABLE IF NOT EXISTS checks (
    report_id INTEGER NOT NULL REFERENCES reports(id), rule TEXT NOT NULL, ok INTEGER, detail TEXT,
    PRIMARY KEY (report_id, rule)
);
CREATE INDEX IF NOT EXISTS checks_rule ON checks(rule, ok);
CREATE TABLE IF NOT EXISTS sections (
    report_id INTEGER NOT NULL REFERENCES reports(id), section TEXT NOT NULL, text TEXT,
    PRIMARY KEY (report_id, section)
);
CREATE TABLE IF NOT EXISTS documents (
    capture_id INTEGER PRIMARY KEY REFERENCES captures(id), url TEXT, outcome TEXT NOT NULL,
    report_id INTEGER REFERENCES reports(id), title TEXT, parsed_at TEXT
);
CREATE TABLE IF NOT EXISTS frontier (
    url TEXT PRIMARY KEY, site_id TEXT REFERENCES sites(id), role TEXT NOT NULL,
    parent_url TEXT, depth INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0, last_capture_id INTEGER, updated_at TEXT
);
CREATE INDEX IF NOT EXISTS frontier_state ON frontier(state, site_id);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, started_at TEXT, finished_at TEXT, summary TEXT
);
"""

# Chinese full-text search over sections: FTS5 with the trigram tokenizer (3+ characters;
# the canned search query scans for one- and two-character words).
SECTIONS_FTS = """
        CREATE VIRTUAL TABLE sections_fts USING fts5(
            text, content='sections', content_rowid='rowid', tokenize='trigram');
        CREATE TRIGGER sections_ai AFTER INSERT ON sections BEGIN
            INSERT INTO sections_fts(rowid, text) VALUES (new.rowid, new.text); END;
        CREATE TRIGGER sections_ad AFTER DELETE ON sections BEGIN
            INSERT INTO sections_fts(sections_fts, rowid, text) VALUES ('delete', old.rowid, old.text); END;
        CREATE TRIGGER sections_au AFTER UPDATE ON sections BEGIN
            INSERT INTO sections_fts(sections_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
            INSERT INTO sections_fts(rowid, text) VALUES (new.rowid, new.text); END;
    """

MIGRATIONS: list[str] = [
    INITIAL + SECTIONS_FTS,
]


def version(db: sqlite_utils.Database) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def migrate(db: sqlite_utils.Database) -> int:
    """Apply every pending migration; returns the schema version reached."""
    current = version(db)
    for n, script in enumerate(MIGRATIONS):
        if n < current:
            continue
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(script):
                db.conn.execute(statement)
            db.conn.execute(f"PRAGMA user_version={n + 1}")
            db.conn.execute("COMMIT")
        except Exception:
            db.conn.execute("ROLLBACK")
            raise
    return version(db)


def _statements(script: str) -> list[str]:
    """Split a script into complete statements (triggers contain ';' inside BEGIN…END)."""
    import sqlite3

    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
