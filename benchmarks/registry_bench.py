"""Memory of a crawl against the size of the registry (issue 16: flat in the number of
hosts; a 20,000-site registry must not need more than 1 GB).

    .venv/bin/python benchmarks/registry_bench.py [--sites 1000,5000,20000] [--concurrency 8] [--timeline]

For each size N, N sites are served on 127.0.0.1, each on its own port (its own host, as
the crawler keys hosts by host:port), by server processes of this benchmark (asyncio,
keep-alive, 10,000 ports a process).  Each site is a column page linking one report (a
small 2021-template fixture report, made the report of an agency of its own per site), and answers robots.txt with
404: three requests, one report parsed and archived per site.  The real `xxgk crawl`
runs on a fresh archive; its memory is sampled every 0.2 s over the process and its
children (the parsing workers): the peak of their summed PSS (shared pages counted once),
when in the run it came (as a share of the run), and the crawl process's own peak RSS.  The last line:
`registry: N sites, peak memory M MB (target < 1024 MB)` for the largest N.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "fixtures" / "reports" / "baishi-gov-2021-zeros.html"
PORTS_PER_SERVER = 10_000
FIRST_PORT = 10_000  # below Linux's ephemeral range (32768-60999), which the crawler's own sockets use
TARGET_MB = 1024
XXGK = str(Path(sys.executable).with_name("xxgk"))

INDEX = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>政府信息公开年度报告</title></head><body>"
         "<ul class=\"list\"><li><a href=\"/xxgk/ndbg/2022/1.html\">第{n}号单位2021年政府信息公开工作年度报告</a>"
         "<span>2022-01-20</span></li></ul></body></html>")


def _response(status: str, body: bytes, content_type: str = "text/html; charset=utf-8") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            "Connection: keep-alive\r\n\r\n").encode() + body


def serve(ports: list[int], first_site: int, ready, stop, owner: int) -> None:
    """A server process: every port a site; answers until `stop` is set or the benchmark
    (`owner`) is gone."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    report = REPORT.read_bytes()

    async def main() -> None:
        servers = []
        for k, port in enumerate(ports):
            site = first_site + k
            index = _response("200 OK", INDEX.format(n=site).encode())
            # each site its own agency, as a registry has it (one report of one agency-year per site)
            page = _response("200 OK", report.replace("白石乡".encode(), f"第{site}号乡".encode()))
            missing = _response("404 Not Found", b"not found", "text/plain")

            async def answer(reader, writer, index=index, page=page, missing=missing) -> None:
                try:
                    while True:
                        head = await reader.readuntil(b"\r\n\r\n")
                        path = head.split(b" ", 2)[1]
                        writer.write(index if path in (b"/", b"/xxgk/ndbg/") else page
                                     if path.endswith(b"/1.html") else missing)
                        await writer.drain()
                except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
                    pass
                finally:
                    writer.close()

            servers.append(await asyncio.start_server(answer, "127.0.0.1", port, backlog=64))
        ready.set()
        while not stop.is_set() and os.getppid() == owner:
            await asyncio.sleep(0.2)
        for s in servers:
            s.close()

    asyncio.run(main())


def free_ports(n: int) -> list[int]:
    """`n` ports of 127.0.0.1 nobody listens on, from FIRST_PORT up."""
    import socket

    out, port = [], FIRST_PORT
    while len(out) < n and port < 32768:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                out.append(port)
            except OSError:
                pass
        port += 1
    if len(out) < n:
        sys.exit(f"only {len(out)} free ports below 32768 for {n} sites")
    return out


