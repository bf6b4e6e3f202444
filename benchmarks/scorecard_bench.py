"""Scorecard benchmark (issue 12): the scorecard of a synthetic archive of N reports
(default 200,000, built by `archive_bench.build`: both template versions, every fact,
checks, late reports) computed and written by `scorecard.refresh`, then its Datasette
pages and queries timed through the real `datasette serve` of `xxgk serve` (live).

Targets on the 2-core machine: the whole scorecard computed and written < 120 s; every
scorecard page and query < 1 s (table page with its 13 facets, a point filter, the
ranking per region and year, the per-year shares the chart draws).  A second refresh
(nothing changed: nothing written) and a crawl's refresh of one agency's rows are timed
too.  The baseline, measured in the same run, is `xxgk check`'s cross-report checks
over the same archive (what the `continuous` point reads).

    .venv/bin/python benchmarks/scorecard_bench.py [--reports 200000] [--db /tmp/xxgk-bench/scorecard.db] [--keep]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from archive_bench import build, free_port, timed  # noqa: E402

from scraper import archive, scorecard, serve  # noqa: E402
from scraper.crosscheck import run_crosschecks  # noqa: E402

TARGET_COMPUTE, TARGET_QUERY = 120.0, 1.0


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reports", type=int, default=200_000)
    ap.add_argument("--db", default="/tmp/xxgk-bench/scorecard.db")
    ap.add_argument("--reuse", action="store_true", help="Time an archive built by an earlier run.")
    ap.add_argument("--keep", action="store_true", help="Keep the archive afterwards.")
    args = ap.parse_args()
    db_path = Path(args.db)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    if not (args.reuse and db_path.exists()):
        t0 = time.perf_counter()
        stats = build(db_path, args.reports)
        print(f"built {stats['reports']:,} reports ({stats['agencies']:,} agencies) in {time.perf_counter() - t0:.0f} s")
    db = archive.open_archive(db_path)
    db.execute("DELETE FROM scorecard")  # time the first computation, not an update

    t0 = time.perf_counter()
    found = run_crosschecks(db)
    baseline = time.perf_counter() - t0
    print(f"baseline: xxgk check's cross-report checks {baseline:.1f} s")

    t0 = time.perf_counter()
    first = scorecard.refresh(db)
    full = time.perf_counter() - t0
    print(f"scorecard, first computation: {first['graded']:,} agency-years in {full:.1f} s "
          f"(target {TARGET_COMPUTE:.0f} s -> {full / TARGET_COMPUTE:.2f} of target; {full / baseline:.1f}x baseline)")
    t0 = time.perf_counter()
    again = scorecard.refresh(db, found=found)
    print(f"scorecard, again with nothing changed: {again['changed']} rows written in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    rows, _ = scorecard.compute(db, sites=[], found=found)
    print(f"scorecard of a crawl's sites (none here: the scope query alone) in {time.perf_counter() - t0:.2f} s")
    with sqlite3.connect(db_path) as conn:
        conn.execute("ANALYZE")
        scored = conn.execute("SELECT count(*), count(score), avg(score) FROM scorecard").fetchone()
        region = conn.execute("SELECT region FROM scorecard WHERE region IS NOT NULL LIMIT 1 OFFSET 777").fetchone()[0]
    print(f"rows {scored[0]:,}, with a score {scored[1]:,}, mean score {scored[2]:.1f}")
    db.conn.close()

    port = free_port()
    proc = subprocess.Popen(serve.datasette_args(db_path, "127.0.0.1", port), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    name = db_path.stem
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/-/versions.json", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        cases = [
            ("scorecard.json", {}), ("scorecard", {}), ("scorecard.json", {"year": 2022}),
            ("scorecard.json", {"on_time": "fail", "year": 2021}), ("scorecard", {"region": region}),
            ("scorecard_rubric.json", {}),
            ("scorecard_ranking.json", {"year": 2022, "region": "", "level": ""}),
            ("scorecard_ranking.json", {"year": 2022, "region": region[:3], "level": "city"}),
            ("scorecard_ranking", {"year": 2022, "region": region, "level": ""}),
            ("scorecard_by_year.json", {"region": ""}), ("scorecard_by_year", {"region": region[:3]}),
        ]
        print(f"{'page':<26} {'parameters':<50} {'median':>8} {'max':>8} {'rows':>6} {'/target':>8}")
        worst = 0.0
        for page, params in cases:
            med, mx, n = timed(base, f"/{name}/{page}", params)
            worst = max(worst, mx / TARGET_QUERY)
            shown = ", ".join(f"{k}={v}" for k, v in params.items())
            print(f"{page:<26} {shown:<50} {med * 1000:>6.0f}ms {mx * 1000:>6.0f}ms {n:>6} {mx / TARGET_QUERY:>8.2f}")
        ok = worst <= 1 and full <= TARGET_COMPUTE
        print(f"compute {full:.1f} s of {TARGET_COMPUTE:.0f}; worst page max/target {worst:.2f} "
              f"({'all within target' if ok else 'OVER TARGET'})")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if not args.keep and not args.reuse:
            for suffix in ("", "-wal", "-shm"):
                p = Path(str(db_path) + suffix)
                if p.exists():
                    os.remove(p)


if __name__ == "__main__":
    main()
