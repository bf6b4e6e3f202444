"""The archive schema: the one module that owns DDL, with migrations.

`MIGRATIONS` is an append-only list; entry N brings an archive from `user_version` N to
N+1.  An older archive upgrades in place when opened, inside one transaction per step,
so a failed upgrade leaves the archive as it was.  Never edit a released step: add one.
"""

from __future__ import annotations

import operator
import sqlite3
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # not imported at run time: `xxgk crawl` checks the archive before importing it
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

# --- step 1: agencies as entities, report history and the indexes the canned queries use --
AGENCIES = """
CREATE TABLE agencies (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, region TEXT, region_code TEXT, level TEXT,
    site_id TEXT REFERENCES sites(id), aliases TEXT NOT NULL DEFAULT '[]'
);
ALTER TABLE reports ADD COLUMN agency_id INTEGER REFERENCES agencies(id);
CREATE INDEX reports_agency_id ON reports(agency_id, year);
CREATE INDEX reports_year ON reports(year, current);
CREATE INDEX checks_failed ON checks(rule) WHERE ok = 0;
CREATE INDEX agencies_region ON agencies(region, level);
"""

# --- step 2: compact fact storage ----------------------------------------------------
# One row per (report, key id), WITHOUT ROWID; labels live once in `fact_keys`.  `raw` is
# NULL when it is exactly the integer written as `value`; `cell` packs the grid position
# as table*1000000 + row*1000 + col (or a JSON [table, row, col] when row or col >= 1000).
# `facts` stays readable under its old name and columns as a view.  The row and column
# labels as written are not kept per fact: the grid position points into the archived
# capture, and `xxgk parse --provenance` re-reads them.
FACT_STORAGE = """
CREATE TABLE fact_keys (
    id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, table_name TEXT NOT NULL, row_key TEXT NOT NULL,
    col_key TEXT NOT NULL, label TEXT, row_label TEXT, col_label TEXT, label_en TEXT, unit TEXT,
    column_name TEXT, versions TEXT
);
CREATE TABLE fact_values (
    report_id INTEGER NOT NULL REFERENCES reports(id), key_id INTEGER NOT NULL REFERENCES fact_keys(id),
    value NUMERIC, raw TEXT, cell INTEGER,
    PRIMARY KEY (report_id, key_id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO fact_keys (key, table_name, row_key, col_key, label)
    SELECT key, table_name, row_key, col_key, label FROM facts GROUP BY key ORDER BY min(rowid);
INSERT INTO fact_values (report_id, key_id, value, raw, cell)
    SELECT f.report_id, k.id, f.value,
        CASE WHEN f.grid_row IS NOT NULL AND typeof(f.value) = 'integer' AND f.raw = CAST(f.value AS TEXT)
             THEN NULL ELSE f.raw END,
        CASE WHEN f.grid_table IS NULL OR f.grid_row IS NULL OR f.grid_col IS NULL THEN NULL
             WHEN f.grid_row < 1000 AND f.grid_col < 1000 AND f.grid_table < 2000
             THEN f.grid_table * 1000000 + f.grid_row * 1000 + f.grid_col
             ELSE json_array(f.grid_table, f.grid_row, f.grid_col) END
    FROM facts f JOIN fact_keys k ON k.key = f.key;
DROP TABLE facts;
CREATE VIEW facts AS
    SELECT v.report_id, k.key, k.table_name, k.row_key, k.col_key, v.value,
        CASE WHEN v.raw IS NULL AND v.cell IS NOT NULL THEN CAST(v.value AS TEXT) ELSE v.raw END AS raw,
        k.label, k.label_en, k.unit,
        CASE WHEN typeof(v.cell) = 'integer' THEN v.cell / 1000000 ELSE json_extract(v.cell, '$[0]') END AS grid_table,
        CASE WHEN typeof(v.cell) = 'integer' THEN v.cell / 1000 % 1000 ELSE json_extract(v.cell, '$[1]') END AS grid_row,
        CASE WHEN typeof(v.cell) = 'integer' THEN v.cell % 1000 ELSE json_extract(v.cell, '$[2]') END AS grid_col
    FROM fact_values v JOIN fact_keys k ON k.id = v.key_id;
"""

