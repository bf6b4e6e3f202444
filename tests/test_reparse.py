"""`xxgk reparse --jobs N`: parsing in worker processes, writes in the main one, the same
archive as one process writes (compared table by table, report ids mapped to captures)."""

from __future__ import annotations

import shutil
import sqlite3

from click.testing import CliRunner

from conftest import FIXTURES
from scraper import archive, parse_pool, reparse, schema
from scraper.cli import cli
from webserver import respond, web

REPORT_COLUMNS = ("capture_id", "site_id", "agency", "agency_id", "year", "version", "kind", "title", "published",
                  "index_no", "source_url", "sha256", "current", "applications_layout", "form", "encoding",
                  "warnings", "n_warnings", "n_failed_checks")


def derived(path) -> dict[str, list]:
    """Everything a reparse writes, with report ids replaced by the capture they came from."""
    conn = sqlite3.connect(path)
    of = dict(conn.execute("SELECT id, capture_id FROM reports"))
    def rows(sql: str) -> list:
        return sorted((of.get(r[0]), *r[1:]) for r in conn.execute(sql))
    out = {
        "reports": sorted(conn.execute(f"SELECT {', '.join(REPORT_COLUMNS)} FROM reports")),
        "facts": rows("SELECT report_id, key, value, raw, unit, source, grid_table, grid_row, grid_col FROM facts"),
        "checks": rows("SELECT report_id, rule, ok, detail FROM checks"),
        "sections": rows("SELECT report_id, section, text FROM sections"),
        "sources": rows("SELECT report_id, capture_id, url, role, form, filled, disagreements FROM report_sources"),
        "documents": sorted((c, u, o, of.get(r) if r else None, t) for c, u, o, r, t in
                            conn.execute("SELECT capture_id, url, outcome, report_id, title FROM documents")),
        "scorecard": _scorecard(conn, of),
    }
    conn.close()
    return out


def _scorecard(conn: sqlite3.Connection, of: dict) -> list:
    cur = conn.execute("SELECT * FROM scorecard")
    names = [d[0] for d in cur.description]
    return sorted(tuple(of.get(v) if n == "report_id" else v for n, v in zip(names, row)
                        if n not in ("id", "computed_at")) for row in cur)


def reparse_copy(source, dest, jobs: int) -> str:
    shutil.copy(source, dest)
    result = CliRunner().invoke(cli, ["reparse", "--db", str(dest), "--jobs", str(jobs)])
    assert result.exit_code == 0, result.output
    return result.output


def test_two_jobs_write_what_one_writes(demo_archive, tmp_path):
    one, two = tmp_path / "one.db", tmp_path / "two.db"
    out1, out2 = reparse_copy(demo_archive, one, 1), reparse_copy(demo_archive, two, 2)
    assert "reparsed 8 in" in out2 and "with 2 jobs" in out2 and "reports/s" in out2
    first, second = derived(one), derived(two)
    assert len(first["reports"]) == 7 and len(first["facts"]) > 1000 and first["checks"] and first["sections"]
    assert first["scorecard"]
    for table in first:
        assert first[table] == second[table], table
    assert derived(demo_archive)["facts"] == first["facts"]  # the crawl's own parse, derived again


def test_attachments_are_merged_again_with_workers(tmp_path):
    att = FIXTURES / "attachments"
    import json

    exp = json.loads((att / "expected.json").read_text(encoding="utf-8"))["crawl"]
    registry = tmp_path / "sites.toml"
    pdf = (att / exp["attachment_file"]).read_bytes()
    with web(att / "site", {exp["attachment"]: respond(200, pdf, "application/pdf")}) as (base, _):
        registry.write_text(f'[[site]]\nid = "qs-jtj"\nname = "{exp["agency"]}"\nregion = "青山市"\n'
                            f'level = "department"\nstart = ["{base}/jtj/ndbg/index.html"]\ndelay = 0.01\n',
                            encoding="utf-8")
        crawled = tmp_path / "crawled.db"
        result = CliRunner().invoke(cli, ["crawl", "--db", str(crawled), "--registry", str(registry)])
    assert result.exit_code == 0, result.output
    reparse_copy(crawled, tmp_path / "one.db", 1)
    reparse_copy(crawled, tmp_path / "two.db", 2)
    first, second = derived(tmp_path / "one.db"), derived(tmp_path / "two.db")
    assert sorted(s[3] for s in second["sources"]) == ["attachment", "page"]  # still one report from both
    assert first == second
    assert dict((f[1], f[2]) for f in second["facts"]) == exp["facts"]


