"""Nothing lost under faults (issue 9): `xxgk crawl` SIGKILLed again and again at random
moments (while fetching, parsing, writing) while `xxgk serve` keeps answering, each kill
followed by a rerun; the archive ends intact and equal to an uninterrupted crawl's.
The full 20 kills, with figures, are `benchmarks/chaos_bench.py`."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import time

from conftest import ROOT
from scraper import archive
from datasette_server import datasette
from live import Poller, content, crawl_with_kills, duplicate_captures, served_paths, stored_bodies_intact
from webserver import fixture_registry, fixture_web

from test_crawl_web import DELAY, EXPECTED

KILLS = 6


def test_sigkilled_crawls_lose_nothing_while_serving(tmp_path):
    reference, db = tmp_path / "reference.db", tmp_path / "archive.db"
    registry = tmp_path / "sites.toml"

    def cmd(path):
        return [sys.executable, "-m", "scraper", "crawl", "--db", str(path), "--registry", str(registry),
                "--retries", "0"]

    with fixture_web(latency=0.02) as servers:
        registry.write_text(fixture_registry(servers, DELAY, EXPECTED), encoding="utf-8")
        t0 = time.monotonic()
        assert subprocess.run(cmd(reference), cwd=ROOT, capture_output=True, timeout=300).returncode == 0
        span = time.monotonic() - t0
        # the archive exists (schema only) so that it can be served from the start
        archive.open_archive(db).conn.close()
        with datasette(db) as base:
            with Poller(base, served_paths(reference), rate=10) as poller:
                chaos = crawl_with_kills(cmd(db), ROOT, KILLS, span, random.Random(9))
            poller.cycle()
    assert chaos.final_exit == 0
    assert chaos.finished_early < KILLS  # most kills landed mid-crawl
    assert poller.failures == [], poller.failures[:5]
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    assert stored_bodies_intact(db) == []
    assert duplicate_captures(db) == []
    got, want = content(db), content(reference)
    assert got["bodies"] == want["bodies"]  # no capture missing, none extra
    assert got["documents"] == want["documents"]
    assert got["reports"] == want["reports"]  # reports, facts, checks and sections
