"""One writer per archive: a crawl takes an exclusive lock file beside the database."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from .archive_file import ArchiveError


class Locked(RuntimeError):
    """Another process holds the archive's lock (exit code 3)."""


class ArchiveLock:
    def __init__(self, db_path: str | Path) -> None:
        self.db_path = db_path
        self.path = Path(str(db_path) + ".lock")
        self.fd: int | None = None

    def __enter__(self) -> "ArchiveLock":
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # the first thing a crawl creates: where it fails, nothing is left behind
            raise ArchiveError(self.db_path, f"cannot create the lock file {self.path} ({exc.strerror})") from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(self.fd)
            self.fd = None
            raise Locked(f"{self.path}: another crawl is writing this archive") from exc
        os.ftruncate(self.fd, 0)
        os.write(self.fd, f"{os.getpid()}\n".encode())
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