# --- step 3: one- and two-character search ------------------------------------------
# The trigram index needs three characters.  `sections_bigrams` indexes every pair of
# adjacent characters as one token (plus each run's last character), so a two-character
# word is one token lookup and a one-character word a prefix query.  `xxgk_bigrams` is
# registered by `migrate` on every connection that writes.
SECTIONS_BIGRAMS = """
CREATE VIRTUAL TABLE sections_bigrams USING fts5(text, content='', tokenize='unicode61');
INSERT INTO sections_bigrams (rowid, text) SELECT rowid, xxgk_bigrams(text) FROM sections;
CREATE TRIGGER sections_bi_ai AFTER INSERT ON sections BEGIN
    INSERT INTO sections_bigrams (rowid, text) VALUES (new.rowid, xxgk_bigrams(new.text)); END;
CREATE TRIGGER sections_bi_ad AFTER DELETE ON sections BEGIN
    INSERT INTO sections_bigrams (sections_bigrams, rowid, text) VALUES ('delete', old.rowid, xxgk_bigrams(old.text)); END;
CREATE TRIGGER sections_bi_au AFTER UPDATE ON sections BEGIN
    INSERT INTO sections_bigrams (sections_bigrams, rowid, text) VALUES ('delete', old.rowid, xxgk_bigrams(old.text));
    INSERT INTO sections_bigrams (rowid, text) VALUES (new.rowid, xxgk_bigrams(new.text)); END;
"""


def bigrams(text: str | None) -> str:
    """`培训工作` → `培训 训工 工作 作`: the tokens `sections_bigrams` indexes."""
    if not text:
        return ""
    if len(text) == 1:
        return text
    return " ".join(map(operator.add, text, text[1:])) + " " + text[-1]


# --- step 4: views that read like the official tables ---------------------------------
# Frozen with this step (never edit; a later step may DROP and re-CREATE a view).
VIEW_APPLICATION_ROWS = (
    "new_received", "carried_over", "granted", "partly_granted", "withheld.state_secret",
    "withheld.prohibited", "withheld.security", "withheld.third_party", "withheld.internal",
    "withheld.deliberative", "withheld.enforcement_file", "withheld.admin_query", "unable.not_held",
    "unable.needs_creation", "unable.unclear", "not_processed.complaint", "not_processed.duplicate",
    "not_processed.publication", "not_processed.excessive", "not_processed.confirmation", "other",
    "other.no_correction", "other.no_fee", "other.other", "total", "carried_forward")
VIEW_APPLICATION_COLS = ("natural_person", "business", "research", "nonprofit", "legal_service", "other_org",
                         "total")
VIEW_ACTIVE_KEYS = (
    ("rules", ("made", "repealed", "in_force", "new_made", "new_published", "total_published")),
    ("normative_docs", ("made", "repealed", "in_force", "new_made", "new_published", "total_published")),
    ("licensing", ("decisions", "prev_items", "change")),
    ("other_services", ("prev_items", "change", "decisions")),
    ("punishment", ("decisions", "prev_items", "change")),
    ("coercion", ("decisions", "prev_items", "change")),
    ("fees", ("amount", "prev_items", "change")),
    ("procurement", ("items", "amount")),
)
VIEW_APPEAL_ROWS = ("review", "suit_direct", "suit_after_review")
VIEW_APPEAL_COLS = ("upheld", "corrected", "other", "pending", "total")

_REPORT_HEAD = ("r.id AS report_id, a.name AS agency, r.agency AS agency_as_written, a.region, a.level, "
                "r.year, r.version, r.kind, r.current")
_REPORT_FROM = "FROM reports r LEFT JOIN agencies a ON a.id = r.agency_id"


def _wide_view(name: str, table: str, pairs: list[tuple[str, str]]) -> str:
    cols = ",\n    ".join(
        f"(SELECT value FROM fact_values WHERE report_id = r.id AND key_id = "
        f"(SELECT id FROM fact_keys WHERE key = '{table}.{row}.{col}')) AS {row.replace('.', '_')}__{col}"
        for row, col in pairs)
    return f"CREATE VIEW {name} AS SELECT {_REPORT_HEAD},\n    {cols}\n{_REPORT_FROM};\n"


