"""Reparse benchmark (issue 16): `xxgk reparse --jobs 1` against `--jobs 2` on the same
archive, in the same run.

    .venv/bin/python benchmarks/reparse_bench.py [--copies 8] [--repeats 3] [--keep PATH]

The archive: every fixture report (fixtures/reports: the 48 quirk reports, the seed, the
legacy column pages, the 60 KB and 350 KB Word exports) archived `--copies` times as
report captures under distinct URLs, as a crawl would have stored them.  Each run is the
real command (`xxgk reparse`, a fresh process, pool start-up included; the project's
bytecode compiled first, as an installed package has it) on a fresh copy of the archive; the two job counts alternate so a change in machine load hits both.  Prints
seconds, reports/s and CPU seconds per run (the machine is shared: compare within
one run only), the median speed-up of the whole command (target >= 1.6x on 2 cores) and checks
that both wrote the same reports, facts, checks and sections.
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scraper import archive  # noqa: E402
from scraper.registry import Site  # noqa: E402

TARGET = 1.6
XXGK = str(Path(sys.executable).with_name("xxgk"))


def build(path: Path, copies: int) -> int:
    """An archive with every fixture report `copies` times as a capture, parsed; returns
    the number of captures."""
    db = archive.open_archive(path)
    archive.upsert_sites(db, [Site(id="bench", name="青山市", region="青山市", level="city",
                                   start=["http://127.0.0.1/"], allow=["127.0.0.1"])])
    files = sorted(p for p in (ROOT / "fixtures" / "reports").iterdir() if p.suffix in (".html", ".txt"))
    n = 0
    for copy in range(copies):
        for f in files:
            data = f.read_bytes()
            ctype = "text/html; charset=utf-8" if f.suffix == ".html" else "text/plain; charset=utf-8"
            archive.add_capture(db, {"site_id": "bench", "url": f"http://127.0.0.1/c{copy}/{f.name}", "role": "report",
                                     "fetched_at": archive.now(), "status": 200, "content_type": ctype,
                                     "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}, data)
            n += 1
    db.conn.close()
    # parsed once, as a crawl leaves them: a reparse replaces reports that exist
    done = subprocess.run([XXGK, "reparse", "--db", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"xxgk reparse failed ({done.returncode}): {done.stderr[-2000:]}")
    return n


def compile_bytecode() -> None:
    """Bytecode for the project's own modules, as `pip install` leaves an installed package.
    Where PYTHONDONTWRITEBYTECODE is set (it is on the project's machines) an editable
    checkout is otherwise compiled from source at every start: 0.1 s of each run of
    either job count, which says nothing about parsing in parallel."""
    for package in ("parsers", "scraper"):
        compileall.compile_dir(ROOT / package, quiet=1)


def fingerprint(path: Path) -> tuple[int, int, str]:
    """Reports, facts and a digest of everything derived (report ids replaced by captures)."""
    conn = sqlite3.connect(path)
    of = dict(conn.execute("SELECT id, capture_id FROM reports"))
    digest = hashlib.sha256()
    for sql in ("SELECT capture_id, agency, year, version, kind, title, published, warnings FROM reports",
                "SELECT report_id, key, value, raw, unit, source FROM facts",
                "SELECT report_id, rule, ok, detail FROM checks", "SELECT report_id, section, text FROM sections"):
        rows = sorted(repr((of.get(r[0]) if "report_id" in sql else r[0], *r[1:])) for r in conn.execute(sql))
        digest.update("\n".join(rows).encode())
    counts = conn.execute("SELECT (SELECT count(*) FROM reports), (SELECT count(*) FROM fact_values)").fetchone()
    conn.close()
    return counts[0], counts[1], digest.hexdigest()


def run(source: Path, work: Path, jobs: int) -> tuple[float, float, float, tuple]:
    """Wall seconds of the command, the seconds it reports itself (without interpreter
    start-up and imports), CPU seconds of it and its workers, and what it derived."""
    db = work / f"jobs{jobs}.db"
    for leftover in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        leftover.unlink(missing_ok=True)  # the previous run's WAL must not meet this copy
    shutil.copy(source, db)
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run([XXGK, "reparse", "--db", str(db), "--jobs", str(jobs)], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"xxgk reparse --jobs {jobs} failed ({done.returncode}): {done.stderr[-2000:]}")
    own = re.search(r"reparsed \d+ in ([\d.]+) s", done.stderr)
    return seconds, float(own.group(1)) if own else float("nan"), _children_cpu() - cpu, fingerprint(db)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # workers are reaped by the command, so counted
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--keep", type=Path, default=None, help="Keep the built archive (before reparse) here.")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="xxgk-reparse-bench-") as tmp:
        work = Path(tmp)
        compile_bytecode()
        source = work / "source.db"
        t = time.perf_counter()
        n = build(source, args.copies)
        print(f"archive: {n} report captures, {source.stat().st_size / 1e6:.1f} MB, built in "
              f"{time.perf_counter() - t:.1f} s")
        times: dict[int, list[float]] = {1: [], 2: []}
        own: dict[int, list[float]] = {1: [], 2: []}
        prints = {}
        for rep in range(args.repeats):
            for jobs in ((1, 2) if rep % 2 == 0 else (2, 1)):
                seconds, inside, cpu, prints[jobs] = run(source, work, jobs)
                times[jobs].append(seconds)
                own[jobs].append(inside)
                print(f"run {rep + 1} --jobs {jobs}: {seconds:6.2f} s, {n / seconds:6.1f} reports/s; reparse "
                      f"itself {inside:6.2f} s, {n / inside:6.1f} reports/s; CPU {cpu:5.2f} s")
        if args.keep:
            shutil.copy(source, args.keep)
    same = prints[1] == prints[2]
    print(f"derived: {prints[1][0]} reports, {prints[1][1]} facts; --jobs 2 {'identical to' if same else 'DIFFERS FROM'}"
          " --jobs 1")
    one, two = statistics.median(times[1]), statistics.median(times[2])
    speedup = one / two
    print(f"without interpreter start-up: speed-up {statistics.median(own[1]) / statistics.median(own[2]):.2f}x "
          f"(median), {min(own[1]) / min(own[2]):.2f}x (fastest runs)")
    print(f"whole command, fastest runs (least disturbed by other load): {min(times[1]) / min(times[2]):.2f}x")
    print(f"reparse: --jobs 2 / --jobs 1 speed-up {speedup:.2f}x (median of {args.repeats}; target >= {TARGET}): "
          f"{'OK' if speedup >= TARGET and same else 'MISSED'}")
    return 0 if speedup >= TARGET and same else 1


if __name__ == "__main__":
    sys.exit(main())
