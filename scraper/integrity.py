"""Is the archive whole, and a copy of it that is (`xxgk verify`, `xxgk backup`).

Both read through a read-only connection inside one read transaction: they see one
consistent state of the file while a crawl goes on committing to the WAL, and they can
never write to the archive.  The backup is SQLite's online backup of that state into a
temporary file beside the destination, verified the same way, then renamed into place,
so the destination is either the old file or a whole verified copy, never half of one.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import bodies
from .archive_file import ArchiveDamaged, ArchiveError, check, connect_readonly

MAX_INTEGRITY_LINES = 100  # what PRAGMA integrity_check reports at most; the first ones say enough
MAX_ROWIDS_SHOWN = 10
Problem = Callable[[str], None]


@dataclass
class Verification:
    """What `verify` looked at and every problem it found (one line each)."""

    path: str
    bodies: int = 0
    captures: int = 0
    reports: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        counted = f"{self.bodies} bodies, {self.captures} captures, {self.reports} reports"
        if self.ok:
            return f"{self.path}: ok ({counted} checked)"
        n = len(self.problems)
        return f"{self.path}: damaged, {n} problem{'s' if n > 1 else ''} ({counted} checked)"


def verify(path: str | Path, on_problem: Problem | None = None) -> Verification:
    """Check the archive at `path` without writing to it: SQLite's integrity and foreign
    keys, every stored body against its sha256 and size, every capture's body present,
    every report linked to an existing capture.  A path that is not an archive at all
    raises `ArchiveError`; damage is reported, never raised."""
    result = Verification(str(path))

    def problem(line: str) -> None:
        result.problems.append(line)
        if on_problem:
            on_problem(line)

    try:
        check(path)
    except ArchiveDamaged as exc:
        problem(f"schema: cannot be read ({exc.detail})")
        return result
    conn = connect_readonly(path)
    try:
        conn.execute("BEGIN")  # one snapshot for every step, whatever a crawl commits meanwhile
        for step in (_integrity, _foreign_keys, _bodies, _captures, _reports):
            try:
                step(conn, result, problem)
            except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
                problem(f"{step.__name__.strip('_').replace('_', ' ')}: cannot be read ({exc})")
    finally:
        conn.close()
    return result



def _integrity(conn: sqlite3.Connection, result: Verification, problem: Problem) -> None:
    try:
        lines = [r[0] for r in conn.execute(f"PRAGMA integrity_check({MAX_INTEGRITY_LINES})")]
    except (sqlite3.DatabaseError, UnicodeDecodeError):
        # the check itself stopped at the damage: table by table, to name where it is
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall():
            try:
                lines = [r[0] for r in conn.execute(f'PRAGMA integrity_check("{table.replace(chr(34), chr(34) * 2)}")')]
            except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
                lines = [str(exc)]
            for line in lines:
                if line != "ok":
                    problem(f"integrity: table {table}: {line}")
        return
    for line in lines:
        if line != "ok":
            problem(f"integrity: {line}")


def _foreign_keys(conn: sqlite3.Connection, result: Verification, problem: Problem) -> None:
    """One line per (table, referenced table): a deleted capture can orphan thousands of facts."""
    orphans: dict[tuple[str, str], list[int]] = {}
    for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check"):
        orphans.setdefault((table, parent), []).append(rowid)
    for (table, parent), rowids in orphans.items():
        shown = ", ".join(str(r) for r in rowids[:MAX_ROWIDS_SHOWN]) + (", …" if len(rowids) > MAX_ROWIDS_SHOWN else "")
        problem(f"foreign key: {len(rowids)} {table} rows point at a missing {parent} row (rowid {shown})")


def _bodies(conn: sqlite3.Connection, result: Verification, problem: Problem) -> None:
    """One row at a time (the cursor streams): bodies are most of the file."""
    for sha256, size, compression, data in conn.execute("SELECT sha256, size, compression, data FROM bodies"):
        result.bodies += 1
        why = _body_problem(sha256, size, compression, data)
        if why:
            users = [r[0] for r in conn.execute("SELECT id FROM captures WHERE sha256 = ? ORDER BY id", [sha256])]
            used = f" (captures {', '.join(map(str, users))})" if users else " (no capture)"
            problem(f"body {sha256}{used}: {why}")


def _body_problem(sha256: str, size: int, compression: str, data: bytes | str | None) -> str | None:
    if not isinstance(data, bytes):
        return f"stored data is {type(data).__name__}, not bytes"
    try:
        data = bodies.unpack(compression, data)
    except bodies.BodyError as exc:
        return str(exc)
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        return f"bytes hash to {digest}, not to the recorded sha256"
    if size != len(data):
        return f"{len(data)} bytes, {size} recorded"
    return None


def _captures(conn: sqlite3.Connection, result: Verification, problem: Problem) -> None:
    result.captures = conn.execute("SELECT count(*) FROM captures").fetchone()[0]
    for capture_id, url, sha256 in conn.execute(
            "SELECT c.id, c.url, c.sha256 FROM captures c LEFT JOIN bodies b ON b.sha256 = c.sha256 "
            "WHERE c.sha256 IS NOT NULL AND b.sha256 IS NULL ORDER BY c.id"):
        problem(f"capture {capture_id} ({url}): its body {sha256} is missing")


def _reports(conn: sqlite3.Connection, result: Verification, problem: Problem) -> None:
    result.reports = conn.execute("SELECT count(*) FROM reports").fetchone()[0]
    for report_id, agency, year, source, capture_id in conn.execute(
            "SELECT r.id, r.agency, r.year, r.source_url, r.capture_id FROM reports r "
            "LEFT JOIN captures c ON c.id = r.capture_id WHERE c.id IS NULL ORDER BY r.id"):
        named = f"report {report_id} ({agency or '?'} {year or '?'}, {source or 'no source URL'})"
        if capture_id is None:
            problem(f"{named}: not linked to a capture")
        else:
            problem(f"{named}: its capture {capture_id} is missing")


# --- backup ------------------------------------------------------------------------------

def backup(source: str | Path, dest: str | Path, *, force: bool = False,
           on_problem: Problem | None = None) -> Verification:
    """Copy the archive at `source` to `dest` as one consistent state, while others write
    to it.  `dest` is replaced only by a copy that verifies; when the copy does not, the
    returned `Verification` says why and `dest` is left as it was.  A source that is not an
    archive, or a `dest` that cannot or must not be written, raises `ArchiveError`."""
    check(source)
    src, dst = Path(source), Path(dest)
    _check_destination(src, dest, force=force)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".partial", dir=dst.parent)
    except OSError as exc:
        raise ArchiveError(dest, f"cannot write in {dst.parent} ({exc.strerror})") from None
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, stat.S_IMODE(src.stat().st_mode))  # mkstemp makes it private; the copy reads like its source
    try:
        try:
            _copy(src, tmp)
        except sqlite3.DatabaseError as exc:  # the source's pages could not even be read
            result = Verification(str(dest))
            result.problems.append(f"copy: cannot be made ({exc})")
            if on_problem:
                on_problem(result.problems[-1])
            return result
        result = verify(tmp, on_problem)
        result.path = str(dest)
        if result.ok:
            os.replace(tmp, dst)
            _fsync_dir(dst.parent)
        return result
    finally:
        tmp.unlink(missing_ok=True)


def _check_destination(src: Path, dest: str | Path, *, force: bool) -> None:
    dst = Path(dest)
    if dst.resolve() == src.resolve() or (dst.exists() and os.path.samefile(dst, src)):
        raise ArchiveError(dest, "is the archive itself; back up to another file")
    if dst.is_dir():
        raise ArchiveError(dest, "is a directory; name the backup file")
    if dst.exists() and not force:
        raise ArchiveError(dest, "exists already (--force replaces it)")
    if not dst.parent.is_dir():
        raise ArchiveError(dest, f"directory {dst.parent} does not exist")


def _copy(src: Path, tmp: Path) -> None:
    """SQLite's online backup in one step (a stepwise one restarts whenever the crawl
    commits); the copy is then switched to a rollback journal so it is one standalone file."""
    source = connect_readonly(src)
    target = sqlite3.connect(tmp, isolation_level=None)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")
    finally:
        target.close()
        source.close()
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