VIEWS = (
    _wide_view("report_applications", "applications",
               [(r, c) for r in VIEW_APPLICATION_ROWS for c in VIEW_APPLICATION_COLS])
    + _wide_view("report_active", "active", [(r, c) for r, cs in VIEW_ACTIVE_KEYS for c in cs])
    + _wide_view("report_appeals", "appeals", [(r, c) for r in VIEW_APPEAL_ROWS for c in VIEW_APPEAL_COLS])
    + f"""
CREATE VIEW report_checks AS SELECT {_REPORT_HEAD},
    (SELECT count(*) FROM checks c WHERE c.report_id = r.id AND c.ok IS NOT NULL) AS n_checked,
    (SELECT count(*) FROM checks c WHERE c.report_id = r.id AND c.ok = 0) AS n_failed,
    (SELECT json_group_array(rule) FROM (SELECT rule FROM checks c WHERE c.report_id = r.id AND c.ok = 0
        ORDER BY rule)) AS failed_rules,
    (SELECT group_concat(rule || ': ' || coalesce(detail, ''), char(10)) FROM checks c
        WHERE c.report_id = r.id AND c.ok = 0) AS details
{_REPORT_FROM};
CREATE VIEW reports_overview AS SELECT {_REPORT_HEAD}, a.region_code, r.title, r.published,
    r.n_failed_checks, r.n_warnings,
    (SELECT json_group_array(rule) FROM (SELECT rule FROM checks c WHERE c.report_id = r.id AND c.ok = 0
        ORDER BY rule)) AS failed_rules,
    r.source_url, r.capture_id, r.agency_id
{_REPORT_FROM};
CREATE VIEW report_versions AS SELECT r.id AS report_id, r.agency_id, coalesce(a.name, r.agency) AS agency,
    r.year, r.kind, r.title, r.source_url, r.capture_id, c.fetched_at AS captured_at, r.sha256, r.current,
    lag(r.id) OVER (PARTITION BY r.source_url ORDER BY r.capture_id, r.id) AS supersedes,
    row_number() OVER agency_year AS version_no,
    count(*) OVER (PARTITION BY coalesce(r.agency_id, r.agency), r.year, r.kind) AS n_versions,
    r.id = last_value(r.id) OVER (agency_year ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
        AS latest
FROM reports r LEFT JOIN agencies a ON a.id = r.agency_id LEFT JOIN captures c ON c.id = r.capture_id
WINDOW agency_year AS (PARTITION BY coalesce(r.agency_id, r.agency), r.year, r.kind ORDER BY r.capture_id, r.id);
CREATE VIEW unresolved_agencies AS SELECT agency AS name, count(*) AS reports,
    group_concat(DISTINCT site_id) AS sites, min(year) AS first_year, max(year) AS last_year
FROM reports WHERE agency_id IS NULL GROUP BY agency;
CREATE VIEW labels AS SELECT column_name, key, label, label_en, unit, versions, table_name FROM fact_keys;
""")

# --- step 5: one row of headline figures per report (what the canned queries read) ----
def _fact(key: str) -> str:
    return (f"(SELECT value FROM fact_values WHERE report_id = r.id AND key_id = "
            f"(SELECT id FROM fact_keys WHERE key = '{key}'))")


def _group_sum(row_prefix: str, n: int) -> str:
    """The sum of a group's `total` cells, NULL unless all n are numbers (never a partial sum)."""
    return (f"(SELECT CASE WHEN count(v.value) = {n} THEN sum(v.value) END FROM fact_values v "
            f"WHERE v.report_id = r.id AND v.key_id IN (SELECT id FROM fact_keys WHERE table_name = 'applications' "
            f"AND row_key LIKE '{row_prefix}.%' AND col_key = 'total'))")


SUMMARY = f"""
CREATE VIEW report_summary AS SELECT {_REPORT_HEAD}, r.agency_id, r.published, r.title,
    {_fact('applications.new_received.total')} AS new_received,
    {_fact('applications.carried_over.total')} AS carried_over,
    {_fact('applications.granted.total')} AS granted,
    {_fact('applications.partly_granted.total')} AS partly_granted,
    {_group_sum('withheld', 8)} AS withheld,
    {_group_sum('unable', 3)} AS unable,
    {_group_sum('not_processed', 5)} AS not_processed,
    {_fact('applications.total.total')} AS total,
    {_fact('applications.carried_forward.total')} AS carried_forward,
    {_fact('appeals.review.total')} AS reviews,
    {_fact('appeals.suit_direct.total')} + {_fact('appeals.suit_after_review.total')} AS lawsuits,
    r.n_failed_checks, r.source_url, r.capture_id
{_REPORT_FROM};
"""

# --- step 6: the documents a report was read from (a page and its attachments) ----------
REPORT_SOURCES = """
CREATE TABLE report_sources (
    report_id INTEGER NOT NULL REFERENCES reports(id), capture_id INTEGER REFERENCES captures(id),
    url TEXT NOT NULL, role TEXT NOT NULL, form TEXT,
    filled TEXT, disagreements TEXT,
    PRIMARY KEY (report_id, url)
);
CREATE INDEX report_sources_capture ON report_sources(capture_id);
"""