def tree_memory(pid: int) -> tuple[int, int]:
    """(summed PSS of the process and its descendants, the process's own RSS), in KiB."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    pss = rss = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
                    elif line.startswith("Rss:") and p == pid:
                        rss = int(line.split()[1])
        except OSError:
            continue
    return pss, rss


def crawl(n: int, concurrency: int, tmp: Path, timeline: bool = False) -> dict:
    ports = free_ports(n)
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    procs = []
    for i in range(0, n, PORTS_PER_SERVER):
        ready = ctx.Event()
        p = ctx.Process(target=serve, args=(ports[i:i + PORTS_PER_SERVER], i, ready, stop, os.getpid()), daemon=True)
        p.start()
        procs.append((p, ready))
    for p, ready in procs:
        if not ready.wait(120):
            sys.exit("the servers did not start")
    registry = tmp / f"sites-{n}.toml"
    registry.write_text("".join(
        f'[[site]]\nid = "s{k:05d}"\nname = "第{k}号单位"\nstart = ["http://127.0.0.1:{port}/xxgk/ndbg/"]\n'
        f"delay = 0.05\n\n" for k, port in enumerate(ports)), encoding="utf-8")
    db = tmp / f"archive-{n}.db"
    peak = {"pss": 0, "rss": 0, "at": 0.0}
    samples: list[tuple[float, int, int]] = []
    t0 = time.monotonic()
    proc = subprocess.Popen([XXGK, "crawl", "--db", str(db), "--registry", str(registry),
                             "--concurrency", str(concurrency), "--retries", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            pss, rss = tree_memory(proc.pid)
            samples.append((time.monotonic() - t0, pss, rss))
            if pss > peak["pss"]:
                peak["pss"], peak["at"] = pss, time.monotonic() - t0
            peak["rss"] = max(peak["rss"], rss)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    done.set()
    sampler.join()
    wall = time.monotonic() - t0
    if timeline:  # the tree's PSS and the crawl process's RSS at each tenth of the run
        marks = [next((x for x in samples if x[0] >= wall * k / 10), samples[-1]) for k in range(11)]
        print("  timeline (s, tree PSS MB, crawl RSS MB): " + ", ".join(
            f"{t:.0f} {pss / 1024:.0f} {rss / 1024:.0f}" for t, pss, rss in marks), flush=True)
    stop.set()
    for p, _ in procs:
        p.join(10)
    if proc.returncode not in (0, 1):
        sys.exit(f"xxgk crawl failed ({proc.returncode}):\n{err[-3000:]}")
    import sqlite3

    with sqlite3.connect(db) as con:
        reports = con.execute("SELECT count(*) FROM reports").fetchone()[0]
        requests = con.execute("SELECT count(*) FROM captures").fetchone()[0]
    return {"wall": wall, "pss_mb": peak["pss"] / 1024, "peak_at": peak["at"] / wall, "rss_mb": peak["rss"] / 1024, "reports": reports,
            "captures": requests, "summary": out.strip().splitlines()[-1] if out.strip() else err.strip()[-300:]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sites", default="1000,5000,20000", help="registry sizes, comma-separated")
    ap.add_argument("--concurrency", type=int, default=8, help="requests in flight overall (the crawl's default)")
    ap.add_argument("--timeline", action="store_true", help="print memory at each tenth of every run")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sites.split(",")]
    print(f"{'sites':>7} {'captures':>8} {'reports':>7} {'seconds':>8} {'peak MB (tree PSS)':>19} {'at':>4} "
          f"{'crawl RSS MB':>12}  summary")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            r = crawl(n, args.concurrency, Path(tmp), args.timeline)
            results.append((n, r))
            print(f"{n:>7} {r['captures']:>8} {r['reports']:>7} {r['wall']:>8.1f} {r['pss_mb']:>19.0f} "
                  f"{r['peak_at']:>4.0%} {r['rss_mb']:>12.0f}  {r['summary']}", flush=True)
            os.unlink(Path(tmp) / f"archive-{n}.db")
    (n0, r0), (n1, r1) = results[0], results[-1]
    if n1 > n0:
        print(f"growth: {(r1['pss_mb'] - r0['pss_mb']) / (n1 - n0) * 1024:.1f} KB of memory per added site")
    print(f"registry: {n1} sites, peak memory {r1['pss_mb']:.0f} MB (target < {TARGET_MB} MB)")


if __name__ == "__main__":
    main()
