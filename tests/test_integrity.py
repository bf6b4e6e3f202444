"""`xxgk verify` names what is damaged in an archive and never writes to it; `xxgk backup`
copies a consistent state while another process writes, and only a copy that verifies
becomes DEST."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from scraper import archive, bodies, integrity, schema


def xxgk(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """The real command line, as cron runs it."""
    return subprocess.run([sys.executable, "-m", "scraper", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


@pytest.fixture
def db(demo_archive, tmp_path) -> Path:
    path = tmp_path / "archive.db"
    shutil.copy(demo_archive, path)
    return path


def edit(path: Path, *statements: tuple[str, list]) -> None:
    """Damage the archive behind xxgk's back, as a disk or a careless hand would."""
    conn = sqlite3.connect(path)
    for sql, params in statements:
        conn.execute(sql, params)
    conn.commit()
    conn.close()


def a_report_capture(path: Path) -> tuple[int, int, str]:
    conn = sqlite3.connect(path)
    row = conn.execute("SELECT r.id, c.id, c.sha256 FROM reports r JOIN captures c ON c.id = r.capture_id "
                       "ORDER BY r.id LIMIT 1").fetchone()
    conn.close()
    return row


def counted(path: Path) -> str:
    conn = sqlite3.connect(path)
    n = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("bodies", "captures", "reports")]
    conn.close()
    assert all(n)
    return f"{n[0]} bodies, {n[1]} captures, {n[2]} reports checked"


def test_a_whole_archive_verifies(db):
    before = fingerprint(db)
    done = xxgk("verify", "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout == f"{db}: ok ({counted(db)})\n"
    assert fingerprint(db) == before  # never writes, not even a checkpoint


def test_a_tampered_body_is_named_with_its_captures(db):
    _, capture_id, sha = a_report_capture(db)
    edit(db, ("UPDATE bodies SET data = ? WHERE sha256 = ?", [bodies.pack(b"<html>tampered</html>"), sha]))
    before = fingerprint(db)
    done = xxgk("verify", "--db", str(db))
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"damaged: body {sha} (captures ")
    assert str(capture_id) in lines[0].split(")")[0] and "not to the recorded sha256" in lines[0]
    assert done.stdout == f"{db}: damaged, 1 problem ({counted(db)})\n"
    assert fingerprint(db) == before


def test_a_body_that_does_not_decompress_is_named(db):
    _, _, sha = a_report_capture(db)
    edit(db, ("UPDATE bodies SET data = ? WHERE sha256 = ?", [b"\x28\xb5\x2f\xfd not zstd at all", sha]))
    result = integrity.verify(db)
    assert len(result.problems) == 1
    assert result.problems[0].startswith(f"body {sha} (captures ") and "does not decompress" in result.problems[0]


def test_a_report_whose_capture_is_gone_is_named(db):
    report_id, capture_id, _ = a_report_capture(db)
    edit(db, ("DELETE FROM documents WHERE capture_id = ?", [capture_id]),
         ("DELETE FROM report_sources WHERE capture_id = ?", [capture_id]),
         ("DELETE FROM captures WHERE id = ?", [capture_id]))
    result = integrity.verify(db)
    assert not result.ok
    named = [p for p in result.problems if p.startswith(f"report {report_id} (")]
    assert len(named) == 1 and named[0].endswith(f": its capture {capture_id} is missing")
    # the broken reference is also what SQLite's foreign key check sees
    assert f"foreign key: 1 reports rows point at a missing captures row (rowid {report_id})" in result.problems


def test_a_report_not_linked_to_a_capture_is_named(db):
    from parsers import Report

    adb = archive.open_archive(db)
    report_id = archive.save_report(adb, Report(source="http://127.0.0.1:9/typed-in.html", agency="黑山县教育局",
                                                year=2021, version="2021", kind="agency"),
                                    site_id=None, capture_id=None, sha256=None)
    adb.conn.close()
    result = integrity.verify(db)
    assert result.problems == [f"report {report_id} (黑山县教育局 2021, http://127.0.0.1:9/typed-in.html): "
                               "not linked to a capture"]


def test_a_capture_whose_body_is_gone_is_named(db):
    _, capture_id, sha = a_report_capture(db)
    edit(db, ("DELETE FROM bodies WHERE sha256 = ?", [sha]))
    result = integrity.verify(db)
    assert any(p.startswith(f"capture {capture_id} (") and p.endswith(f"its body {sha} is missing")
               for p in result.problems)


