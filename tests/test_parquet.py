"""`xxgk export-parquet`: the demo archive as Parquet, read back with pyarrow and DuckDB
and compared with the archive row for row."""

from __future__ import annotations

import shutil
import sqlite3

import duckdb
import pyarrow.dataset as ds
from click.testing import CliRunner

from parsers import Report
from scraper import archive
from scraper.cli import cli
from scraper.parquet import export_parquet

FACTS_SQL = """SELECT f.report_id, coalesce(a.name, r.agency), a.region, a.level, r.year, r.version, f.key,
    f.value, f.raw, f.unit, f.source FROM facts f JOIN reports r ON r.id = f.report_id
    LEFT JOIN agencies a ON a.id = r.agency_id"""
FACT_COLUMNS = ["report_id", "agency", "region", "level", "year", "version", "key", "value", "raw", "unit", "source"]


def read(out, name: str) -> list[dict]:
    return ds.dataset(out / name, format="parquet", partitioning="hive").to_table().to_pylist()


def test_export_matches_the_archive(demo_archive, tmp_path):
    out = tmp_path / "parquet"
    result = CliRunner().invoke(cli, ["export-parquet", str(out), "--db", str(demo_archive)])
    assert result.exit_code == 0, result.output
    conn = sqlite3.connect(demo_archive)
    n_facts = conn.execute("SELECT count(*) FROM facts").fetchone()[0]
    assert f"facts {n_facts}" in result.output and n_facts > 1000
    assert sorted(p.name for p in out.iterdir()) == ["checks", "facts", "reports", "scorecard"]
    years = {r[0] for r in conn.execute("SELECT DISTINCT year FROM reports")}
    assert {p.name for p in (out / "facts").iterdir()} == {f"year={y}" for y in years}
    # every fact, with its report's agency, region, level, year and version
    exported = sorted((tuple(row[c] for c in FACT_COLUMNS) for row in read(out, "facts")), key=repr)
    assert exported == sorted(conn.execute(FACTS_SQL).fetchall(), key=repr)
    assert all(row[2] is not None and row[3] is not None for row in exported)  # the demo's agencies resolve
    reports = {r["report_id"]: r for r in read(out, "reports")}
    assert {(i, r["year"], r["title"], r["current"]) for i, r in reports.items()} == \
        {(i, y, t, bool(c)) for i, y, t, c in conn.execute("SELECT id, year, title, current FROM reports")}
    checks = sorted((r["report_id"], r["rule"], r["ok"], r["detail"]) for r in read(out, "checks"))
    assert checks == sorted((i, rule, None if ok is None else bool(ok), d)
                            for i, rule, ok, d in conn.execute("SELECT report_id, rule, ok, detail FROM checks"))
    card = read(out, "scorecard")
    assert sorted((r["agency"], r["year"], r["score"], r["published"]) for r in card) == sorted(
        conn.execute("SELECT agency, year, score, published FROM scorecard"), key=repr)
    # DuckDB reads the partitions directly
    per_year = duckdb.sql(f"SELECT year, count(*), sum(value) FROM read_parquet('{out}/facts/**/*.parquet', "
                          "hive_partitioning = true) GROUP BY year ORDER BY year").fetchall()
    expected = conn.execute("SELECT r.year, count(*), sum(f.value) FROM facts f JOIN reports r ON r.id = f.report_id "
                            "GROUP BY r.year ORDER BY r.year").fetchall()
    assert [(y, n) for y, n, _ in per_year] == [(y, n) for y, n, _ in expected]
    assert all(abs(a[2] - b[2]) < 1e-6 for a, b in zip(per_year, expected))
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # the temporary directory was renamed into place


def test_small_batches_a_report_without_year_and_replacing(demo_archive, tmp_path):
    db_path = tmp_path / "archive.db"
    shutil.copy(demo_archive, db_path)
    db = archive.open_archive(db_path)
    archive.save_report(db, Report(source="http://127.0.0.1:9/no-year.html", agency="无名机关", version="2021",
                                   facts={"applications.new_received.total": 7}),
                        site_id=None, capture_id=None, sha256=None)
    db.conn.close()
    out = tmp_path / "parquet"
    written = export_parquet(db_path, out, batch=7)  # many batches per partition
    conn = sqlite3.connect(db_path)
    assert written["facts"] == conn.execute("SELECT count(*) FROM facts").fetchone()[0]
    assert written["reports"] == conn.execute("SELECT count(*) FROM reports").fetchone()[0]
    rows = read(out, "facts")
    assert len(rows) == written["facts"]
    unknown = [r for r in rows if r["year"] is None]
    assert [(r["agency"], r["key"], r["value"], r["region"]) for r in unknown] == \
        [("无名机关", "applications.new_received.total", 7, None)]
    n = duckdb.sql(f"SELECT count(*) FROM read_parquet('{out}/facts/**/*.parquet', hive_partitioning = true) "
                   "WHERE year IS NULL").fetchall()[0][0]
    assert n == 1
    # an existing OUT is refused, then replaced with --force
    again = CliRunner().invoke(cli, ["export-parquet", str(out), "--db", str(db_path)])
    assert again.exit_code == 2 and "exists" in again.output
    forced = CliRunner().invoke(cli, ["export-parquet", str(out), "--db", str(db_path), "--force"])
    assert forced.exit_code == 0, forced.output
    assert len(read(out, "facts")) == written["facts"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_bad_db_is_one_line_and_nothing_written(tmp_path):
    not_db = tmp_path / "notes.txt"
    not_db.write_text("hello", encoding="utf-8")
    for bad in (tmp_path / "missing.db", not_db):
        result = CliRunner().invoke(cli, ["export-parquet", str(tmp_path / "out"), "--db", str(bad)])
        assert result.exit_code == 2
        assert result.output.strip().startswith(f"error: {bad}:") and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
