"""Every command that takes `--db`, given a path that is not an archive it can use, prints
one line `error: PATH: why` and exits 2: no traceback, and nothing created or changed
(no lock file, no empty database, no migration written into someone else's file)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT, free_port
from scraper import integrity, schema

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def text_file(folder: Path) -> Path:
    path = folder / "notes.txt"
    path.write_text("2021年政府信息公开工作年度报告，待整理\n", encoding="utf-8")
    return path


def png(folder: Path) -> Path:
    path = folder / "chart.png"
    path.write_bytes(PNG)
    return path


def other_sqlite(folder: Path) -> Path:
    """A browser history, say: SQLite with tables, none of them an archive's."""
    path = folder / "places.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
    conn.execute("INSERT INTO moz_places (url) VALUES ('http://127.0.0.1/')")
    conn.commit()
    conn.close()
    return path


def newer_archive(folder: Path) -> Path:
    """An archive as a later xxgk, with one more schema step than this one, wrote it."""
    path = folder / "newer.db"
    conn = sqlite3.connect(path)
    for statement in schema._statements(schema.MIGRATIONS[0]):
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version={len(schema.MIGRATIONS) + 1}")
    conn.commit()
    conn.close()
    return path


def directory(folder: Path) -> Path:
    path = folder / "archive-folder"
    path.mkdir()
    return path


def missing_file(folder: Path) -> Path:
    return folder / "archive.db"


def missing_dir(folder: Path) -> Path:
    return folder / "no" / "such" / "dir" / "archive.db"


def under_a_file(folder: Path) -> Path:
    return text_file(folder) / "archive.db"


def empty_file(folder: Path) -> Path:
    path = folder / "empty.db"
    path.write_bytes(b"")
    return path


def read_only_dir(folder: Path) -> Path:
    """A directory nobody may write in; as root (who may write anywhere chmod allows) a
    kernel file system that refuses new files."""
    ro = folder / "read-only"
    ro.mkdir()
    ro.chmod(0o555)
    for candidate in (ro, Path("/sys")):
        try:
            with tempfile.TemporaryFile(dir=candidate):
                pass
        except OSError:
            return candidate / "archive.db"
    pytest.skip("no directory here refuses new files")


ANY = {"text file": (text_file, "not an archive (not a SQLite database)"),
       "PNG": (png, "not an archive (not a SQLite database)"),
       "other program's SQLite": (other_sqlite, "not an archive (a SQLite database without captures or reports table)"),
       "newer schema": (newer_archive, f"archive schema version {len(schema.MIGRATIONS) + 1} is newer than this "
                                       f"xxgk knows ({len(schema.MIGRATIONS)}); upgrade xxgk"),
       "directory": (directory, "is a directory, not an archive file")}
MUST_EXIST = {"missing file": (missing_file, "no such file"),
              "missing dir": (missing_dir, "no such file"),
              "under a file": (under_a_file, "no such file"),
              "empty file": (empty_file, "is an empty file, not an archive")}
CREATES = {"missing dir": (missing_dir, "cannot create it: directory {parent} does not exist"),
           "under a file": (under_a_file, "cannot create it: {parent} is not a directory"),
           "read-only dir": (read_only_dir, "cannot write in {parent} (")}

READERS = ("reparse", "check", "serve", "verify", "backup")
WRITERS = ("crawl", "demo")
CASES = ([(c, bad) for c in READERS + WRITERS for bad in ANY] + [(c, bad) for c in READERS for bad in MUST_EXIST]
         + [(c, bad) for c in WRITERS for bad in CREATES])


def command(name: str, db: Path, folder: Path) -> list[str]:
    registry = folder / "sites.toml"  # a crawl that got past the check would ask a closed loopback port
    registry.write_text('[[site]]\nid = "closed"\nname = "某县人民政府"\nstart = ["http://127.0.0.1:9/"]\n',
                        encoding="utf-8")
    return {"crawl": ["crawl", "--db", str(db), "--registry", str(registry), "--retries", "0"],
            "reparse": ["reparse", "--db", str(db)],
            "check": ["check", "--db", str(db)],
            "serve": ["serve", "--db", str(db), "--port", str(free_port())],
            "verify": ["verify", "--db", str(db)],
            "backup": ["backup", str(folder / "backup.db"), "--db", str(db)],
            "demo": ["demo", "--db", str(db), "--no-serve"]}[name]


def snapshot(folder: Path) -> dict[str, tuple[bytes, int] | None]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns) if p.is_file() else None
            for p in sorted(folder.rglob("*"))}


def xxgk(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scraper", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("name,bad", CASES, ids=[f"{c}-{b}" for c, b in CASES])
def test_a_bad_archive_path_is_one_line_and_exit_2(tmp_path, name, bad):
    make, why = {**ANY, **(MUST_EXIST if name in READERS else CREATES)}[bad]
    db = make(tmp_path)
    args = command(name, db, tmp_path)
    before = snapshot(tmp_path)
    done = xxgk(args)
    assert "Traceback" not in done.stderr
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.endswith("\n") and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"error: {db}: " + why.format(parent=db.parent)), done.stderr
    assert done.stdout == ""
    assert snapshot(tmp_path) == before  # no lock, no database, no migration, no backup


def test_the_lock_file_that_cannot_be_made_is_one_line(tmp_path):
    """Where the archive is fine but its lock cannot be made (here: a directory in its way),
    the crawl stops there, before any request or write."""
    db = tmp_path / "archive.db"
    (tmp_path / "archive.db.lock").mkdir()
    args = command("crawl", db, tmp_path)
    before = snapshot(tmp_path)
    done = xxgk(args)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr == (f"error: {db}: cannot create the lock file {db}.lock (Is a directory)\n")
    assert snapshot(tmp_path) == before


def test_an_empty_file_becomes_a_new_archive(tmp_path):
    """`touch archive.db` (or `sqlite3 archive.db ''`) then a crawl: the documented choice is
    that an empty file is a fresh SQLite database, so crawl and demo take it as a new archive."""
    db = empty_file(tmp_path)
    done = xxgk(["demo", "--db", str(db), "--no-serve"])
    assert done.returncode == 0, done.stderr
    result = integrity.verify(db)
    assert result.ok and result.reports > 0


def test_an_empty_sqlite_database_is_a_new_archive_for_a_crawl_but_not_for_reparse(tmp_path):
    db = tmp_path / "blank.db"
    sqlite3.connect(db).execute("VACUUM").connection.close()  # a valid database file with no tables
    assert db.stat().st_size > 0
    done = xxgk(["reparse", "--db", str(db)])
    assert (done.returncode, done.stderr) == (2, f"error: {db}: is an empty SQLite database, not an archive\n")
    done = xxgk(command("crawl", db, tmp_path))
    assert done.returncode == 1, done.stderr  # the closed port is a failed site, reported as such
    assert "fetched 0" in done.stdout
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(schema.MIGRATIONS)
    conn.close()


def test_reading_never_writes_into_an_archive_it_refuses(tmp_path):
    """A newer archive refused: not one migration step applied, not even the WAL switch."""
    db = newer_archive(tmp_path)
    for name in READERS + WRITERS:
        assert xxgk(command(name, db, tmp_path)).returncode == 2
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(schema.MIGRATIONS) + 1
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'agencies'").fetchone()[0] == 0
    conn.close()
    assert sorted(os.listdir(tmp_path)) == ["newer.db", "sites.toml"]