# --- step 7: headline figures stored per report ---------------------------------------
# Aggregates over every report (a per-year overview, rates by region across years) read
# 14 facts per report; kept in `report_figures` (written with the facts by
# archive.save_report through FIGURES_INSERT) they read one row.  report_summary reads it.
FIGURE_COLUMNS = ("new_received", "carried_over", "granted", "partly_granted", "withheld", "unable",
                  "not_processed", "total", "carried_forward", "reviews", "lawsuits")
FIGURES_INSERT = f"""INSERT OR REPLACE INTO report_figures (report_id, {', '.join(FIGURE_COLUMNS)})
    SELECT r.id,
    {_fact('applications.new_received.total')}, {_fact('applications.carried_over.total')},
    {_fact('applications.granted.total')}, {_fact('applications.partly_granted.total')},
    {_group_sum('withheld', 8)}, {_group_sum('unable', 3)}, {_group_sum('not_processed', 5)},
    {_fact('applications.total.total')}, {_fact('applications.carried_forward.total')},
    {_fact('appeals.review.total')},
    {_fact('appeals.suit_direct.total')} + {_fact('appeals.suit_after_review.total')}
    FROM reports r"""

FIGURES = f"""
CREATE TABLE report_figures (
    report_id INTEGER PRIMARY KEY REFERENCES reports(id), {', '.join(c + ' INTEGER' for c in FIGURE_COLUMNS)}
);
{FIGURES_INSERT};
DROP VIEW report_summary;
CREATE VIEW report_summary AS SELECT {_REPORT_HEAD}, r.agency_id, r.published, r.title,
    {', '.join('f.' + c for c in FIGURE_COLUMNS)},
    r.n_failed_checks, r.source_url, r.capture_id
{_REPORT_FROM} LEFT JOIN report_figures f ON f.report_id = r.id;
"""

# when a crawl first found a report through a registry entry (the registry's `verified`
# is for people to set; this is what the crawler saw)
REACHED = """
ALTER TABLE sites ADD COLUMN reached_at TEXT;
UPDATE sites SET reached_at = (SELECT min(parsed_at) FROM reports WHERE reports.site_id = sites.id);
"""

# --- step 9: exact row counts for a live archive -------------------------------------
# Datasette counts a table with `select count(*)` on every table page of a mutable
# database; on fact_values (tens of millions of rows) that alone takes seconds.  These
# counters, kept by triggers in the same transaction as the rows, let the serving plugin
# (datasette/plugins/live.py) answer those counts at once and exactly.  INSERT OR REPLACE
# deletes through the delete trigger only with `PRAGMA recursive_triggers=ON`, which
# every writing connection sets (archive.open_archive, migrate).
COUNTED_TABLES = ("sites", "bodies", "captures", "reports", "fact_keys", "fact_values", "checks", "sections",
                  "documents", "frontier", "runs", "agencies", "report_sources", "report_figures")


def _counter(table: str) -> str:
    return f"""
INSERT INTO row_counts (name, n) SELECT '{table}', count(*) FROM [{table}];
CREATE TRIGGER row_counts_{table}_ai AFTER INSERT ON [{table}] BEGIN
    UPDATE row_counts SET n = n + 1 WHERE name = '{table}'; END;
CREATE TRIGGER row_counts_{table}_ad AFTER DELETE ON [{table}] BEGIN
    UPDATE row_counts SET n = n - 1 WHERE name = '{table}'; END;
"""


# Views with exactly one row per row of a counted table (a join on a key every row has, or
# a LEFT JOIN on a unique key): their unfiltered count is that table's.
VIEW_ROWS = {"facts": "fact_values", "labels": "fact_keys", "reports_overview": "reports",
             "report_applications": "reports", "report_active": "reports", "report_appeals": "reports",
             "report_checks": "reports", "report_summary": "reports", "report_versions": "reports",
             "series": "series_values"}

ROW_COUNTS = ("CREATE TABLE row_counts (name TEXT PRIMARY KEY, n INTEGER NOT NULL);\n"
              + "".join(_counter(t) for t in COUNTED_TABLES))

# --- step 10: dead links (never archived, answering 404/410; crawl.py asks them with backoff)
DEAD_LINKS = """
ALTER TABLE frontier ADD COLUMN dead_since TEXT;
ALTER TABLE frontier ADD COLUMN dead_answers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE frontier ADD COLUMN next_try TEXT;
"""

