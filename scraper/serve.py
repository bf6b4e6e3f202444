"""Serving the archive with Datasette, read-only, with the project's configuration."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

CONFIG = Path(__file__).parent / "datasette"


def checkpoint(db_path: str | Path) -> None:
    """Fold the WAL into the database file: an immutable open reads the file only."""
    conn = sqlite3.connect(str(db_path))
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def metadata_for(db_path: str | Path) -> Path:
    """The metadata file, with its database section named after this file's stem
    (Datasette names a database by its file name)."""
    stem = Path(db_path).stem
    if stem == "archive":
        return CONFIG / "metadata.yml"
    meta = yaml.safe_load((CONFIG / "metadata.yml").read_text(encoding="utf-8"))
    meta["databases"] = {stem: meta["databases"]["archive"]}
    out = Path(tempfile.mkdtemp(prefix="xxgk-meta-")) / "metadata.yml"
    out.write_text(yaml.safe_dump(meta, allow_unicode=True), encoding="utf-8")
    return out


def datasette_args(db_path: str | Path, host: str = "127.0.0.1", port: int = 8001) -> list[str]:
    return [
        sys.executable, "-m", "datasette", "serve", "-i", str(db_path),
        "--metadata", str(metadata_for(db_path)),
        "--template-dir", str(CONFIG / "templates"),
        "--plugins-dir", str(CONFIG / "plugins"),
        "--host", host, "--port", str(port),
        "--setting", "sql_time_limit_ms", "3000",
        "--setting", "default_page_size", "50",
    ]


def serve(db_path: str | Path, host: str = "127.0.0.1", port: int = 8001) -> int:
    """Run Datasette in the foreground until interrupted; returns its exit code."""
    checkpoint(db_path)
    proc = subprocess.Popen(datasette_args(db_path, host, port))
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        return proc.wait()
