"""Serving a live archive: table counts from the archive's own counters.

On a mutable database Datasette counts a table with `select count(*) from [table]` on
every table page and on the index pages; on `fact_values` (tens of millions of rows) that
one query takes seconds while the rows themselves take milliseconds.  The archive keeps
exact counts in `row_counts`, updated in the same transaction as the rows (by triggers,
schema step 9; facts, checks and sections by the statements that write them, step 15),
so an unfiltered count is one primary-key lookup and always matches what the same
request reads; a view with one row per row of a table (`schema.VIEW_ROWS`) is counted as
that table.  Filtered counts, other views, and archives without `row_counts`
(an older schema) go to SQLite as before.
"""

from __future__ import annotations

import re
import sqlite3

from datasette import hookimpl
from datasette.database import Results

from scraper.schema import VIEW_ROWS

_COUNT = re.compile(r"\s*select\s+count\(\*\)\s+from\s+\[?([A-Za-z_][A-Za-z0-9_]*)\]?\s*", re.I)


def counted(sql: str, params) -> str | None:
    """The table an unfiltered `select count(*) from T` counts, else None."""
    m = _COUNT.fullmatch(sql)
    return m.group(1) if m and not params else None


def _from_counters(db) -> None:
    execute = db.execute

    async def execute_with_counters(sql, params=None, *args, **kwargs):
        table = counted(sql, params)
        if table is not None:
            try:
                got = await execute("select n from row_counts where name = :name",
                                    {"name": VIEW_ROWS.get(table, table)})
            except (sqlite3.OperationalError, sqlite3.DatabaseError):
                got = None  # no row_counts table: an archive from before step 9
            if got is not None and got.rows:
                return Results([(got.rows[0][0],)], False, [("count(*)",) + (None,) * 6])
        return await execute(sql, params, *args, **kwargs)

    db.execute = execute_with_counters


@hookimpl
def startup(datasette):
    for db in datasette.databases.values():
        if db.is_mutable and not db.is_memory:
            _from_counters(db)
