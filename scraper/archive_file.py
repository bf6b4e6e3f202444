"""Is this path an archive a command can use?  Answered read-only, before anything writes.

Every command that takes `--db` asks here first, so a text file, a PNG, another program's
SQLite database, an archive written by a newer xxgk, a missing file or a directory that
cannot be written ends in one `ArchiveError` naming the file and why, and never in a
migration written into someone else's file or a half-created archive.

An empty (0-byte) file is what `sqlite3 FILE` and `touch FILE` leave: a fresh SQLite
database, so a command that creates archives (crawl, demo) takes it as a new archive;
commands that read one (reparse, check, serve, verify, backup) refuse it as holding none.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from . import schema

SQLITE_MAGIC = b"SQLite format 3\x00"
ARCHIVE_TABLES = {"captures", "reports"}


class ArchiveError(Exception):
    """A path that is not an archive this command can use; `str()` is `PATH: why`."""

    def __init__(self, path: str | Path, why: str) -> None:
        super().__init__(f"{path}: {why}")
        self.path, self.why = str(path), why


class ArchiveDamaged(ArchiveError):
    """A SQLite file whose own structure cannot be read (`xxgk verify` names the damage)."""

    def __init__(self, path: str | Path, why: str, detail: str) -> None:
        super().__init__(path, why)
        self.detail = detail


def connect_readonly(path: str | Path) -> sqlite3.Connection:
    """A connection that cannot write the file; it still sees what a crawl commits to the WAL."""
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None, check_same_thread=False)
    conn.text_factory = _text  # damaged pages can hold any bytes: read them, never crash on them
    return conn


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def check(path: str | Path, *, create: bool = False) -> None:
    """Raise `ArchiveError` unless `path` is an archive (or, with `create`, a place where a
    new one can be made: a missing file in a writable directory, or an empty database)."""
    p = Path(path)
    if not p.exists():
        if not create:
            raise ArchiveError(path, "no such file")
        if not p.parent.exists():
            raise ArchiveError(path, f"cannot create it: directory {p.parent} does not exist")
        if not p.parent.is_dir():
            raise ArchiveError(path, f"cannot create it: {p.parent} is not a directory")
    else:
        _check_contents(path, create=create)
    if create:
        _check_writable_dir(path)


def _check_contents(path: str | Path, *, create: bool) -> None:
    p = Path(path)
    if p.is_dir():
        raise ArchiveError(path, "is a directory, not an archive file")
    try:
        with open(p, "r+b" if create else "rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise ArchiveError(path, f"cannot {'write' if create else 'read'} it ({exc.strerror})") from None
    if not head:
        if create:
            return
        raise ArchiveError(path, "is an empty file, not an archive")
    if head != SQLITE_MAGIC:
        raise ArchiveError(path, "not an archive (not a SQLite database)")
    version, tables = _schema_of(path)
    if version > len(schema.MIGRATIONS):
        raise ArchiveError(path, f"archive schema version {version} is newer than this xxgk knows "
                                 f"({len(schema.MIGRATIONS)}); upgrade xxgk")
    if not tables:
        if create:
            return
        raise ArchiveError(path, "is an empty SQLite database, not an archive")
    missing = ARCHIVE_TABLES - tables
    if missing:
        raise ArchiveError(path, "not an archive (a SQLite database without "
                                 f"{' or '.join(sorted(missing))} table)")


def _check_writable_dir(path: str | Path) -> None:
    """A writer makes files beside the archive (the crawl's lock, SQLite's -wal and -shm):
    try, with an unnamed temporary file that vanishes when closed."""
    p = Path(path)
    try:
        with tempfile.TemporaryFile(dir=p.parent):
            pass
    except OSError as exc:
        raise ArchiveError(path, f"cannot write in {p.parent} ({exc.strerror})") from None


def _schema_of(path: str | Path) -> tuple[int, set[str]]:
    try:
        conn = connect_readonly(path)
    except sqlite3.Error as exc:
        raise ArchiveError(path, f"cannot open it ({exc})") from None
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:  # SQLite quotes damaged schema text in its message
        raise ArchiveDamaged(path, f"damaged: its schema cannot be read ({exc}); xxgk verify names the damage",
                             detail=str(exc)) from None
    finally:
        conn.close()
    return version, tables