def test_damaged_pages_are_named_without_a_traceback(db):
    conn = sqlite3.connect(db)
    page_size, pages = (conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_size", "page_count"))
    # the page nearest the middle of the file that holds rows of a table (not of an index)
    page, table = conn.execute("SELECT pageno, name FROM dbstat WHERE name IN (SELECT name FROM sqlite_master "
                               "WHERE type = 'table') ORDER BY abs(pageno - ?) LIMIT 1", [pages // 2]).fetchone()
    conn.close()
    with open(db, "r+b") as f:  # a whole page in the middle of the file overwritten
        f.seek((page - 1) * page_size)
        f.write(b"\xa5" * page_size)
    before = fingerprint(db)
    done = xxgk("verify", "--db", str(db))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("damaged: ") and all(
        line.startswith("damaged: ") for line in done.stderr.splitlines())
    assert f"damaged: integrity: table {table}: " in done.stderr  # where the damage is
    assert "damaged, " in done.stdout.splitlines()[-1]
    assert fingerprint(db) == before


def test_a_damaged_schema_page_is_named(db):
    conn = sqlite3.connect(db)
    page = conn.execute("SELECT max(pageno) FROM dbstat WHERE name = 'sqlite_schema'").fetchone()[0]
    conn.close()
    with open(db, "r+b") as f:
        f.seek((page - 1) * 4096)
        f.write(b"\xa5" * 4096)
    result = integrity.verify(db)
    assert not result.ok and result.problems[0].startswith(("schema: cannot be read", "integrity: "))


def test_verify_refuses_what_is_not_an_archive(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not an archive\n")
    done = xxgk("verify", "--db", str(notes))
    assert done.returncode == 2
    assert done.stderr == f"error: {notes}: not an archive (not a SQLite database)\n"


# --- backup ------------------------------------------------------------------------------

WRITER = """
import hashlib, sys
from scraper import archive

db = archive.open_archive(sys.argv[1])
i = 0
while True:
    data = (f"<html>capture {i} of the writer</html>" * 40).encode()
    sha = hashlib.sha256(data).hexdigest()
    archive.add_capture(db, {"url": f"http://127.0.0.1:9/w{i}.html", "fetched_at": archive.now(), "status": 200,
                             "content_type": "text/html", "sha256": sha, "size": len(data)}, data)
    i += 1
    if i == 30:
        print("writing", flush=True)
"""


@pytest.fixture
def writer(db):
    """Another process committing captures to the archive, one small transaction each, until stopped."""
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def count(path: Path, table: str) -> int:
    conn = integrity.connect_readonly(path)
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


def test_backup_while_another_process_writes(db, writer, tmp_path):
    before = count(db, "captures")
    dest_dir = tmp_path / "backups"
    dest_dir.mkdir()
    dest = dest_dir / "archive-copy.db"
    done = xxgk("backup", str(dest), "--db", str(db))
    assert writer.poll() is None  # still writing when the backup was done
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"backed up {db} to {dest}: ok (")
    assert sorted(p.name for p in dest_dir.iterdir()) == ["archive-copy.db"]  # no -wal, no leftover partial
    assert integrity.verify(dest).ok
    copy = sqlite3.connect(dest)
    assert copy.execute("PRAGMA user_version").fetchone()[0] == len(schema.MIGRATIONS)
    assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    copied = copy.execute("SELECT count(*) FROM captures").fetchone()[0]
    copy.close()
    assert copied >= before > 30
    assert copied <= count(db, "captures")  # a state the archive really passed through


def test_verify_while_another_process_writes(db, writer):
    before = count(db, "captures")
    done = xxgk("verify", "--db", str(db))
    assert done.returncode == 0, done.stderr
    checked = int(done.stdout.split(" bodies, ")[1].split(" captures")[0])
    assert checked >= before


def test_backup_refuses_to_overwrite_unless_forced(db, tmp_path):
    dest = tmp_path / "backup.db"
    dest.write_bytes(b"yesterday's backup")
    done = xxgk("backup", str(dest), "--db", str(db))
    assert done.returncode == 2
    assert done.stderr == f"error: {dest}: exists already (--force replaces it)\n"
    assert dest.read_bytes() == b"yesterday's backup"
    done = xxgk("backup", str(dest), "--db", str(db), "--force")
    assert done.returncode == 0, done.stderr
    assert integrity.verify(dest).ok and count(dest, "reports") == count(db, "reports")


def files(folder: Path) -> list[str]:
    """What is in `folder`, but the -wal and -shm files SQLite itself makes beside a WAL
    archive for any reader (a read-only connection cannot remove them again)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if not p.name.endswith(("-wal", "-shm")))


@pytest.mark.parametrize("where", ["missing dir", "the archive itself", "a directory"])
def test_backup_destination_problems_are_one_line(db, tmp_path, where):
    dest = {"missing dir": tmp_path / "no" / "such" / "dir" / "backup.db",
            "the archive itself": tmp_path / "." / "archive.db",
            "a directory": tmp_path}[where]
    listing = files(tmp_path)
    before = fingerprint(db)
    done = xxgk("backup", str(dest), "--db", str(db))
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {dest}: ") and done.stderr.count("\n") == 1
    assert files(tmp_path) == listing
    assert fingerprint(db) == before


def test_a_copy_that_does_not_verify_never_becomes_dest(db, tmp_path):
    _, _, sha = a_report_capture(db)
    edit(db, ("UPDATE bodies SET data = ? WHERE sha256 = ?", [bodies.pack(b"tampered"), sha]))
    dest_dir = tmp_path / "backups"
    dest_dir.mkdir()
    dest = dest_dir / "backup.db"
    done = xxgk("backup", str(dest), "--db", str(db))
    assert done.returncode == 1
    assert done.stderr.startswith(f"damaged: body {sha} ")
    assert done.stdout.startswith(f"not backed up: the copy of {db} does not verify")
    assert list(dest_dir.iterdir()) == []
    # and a forced backup over an older good copy leaves that copy alone
    dest.write_bytes(b"the last good backup")
    assert xxgk("backup", str(dest), "--db", str(db), "--force").returncode == 1
    assert dest.read_bytes() == b"the last good backup"
    assert sorted(p.name for p in dest_dir.iterdir()) == ["backup.db"]
