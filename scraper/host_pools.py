"""One small HTTP connection pool per host, for a crawl that keeps many hosts' connections alive.

httpcore's connection pool looks at every connection it holds whenever a request starts
or ends, and for each one counts the idle ones again: with one pool for the whole crawl,
every request cost time in proportion to the square of the hosts whose connections were
kept alive.  At 100 kept-alive hosts that made the crawl process's CPU 1.7 times what it
was with connections closed after every answer.  A crawl asks each host one request at
a time, so each host gets a pool of its own holding one kept-alive connection; the pools
of hosts not asked lately are closed, least recently used first, so a registry of 20,000
sites holds at most `keep` idle connections.
"""

from __future__ import annotations

import ssl
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable

import httpx

PER_HOST = 2  # connections a host's pool may open (one in use, one closing)


class _Counted(httpx.AsyncByteStream):
    """A response body that says when it is closed: its pool is busy until then."""

    def __init__(self, stream: httpx.AsyncByteStream, closed: Callable[[], None]) -> None:
        self.stream, self.closed = stream, closed

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self.stream.aclose()
        finally:
            self.closed()


class HostPools(httpx.AsyncBaseTransport):
    """An httpx transport routing each request to its host's own pool."""

    def __init__(self, keep: int, **transport_options) -> None:
        self.keep = max(1, keep)
        self.options = {**transport_options,
                        "limits": httpx.Limits(max_connections=PER_HOST, max_keepalive_connections=1)}
        self.by_scheme: dict[str, dict] = {}  # each scheme's pool options, made when first needed
        self.pools: OrderedDict[tuple, httpx.AsyncHTTPTransport] = OrderedDict()  # least recently used first
        self.busy: dict[tuple, int] = {}  # requests whose answer is still open, per host

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = (request.url.scheme, request.url.host, request.url.port)
        pool = self.pools.get(key)
        if pool is None:
            pool = self.pools[key] = httpx.AsyncHTTPTransport(**self._options(request.url.scheme))
            await self._close_unused()
        else:
            self.pools.move_to_end(key)
        self.busy[key] = self.busy.get(key, 0) + 1
        try:
            response = await pool.handle_async_request(request)
        except BaseException:
            self._done(key)
            raise
        response.stream = _Counted(response.stream, lambda: self._done(key))
        return response

    def _options(self, scheme: str) -> dict:
        """Every pool of a scheme shares one SSL context.  Reading the CA bundle for the
        https one takes 25 ms, so it waits for the first https host; a plain http pool
        never makes a TLS connection (a redirect to https is a request of its own, to an
        https pool) and gets a context that trusts nothing, made in microseconds."""
        if scheme not in self.by_scheme:
            context = httpx.create_ssl_context() if scheme == "https" else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            self.by_scheme[scheme] = {"verify": context, **self.options}
        return self.by_scheme[scheme]

    def _done(self, key: tuple) -> None:
        self.busy[key] -= 1
        if not self.busy[key]:
            del self.busy[key]

    async def _close_unused(self) -> None:
        """Close the least recently used pools beyond `keep` that no request is using; all
        taken out before the first is closed, as closing lets other requests run."""
        unused = [key for key in list(self.pools)[:max(0, len(self.pools) - self.keep)] if key not in self.busy]
        for pool in [self.pools.pop(key) for key in unused]:
            await pool.aclose()

    async def aclose(self) -> None:
        pools, self.pools = list(self.pools.values()), OrderedDict()
        for pool in pools:
            await pool.aclose()
