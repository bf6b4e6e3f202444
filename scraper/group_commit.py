"""Many units of work per commit, each unit still all-or-nothing.

A crawl commits every URL's outcome (its captures, report and frontier state) as one
unit.  Committing each unit on its own costs a WAL write of every page it touched and,
worse, a new segment in each full-text index, which FTS5 then merges again and again:
at a few hundred reports a second that was half of the crawl process's CPU.  Here units
are savepoints inside one transaction, committed once `every` seconds have passed (and
by `flush`, which the crawl calls on a timer, so readers of the live archive see new
reports within about that long and the write lock is never held while the crawl waits).
A unit that raises is rolled back alone; a kill loses at most the last `every` seconds,
never half a unit.  `before_commit` does the batch's work that must not run inside a
savepoint: the archive indexes the batch's new sections there (FTS5 writes a segment at
every savepoint; schema step 17).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class GroupCommit:
    def __init__(self, conn: sqlite3.Connection, every: float = 0.25,
                 before_commit: Callable[[sqlite3.Connection], None] | None = None) -> None:
        self.conn = conn
        self.every = every
        self.before_commit = before_commit  # batch-wide work, outside every unit's savepoint
        self.began: float | None = None  # when the open transaction began (None: none open by us)

    @contextmanager
    def unit(self) -> Iterator[None]:
        """One unit of work: kept whole or not at all; commits when the batch is old enough."""
        conn = self.conn
        if not conn.in_transaction:
            conn.execute("BEGIN")
            self.began = time.monotonic()
        conn.execute("SAVEPOINT unit")
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK TO unit")
                conn.execute("RELEASE unit")
            else:  # SQLite rolled the whole batch back itself (disk full, I/O error)
                self.began = None
            raise
        conn.execute("RELEASE unit")
        if self.began is not None and time.monotonic() - self.began >= self.every:
            self.flush()

    def flush(self) -> None:
        """Commit what the units so far wrote (a transaction someone else began is theirs)."""
        if self.began is not None and self.conn.in_transaction:
            if self.before_commit is not None:
                try:
                    self.before_commit(self.conn)
                except BaseException:  # the batch goes whole or not at all, as a kill would leave it
                    if self.conn.in_transaction:
                        self.conn.rollback()
                    self.began = None
                    raise
            self.conn.commit()
        self.began = None
