"""Group commit (scraper/group_commit.py): units are savepoints of one transaction."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from conftest import ROOT
from scraper.group_commit import GroupCommit


@pytest.fixture()
def conns(tmp_path):
    path = tmp_path / "a.db"
    writer = sqlite3.connect(path)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE t (x INTEGER)")
    writer.commit()
    reader = sqlite3.connect(path)
    yield writer, reader
    writer.close()
    reader.close()


def rows(conn) -> list[int]:
    return [x for (x,) in conn.execute("SELECT x FROM t ORDER BY x")]


def test_a_failed_unit_is_rolled_back_alone(conns):
    writer, reader = conns
    commits = GroupCommit(writer, every=3600)
    with commits.unit():
        writer.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(RuntimeError):
        with commits.unit():
            writer.execute("INSERT INTO t VALUES (2)")
            raise RuntimeError("a parser bug")
    with commits.unit():
        writer.execute("INSERT INTO t VALUES (3)")
    assert rows(reader) == []  # not committed yet: the batch is younger than `every`
    commits.flush()
    assert rows(reader) == [1, 3]
    assert not writer.in_transaction


def test_the_batch_commits_once_it_is_old_enough(conns):
    writer, reader = conns
    commits = GroupCommit(writer, every=0)
    with commits.unit():
        writer.execute("INSERT INTO t VALUES (1)")
    assert rows(reader) == [1] and not writer.in_transaction


def test_a_transaction_someone_else_began_is_left_to_them(conns):
    writer, reader = conns
    commits = GroupCommit(writer, every=0)
    writer.execute("BEGIN")
    with commits.unit():
        writer.execute("INSERT INTO t VALUES (1)")
    commits.flush()
    assert writer.in_transaction and rows(reader) == []
    writer.rollback()
    assert rows(reader) == []


def test_a_killed_writer_leaves_whole_batches(tmp_path):
    """What was committed stays; the open batch is gone as a whole, never half a unit."""
    path = tmp_path / "a.db"
    script = f"""
import sqlite3, os, signal
from scraper.group_commit import GroupCommit
c = sqlite3.connect({str(path)!r}); c.execute("PRAGMA journal_mode=WAL"); c.execute("CREATE TABLE t (x INTEGER)"); c.commit()
g = GroupCommit(c, every=3600)
with g.unit():
    c.execute("INSERT INTO t VALUES (1)"); c.execute("INSERT INTO t VALUES (2)")
g.flush()
with g.unit():
    c.execute("INSERT INTO t VALUES (3)")
c.execute("SAVEPOINT unit"); c.execute("INSERT INTO t VALUES (4)")
os.kill(os.getpid(), signal.SIGKILL)
"""
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT)
    assert proc.returncode == -9
    assert rows(sqlite3.connect(path)) == [1, 2]


def test_before_commit_runs_once_per_batch_outside_the_units(conns):
    """`before_commit` (the archive indexes the batch's sections there) sees the batch's
    rows with no savepoint open; if it fails, the batch goes whole, as a kill would leave it."""
    writer, reader = conns
    seen = []

    def before(conn):
        seen.append(rows(conn))
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == len(seen[-1])
        with pytest.raises(sqlite3.OperationalError, match="no such savepoint"):
            conn.execute("RELEASE unit")  # no unit's savepoint is open here

    commits = GroupCommit(writer, every=3600, before_commit=before)
    for x in (1, 2):
        with commits.unit():
            writer.execute("INSERT INTO t VALUES (?)", [x])
    commits.flush()
    assert seen == [[1, 2]] and rows(reader) == [1, 2]

    def failing(conn):
        raise OSError("disk full")

    commits = GroupCommit(writer, every=3600, before_commit=failing)
    with commits.unit():
        writer.execute("INSERT INTO t VALUES (3)")
    with pytest.raises(OSError):
        commits.flush()
    assert not writer.in_transaction and rows(reader) == [1, 2]
    commits.before_commit = None
    with commits.unit():  # the next batch starts afresh
        writer.execute("INSERT INTO t VALUES (4)")
    commits.flush()
    assert rows(reader) == [1, 2, 4]
