"""The archive as Parquet, for DuckDB, Spark or a warehouse (`xxgk export-parquet`).

Four datasets, each partitioned by statistics year in hive style (`DIR/facts/year=2021/
part-0.parquet`), so `read_parquet('DIR/facts/**/*.parquet', hive_partitioning=true)`
reads them with the year as a column: `reports`, `facts` (one row per fact, with the
report's agency, region, level, year, version and whether it is current, so no join is
needed for most questions), `checks` and `scorecard` (when the archive has one).

Rows are read in batches from a read-only connection and written as they come (memory
stays flat in the size of the archive); the whole export is written into a temporary
directory beside DIR and renamed into place, so DIR is never half-written.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

BATCH = 10_000  # rows per batch read from SQLite and handed to the writer (smaller: less memory, no slower)
ROWS_PER_FILE = 5_000_000
ROW_GROUP = 65_536

_REPORT = """coalesce(a.name, r.agency) AS agency, r.agency AS agency_as_written, r.agency_id,
    a.region, a.region_code, a.level"""
_AGENCY_JOIN = "LEFT JOIN agencies a ON a.id = r.agency_id"

REPORTS = (f"""SELECT r.id AS report_id, {_REPORT}, r.version, r.kind, r.current = 1 AS current, r.title,
    r.published, r.index_no, r.source_url, r.capture_id, r.sha256, r.form, r.applications_layout, r.encoding,
    r.n_warnings, r.n_failed_checks, r.warnings, r.parsed_at, r.site_id, r.year
    FROM reports r {_AGENCY_JOIN}""", pa.schema([
    ("report_id", pa.int64()), ("agency", pa.string()), ("agency_as_written", pa.string()),
    ("agency_id", pa.int64()), ("region", pa.string()), ("region_code", pa.string()), ("level", pa.string()),
    ("version", pa.string()), ("kind", pa.string()), ("current", pa.bool_()), ("title", pa.string()),
    ("published", pa.string()), ("index_no", pa.string()), ("source_url", pa.string()), ("capture_id", pa.int64()),
    ("sha256", pa.string()), ("form", pa.string()), ("applications_layout", pa.string()),
    ("encoding", pa.string()), ("n_warnings", pa.int64()), ("n_failed_checks", pa.int64()),
    ("warnings", pa.string()), ("parsed_at", pa.string()), ("site_id", pa.string()), ("year", pa.int64())]))

# value: a count, or an amount (fees in 万元) — double holds every integer below 2^53 exactly
FACTS = (f"""SELECT v.report_id, {_REPORT}, r.version, r.current = 1 AS current, k.key, k.table_name, k.row_key,
    k.col_key, v.value,
    CASE WHEN v.raw IS NULL AND v.cell IS NOT NULL THEN CAST(v.value AS TEXT) ELSE v.raw END AS raw,
    coalesce(v.unit, k.unit) AS unit, coalesce(v.source, 'table') AS source, r.year
    FROM fact_values v JOIN fact_keys k ON k.id = v.key_id JOIN reports r ON r.id = v.report_id {_AGENCY_JOIN}""",
    pa.schema([
        ("report_id", pa.int64()), ("agency", pa.string()), ("agency_as_written", pa.string()),
        ("agency_id", pa.int64()), ("region", pa.string()), ("region_code", pa.string()), ("level", pa.string()),
        ("version", pa.string()), ("current", pa.bool_()), ("key", pa.string()), ("table_name", pa.string()),
        ("row_key", pa.string()), ("col_key", pa.string()), ("value", pa.float64()), ("raw", pa.string()),
        ("unit", pa.string()), ("source", pa.string()), ("year", pa.int64())]))

CHECKS = (f"""SELECT c.report_id, coalesce(a.name, r.agency) AS agency, r.agency_id, a.region, a.level,
    r.version, r.current = 1 AS current, c.rule, c.ok = 1 AS ok, c.detail, r.year
    FROM checks c JOIN reports r ON r.id = c.report_id {_AGENCY_JOIN}""", pa.schema([
    ("report_id", pa.int64()), ("agency", pa.string()), ("agency_id", pa.int64()), ("region", pa.string()),
    ("level", pa.string()), ("version", pa.string()), ("current", pa.bool_()), ("rule", pa.string()),
    ("ok", pa.bool_()), ("detail", pa.string()), ("year", pa.int64())]))


def export_parquet(db_path: str | Path, out_dir: str | Path, *, force: bool = False,
                   batch: int = BATCH) -> dict[str, int]:
    """Write the four datasets under `out_dir`; returns the rows written per dataset.
    An existing `out_dir` is replaced only with `force` (FileExistsError otherwise)."""
    out = Path(out_dir)
    if out.exists() and not force:
        raise FileExistsError(f"{out} exists (use --force to replace it)")
    # the dataset writer pulls batches on its own thread, one at a time
    conn = sqlite3.connect(Path(db_path).resolve().as_uri() + "?mode=ro", uri=True, check_same_thread=False)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        written = {}
        datasets = {"reports": REPORTS, "facts": FACTS, "checks": CHECKS}
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'scorecard'").fetchone():
            datasets["scorecard"] = (_scorecard_query(conn), _scorecard_schema(conn))
        with conn:  # one read transaction: the four datasets show one committed state
            conn.execute("BEGIN")
            for name, (sql, schema) in datasets.items():
                written[name] = _write(conn, sql, schema, tmp / name, batch)
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        conn.close()
    return written


def _write(conn: sqlite3.Connection, sql: str, schema: pa.Schema, where: Path, batch: int) -> int:
    count = 0

    def batches() -> Iterator[pa.RecordBatch]:
        nonlocal count
        cur = conn.execute(sql)
        while rows := cur.fetchmany(batch):
            count += len(rows)
            columns = list(zip(*rows))
            yield pa.RecordBatch.from_arrays([_column(c, f.type) for c, f in zip(columns, schema)], schema=schema)

    ds.write_dataset(pa.RecordBatchReader.from_batches(schema, batches()), where, format="parquet",
                     partitioning=ds.partitioning(pa.schema([schema.field("year")]), flavor="hive"),
                     basename_template="part-{i}.parquet", max_rows_per_file=ROWS_PER_FILE,
                     max_rows_per_group=ROW_GROUP, min_rows_per_group=min(ROW_GROUP, batch),
                     existing_data_behavior="error", create_dir=True)
    if count == 0:  # an empty dataset still has its schema on disk for readers
        where.mkdir(parents=True, exist_ok=True)
        import pyarrow.parquet as pq

        pq.write_table(schema.empty_table(), where / "part-0.parquet")
    return count


def _column(values: tuple, type_: pa.DataType) -> pa.Array:
    if type_ == pa.bool_():  # SQLite's 0/1 (NULL stays null: a check that could not be made)
        return pa.array(values, type=pa.int8()).cast(pa.bool_())
    return pa.array(values, type=type_)


def _scorecard_query(conn: sqlite3.Connection) -> str:
    cols = [r[1] for r in conn.execute("PRAGMA table_info(scorecard)") if r[1] not in ("year",)]
    return f"SELECT {', '.join(cols)}, year FROM scorecard"


def _scorecard_schema(conn: sqlite3.Connection) -> pa.Schema:
    """The scorecard's columns as they are (the rubric decides them): integers, reals, text."""
    types = {"INTEGER": pa.int64(), "REAL": pa.float64(), "NUMERIC": pa.float64()}
    fields = [(r[1], types.get((r[2] or "").upper(), pa.string()))
              for r in conn.execute("PRAGMA table_info(scorecard)") if r[1] != "year"]
    return pa.schema(fields + [("year", pa.int64())])


def _replace(tmp: Path, out: Path) -> None:
    """`tmp` renamed to `out`; an existing `out` is moved aside first and removed after."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
