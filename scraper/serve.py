"""Serving the archive with Datasette, read-only, with the project's configuration.

Live by default: Datasette opens the archive through read-only connections (`mode=ro`)
on its WAL file, so what a crawl, reparse or check commits is served on the next
request, and each query reads one committed state (a report is written in one
transaction, so no query sees half of one).  `immutable` is the frozen-snapshot mode for
publishing a release: the WAL is folded in first and the file must not change while it is
served (SQLite then trusts it without locking; a write would be read as corruption).
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
from pathlib import Path

import yaml

CONFIG = Path(__file__).parent / "datasette"


def checkpoint(db_path: str | Path) -> None:
    """Fold the WAL into the database file: an immutable open reads the file only."""
    conn = sqlite3.connect(str(db_path), timeout=30)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def metadata_for(db_path: str | Path) -> Path:
    """The metadata file for this archive: metadata.yml with its database section named
    after the file's stem (Datasette names a database by its file name), and the columns of
    the report_* views described from the fact-key catalogue (Chinese, English, unit)."""
    meta = metadata(Path(db_path).stem)
    out = Path(tempfile.mkdtemp(prefix="xxgk-meta-")) / "metadata.yml"
    out.write_text(yaml.safe_dump(meta, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out


def metadata(db_name: str = "archive") -> dict:
    from .fact_keys import catalogue

    meta = yaml.safe_load((CONFIG / "metadata.yml").read_text(encoding="utf-8"))
    tables = meta["databases"]["archive"]["tables"]
    head = tables["report_checks"]["columns"]
    for view, table in (("report_applications", "applications"), ("report_active", "active"),
                        ("report_appeals", "appeals")):
        cols = {k: head[k] for k in ("report_id", "agency", "agency_as_written", "region", "level", "year",
                                     "version", "kind", "current")}
        for k in catalogue():
            if k.table_name == table:
                unit = f" ({k.unit})" if k.unit else " (unit as written · 单位以原文为准)"
                cols[k.column_name] = f"{k.label}{unit} · {k.label_en} · {k.key}"
        tables[view].setdefault("columns", {}).update(cols)
    meta["databases"] = {db_name: meta["databases"]["archive"]}
    meta["description_html"] = meta["description_html"].replace('href="/archive/', f'href="/{db_name}/')
    for dashboard in (meta.get("plugins", {}).get("datasette-dashboards") or {}).values():
        for chart in dashboard.get("charts", {}).values():
            if chart.get("db") == "archive":
                chart["db"] = db_name
    return meta


def datasette_args(db_path: str | Path, host: str = "127.0.0.1", port: int = 8001, *,
                   immutable: bool = False) -> list[str]:
    return [
        sys.executable, "-m", "datasette", "serve", *(["-i"] if immutable else []), str(db_path),
        "--metadata", str(metadata_for(db_path)),
        "--plugins-dir", str(CONFIG / "plugins"),
        # the report, agency and home pages (plugins/report_page.py …) and their stylesheet
        "--template-dir", str(CONFIG / "templates"),
        "--static", f"xxgk-static:{CONFIG / 'static'}",
        "--host", host, "--port", str(port),
        "--setting", "sql_time_limit_ms", "3000",
        "--setting", "default_page_size", "50",
        # facet suggestions try every column of a table page (182 on report_applications)
        # on every request: seconds on a big live archive; the useful facets are configured
        "--setting", "suggest_facets", "off",
    ]


def serve(db_path: str | Path, host: str = "127.0.0.1", port: int = 8001, *, immutable: bool = False) -> None:
    """Become Datasette (exec, never returns): signals sent to `xxgk serve` reach the
    server itself, so stopping it (Ctrl-C, SIGTERM from a test or systemd) leaves no
    orphaned server behind."""
    if immutable:
        checkpoint(db_path)
    sys.stdout.flush()
    sys.stderr.flush()
    args = datasette_args(db_path, host, port, immutable=immutable)
    os.execv(args[0], args)