def test_a_parser_crash_in_a_worker_is_named_and_the_rest_reparsed(demo_archive, tmp_path, monkeypatch, caplog):
    db_path = tmp_path / "crash.db"
    shutil.copy(demo_archive, db_path)
    db = archive.open_archive(db_path)
    victim = db.execute("SELECT capture_id, source_url FROM reports ORDER BY capture_id LIMIT 1").fetchone()
    real = parse_pool.convert.parse

    def crashing(data, *, url=None, content_type=None):
        if url == victim[1]:
            raise ValueError("boom in the parser")
        return real(data, url=url, content_type=content_type)

    monkeypatch.setattr(parse_pool.convert, "parse", crashing)  # forked workers inherit it
    stats = reparse.reparse_all(db, jobs=2)
    assert stats["errors"] == 1 and stats["reports"] == 6
    outcome = db.execute("SELECT outcome FROM documents WHERE capture_id = ?", [victim[0]]).fetchone()[0]
    assert outcome == "parser error: boom in the parser"
    assert db.execute("SELECT count(*) FROM reports").fetchone()[0] == 6
    assert "boom in the parser" in caplog.text and "Traceback" in caplog.text


def test_pool_reads_in_order_and_without_a_file_parses_here(demo_archive):
    db = archive.open_archive(":memory:")
    pool = parse_pool.ParsePool(db, jobs=4)
    assert pool.jobs == 1 and pool.executor is None  # an in-memory archive has no file for workers
    src = archive.open_archive(demo_archive)
    rows = archive.archived_captures(src, "report")
    with parse_pool.ParsePool(src, jobs=2) as workers:
        assert workers.jobs == 2
        urls = [d.report.source for d in workers.map((r[1], r[3], r[4]) for r in rows)]
    assert urls == [r[1] for r in rows]
    assert list(parse_pool.ParsePool(src, 2).map([("x", None, "0" * 64)])) == [None]  # a body that is gone


def test_reparse_keeps_report_ids_and_repairs_what_differs(demo_archive, tmp_path):
    db_path = tmp_path / "tampered.db"
    shutil.copy(demo_archive, db_path)
    before = derived(db_path)
    conn = archive.open_archive(db_path).conn  # the connection that indexes sections
    ids = sorted(conn.execute("SELECT id, capture_id FROM reports"))
    rid = ids[0][0]
    with conn:  # what an older parser might have written
        conn.execute("UPDATE fact_values SET value = 999999 WHERE report_id = ? AND key_id = "
                     "(SELECT min(key_id) FROM fact_values WHERE report_id = ?)", [rid, rid])
        conn.execute("UPDATE sections SET text = '旧的文字' WHERE rowid = (SELECT min(rowid) FROM sections "
                     "WHERE report_id = ?)", [rid])
        conn.execute("DELETE FROM checks WHERE report_id = ? AND rule = (SELECT min(rule) FROM checks "
                     "WHERE report_id = ?)", [rid, rid])
        conn.execute("UPDATE reports SET title = 'old title' WHERE id = ?", [rid])
        schema.index_sections(conn)  # as archive.transaction does before it commits
    assert derived(db_path) != before
    assert conn.execute("SELECT rowid FROM sections_fts WHERE sections_fts MATCH '旧的文字'").fetchall()
    conn.close()
    reparse_copy(db_path, tmp_path / "again.db", 2)
    assert derived(tmp_path / "again.db") == before
    conn = sqlite3.connect(tmp_path / "again.db")
    assert sorted(conn.execute("SELECT id, capture_id FROM reports")) == ids  # same ids: links keep working
    # the full-text indexes follow the repaired text
    assert not conn.execute("SELECT rowid FROM sections_fts WHERE sections_fts MATCH '旧的文字'").fetchall()
    assert conn.execute("SELECT count(*) FROM sections").fetchone()[0] == \
        conn.execute("SELECT n FROM row_counts WHERE name = 'sections'").fetchone()[0]
