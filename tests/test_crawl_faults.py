"""Fault injection from a real server on 127.0.0.1: every failure is archived, named,
retried or refused as the crawler promises, and the server's request log proves it
(nothing disallowed asked, nothing asked after a block, gaps never under the delay)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import zlib

import pytest
from click.testing import CliRunner

from scraper.cli import cli
from scraper.fetch import Fetcher, decode_robots
from webserver import (endless, gzip_bomb, redirect, reset, respond, sequence, serve, stall,
                       truncated)

DELAY = 0.05
REPORT = "某局2022年政府信息公开工作年度报告"
PAGE = "<html><body><p>页面</p></body></html>"


def assert_polite(log: list, delay: float = DELAY) -> None:
    """Consecutive requests to one server (one host) never closer than the delay."""
    times = [entry[0] for entry in log]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert all(g >= delay for g in gaps), [round(g, 4) for g in gaps]


def _list(tmp_path, links: list[str]) -> None:
    www = tmp_path / "www"
    www.mkdir(exist_ok=True)
    items = "".join(f'<li><a href="{href}">{REPORT.replace("2022", str(2000 + i))}</a></li>'
                    for i, href in enumerate(links))
    (www / "index.html").write_text(f"<html><body><ul>{items}</ul></body></html>", encoding="utf-8")


def _crawl(tmp_path, base: str, *args: str, allow: list[str] | None = None):
    registry = tmp_path / "sites.toml"
    extra = f"allow = {json.dumps(allow)}\n" if allow else ""
    registry.write_text(f'[[site]]\nid = "x"\nname = "某局"\nstart = ["{base}/index.html"]\ndelay = {DELAY}\n{extra}',
                        encoding="utf-8")
    db = tmp_path / "archive.db"
    result = CliRunner().invoke(cli, ["crawl", "--db", str(db), "--registry", str(registry), "--json-summary",
                                      "--retries", "1", "--backoff", "0.05", "--timeout", "2", *args])
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    return result, summary, sqlite3.connect(db)


def _captures(conn, path: str) -> list[tuple]:
    return conn.execute("SELECT status, error, blocked, sha256 IS NOT NULL FROM captures WHERE url LIKE ? "
                        "ORDER BY id", [f"%{path}"]).fetchall()


def test_500_then_success_is_retried_and_both_archived(tmp_path):
    _list(tmp_path, ["r.html"])
    routes = {"/r.html": sequence(respond(500, "oops"), respond(200, PAGE))}
    with serve(tmp_path / "www", routes) as s:
        result, summary, conn = _crawl(tmp_path, s.base)
    assert result.exit_code == 0, result.output
    assert [c[0] for c in _captures(conn, "/r.html")] == [500, 200]
    assert summary["failed"] == 0 and summary["fetched"] == 2
    assert s.paths().count("/r.html") == 2
    assert_polite(s.log)


def test_429_waits_for_retry_after(tmp_path):
    _list(tmp_path, ["r.html"])
    routes = {"/r.html": sequence(respond(429, "slow down", headers={"Retry-After": "1"}), respond(200, PAGE))}
    with serve(tmp_path / "www", routes) as s:
        result, _summary, conn = _crawl(tmp_path, s.base)
    assert result.exit_code == 0, result.output
    asked = [t for t, _m, path, _h in s.log if path == "/r.html"]
    assert len(asked) == 2 and asked[1] - asked[0] >= 1.0
    assert [c[0] for c in _captures(conn, "/r.html")] == [429, 200]


def test_retry_after_too_long_defers_the_host(tmp_path):
    _list(tmp_path, ["r.html", "s.html"])
    (tmp_path / "www" / "s.html").write_text(PAGE, encoding="utf-8")
    routes = {"/r.html": respond(503, "maintenance", headers={"Retry-After": "86400"})}
    with serve(tmp_path / "www", routes) as s:
        result, summary, conn = _crawl(tmp_path, s.base)
    assert result.exit_code == 1
    assert s.paths() == ["/robots.txt", "/index.html", "/r.html"]  # asked once, then left alone
    assert "Retry-After" in result.stderr and summary["failed"] == 1
    states = dict(conn.execute("SELECT url, state FROM frontier"))
    assert {k.rsplit("/", 1)[1]: v for k, v in states.items()} == {
        "index.html": "done", "r.html": "deferred", "s.html": "deferred"}


def test_timeout_is_retried_archived_and_named(tmp_path):
    _list(tmp_path, ["r.html"])
    routes = {"/r.html": stall(3)}
    with serve(tmp_path / "www", routes) as s:
        result, summary, conn = _crawl(tmp_path, s.base, "--timeout", "0.3")
    assert result.exit_code == 1
    caps = _captures(conn, "/r.html")
    assert len(caps) == 2 and all(c[0] is None and c[1].startswith("timeout") for c in caps)
    assert "r.html: timeout" in result.stderr and summary["failed"] == 1


@pytest.mark.parametrize("route, error", [
    (reset(), ("ReadError", "RemoteProtocolError", "ConnectError")),
    (truncated(b"<html><body>" + b"x" * 100, 10_000), ("RemoteProtocolError",)),
])
def test_connection_reset_and_truncated_body_keep_no_partial_body(tmp_path, route, error):
    _list(tmp_path, ["r.html"])
    with serve(tmp_path / "www", {"/r.html": route}) as s:
        result, summary, conn = _crawl(tmp_path, s.base)
    assert result.exit_code == 1
    caps = _captures(conn, "/r.html")
    assert len(caps) == 2  # first try and one retry
    assert all(c[1].startswith(error) and c[3] == 0 for c in caps), caps
    assert summary["failed"] == 1 and s.paths().count("/r.html") == 2


def test_redirect_loop_stops_at_the_limit(tmp_path):
    _list(tmp_path, ["a.html"])
    routes = {"/a.html": redirect("/b.html"), "/b.html": redirect("/a.html")}
    with serve(tmp_path / "www", routes) as s:
        result, _summary, conn = _crawl(tmp_path, s.base)
    assert result.exit_code == 1 and "too many redirects" in result.stderr
    hops = [p for p in s.paths() if p in ("/a.html", "/b.html")]
    assert len(hops) == 6  # the first request and five redirects, each archived
    assert conn.execute("SELECT count(*) FROM captures WHERE status = 302").fetchone()[0] == 6


def test_redirect_to_another_host_is_refused_unless_registered(tmp_path):
    _list(tmp_path, ["away.html"])
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "r.html").write_text(PAGE, encoding="utf-8")
    with serve(tmp_path / "other") as other:
        routes = {"/away.html": redirect(f"{other.base}/r.html")}
        with serve(tmp_path / "www", routes) as s:
            result, _summary, conn = _crawl(tmp_path, s.base)
            assert result.exit_code == 1
            assert other.log == []  # never asked
            assert f"redirect to {other.base}/r.html: host not in the registry" in result.stderr
            assert [c[0] for c in _captures(conn, "/away.html")] == [302]  # the redirect itself is archived
            # named in the registry, the same redirect is followed (robots.txt first)
            (tmp_path / "archive.db").unlink()
            result, _summary, conn = _crawl(tmp_path, s.base, allow=[urlnetloc(s.base), urlnetloc(other.base)])
    assert result.exit_code == 0, result.output
    assert other.paths() == ["/robots.txt", "/r.html"]


def urlnetloc(base: str) -> str:
    return base.split("//", 1)[1]


def test_redirect_to_a_private_address_is_refused(tmp_path):
    """A registry host name that resolves to a private address is refused, the redirect
    to it never followed; a private address named in the registry is allowed."""
    _list(tmp_path, ["r.html"])

    async def resolver(host, port):
        return {"intranet.example.gov.cn": ["10.1.2.3"], "www.example.gov.cn": ["203.0.113.7"]}[host]

    async def go(base):
        f = Fetcher(resolver=resolver, retries=0, timeout=2)
        f.allow(urlnetloc(base), DELAY)
        f.allow("intranet.example.gov.cn", DELAY)
        try:
            redirected = await f.fetch(f"{base}/r.html")
            direct = await f.fetch("http://intranet.example.gov.cn/")
            literal = await f.fetch("http://10.9.9.9/")
        finally:
            await f.aclose()
        return redirected, direct, literal

    routes = {"/r.html": redirect("http://intranet.example.gov.cn/admin")}
    with serve(tmp_path / "www", routes) as s:
        redirected, direct, literal = asyncio.run(go(s.base))
    assert [r.status for r in redirected.responses] == [302]
    assert redirected.skipped[0] == "refused" and "non-public address 10.1.2.3" in redirected.skipped[1]
    assert direct.skipped[0] == "refused" and direct.responses == []
    assert literal.skipped == ("refused", "host not in the registry: 10.9.9.9")
    assert s.paths() == ["/robots.txt", "/r.html"]


def test_200_megabyte_body_is_cut_at_the_limit(tmp_path):
    _list(tmp_path, ["declared.html", "streamed.html"])
    size = 200 * 1024 * 1024
    routes = {"/declared.html": endless(size), "/streamed.html": endless(size, declare=False)}
    with serve(tmp_path / "www", routes) as s:
        result, _summary, conn = _crawl(tmp_path, s.base, "--retries", "0")
        sent = s.traffic[0]
    assert result.exit_code == 1
    declared, streamed = _captures(conn, "/declared.html"), _captures(conn, "/streamed.html")
    assert declared == [(200, f"body too large: {size} bytes declared (limit {50 * 1024 * 1024})", None, 0)]
    assert streamed[0][1].startswith("body too large: over") and streamed[0][3] == 0
    # both answers together would be 400 MB; what left the server is the 50 MB read plus
    # what the kernel's socket buffers took in before the connections were closed
    assert sent < 100 * 1024 * 1024, sent


def test_gzip_bomb_stops_at_the_decompressed_limit(tmp_path):
    _list(tmp_path, ["bomb.html"])
    with serve(tmp_path / "www", {"/bomb.html": gzip_bomb(120 * 1024 * 1024)}) as s:
        result, _summary, conn = _crawl(tmp_path, s.base, "--retries", "0")
    assert result.exit_code == 1
    ((status, error, _b, stored),) = _captures(conn, "/bomb.html")
    assert status == 200 and stored == 0
    assert error == f"body too large: over {100 * 1024 * 1024} bytes after gzip decoding"


def test_gzip_and_deflate_bodies_are_stored_decoded(tmp_path):
    _list(tmp_path, ["g.html", "d.html"])
    data = PAGE.encode()
    raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    routes = {"/g.html": respond(200, zlib.compress(data), headers={"Content-Encoding": "deflate"}),
              "/d.html": respond(200, raw.compress(data) + raw.flush(), headers={"Content-Encoding": "deflate"})}
    with serve(tmp_path / "www", routes) as s:
        result, _summary, conn = _crawl(tmp_path, s.base)
    assert result.exit_code == 0, result.output
    from scraper import archive

    adb = archive.open_archive(tmp_path / "archive.db")
    for path in ("/g.html", "/d.html"):
        cid = conn.execute("SELECT id FROM captures WHERE url LIKE ?", [f"%{path}"]).fetchone()[0]
        assert archive.capture_body(adb, cid) == data


@pytest.mark.parametrize("status, body, reason", [
    (412, "<html><script>var $_ts=window['$_ts'];if(!$_ts)$_ts={};$_ts.nsd=1;</script></html>", "$_ts"),
    (521, "<script>document.cookie='__jsl_clearance=1580000000.1|0|abc';location.href=location.pathname</script>",
     "__jsl_clearance"),
    (200, "<html><script>var arg1='3F2A';function setCookie(n,v){};setCookie('acw_sc__v2', x);</script></html>",
     "acw_sc__v2"),
])
def test_waf_challenge_blocks_the_host_for_this_run(tmp_path, status, body, reason):
    _list(tmp_path, ["r1.html", "r2.html", "r3.html"])
    for name in ("r2.html", "r3.html"):
        (tmp_path / "www" / name).write_text(PAGE, encoding="utf-8")
    routes = {"/r1.html": respond(status, body)}
    with serve(tmp_path / "www", routes) as s:
        result, summary, conn = _crawl(tmp_path, s.base)
        assert result.exit_code == 1
        assert s.paths() == ["/robots.txt", "/index.html", "/r1.html"]  # asked once, never again, no retry
        assert summary["blocked"] == 1 and "blocked (" in result.stderr and reason in result.stderr
        assert [(c[0], reason in (c[2] or "")) for c in _captures(conn, "/r1.html")] == [(status, True)]
        states = {u.rsplit("/", 1)[1]: st for u, st in conn.execute("SELECT url, state FROM frontier")}
        assert states == {"index.html": "done", "r1.html": "deferred", "r2.html": "deferred", "r3.html": "deferred"}
        # the next run asks again; the challenge is gone, the crawl completes
        s.routes["/r1.html"] = respond(200, PAGE)
        result, summary, conn = _crawl(tmp_path, s.base)
    assert result.exit_code == 0, result.output
    assert summary["blocked"] == 0 and summary["fetched"] == 3
    assert {st for (st,) in conn.execute("SELECT state FROM frontier")} == {"done"}


def test_robots_disallowed_path_is_never_requested(tmp_path):
    _list(tmp_path, ["secret/r.html", "r.html"])
    (tmp_path / "www" / "robots.txt").write_bytes(
        "\ufeff# 某局网站\nUser-agent: *\nDisallow: /secret/\n".encode("utf-8"))
    (tmp_path / "www" / "r.html").write_text(PAGE, encoding="utf-8")
    with serve(tmp_path / "www") as s:
        result, summary, conn = _crawl(tmp_path, s.base)
    assert result.exit_code == 0, result.output
    assert not [p for p in s.paths() if p.startswith("/secret/")]
    assert "/r.html" in s.paths() and summary["failed"] == 0
    state = conn.execute("SELECT state FROM frontier WHERE url LIKE '%secret/r.html'").fetchone()[0]
    assert state == "disallowed"
    assert_polite(s.log)


@pytest.mark.parametrize("status, deferred", [(503, True), (500, True), (404, False), (403, False)])
def test_robots_5xx_defers_the_host_4xx_allows(tmp_path, status, deferred):
    _list(tmp_path, ["r.html"])
    (tmp_path / "www" / "r.html").write_text(PAGE, encoding="utf-8")
    with serve(tmp_path / "www", {"/robots.txt": respond(status, "no")}) as s:
        result, _summary, conn = _crawl(tmp_path, s.base)
    if deferred:
        assert s.paths() == ["/robots.txt"] and result.exit_code == 1
        assert "robots.txt unavailable" in result.stderr
        assert conn.execute("SELECT state FROM frontier").fetchall() == [("deferred",)]
    else:
        assert s.paths() == ["/robots.txt", "/index.html", "/r.html"] and result.exit_code == 0
    assert conn.execute("SELECT status, role FROM captures WHERE url LIKE '%robots.txt'").fetchall() == [
        (status, "robots")]


def test_robots_text_in_any_encoding():
    rules = "# 某局网站\nUser-agent: *\nDisallow: /私/\n"
    for data in (rules.encode("utf-8-sig"), rules.encode("utf-16"), rules.encode("gbk"), b"\xff\xfe\xfd" + b"\n"):
        text = decode_robots(data)
        assert isinstance(text, str) and not text.startswith("\ufeff")
    assert decode_robots(rules.encode("gbk")) == rules
    assert decode_robots(rules.encode("utf-16")) == rules
    assert decode_robots("Disallow: /私/".encode("gbk"), "text/plain; charset=GBK") == "Disallow: /私/"


def test_delay_between_requests_to_one_host(tmp_path):
    _list(tmp_path, [f"r{i}.html" for i in range(6)])
    for i in range(6):
        (tmp_path / "www" / f"r{i}.html").write_text(PAGE, encoding="utf-8")
    with serve(tmp_path / "www") as s:
        registry = tmp_path / "sites.toml"
        registry.write_text(f'[[site]]\nid = "x"\nname = "某局"\nstart = ["{s.base}/index.html"]\ndelay = 0.2\n',
                            encoding="utf-8")
        result = CliRunner().invoke(cli, ["crawl", "--db", str(tmp_path / "a.db"), "--registry", str(registry)])
    assert result.exit_code == 0, result.output
    assert len(s.log) == 8
    assert_polite(s.log, 0.2)
    assert all(h.get("User-Agent", "").startswith("xxgk-archive/") and "+http" in h["User-Agent"]
               for _t, _m, _p, h in s.log)


def test_global_concurrency_limit_across_hosts(tmp_path):
    """Four hosts, two requests in flight at most: each request's [arrival, arrival +
    latency] window overlaps at most one other."""
    from contextlib import ExitStack

    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "p.html").write_text(PAGE, encoding="utf-8")
    latency = 0.2

    async def go(bases):
        f = Fetcher(concurrency=2, retries=0, timeout=5)
        for b in bases:
            f.allow(urlnetloc(b), 0.0)
        try:
            return await asyncio.gather(*(f.fetch(f"{b}/p.html") for b in bases))
        finally:
            await f.aclose()

    with ExitStack() as stack:
        servers = [stack.enter_context(serve(tmp_path / "www", latency=latency)) for _ in range(4)]
        results = asyncio.run(go([s.base for s in servers]))
    assert [r.final.status for r in results] == [200] * 4
    arrivals = sorted(t for s in servers for t, *_ in s.log)
    assert len(arrivals) == 8  # robots.txt and the page, per host
    for t in arrivals:
        in_flight = sum(1 for a in arrivals if a <= t < a + latency)
        assert in_flight <= 2
    assert max(sum(1 for a in arrivals if a <= t < a + latency) for t in arrivals) == 2  # and it was used


def test_robots_read_ahead_for_as_many_hosts_as_may_be_asked_at_once(tmp_path):
    """`warm` asks the first `concurrency` registry hosts for robots.txt and returns once the
    requests have left; a host's first fetch returns its robots.txt response (for the
    archive) and waits the delay after it; a host outside the registry is not asked."""
    from contextlib import ExitStack

    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "p.html").write_text(PAGE, encoding="utf-8")

    async def go(bases):
        f = Fetcher(concurrency=2, retries=0, timeout=5)
        for b in bases[:3]:
            f.allow(urlnetloc(b), 0.3)
        try:
            await f.warm([f"{b}/p.html" for b in [bases[3]] + bases[:3]], 1.0)
            left = [len(s.log) for s in servers]
            first = await f.fetch(f"{bases[0]}/p.html")
            return left, first, await f.unreported()
        finally:
            await f.aclose()

    with ExitStack() as stack:
        servers = [stack.enter_context(serve(tmp_path / "www", latency=0.05)) for _ in range(4)]
        left, first, unreported = asyncio.run(go([s.base for s in servers]))
    assert left == [1, 1, 0, 0]  # asked before `warm` returned: two hosts, not the unregistered one
    assert [r.url for r in first.robots] == [f"{servers[0].base}/robots.txt"] and first.final.status == 200
    assert servers[0].paths() == ["/robots.txt", "/p.html"] and servers[0].log[1][0] - servers[0].log[0][0] >= 0.3
    assert [(u, r.url) for u, r in unreported] == [(f"{servers[1].base}/p.html", f"{servers[1].base}/robots.txt")]


def test_backoff_grows_exponentially(tmp_path):
    _list(tmp_path, ["r.html"])
    with serve(tmp_path / "www", {"/r.html": respond(502, "bad gateway")}) as s:
        result, _summary, conn = _crawl(tmp_path, s.base, "--retries", "3", "--backoff", "0.1")
    assert result.exit_code == 1
    asked = [t for t, _m, path, _h in s.log if path == "/r.html"]
    gaps = [b - a for a, b in zip(asked, asked[1:])]
    assert len(asked) == 4 and [c[0] for c in _captures(conn, "/r.html")] == [502] * 4
    assert gaps[0] >= 0.1 and gaps[1] >= 0.2 and gaps[2] >= 0.4  # 0.1 · 2^n, plus up to 50% jitter


def test_robots_crawl_delay_slows_the_host_down(tmp_path):
    _list(tmp_path, ["a.html", "b.html"])
    for name in ("a.html", "b.html"):
        (tmp_path / "www" / name).write_text(PAGE, encoding="utf-8")
    (tmp_path / "www" / "robots.txt").write_text("User-agent: *\nCrawl-delay: 0.3\n", encoding="utf-8")
    with serve(tmp_path / "www") as s:
        result, _summary, _conn = _crawl(tmp_path, s.base)
    assert result.exit_code == 0 and len(s.log) == 4
    assert_polite(s.log[1:], 0.3)  # after robots.txt was read
