"""The crawl reads (parses, finds links) in worker processes when it has cores for it:
the archive it writes is the one a crawl reading in a thread writes."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3

import parsers

from scraper import archive, bodies
from scraper.crawl import crawl
from scraper.reading import read
from scraper.fetch import Fetcher
from scraper.parse_pool import READER_NICENESS, reader_processes
from scraper.registry import load_registry
from webserver import FIXTURE_WEB, fixture_registry, fixture_web

EXPECTED = json.loads((FIXTURE_WEB / "expected.json").read_text(encoding="utf-8"))


def _derived(path) -> dict:
    conn = sqlite3.connect(path)
    out = {
        "captures": sorted(conn.execute("SELECT url, role, status, sha256 FROM captures WHERE role != 'robots'")),
        "reports": sorted(conn.execute("SELECT source_url, agency, year, version, title, warnings FROM reports")),
        "facts": sorted(conn.execute("SELECT r.source_url, f.key, f.value, f.raw FROM facts f "
                                     "JOIN reports r ON r.id = f.report_id")),
        "documents": sorted(conn.execute("SELECT url, outcome, title FROM documents")),
        "frontier": sorted(conn.execute("SELECT url, role, state, depth FROM frontier")),
    }
    conn.close()
    return out


def _crawl(registry, db, jobs: int):
    async def go():
        fetcher = Fetcher(concurrency=8, retries=0)
        try:
            return await crawl(archive.open_archive(db), load_registry(registry), fetcher=fetcher, read_jobs=jobs)
        finally:
            await fetcher.aclose()
    return asyncio.run(go())


def test_reading_in_processes_writes_what_a_thread_writes(tmp_path):
    with fixture_web() as servers:
        registry = tmp_path / "sites.toml"
        registry.write_text(fixture_registry(servers, 0.02, EXPECTED), encoding="utf-8")
        in_thread = _crawl(registry, tmp_path / "thread.db", 1)
        in_processes = _crawl(registry, tmp_path / "processes.db", 2)
    assert in_thread.line() == in_processes.line() and in_thread.new_reports > 5 and not in_thread.failed
    first, second = _derived(tmp_path / "thread.db"), _derived(tmp_path / "processes.db")
    base = {url.split("/")[2] for url, *_ in first["captures"]}  # both crawled the same servers
    assert len(base) == len(servers)
    assert first == second
    assert len(first["facts"]) > 1000


def test_readers_and_what_a_worker_returns():
    assert reader_processes(1) is None  # one job: a thread of the crawl
    pool = reader_processes(2)
    page = (FIXTURE_WEB / "hekou" / "xxgk" / "ndbg" / "2021" / "4501.html").read_bytes()
    try:
        listed = pool.submit(read, b"<html><body><a href='/a.html'>2021\xe5\xb9\xb4\xe6\x8a\xa5\xe5\x91\x8a</a>"
                             b"</body></html>", "http://127.0.0.1:9/list.html", "text/html", "list").result()
        report = pool.submit(read, page, "http://127.0.0.1:9/xxgk/ndbg/2021/4501.html", "text/html", "report").result()
        niceness = pool.submit(os.nice, 0).result()
    finally:
        pool.shutdown()
    # the readers yield the cores to the crawl process, whose event loop times every request
    assert niceness == min(19, os.nice(0) + READER_NICENESS)
    assert listed.parsed is None and listed.found is not None and listed.cells is None  # a list page: links, no parse
    # a report page: its fact cells (provenance included) made by the worker, the objects not sent back,
    # and the body compressed as the archive keeps it
    alone = parsers.parse(page, url="http://127.0.0.1:9/xxgk/ndbg/2021/4501.html")
    assert report.parsed.is_report and report.parsed.found == {} and report.parsed.facts == alone.facts
    assert report.cells == archive.fact_cells(alone) and len(report.cells) > 150
    assert bodies.unpack(bodies.COMPRESSION, report.packed) == page
    pdf = read(b"%PDF-1.4 not really", "http://127.0.0.1:9/r.pdf", "application/pdf", "attachment")
    assert pdf.found is None and pdf.cells is None and (isinstance(pdf.parsed, Exception) or not pdf.parsed.is_report)


def test_readers_start_in_a_thread_and_a_pool_that_cannot_start_means_threads(tmp_path, monkeypatch):
    """`started` brings the workers up beside the event loop (their fork server imports the
    parsers first, which once held every host up for half a second); if they cannot start
    the crawl reads in threads instead, and the archive is the same."""
    from concurrent.futures.process import BrokenProcessPool

    from scraper import crawl as crawl_module
    from scraper.parse_pool import started

    pool = reader_processes(2)
    try:
        assert started(pool).result(timeout=60) is None
        assert pool.submit(sum, [1, 2]).result() == 3
    finally:
        pool.shutdown()

    def fails(*_):
        raise OSError("fork: Resource temporarily unavailable")

    broken = reader_processes(2)
    monkeypatch.setattr(broken, "submit", fails)
    future = started(broken)
    assert isinstance(future.exception(timeout=60), BrokenProcessPool)
    broken.shutdown()

    monkeypatch.setattr(crawl_module, "reader_processes", lambda jobs: broken)
    with fixture_web() as servers:
        registry = tmp_path / "sites.toml"
        registry.write_text(fixture_registry(servers, 0.02, EXPECTED), encoding="utf-8")
        summary = _crawl(registry, tmp_path / "fallback.db", 2)
        monkeypatch.undo()
        reference = _crawl(registry, tmp_path / "thread.db", 1)
    assert summary.line() == reference.line() and not summary.failed
    assert _derived(tmp_path / "fallback.db") == _derived(tmp_path / "thread.db")


def test_list_pages_are_read_while_the_reader_processes_start(tmp_path):
    """A list page's links need no parser: while the reader processes are still starting
    (their fork server imports the parsers), the crawl reads list pages in a thread, so
    the first report requests do not wait for them; a report waits for the readers."""
    from concurrent.futures import Future, ThreadPoolExecutor

    from scraper.crawl import Crawl
    from scraper.fetch import Response

    web = FIXTURE_WEB / "songlin"
    base = "http://127.0.0.1:1/czj/zfxxgknb/"
    listing = Response(base + "index.html", 200, {"content-type": "text/html"},
                       (web / "czj/zfxxgknb/index.html").read_bytes())
    page = Response(base + "202301/t20230124_3104.html", 200, {"content-type": "text/html"},
                    (web / "czj/zfxxgknb/202301/t20230124_3104.html").read_bytes())

    async def go():
        fetcher = Fetcher(concurrency=1, retries=0)
        c = Crawl(archive.open_archive(tmp_path / "a.db"), [], fetcher, read_jobs=1)
        c.readers, c.readers_up = ThreadPoolExecutor(1), Future()  # a pool that is not up yet
        try:
            found = (await asyncio.wait_for(c._read(listing, "list"), 10)).found
            assert any("t20230124_3104" in u for u in found.reports)
            report = asyncio.ensure_future(c._read(page, "report"))
            await asyncio.sleep(0.3)
            assert not report.done()  # waits for the readers
            c.readers_up.set_result(None)
            assert (await asyncio.wait_for(report, 30)).parsed.is_report
        finally:
            c.readers.shutdown()
            await fetcher.aclose()

    asyncio.run(go())


def test_outcomes_saved_together_let_requests_go_between_them(tmp_path):
    """Answers that arrive together are saved one per turn of the event loop: a host's
    next request, due meanwhile, is sent between two saves rather than after all of them."""
    from scraper.crawl import Crawl
    from scraper.fetch import Result
    from scraper.registry import Site

    async def go():
        fetcher = Fetcher(concurrency=1, retries=0)
        site = Site(id="s", name="s", start=["http://127.0.0.1:1/"])
        c = Crawl(archive.open_archive(tmp_path / "a.db"), [site], fetcher, read_jobs=1)
        events: list[str] = []

        async def fetch(url, validators=None):
            return Result(url)  # nothing fetched: only the order of the saves matters here

        c.fetcher.fetch = fetch
        c._record = lambda site, url, *rest: events.append(url)
        loop = asyncio.get_running_loop()

        def tick():  # one per turn of the loop, as a due timer would run
            events.append("tick")
            if len(events) < 40:
                loop.call_soon(tick)

        visits = [c._visit(site, f"http://127.0.0.1:1/{i}", "report", 1, None) for i in range(5)]
        loop.call_soon(tick)
        await asyncio.gather(*visits)
        await fetcher.aclose()
        saves = [i for i, e in enumerate(events) if e != "tick"]
        assert len(saves) == 5
        assert all(b - a > 1 for a, b in zip(saves, saves[1:]))  # never two saves in one turn

    asyncio.run(go())


def test_list_pages_and_documents_take_turns(tmp_path):
    """A site with list pages and documents pending asks them in turns (a list page, then
    an attachment or report, ...), so parsing is spread over the crawl rather than left
    for after the last list page; once one kind runs out the other goes on alone."""
    from scraper.crawl import Crawl
    from scraper.fetch import Result
    from scraper.registry import Site

    async def go():
        fetcher = Fetcher(concurrency=1, retries=0)
        base = "http://127.0.0.1:1/"
        site = Site(id="s", name="s", start=[base])
        c = Crawl(archive.open_archive(tmp_path / "a.db"), [site], fetcher, read_jobs=1)
        archive.upsert_sites(c.db, [site])
        c._seed()
        with c.db.conn:
            c.db.execute("UPDATE frontier SET state = 'done'")  # the start page: asked already
            for i in range(4):
                c._add(f"{base}list{i}", "s", "list", base, 1)
            for i in range(2):
                c._add(f"{base}report{i}", "s", "report", base, 1)
            c._add(f"{base}report0.pdf", "s", "attachment", f"{base}report0", 2)
        asked: list[str] = []

        async def visit(site, url, role, depth, parent):
            asked.append(url.removeprefix(base))
            with c.db.conn:
                c.db.execute("UPDATE frontier SET state = 'done' WHERE url = ?", [url])

        c._visit_safely = visit
        await c._site(site)
        await fetcher.aclose()
        return asked

    assert asyncio.run(go()) == ["list0", "report0.pdf", "list1", "report0", "list2", "report1", "list3"]
