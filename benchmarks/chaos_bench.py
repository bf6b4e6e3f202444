"""Chaos benchmark (issue 9): `xxgk crawl` of the fixture web SIGKILLed N times (default
20) at random moments while `xxgk serve` answers a poller asking every table, view and
canned query ten times a second; each kill is followed by the next run, the last runs to
the end.  The baseline, measured in the same run, is one uninterrupted crawl of the same
web into its own archive: the chaotic archive must equal it.

    .venv/bin/python benchmarks/chaos_bench.py [--kills 20] [--copies 2] [--seed 9]

Prints the kill moments, the poller's answers and non-200s, integrity_check, bodies that
no longer hash to their sha256, duplicated captures, and whether captures, documents,
reports, facts, checks and sections equal the baseline's.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from datasette_server import datasette  # noqa: E402
from live import Poller, content, crawl_with_kills, duplicate_captures, served_paths, stored_bodies_intact  # noqa: E402
from webserver import FIXTURE_WEB, fixture_registry, fixture_web  # noqa: E402

from scraper import archive  # noqa: E402


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--copies", type=int, default=2, help="Serve each fixture agency this many times.")
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("--delay", type=float, default=0.05)
    args = ap.parse_args()
    expected = json.loads((FIXTURE_WEB / "expected.json").read_text(encoding="utf-8"))
    tmp = Path(tempfile.mkdtemp(prefix="xxgk-chaos-"))
    reference, db, registry = tmp / "reference.db", tmp / "archive.db", tmp / "sites.toml"

    def cmd(path: Path) -> list[str]:
        return [sys.executable, "-m", "scraper", "crawl", "--db", str(path), "--registry", str(registry),
                "--retries", "0"]

    with fixture_web(latency=0.02, copies=args.copies) as servers:
        registry.write_text(fixture_registry(servers, args.delay, expected), encoding="utf-8")
        t0 = time.monotonic()
        base_run = subprocess.run(cmd(reference), cwd=ROOT, capture_output=True, text=True, timeout=900)
        span = time.monotonic() - t0
        print(f"baseline: one uninterrupted crawl of {len(servers)} hosts in {span:.1f} s, exit {base_run.returncode}: "
              f"{base_run.stdout.strip().splitlines()[-1] if base_run.stdout.strip() else '?'}")
        archive.open_archive(db).conn.close()
        with datasette(db) as base:
            paths = served_paths(reference)
            t0 = time.monotonic()
            with Poller(base, paths, rate=10) as poller:
                chaos = crawl_with_kills(cmd(db), ROOT, args.kills, span, random.Random(args.seed))
            poller.cycle()
            took = time.monotonic() - t0
    print(f"chaos: {args.kills} SIGKILLs at " + ", ".join(f"{m:.2f}" for m in chaos.moments)
          + f" s; {chaos.finished_early} runs ended before their kill; last run exit {chaos.final_exit}; {took:.1f} s")
    print(f"serving: {poller.answers} answers over {len(paths)} paths, {len(poller.failures)} not 200"
          + (f" (first: {poller.failures[0]})" if poller.failures else ""))
    conn = sqlite3.connect(db)
    integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    conn.close()
    bad, dupes = stored_bodies_intact(db), duplicate_captures(db)
    got, want = content(db), content(reference)
    same = {k: got[k] == want[k] for k in want}
    n_facts = sum(len(v[5]) for versions in want["reports"].values() for v in versions)
    print(f"integrity_check: {integrity}; bodies not matching their sha256: {len(bad)}; duplicated captures: {len(dupes)}")
    print(f"equal to the baseline: captured bodies {same['bodies']} ({len(want['bodies'])}), documents "
          f"{same['documents']} ({len(want['documents'])}), reports with facts, checks and sections "
          f"{same['reports']} ({len(want['reports'])} documents, {n_facts} facts)")
    ok = (integrity == "ok" and not bad and not dupes and all(same.values()) and not poller.failures
          and chaos.final_exit == 0)
    print(f"chaos: {'nothing lost' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
