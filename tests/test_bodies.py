"""How bodies are stored (scraper/bodies.py): zstd now, zlib in older archives, both read;
damaged bytes are named, never returned as a body; reparse keeps what a damaged body gave."""

from __future__ import annotations

import logging
import shutil
import sqlite3
import zlib

import pytest

from conftest import FIXTURES
from scraper import archive, bodies, reparse


def test_a_report_page_packs_small_and_comes_back_byte_for_byte():
    page = (FIXTURES / "reports" / "donghu-wjw-2021-60k.html").read_bytes()
    packed = bodies.pack(page)
    assert bodies.COMPRESSION == "zstd" and packed[:4] == b"\x28\xb5\x2f\xfd"  # a zstd frame
    assert len(packed) * 4 < len(page)
    assert bodies.unpack("zstd", packed) == page
    assert bodies.unpack("zlib", zlib.compress(page)) == page  # an archive from before
    assert bodies.unpack("identity", page) == page and bodies.unpack(None, b"") == b""


@pytest.mark.parametrize(("compression", "data", "why"), [
    ("zstd", b"\x28\xb5\x2f\xfd not a frame", "does not decompress"),
    ("zstd", bodies.pack(b"x" * 1000)[:-6], "does not decompress"),  # cut short
    ("zlib", b"\x78\x9c not deflate", "does not decompress"),
    ("brotli", b"...", "unknown compression 'brotli'"),
])
def test_damaged_or_unknown_bytes_are_named(compression, data, why):
    with pytest.raises(bodies.BodyError, match=why):
        bodies.unpack(compression, data)


@pytest.mark.parametrize("jobs", [1, 2])
def test_reparse_keeps_the_reports_of_a_damaged_body(demo_archive, tmp_path, caplog, jobs):
    db_path = tmp_path / "a.db"
    shutil.copy(demo_archive, db_path)
    conn = sqlite3.connect(db_path)
    capture_id, sha = conn.execute("SELECT capture_id, sha256 FROM reports WHERE capture_id IS NOT NULL "
                                   "ORDER BY id LIMIT 1").fetchone()
    stored = conn.execute("SELECT compression FROM bodies WHERE sha256 = ?", [sha]).fetchone()[0]
    assert stored == "zstd"  # the demo crawl wrote it
    before = conn.execute("SELECT count(*) FROM reports WHERE capture_id = ?", [capture_id]).fetchone()[0]
    with conn:
        conn.execute("UPDATE bodies SET data = ? WHERE sha256 = ?", [b"\x28\xb5\x2f\xfd damaged", sha])
    conn.close()
    db = archive.open_archive(db_path)
    with caplog.at_level(logging.ERROR, logger="xxgk.reparse"):
        reparse.reparse_all(db, jobs=jobs)
    assert db.execute("SELECT count(*) FROM reports WHERE capture_id = ?", [capture_id]).fetchone()[0] == before > 0
    assert f"capture {capture_id}: archived body does not decompress" in caplog.text
    db.conn.close()
