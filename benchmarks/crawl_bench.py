"""Crawl benchmark: `xxgk crawl` against a minimal Scrapy 2.x spider, same web, same
politeness, in the same run, and how close xxgk comes to the politeness limit.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/crawl_bench.py [--delay 0.25] [--latency 0.1] [--copies 3]
        [--concurrency N] [--keep-db PATH]

The fixture web (fixtures/web: four agencies in TRS, Hanweb, GBK and attachment styles)
is served on 127.0.0.1, each agency `--copies` times on its own port (its own host;
`--copies 25` is 100 hosts), every response held back `--latency` seconds.  Both crawlers
obey robots.txt, ask one host one request at a time, wait `--delay` seconds between the
starts of two requests to one host, allow `--concurrency` requests in flight overall
(default: one per host, so that politeness and not a global cap is what limits them),
send the same User-Agent and find links with the same adapters (the spider calls
`scraper.adapters.discover`).  xxgk also archives every response and parses every
report; the spider only fetches.

Prints pages per second for both and their ratio over the whole run (target at 100
hosts: xxgk >= 1.5x Scrapy), the smallest gap between two requests to one host each
crawler left (kernel arrival times), each crawler's peak RSS, the politeness limit
(the busiest host's requests P: no crawler finishes before (P - 1) x delay + latency)
and the share of it xxgk reached over its whole run (target >= 0.8 at 100 hosts), the CPU
the machine was busy during xxgk's run (crawler, parsing workers and servers; read from
/proc/stat, so a quiet machine is needed) and the share of the limit that much CPU allows
on this many cores, and for a second, unchanged xxgk run (what a nightly crawl mostly is)
its share of the politeness limit and the bytes it transferred as a share of the first
run's (target < 1%).  The fixture servers keep connections alive (HTTP/1.1), as the
servers in front of real sites do.
The last line: `crawl: xxgk/scrapy R, share of politeness limit S`.  The machine is
shared: compare figures of one run only.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

SPIDER = '''
import sys, tomllib, warnings
warnings.simplefilter("ignore")
from urllib.parse import urlsplit
import scrapy
from scrapy.crawler import CrawlerProcess
from scraper.adapters import discover
from scraper.fetch import USER_AGENT

registry, delay, concurrency = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
STARTS = [u for s in tomllib.load(open(registry, "rb"))["site"] for u in s["start"]]


class Columns(scrapy.Spider):
    """Follows what the xxgk adapters find: list pages, report pages, attachments."""
    name = "columns"

    async def start(self):  # Scrapy >= 2.13
        for url in STARTS:
            yield self.request(url)

    def start_requests(self):  # older Scrapy 2.x
        for url in STARTS:
            yield self.request(url)

    def request(self, url):
        # one download slot per host:port, as xxgk keys its hosts
        return scrapy.Request(url, meta={"download_slot": urlsplit(url).netloc}, callback=self.parse)

    def parse(self, response):
        if not isinstance(response, scrapy.http.TextResponse):
            return  # an attachment: fetched, nothing to follow
        found = discover(response.url, response.text)
        for url in list(found.lists) + list(found.reports) + list(found.attachments):
            if urlsplit(url).netloc == urlsplit(response.url).netloc:
                yield self.request(url)


process = CrawlerProcess(settings={
    "ROBOTSTXT_OBEY": True, "USER_AGENT": USER_AGENT, "DOWNLOAD_DELAY": delay,
    "RANDOMIZE_DOWNLOAD_DELAY": False, "DOWNLOAD_DELAY_JITTER": 0, "REMOTE_CONTROL_ENABLED": False,
    "CONCURRENT_REQUESTS": concurrency, "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
    "AUTOTHROTTLE_ENABLED": False, "RETRY_TIMES": 0, "LOG_LEVEL": "WARNING", "TELNETCONSOLE_ENABLED": False,
    "COOKIES_ENABLED": False,
})
process.crawl(Columns)
process.start()
'''


def traffic(servers) -> tuple[int, int]:
    return sum(len(s.log) for s in servers.values()), sum(s.traffic[0] for s in servers.values())


def min_gap(servers, since: dict[str, int]) -> float:
    gaps = []
    for key, s in servers.items():
        times = [t for t, *_ in s.log[since[key]:]]
        gaps += [b - a for a, b in zip(times, times[1:])]
    return min(gaps) if gaps else float("nan")


def busy_seconds() -> float:
    """CPU seconds this machine has spent busy since boot, all cores (/proc/stat)."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in f.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def timed(cmd: list[str], servers) -> dict:
    """Run a crawler to its end: wall time, requests and bytes the servers saw, the
    smallest gap to one host, requests per host, and the crawler's peak RSS."""
    marks = {k: len(s.log) for k, s in servers.items()}
    pages0, bytes0 = traffic(servers)
    served0 = resource.getrusage(resource.RUSAGE_SELF)  # the fixture servers are threads of this process
    busy0 = busy_seconds()
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage (peak RSS)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - t0
        served1 = resource.getrusage(resource.RUSAGE_SELF)
        busy1 = busy_seconds()
        out.seek(0), err.seek(0)
        stdout, stderr = out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace")
    pages1, bytes1 = traffic(servers)
    if proc.returncode not in (0, 1):
        sys.exit(f"{cmd[2:4]} failed ({proc.returncode}):\n{stderr[-3000:]}")
    arrivals = sorted(t for k, s in servers.items() for t, *_ in s.log[marks[k]:])
    return {"wall": wall, "pages": pages1 - pages0, "bytes": bytes1 - bytes0, "min_gap": min_gap(servers, marks),
            "span": arrivals[-1] - arrivals[0] if arrivals else float("nan"),
            "per_host": {k: len(s.log) - marks[k] for k, s in servers.items()},
            "rss_mb": usage.ru_maxrss / 1024,  # Linux: KiB
            "server_cpu": served1.ru_utime + served1.ru_stime - served0.ru_utime - served0.ru_stime,
            "machine_cpu": busy1 - busy0,  # everything: the crawler, its workers, the servers (and any other load)
            "stdout": stdout.strip().splitlines()[-1] if stdout.strip() else ""}