# --- step 11: legacy reports (2008-2018) joined to the modern series --------------------
# A fact keeps the unit written beside it (legacy 计量单位 column: 条, 件, 万元 or 元 …) and
# where it was read when not from a table cell (`prose`; later `ocr`).  The headline
# figures of a legacy report come from its indicators of the same meaning, so every
# per-year query (report_summary, agency_years, year_overview) runs 2008 onwards; `series`
# lists those indicators one row each, with the era and the key each value came from.
# Its rows are kept in `series_values` by triggers (current reports only, values present;
# year, era and agency copied so that its facets read one table), so the view costs index
# lookups, not an unpivot of every report per page.
# FIGURES_UPSERT supersedes FIGURES_INSERT (frozen with step 7) for every write from here.
SERIES_INDICATORS = (  # indicator, label, modern source, legacy source
    ("applications_received", "收到申请数 · applications received", "applications.new_received.total",
     "legacy.requests_received.year"),
    ("granted", "予以公开 / 同意公开 · granted", "applications.granted.total", "legacy.answers_granted.year"),
    ("partly_granted", "部分公开 / 同意部分公开 · partly granted", "applications.partly_granted.total",
     "legacy.answers_partly_granted.year"),
    ("reviews", "行政复议 · administrative reviews", "appeals.review.total", "legacy.reviews.year"),
    ("lawsuits", "行政诉讼 · lawsuits", "appeals.suit_direct.total + appeals.suit_after_review.total",
     "legacy.suits.year"),
)
_SERIES_COLUMN = {"applications_received": "new_received", "granted": "granted", "partly_granted": "partly_granted",
                  "reviews": "reviews", "lawsuits": "lawsuits"}
_LEGACY_FIGURE = {_SERIES_COLUMN[i]: legacy for i, _l, _m, legacy in SERIES_INDICATORS}


def _figure(column: str, modern: str) -> str:
    """A report's figure: its modern fact, else (a legacy report) the legacy one."""
    legacy = _LEGACY_FIGURE.get(column)
    return f"coalesce({modern}, {_fact(legacy)})" if legacy else modern


FIGURES_UPSERT = f"""INSERT OR REPLACE INTO report_figures (report_id, {', '.join(FIGURE_COLUMNS)})
    SELECT r.id,
    {_figure('new_received', _fact('applications.new_received.total'))}, {_fact('applications.carried_over.total')},
    {_figure('granted', _fact('applications.granted.total'))},
    {_figure('partly_granted', _fact('applications.partly_granted.total'))},
    {_group_sum('withheld', 8)}, {_group_sum('unable', 3)}, {_group_sum('not_processed', 5)},
    {_fact('applications.total.total')}, {_fact('applications.carried_forward.total')},
    {_figure('reviews', _fact('appeals.review.total'))},
    {_figure('lawsuits', _fact('appeals.suit_direct.total') + ' + ' + _fact('appeals.suit_after_review.total'))}
    FROM reports r"""

_INDICATOR_ROWS = ",\n    ".join(
    f"('{i}', '{label}', '{_SERIES_COLUMN[i]}', '{modern}', '{legacy}')" for i, label, modern, legacy in SERIES_INDICATORS)

def _series_value(figures: str) -> str:
    """SQL: the value of indicator `i` in a report_figures row (`f`, or NEW in a trigger)."""
    return ("(CASE i.figure " + " ".join(f"WHEN '{c}' THEN {figures}.{c}" for c in _SERIES_COLUMN.values())
            + " END)")


