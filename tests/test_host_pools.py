"""The crawler's connection pools (scraper/host_pools.py) against real servers on
127.0.0.1 that keep connections alive: a host's connection is reused, idle pools beyond
`keep` are closed least recently used first, a pool whose answer is still being read is not."""

from __future__ import annotations

import asyncio
import ssl
from contextlib import ExitStack

import httpx

from scraper.host_pools import HostPools
from webserver import serve


def _client_port(h) -> None:
    """Answers with the client's port: one port, one connection."""
    body = str(h.client_address[1]).encode()
    h.send_response(200)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def _servers(stack: ExitStack, tmp_path, n: int) -> list[str]:
    return [stack.enter_context(serve(tmp_path, {"/port": _client_port}, keep_alive=True)).base + "/port"
            for _ in range(n)]


def test_a_hosts_connection_is_kept_and_idle_pools_beyond_keep_are_closed(tmp_path):
    async def go(urls):
        pools = HostPools(keep=1)
        async with httpx.AsyncClient(transport=pools) as client:
            a1 = (await client.get(urls[0])).text
            a2 = (await client.get(urls[0])).text
            assert a1 == a2  # the same connection answered both
            await client.get(urls[1])  # a second host: the first host's idle pool is closed
            assert len(pools.pools) == 1
            a3 = (await client.get(urls[0])).text  # asked again: a new connection
            assert a3 != a1
            assert len(pools.pools) == 1 and not pools.busy

    with ExitStack() as stack:
        asyncio.run(go(_servers(stack, tmp_path, 2)))


def test_a_pool_whose_answer_is_open_is_not_closed(tmp_path):
    async def go(urls):
        pools = HostPools(keep=1)
        async with httpx.AsyncClient(transport=pools) as client:
            async with client.stream("GET", urls[0]) as first:  # still being read
                await client.get(urls[1])
                await client.get(urls[2])
                assert len(pools.busy) == 1 and len(pools.pools) == 2  # the open one kept, one idle closed
                port = (await first.aread()).decode()
            assert not pools.busy
            await client.get(urls[1])  # a host asked anew: now the first host's pool goes too
            assert len(pools.pools) == 1
            assert (await client.get(urls[0])).text != port

    with ExitStack() as stack:
        asyncio.run(go(_servers(stack, tmp_path, 3)))


def test_a_failed_request_leaves_its_pool_free(tmp_path):
    async def go(url, dead):
        pools = HostPools(keep=4)
        async with httpx.AsyncClient(transport=pools, timeout=2) as client:
            try:
                await client.get(dead)
            except httpx.ConnectError:
                pass
            else:
                raise AssertionError("nothing listens there")
            assert not pools.busy
            assert (await client.get(url)).status_code == 200

    with ExitStack() as stack:
        url = _servers(stack, tmp_path, 1)[0]
        import socket
        with socket.socket() as s:  # a port nothing listens on
            s.bind(("127.0.0.1", 0))
            dead = f"http://127.0.0.1:{s.getsockname()[1]}/"
        asyncio.run(go(url, dead))


def test_many_hosts_at_once_with_few_pools_kept(tmp_path):
    """New hosts asked together while many idle pools are kept: each new pool closes the
    least recently used ones, the closings overlap, and no request fails for it."""
    async def go(urls):
        pools = HostPools(keep=len(urls))
        async with httpx.AsyncClient(transport=pools) as client:
            for u in urls[:30]:  # thirty idle pools, each holding a kept-alive connection
                assert (await client.get(u)).status_code == 200
            pools.keep = 1
            answers = await asyncio.gather(*(client.get(u) for u in urls[30:]), return_exceptions=True)
            assert [a for a in answers if isinstance(a, BaseException)] == []
            assert all(a.status_code == 200 for a in answers)
            assert not pools.busy
            old = {(u.split(":")[0], "127.0.0.1", int(u.split(":")[2].split("/")[0])) for u in urls[:30]}
            assert not old & set(pools.pools)  # the thirty idle pools were closed

    with ExitStack() as stack:
        asyncio.run(go(_servers(stack, tmp_path, 40)))


def test_https_pools_verify_against_the_ca_bundle_and_http_pools_never_read_it(tmp_path):
    async def go(url):
        pools = HostPools(keep=4)
        async with httpx.AsyncClient(transport=pools) as client:
            assert (await client.get(url)).status_code == 200
        assert set(pools.by_scheme) == {"http"}  # no https host asked: the CA bundle was never read
        plain = pools._options("http")["verify"]
        assert plain.cert_store_stats()["x509_ca"] == 0  # trusts nothing: a TLS handshake with it fails
        secure = pools._options("https")["verify"]
        assert secure.verify_mode == ssl.CERT_REQUIRED and secure.check_hostname
        assert secure.cert_store_stats()["x509_ca"] > 0
        assert pools._options("https")["verify"] is secure  # one context for every https host

    with ExitStack() as stack:
        asyncio.run(go(_servers(stack, tmp_path, 1)[0]))
