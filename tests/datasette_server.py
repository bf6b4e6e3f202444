"""The real Datasette over an archive (`xxgk serve` in a subprocess on a free loopback
port), and the fixture archive the serving tests share: the crawled demo archive plus a
hostile title and an agency name that resolves to nothing."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

from conftest import ROOT, free_port

XSS_TITLE = ('白水县人民政府2019年政府信息公开工作年度报告<script>window.__xss = 1</script>'
             '<img src=x onerror="window.__xss = 2">')


def build_fixture_archive(demo_archive: Path, folder: Path) -> Path:
    from parsers import Report
    from scraper import archive

    db_path = folder / "archive.db"
    shutil.copy(demo_archive, db_path)
    db = archive.open_archive(db_path)
    facts = {"applications.new_received.total": 3, "applications.carried_forward.total": 0}
    archive.save_report(db, Report(source="http://127.0.0.1:9/xss.html", title=XSS_TITLE, agency="白水县人民政府",
                                   year=2019, version="2019", kind="government", published="2020-03-01",
                                   facts=facts, sections={"overview": "本年度开展了一次公开培训，防止<script>注入。"}),
                        site_id="baishui", capture_id=None, sha256=None)
    archive.save_report(db, Report(source="http://127.0.0.1:9/heishan.html", title="黑山县教育局2021年政府信息公开工作年度报告",
                                   agency="黑山县教育局", year=2021, version="2021", kind="agency",
                                   published="2022-01-10", facts={"applications.new_received.total": 2}),
                        site_id=None, capture_id=None, sha256=None)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return db_path


@contextlib.contextmanager
def datasette(db_path: Path, *args: str) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "scraper", "serve", "--db", str(db_path), "--port", str(port), *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                urllib.request.urlopen(base + "/-/versions.json", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(proc.stdout.read().decode())
                if time.monotonic() > deadline:
                    raise RuntimeError("datasette did not start")
                time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