LEGACY = f"""
ALTER TABLE fact_values ADD COLUMN unit TEXT;
ALTER TABLE fact_values ADD COLUMN source TEXT;
DROP VIEW facts;
CREATE VIEW facts AS
    SELECT v.report_id, k.key, k.table_name, k.row_key, k.col_key, v.value,
        CASE WHEN v.raw IS NULL AND v.cell IS NOT NULL THEN CAST(v.value AS TEXT) ELSE v.raw END AS raw,
        k.label, k.label_en, coalesce(v.unit, k.unit) AS unit, coalesce(v.source, 'table') AS source,
        CASE WHEN typeof(v.cell) = 'integer' THEN v.cell / 1000000 ELSE json_extract(v.cell, '$[0]') END AS grid_table,
        CASE WHEN typeof(v.cell) = 'integer' THEN v.cell / 1000 % 1000 ELSE json_extract(v.cell, '$[1]') END AS grid_row,
        CASE WHEN typeof(v.cell) = 'integer' THEN v.cell % 1000 ELSE json_extract(v.cell, '$[2]') END AS grid_col
    FROM fact_values v JOIN fact_keys k ON k.id = v.key_id;
{FIGURES_UPSERT} WHERE r.version = 'legacy';
CREATE TABLE series_indicators (indicator TEXT PRIMARY KEY, label TEXT NOT NULL, figure TEXT NOT NULL,
    modern_key TEXT NOT NULL, legacy_key TEXT NOT NULL);
INSERT INTO series_indicators VALUES
    {_INDICATOR_ROWS};
CREATE TABLE series_values (
    report_id INTEGER NOT NULL REFERENCES reports(id), indicator TEXT NOT NULL, value NUMERIC NOT NULL,
    year INTEGER, era TEXT NOT NULL, agency_id INTEGER,
    PRIMARY KEY (report_id, indicator)
) WITHOUT ROWID;
CREATE INDEX series_values_year ON series_values(year, indicator, era, value);
CREATE INDEX series_values_agency ON series_values(agency_id, year);
{_counter('series_values')}
INSERT INTO series_values SELECT r.id, i.indicator, {_series_value('f')}, r.year, coalesce(r.version, 'unknown'), r.agency_id
    FROM reports r JOIN report_figures f ON f.report_id = r.id CROSS JOIN series_indicators i
    WHERE r.current = 1 AND {_series_value('f')} IS NOT NULL;
CREATE TRIGGER series_figures_ai AFTER INSERT ON report_figures BEGIN
    INSERT INTO series_values SELECT NEW.report_id, i.indicator, {_series_value('NEW')}, r.year,
        coalesce(r.version, 'unknown'), r.agency_id FROM reports r CROSS JOIN series_indicators i
    WHERE r.id = NEW.report_id AND r.current = 1 AND {_series_value('NEW')} IS NOT NULL; END;
CREATE TRIGGER series_figures_ad AFTER DELETE ON report_figures BEGIN
    DELETE FROM series_values WHERE report_id = OLD.report_id; END;
CREATE TRIGGER series_reports_current AFTER UPDATE OF current, year, version, agency_id ON reports
    WHEN OLD.current IS NOT NEW.current OR OLD.year IS NOT NEW.year OR OLD.version IS NOT NEW.version
        OR OLD.agency_id IS NOT NEW.agency_id BEGIN
    DELETE FROM series_values WHERE report_id = NEW.id;
    INSERT INTO series_values SELECT NEW.id, i.indicator, {_series_value('f')}, NEW.year,
        coalesce(NEW.version, 'unknown'), NEW.agency_id FROM report_figures f CROSS JOIN series_indicators i
        WHERE f.report_id = NEW.id AND NEW.current = 1 AND {_series_value('f')} IS NOT NULL;
    END;
CREATE TRIGGER series_reports_ad AFTER DELETE ON reports BEGIN
    DELETE FROM series_values WHERE report_id = OLD.id; END;
CREATE VIEW series AS
    SELECT s.report_id, s.agency_id, coalesce(a.name, r.agency) AS agency, a.region, a.level, s.year,
        s.indicator, i.label, s.value, s.era,
        CASE WHEN s.era = 'legacy' THEN i.legacy_key ELSE i.modern_key END AS source_key
    FROM series_values s LEFT JOIN reports r ON r.id = s.report_id
        LEFT JOIN series_indicators i ON i.indicator = s.indicator LEFT JOIN agencies a ON a.id = s.agency_id;
"""

# --- step 12: report history without window functions --------------------------------
# The step-4 `report_versions` computed lag/row_number/count/last_value over every report
# on every page: seconds on a 200,000-report live archive.  The same columns as correlated
# lookups on an index of the history key (agency, else the name as written; year; kind)
# and on source_url cost a few index probes per row shown.  Order within a history:
# capture, then report id (a report saved without a capture first).
def _same_history(a: str, b: str) -> str:
    """SQL: report `a` is a version of the same agency, year and kind as report `b` (the
    expression of the `reports_history` index)."""
    return (f"(coalesce({a}.agency_id, {a}.agency) = coalesce({b}.agency_id, {b}.agency) "
            f"AND {a}.year IS {b}.year AND {a}.kind IS {b}.kind)")


