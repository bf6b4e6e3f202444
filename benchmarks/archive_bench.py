"""Archive benchmark (issues 6 and 9): a synthetic archive of N reports (default 200,000;
both template versions, every fact of each), then every canned query, the full-text search
and every table and view page timed through Datasette (the real `datasette serve` of `xxgk
serve`, live: read-only connections on the WAL file, on a free loopback port), while a
writer saves a new report every half second, as a crawl would (`--no-writer` to time an
idle archive; `--immutable` to time the frozen-snapshot mode instead).

Targets on the 2-core machine: every canned query < 1 s, every table page < 1 s, search
< 200 ms, facts < 4 KB per report.  Each time is printed with its ratio to the target and
to a baseline measured in the same run (fetching one report row through the same API).

    .venv/bin/python benchmarks/archive_bench.py [--reports 200000] [--db /tmp/bench.db] [--keep]

Rows are written with executemany SQL straight into the schema (not through the parser),
in the layout `archive.save_report` writes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from parsers.templates import TEMPLATES  # noqa: E402
from scraper import archive, schema, serve  # noqa: E402

YEARS = range(2017, 2025)  # 2017-2020: 2019 tables, 2021-2024: 2021 tables
PROVINCES = ["北京市", "河北省", "山西省", "辽宁省", "江苏省", "浙江省", "福建省", "山东省", "河南省", "湖北省",
             "广东省", "四川省", "陕西省", "甘肃省", "云南省", "贵州省"]
DEPARTMENTS = ["民政局", "教育局", "财政局", "自然资源局", "生态环境局", "住房和城乡建设局", "交通运输局", "卫生健康委员会",
               "市场监督管理局", "人力资源和社会保障局", "公安局", "司法局", "农业农村局", "应急管理局", "人民政府",
               "人民政府办公室"]
PHRASES = ["坚持以习近平新时代中国特色社会主义思想为指导", "全面贯彻落实政府信息公开条例", "进一步加强政务公开工作",
           "组织开展政务公开业务培训", "依法依规做好政府信息公开申请办理工作", "未收取信息处理费",
           "政府网站信息发布审核制度", "及时回应社会关切", "重点领域信息公开", "政策解读", "主动公开规范性文件",
           "信息公开指南和目录", "存在的主要问题是公开内容不够全面", "下一步将加强队伍建设", "无其他需要报告的事项",
           "行政复议和行政诉讼情况", "本机关不掌握相关政府信息", "依申请公开答复规范性有待提高"]
RULES = ["applications.row_total", "applications.balance", "applications.results_sum", "appeals.group_total",
         "report.on_time", "report.complete", "report.version_matches_year", "report.text_matches_table"]
TARGET_QUERY, TARGET_SEARCH, TARGET_FACTS = 1.0, 0.2, 4096
TARGET_REPORT, TARGET_AGENCY, TARGET_HOME = 0.3, 0.5, 0.5  # the pages people read (issue 11)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(path: Path, n_reports: int, seed: int = 6) -> dict:
    """Write the synthetic archive; returns sizes measured while writing."""
    if path.exists():
        path.unlink()
    archive.open_archive(path).conn.close()  # the real schema, all migrations
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-400000")
    conn.execute("PRAGMA recursive_triggers=ON")  # as every writer: row_counts stay exact
    conn.create_function("xxgk_bigrams", 1, schema.bigrams, deterministic=True)
    rnd = random.Random(seed)
    key_ids = dict(conn.execute("SELECT key, id FROM fact_keys"))
    keys = {v: sorted((key_ids[k] for k in t.keys()), key=int) for v, t in TEMPLATES.items()}
    key_of = {i: k for k, i in key_ids.items()}

    n_agencies = max(1, n_reports // len(YEARS))
    t0 = time.perf_counter()
    conn.execute("BEGIN")
    agencies = []
    for i in range(n_agencies):
        prov = PROVINCES[i % len(PROVINCES)]
        city = f"第{i // len(DEPARTMENTS) % 400}市"
        dept = DEPARTMENTS[i % len(DEPARTMENTS)]
        level = "department" if "政府" not in dept else "city"
        agencies.append((i + 1, f"{prov}{city}{dept}{i}", f"{prov}{city}", f"{i % 900000 + 100000:06d}", level))
    conn.executemany("INSERT INTO agencies (id, name, region, region_code, level, aliases) VALUES (?,?,?,?,?, '[]')",
                     agencies)
    reports = []
    rid = 0
    for a in agencies:
        for year in YEARS:
            rid += 1
            if rid > n_reports:
                break
            version = "2019" if year <= 2020 else "2021"
            kind = "government" if a[4] == "city" else "agency"
            late = rnd.random() < 0.1
            published = f"{year + 1}-0{2 if late else 1}-{rnd.randint(10, 28)}"
            reports.append((rid, a[1], a[0], year, version, kind, f"{a[1]}{year}年政府信息公开工作年度报告", published,
                            f"http://127.0.0.1:1/{a[0]}/{year}.html", 1, "html"))
    conn.executemany("INSERT INTO reports (id, agency, agency_id, year, version, kind, title, published, source_url, "
                     "current, form, n_warnings, n_failed_checks) VALUES (?,?,?,?,?,?,?,?,?,?,?,0,0)", reports)
    conn.execute("COMMIT")
    t_reports = time.perf_counter() - t0

    size_before = path.stat().st_size
    t0 = time.perf_counter()
    batch: list[tuple] = []
    conn.execute("BEGIN")
    for r in reports:
        report_id, version = r[0], r[4]
        for pos, kid in enumerate(keys[version]):
            v = 0 if rnd.random() < 0.55 else rnd.randint(1, 60) if rnd.random() < 0.9 else rnd.randint(61, 3000)
            raw = None if rnd.random() < 0.9 else f"{v}件"
            table = 1 if key_of[kid].startswith("active") else 2 if key_of[kid].startswith("applications") else 3
            cell = table * 1_000_000 + (3 + pos // 7) * 1_000 + 2 + pos % 7
            batch.append((report_id, kid, v, raw, cell))
        if len(batch) > 200_000:
            conn.executemany("INSERT INTO fact_values (report_id, key_id, value, raw, cell) VALUES (?,?,?,?,?)", batch)
            batch.clear()
    conn.executemany("INSERT INTO fact_values (report_id, key_id, value, raw, cell) VALUES (?,?,?,?,?)", batch)
    conn.execute("COMMIT")
    t_facts = time.perf_counter() - t0
    facts_bytes = path.stat().st_size - size_before
    conn.execute(schema.FIGURES_UPSERT)  # what archive.save_report writes with each report's facts
    dbstat = conn.execute("SELECT sum(pgsize) FROM dbstat WHERE name = 'fact_values'").fetchone()[0]
    n_facts = conn.execute("SELECT count(*) FROM fact_values").fetchone()[0]

    t0 = time.perf_counter()
    conn.execute("BEGIN")
    checks, sections = [], []
    for r in reports:
        for rule in RULES:
            failed = rnd.random() < (0.9 if rule == "report.on_time" and r[7][6] == "2" else 0.04)
            checks.append((r[0], rule, 0 if failed else 1, f"{rule}: 12+0 != 13+0" if failed else None))
        for section in ("overview", "active", "applications", "appeals", "problems", "other"):
            words = rnd.sample(PHRASES, rnd.randint(2, 4 if section == "overview" else 2))
            sections.append((r[0], section, "，".join(words) + "。"))
        if len(sections) > 60_000:
            conn.executemany("INSERT INTO checks VALUES (?,?,?,?)", checks)
            conn.executemany("INSERT INTO sections (report_id, section, text) VALUES (?,?,?)", sections)
            checks.clear()
            sections.clear()
    conn.executemany("INSERT INTO checks VALUES (?,?,?,?)", checks)
    conn.executemany("INSERT INTO sections (report_id, section, text) VALUES (?,?,?)", sections)
    conn.execute("UPDATE reports SET n_failed_checks = (SELECT count(*) FROM checks c WHERE c.report_id = reports.id "
                 "AND c.ok = 0)")
    conn.execute("COMMIT")
    t_rest = time.perf_counter() - t0
    conn.execute("ANALYZE")
    conn.close()
    archive.open_archive(path).conn.close()  # back to WAL, as every archive is served
    return {"reports": len(reports), "agencies": n_agencies, "facts": n_facts, "facts_bytes_growth": facts_bytes,
            "facts_bytes_dbstat": dbstat, "seconds_reports": t_reports, "seconds_facts": t_facts,
            "seconds_checks_sections": t_rest, "db_bytes": path.stat().st_size}


def timed(base: str, path: str, params: dict, runs: int = 3) -> tuple[float, float, int]:
    """Median and max seconds of a JSON request (objects shape), and its rows; an HTML page
    when `path` has no `.json`."""
    as_json = path.endswith(".json")
    url = base + path + "?" + urllib.parse.urlencode({**params, "_shape": "objects"} if as_json else params)
    times, rows = [], 0
    for _ in range(runs + 1):  # the first run warms the page cache and is not counted
        t0 = time.perf_counter()
        with urllib.request.urlopen(url, timeout=120) as r:
            body = r.read()
        times.append(time.perf_counter() - t0)
        if as_json:
            data = json.loads(body)
            if not data.get("ok", True):
                raise RuntimeError(f"{path}: {data.get('error')}")
            rows = len(data.get("rows", []))
        else:
            rows = body.count(b"<tr")
    return statistics.median(times[1:]), max(times[1:]), rows


def writer(db: Path, stop: threading.Event, every: float = 0.5) -> list[int]:
    """Save a report with its facts, checks and sections every `every` seconds through
    `archive.save_report` (one transaction each, as the crawl does) until `stop`."""
    from parsers import Report

    written = []
    conn = archive.open_archive(db)
    keys = list(TEMPLATES["2021"].keys())
    n = 0
    while not stop.wait(every):
        n += 1
        report = Report(source=f"http://127.0.0.1:1/live/{n}.html", title=f"实时写入测试局{n}2024年政府信息公开工作年度报告",
                        agency=f"实时写入测试局{n}", year=2024, version="2021", kind="agency", published="2025-01-20",
                        facts={k: n % 7 for k in keys}, sections={"overview": "本年度持续推进政务公开。"})
        written.append(archive.save_report(conn, report, site_id=None, capture_id=None, sha256=None))
    conn.conn.close()
    return written


def page_names(db: Path) -> list[str]:
    """Every table and view a person can open (FTS shadow tables aside)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return [n for (n,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE 'sections_fts%' AND name NOT LIKE 'sections_bigrams%' ORDER BY type, name")]


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reports", type=int, default=200_000)
    ap.add_argument("--db", default="/tmp/xxgk-bench/archive.db")
    ap.add_argument("--reuse", action="store_true", help="Time an archive built by an earlier run.")
    ap.add_argument("--keep", action="store_true", help="Keep the archive afterwards.")
    ap.add_argument("--immutable", action="store_true", help="Serve the frozen snapshot (xxgk serve --immutable).")
    ap.add_argument("--no-writer", action="store_true", help="No concurrent writes while timing.")
    args = ap.parse_args()
    db = Path(args.db)
    db.parent.mkdir(parents=True, exist_ok=True)
    if not (args.reuse and db.exists()):
        t0 = time.perf_counter()
        stats = build(db, args.reports)
        print(f"built {stats['reports']:,} reports ({stats['agencies']:,} agencies, {stats['facts']:,} facts) "
              f"in {time.perf_counter() - t0:.0f} s (reports {stats['seconds_reports']:.0f} s, facts "
              f"{stats['seconds_facts']:.0f} s, checks+sections+indexes {stats['seconds_checks_sections']:.0f} s); "
              f"archive {stats['db_bytes'] / 2**20:,.0f} MiB")
        per = stats["facts_bytes_dbstat"] / stats["reports"]
        print(f"facts per report: {per:,.0f} bytes (dbstat of fact_values; file growth while writing facts "
              f"{stats['facts_bytes_growth'] / stats['reports']:,.0f}); target {TARGET_FACTS:,} -> "
              f"{per / TARGET_FACTS:.2f} of target")
    archive.open_archive(db).conn.close()  # an archive from an earlier run: brought to the current schema
    with sqlite3.connect(db) as conn:
        agency, agency_id = conn.execute(
            "SELECT name, id FROM agencies WHERE id = 4242 % (SELECT count(*) FROM agencies) + 1").fetchone()
        report_id = conn.execute("SELECT max(id) / 2 FROM reports").fetchone()[0]
    port = free_port()
    if args.immutable:
        serve.checkpoint(db)
    proc = subprocess.Popen(serve.datasette_args(db, "127.0.0.1", port, immutable=args.immutable),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    stop = threading.Event()
    written: list[int] = []
    print(f"serving {'immutable' if args.immutable else 'live'}"
          + ("" if args.immutable or args.no_writer else ", a report written every 0.5 s while timing"))
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/-/versions.json", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        baseline, _, _ = timed(base, f"/{db.stem}/reports/{report_id}.json", {}, runs=5)
        print(f"baseline: one report row through the API {baseline * 1000:.1f} ms")
        if not (args.immutable or args.no_writer):
            thread = threading.Thread(target=lambda: written.extend(writer(db, stop)), daemon=True)
            thread.start()
        cases = [
            ("agency_years", {"agency": agency}, TARGET_QUERY),
            ("ranking", {"year": 2022}, TARGET_QUERY),
            ("ranking", {"year": 2022, "level": "city"}, TARGET_QUERY),
            ("refusal_rates", {"year": 2022}, TARGET_QUERY),
            ("refusal_rates", {"region": "广东省"}, TARGET_QUERY),
            ("failing_checks", {}, TARGET_QUERY),
            ("failing_checks", {"rule": "applications.balance", "year": 2021}, TARGET_QUERY),
            ("late_reports", {"year": 2022}, TARGET_QUERY),
            ("late_reports", {}, TARGET_QUERY),
            ("carry_breaks", {"year": 2022}, TARGET_QUERY),
            ("carry_breaks", {"agency": agency}, TARGET_QUERY),
            ("year_overview", {"region": "广东省第7市"}, TARGET_QUERY),
            ("year_overview", {}, TARGET_QUERY),
            ("search_sections", {"q": "信息处理费"}, TARGET_SEARCH),
            ("search_sections", {"q": "复议和行政诉讼"}, TARGET_SEARCH),
            ("search_sections", {"q": "培训"}, TARGET_SEARCH),
            ("search_sections", {"q": "诉"}, TARGET_SEARCH),
            ("search_sections", {"q": "量子"}, TARGET_SEARCH),
        ]
        cases = [(f"{name}.json", params, target) for name, params, target in cases]  # canned queries
        for name in page_names(db):  # every table and view page, as JSON and as the HTML people see
            cases += [(f"{name}.json", {}, TARGET_QUERY), (name, {}, TARGET_QUERY)]
        cases += [("/", {}, TARGET_HOME), ("/", {"q": "民政局"}, TARGET_HOME),  # the pages people read (issue 11)
                  (f"/report/{report_id}", {}, TARGET_REPORT), (f"/report/{report_id + 1}", {}, TARGET_REPORT),
                  (f"/agency/{agency_id}", {}, TARGET_AGENCY)]
        print(f"{'query':<26} {'parameters':<44} {'median':>9} {'max':>9} {'rows':>6} {'/target':>8} {'/baseline':>10}")
        worst = 0.0
        for name, params, target in cases:
            try:
                med, mx, rows = timed(base, name if name.startswith("/") else f"/{db.stem}/{name}", params)
            except Exception as exc:  # noqa: BLE001 - print and go on with the next
                print(f"{name:<26} {json.dumps(params, ensure_ascii=False):<44} ERROR {exc}")
                worst = float("inf")
                continue
            worst = max(worst, mx / target)
            print(f"{name:<26} {json.dumps(params, ensure_ascii=False):<44} {med * 1000:>7.0f}ms {mx * 1000:>7.0f}ms "
                  f"{rows:>6} {mx / target:>8.2f} {med / baseline:>10.1f}")
        print(f"worst max/target: {worst:.2f} ({'all within target' if worst <= 1 else 'OVER TARGET'})")
        if written:
            print(f"written while timing: {len(written)} reports")
    finally:
        stop.set()
        proc.terminate()
        proc.wait(timeout=10)
        if not args.keep and not args.reuse:
            for suffix in ("", "-wal", "-shm"):
                p = Path(str(db) + suffix)
                if p.exists():
                    os.remove(p)


if __name__ == "__main__":
    main()
