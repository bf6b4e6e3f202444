"""What the live-archive tests and the chaos benchmark share: a poller that asks a served
archive for every table, view and canned query while something writes to it, and the
comparison of an archive's content that must not depend on how often a crawl was killed."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from scraper.bodies import unpack
from scraper.serve import metadata

# values for the canned queries' parameters (any other parameter: empty)
QUERY_PARAMS = {"agency": "县", "year": "2021", "q": "公开", "rule": "", "region": "", "level": ""}


def served_paths(db_path: Path, db_name: str = "archive") -> list[str]:
    """Every table and view of the archive and every canned query, as JSON, plus the
    pages a person opens first."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        names = [n for (n,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE 'sections_fts_%' AND name NOT LIKE 'sections_bigrams_%' ORDER BY name")]
    finally:
        conn.close()
    paths = ["/", f"/{db_name}", f"/{db_name}/reports_overview"]
    paths += [f"/{db_name}/{n}.json?_size=5" for n in names]
    for name, query in metadata(db_name)["databases"][db_name].get("queries", {}).items():
        params = {p: QUERY_PARAMS.get(p, "") for p in dict.fromkeys(re.findall(r":(\w+)", query["sql"]))}
        paths.append(f"/{db_name}/{name}.json?" + urllib.parse.urlencode(params))
    return paths


@dataclass
class Poller:
    """Requests `paths` round-robin at about `rate` per second in a thread; records every
    answer that is not a 200, and the served report count over time."""
    base: str
    paths: list[str]
    rate: float = 10.0
    answers: int = 0
    failures: list[tuple[str, int, str]] = field(default_factory=list)
    report_counts: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _get(self, path: str) -> None:
        try:
            with urllib.request.urlopen(self.base + path, timeout=30) as r:
                body = r.read()
                status = r.status
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
        except OSError as exc:
            status, body = 0, str(exc).encode()
        self.answers += 1
        if status != 200:
            self.failures.append((path, status, body[:300].decode("utf-8", "replace")))
        elif path.startswith("/archive/reports.json"):
            self.report_counts.append(json.loads(body)["filtered_table_rows_count"])

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            t0 = time.monotonic()
            self._get(self.paths[i % len(self.paths)])
            i += 1
            self._stop.wait(max(0.0, 1 / self.rate - (time.monotonic() - t0)))

    def __enter__(self) -> "Poller":
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def cycle(self) -> None:
        """One more request of every path (what the served archive says now)."""
        for path in self.paths:
            self._get(path)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)


def served_count(base: str, name: str, db_name: str = "archive") -> int | None:
    with urllib.request.urlopen(f"{base}/{db_name}/{name}.json?_size=0", timeout=30) as r:
        return json.loads(r.read())["filtered_table_rows_count"]


def content(db_path: Path) -> dict:
    """What a crawl made of the web, independent of capture and report ids and of when
    things were fetched: reports with their facts, checks and sections, the documents'
    outcomes, and the captured bodies."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        reports = {}
        for rid, url, agency, year, version, title, current in conn.execute(
                "SELECT id, source_url, agency, year, version, title, current FROM reports"):
            facts = sorted(conn.execute("SELECT key, value, raw FROM facts WHERE report_id = ?", [rid]))
            checks = sorted(conn.execute("SELECT rule, ok, detail FROM checks WHERE report_id = ?", [rid]))
            sections = sorted(conn.execute("SELECT section, text FROM sections WHERE report_id = ?", [rid]))
            reports.setdefault(url, []).append((agency, year, version, title, current, facts, checks, sections))
        return {
            "reports": {u: sorted(v, key=repr) for u, v in reports.items()},
            "documents": sorted(conn.execute("SELECT url, outcome FROM documents")),
            "bodies": sorted(conn.execute("SELECT DISTINCT url, sha256 FROM captures WHERE status = 200 "
                                          "AND role != 'robots'")),
        }
    finally:
        conn.close()


def stored_bodies_intact(db_path: Path) -> list[str]:
    """The sha256 of every stored body that no longer hashes to it (empty: all intact)."""
    import hashlib

    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        bad = []
        for sha, compression, data in conn.execute("SELECT sha256, compression, data FROM bodies"):
            raw = unpack(compression, data)
            if hashlib.sha256(raw).hexdigest() != sha:
                bad.append(sha)
        return bad
    finally:
        conn.close()


def duplicate_captures(db_path: Path) -> list[tuple]:
    """Captures stored twice: the same URL answered with the same body twice in one run
    (a killed run's in-flight URLs are asked again by the rerun, but only one answer may
    have been committed)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT run_id, url, sha256, count(*) FROM captures WHERE role != 'robots' "
                            "GROUP BY run_id, url, sha256, status HAVING count(*) > 1").fetchall()
    finally:
        conn.close()


@dataclass
class Chaos:
    """`kills` crawls SIGKILLed at random moments, each followed by the next crawl, and a
    last one left to finish; `moments` are the seconds after start of each kill."""
    kills: int
    moments: list[float] = field(default_factory=list)
    finished_early: int = 0  # crawls that were done before their kill came
    final_exit: int | None = None


def crawl_with_kills(cmd: list[str], cwd: Path, kills: int, span: float, rng) -> Chaos:
    """Run `cmd` (an `xxgk crawl`) `kills` times, each SIGKILLed after a random moment in
    [0, span) seconds, then once to the end."""
    import signal
    import subprocess

    chaos = Chaos(kills)
    for _ in range(kills):
        moment = rng.uniform(0, span)
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=moment)
            chaos.finished_early += 1
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        chaos.moments.append(moment)
    chaos.final_exit = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      timeout=300).returncode
    return chaos