def _before(a: str, b: str) -> str:
    return f"(coalesce({a}.capture_id, -1), {a}.id) < (coalesce({b}.capture_id, -1), {b}.id)"


REPORT_VERSIONS = f"""
CREATE INDEX reports_history ON reports(coalesce(agency_id, agency), year, kind);
DROP VIEW report_versions;
CREATE VIEW report_versions AS SELECT r.id AS report_id, r.agency_id, coalesce(a.name, r.agency) AS agency,
    r.year, r.kind, r.title, r.source_url, r.capture_id, c.fetched_at AS captured_at, r.sha256, r.current,
    (SELECT p.id FROM reports p WHERE p.source_url IS r.source_url AND {_before('p', 'r')}
        ORDER BY coalesce(p.capture_id, -1) DESC, p.id DESC LIMIT 1) AS supersedes,
    1 + (SELECT count(*) FROM reports p WHERE {_same_history('p', 'r')} AND {_before('p', 'r')}) AS version_no,
    (SELECT count(*) FROM reports p WHERE {_same_history('p', 'r')}) AS n_versions,
    NOT EXISTS (SELECT 1 FROM reports p WHERE {_same_history('p', 'r')} AND {_before('r', 'p')}) AS latest
FROM reports r LEFT JOIN agencies a ON a.id = r.agency_id LEFT JOIN captures c ON c.id = r.capture_id;
"""

# --- step 13: the disclosure scorecard (scorecard.md), written by scraper/scorecard.py ---
# One row per agency and year (an agency is its registry body, or the name a report gives
# when it resolves to none): each of the ten points as pass / fail / unknown beside the
# sentence that says why, and the score over the points known.  A crawl, reparse or check
# rewrites the rows it touched.  `report_id` is the report graded (none when the year has
# no report); deleting that report empties it until the next recompute.  Each point column
# is indexed for its facet (so are region and level), (year, region, score) for the ranking.
# Frozen with this step.
SCORECARD_POINTS = ("published", "on_time", "complete", "consistent", "continuous", "honest", "machine_readable",
                    "stable", "single", "kept")
_POINT_COLUMNS = "".join(f"    {p} TEXT NOT NULL, {p}_reason TEXT,\n" for p in SCORECARD_POINTS)
SCORECARD = f"""
CREATE TABLE scorecard (
    id INTEGER PRIMARY KEY, agency TEXT NOT NULL, year INTEGER NOT NULL,
    agency_id INTEGER REFERENCES agencies(id) ON DELETE SET NULL,
    report_id INTEGER REFERENCES reports(id) ON DELETE SET NULL,
    site_id TEXT REFERENCES sites(id), region TEXT, level TEXT, kind TEXT,
    score REAL, known_weight INTEGER NOT NULL, known_points INTEGER NOT NULL, passed_weight INTEGER NOT NULL,
    rubric TEXT NOT NULL,
{_POINT_COLUMNS}    computed_at TEXT NOT NULL
);
CREATE UNIQUE INDEX scorecard_agency_year ON scorecard(agency, year);
CREATE INDEX scorecard_year_region ON scorecard(year, region, score);
CREATE INDEX scorecard_region ON scorecard(region, year);
CREATE INDEX scorecard_level ON scorecard(level, year);
CREATE INDEX scorecard_agency_id ON scorecard(agency_id, year);
CREATE INDEX scorecard_report ON scorecard(report_id);
{"".join(f"CREATE INDEX scorecard_{p} ON scorecard({p}, year);{chr(10)}" for p in SCORECARD_POINTS)}
CREATE TABLE scorecard_rubric (
    point TEXT PRIMARY KEY, position INTEGER NOT NULL, weight INTEGER NOT NULL, name_zh TEXT, name_en TEXT,
    pass_zh TEXT, pass_en TEXT, rubric TEXT NOT NULL
);
{_counter("scorecard")}{_counter("scorecard_rubric")}"""


# --- step 14: the per-year shares of the scorecard from an index ------------------------
# `scorecard_by_year` counts each point's results per year over every row: a scan of the
# wide rows (reasons included) took a second at 250,000 agency-years; this index holds the
# year, region and the ten results, so the query reads the index alone.
SCORECARD_SHARES = (f"CREATE INDEX scorecard_year_points ON scorecard(year, region, "
                    f"{', '.join(SCORECARD_POINTS)});\n")