def politeness_bound(per_host: dict[str, int], delay: float, latency: float) -> float:
    """No crawler that asks a host one request at a time, `delay` seconds between the
    starts of two, can finish before the busiest host's (P - 1) delays and its last
    answer: (P - 1) x d + latency, P the requests that host needs (robots.txt included)."""
    return max((n - 1) * delay + latency for n in per_host.values() if n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--delay", type=float, default=0.25, help="seconds between requests to one host")
    ap.add_argument("--latency", type=float, default=0.1, help="seconds added to every response")
    ap.add_argument("--copies", type=int, default=3, help="hosts per fixture agency")
    ap.add_argument("--concurrency", type=int, default=None,
                    help="requests in flight overall, both crawlers (default: one per host, so only politeness "
                         "limits them)")
    ap.add_argument("--keep-db", type=Path, default=None, help="keep xxgk's archive of the first run here")
    args = ap.parse_args()
    try:
        import scrapy
    except ImportError:
        sys.exit("scrapy is not installed: .venv/bin/pip install -e '.[bench]'")

    from webserver import FIXTURE_WEB, fixture_registry, fixture_web

    # bytecode, as an installed package has it (PYTHONDONTWRITEBYTECODE is set on these
    # machines); in a child, so this process (forked for every crawler) stays small
    subprocess.run([sys.executable, "-m", "compileall", "-q", "parsers", "scraper"], cwd=ROOT, check=True)

    expected = json.loads((FIXTURE_WEB / "expected.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp, fixture_web(latency=args.latency, copies=args.copies) as servers:
        registry = Path(tmp) / "sites.toml"
        registry.write_text(fixture_registry(servers, args.delay, expected), encoding="utf-8")
        spider = Path(tmp) / "spider.py"
        spider.write_text(SPIDER, encoding="utf-8")
        concurrency = args.concurrency or len(servers)
        db = Path(tmp) / "archive.db"
        xxgk = [sys.executable, "-m", "scraper", "crawl", "--db", str(db),
                "--registry", str(registry), "--concurrency", str(concurrency), "--retries", "0"]
        scrapy_run = timed([sys.executable, str(spider), str(registry), str(args.delay), str(concurrency)], servers)
        first = timed(xxgk, servers)
        if args.keep_db:
            shutil.copy(db, args.keep_db)
        second = timed(xxgk, servers)

    print(f"fixture web: {len(servers)} hosts, latency {args.latency:.3f} s, delay {args.delay:.3f} s, "
          f"{concurrency} requests in flight at most, scrapy {scrapy.__version__}")
    for name, r in (("scrapy", scrapy_run), ("xxgk", first)):
        print(f"{name:7} {r['pages']:4d} requests in {r['wall']:6.2f} s = {r['pages'] / r['wall']:6.2f} pages/s"
              f" (first to last request {r['span']:.2f} s)   smallest gap to one host {r['min_gap']:.3f} s"
              f"   peak RSS {r['rss_mb']:.0f} MB")
    bound = politeness_bound(first["per_host"], args.delay, args.latency)
    busiest = max(first["per_host"].values())
    share = bound / first["wall"]
    print(f"politeness limit: the busiest host needs {busiest} requests, so no crawler finishes before "
          f"{bound:.2f} s; xxgk reached {share:.2f} of it over the whole run (process start-up, parsing and the "
          f"scorecard included), {bound / (first['span'] + args.latency):.2f} from its first request to its last "
          f"answer; scrapy {politeness_bound(scrapy_run['per_host'], args.delay, args.latency) / scrapy_run['wall']:.2f}")
    cores = len(os.sched_getaffinity(0))
    cpu = first["machine_cpu"]
    print(f"CPU during the xxgk run: {cpu:.1f} s busy over all cores, {first['server_cpu']:.1f} s of it the fixture "
          f"servers; {cores} cores give {cores * bound:.1f} s within the politeness limit, so on this machine the "
          f"same work cannot reach more than {min(1.0, cores * bound / cpu):.2f} of it")
    ratio = (first["pages"] / first["wall"]) / (scrapy_run["pages"] / scrapy_run["wall"])
    span_ratio = (first["pages"] / first["span"]) / (scrapy_run["pages"] / scrapy_run["span"])
    print(f"ratio xxgk/scrapy: {ratio:.2f} over the whole run, process start-up and xxgk's parsing included "
          f"(target >= 1.5); {span_ratio:.2f} from first to last request")
    if scrapy_run["min_gap"] < args.delay:
        print("  (scrapy's robots.txt requests use a download slot of their own, so its first page to a host "
              "can follow robots.txt closer than the delay)")
    print(f"xxgk summary: {first['stdout']}")
    print(f"second, unchanged xxgk run (a nightly crawl): {second['pages']} requests in {second['wall']:.2f} s, "
          f"{politeness_bound(second['per_host'], args.delay, args.latency) / second['wall']:.2f} of the politeness "
          f"limit, {second['bytes']} bytes sent by the servers, "
          f"{100 * second['bytes'] / first['bytes']:.2f}% of the first run's {first['bytes']} (target < 1%)")
    print(f"xxgk second summary: {second['stdout']}")
    print(f"crawl: xxgk/scrapy {ratio:.2f}, share of politeness limit {share:.2f}")


if __name__ == "__main__":
    main()