# --- step 15: per-report rows counted by the statements that write them ------------------
# fact_values (about 200 rows a report), checks and sections are written and deleted a
# report at a time, only in archive.py; their per-row counter triggers were 0.8 ms of the
# 3.2 ms a report took to save.  archive.py adds each statement's row count instead
# (`archive.write_counted`), in the same transaction: row_counts stays exact.
COUNTED_BY_STATEMENT = ("fact_values", "checks", "sections")
STATEMENT_COUNTS = "".join(f"DROP TRIGGER row_counts_{t}_ai;\nDROP TRIGGER row_counts_{t}_ad;\n"
                           for t in COUNTED_BY_STATEMENT)

# --- step 17: sections indexed when their batch commits ----------------------------------
# FTS5 writes its pending terms out as a new segment at every savepoint, and a crawl keeps
# each URL's outcome in a savepoint of a batch (`group_commit`): indexing a report's
# sections took 1.8 ms of the 3 ms its save took, and left a small segment per report to
# merge later.  A new section's rowid now waits in `sections_unindexed`; `index_sections`,
# which the writers run just before they commit (archive.transaction, the crawl's batch),
# indexes all waiting sections in one statement per index, outside any savepoint.  A
# section that was indexed leaves the indexes at once when it is deleted or changed, as
# before; one still waiting just leaves the queue.  So at every commit the indexes hold
# exactly the committed sections.
def _unindex_old(fts: str, text: str) -> str:
    return (f"INSERT INTO {fts} ({fts}, rowid, text) SELECT 'delete', old.rowid, {text}\n"
            f"        WHERE NOT EXISTS (SELECT 1 FROM sections_unindexed WHERE section_rowid = old.rowid);\n")


_UNINDEX_OLD = (_unindex_old("sections_fts", "old.text") + "    " + _unindex_old("sections_bigrams", "xxgk_bigrams(old.text)")
                + "    DELETE FROM sections_unindexed WHERE section_rowid = old.rowid;")
INDEX_AT_COMMIT = f"""
CREATE TABLE sections_unindexed (section_rowid INTEGER PRIMARY KEY);
DROP TRIGGER sections_ai;
DROP TRIGGER sections_ad;
DROP TRIGGER sections_au;
DROP TRIGGER sections_bi_ai;
DROP TRIGGER sections_bi_ad;
DROP TRIGGER sections_bi_au;
CREATE TRIGGER sections_ai AFTER INSERT ON sections BEGIN
    INSERT OR IGNORE INTO sections_unindexed (section_rowid) VALUES (new.rowid); END;
CREATE TRIGGER sections_ad AFTER DELETE ON sections BEGIN
    {_UNINDEX_OLD} END;
CREATE TRIGGER sections_au AFTER UPDATE ON sections BEGIN
    {_UNINDEX_OLD}
    INSERT OR IGNORE INTO sections_unindexed (section_rowid) VALUES (new.rowid); END;
"""
_WAITING = "FROM sections_unindexed u JOIN sections s ON s.rowid = u.section_rowid"
INDEX_WAITING = (f"INSERT INTO sections_fts (rowid, text) SELECT s.rowid, s.text {_WAITING}",
                 f"INSERT INTO sections_bigrams (rowid, text) SELECT s.rowid, xxgk_bigrams(s.text) {_WAITING}",
                 "DELETE FROM sections_unindexed")


def index_sections(conn: sqlite3.Connection) -> None:
    """Index the sections written since the last commit (step 17); run inside the
    transaction that wrote them, outside any savepoint, just before it commits."""
    if conn.execute("SELECT 1 FROM sections_unindexed LIMIT 1").fetchone():
        for statement in INDEX_WAITING:
            conn.execute(statement)


MIGRATIONS: list[str] = [
    INITIAL + SECTIONS_FTS,
    AGENCIES,
    FACT_STORAGE,
    SECTIONS_BIGRAMS,
    VIEWS,
    SUMMARY,
    REPORT_SOURCES,
    FIGURES,
    REACHED,
    ROW_COUNTS,
    DEAD_LINKS,
    LEGACY,
    REPORT_VERSIONS,
    SCORECARD,
    SCORECARD_SHARES,
    STATEMENT_COUNTS,
    INDEX_AT_COMMIT,
]


def version(db: sqlite_utils.Database) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def migrate(db: sqlite_utils.Database) -> int:
    """Apply every pending migration; returns the schema version reached."""
    db.conn.create_function("xxgk_bigrams", 1, bigrams, deterministic=True)
    db.conn.execute("PRAGMA recursive_triggers=ON")  # REPLACE keeps row_counts right (step 9)
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
