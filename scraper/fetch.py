"""A polite HTTP fetcher for fragile government sites (httpx, async).

Politeness is here and nowhere else: robots.txt (protego), one request at a time per
host with a delay between the starts of two requests, a global concurrency limit, an
honest User-Agent, Retry-After and exponential backoff with jitter, timeouts, and limits
on redirects, body size and decompressed size.  Safety too: only registry hosts, checked
again after every redirect, and no private/loopback/link-local address unless the
registry names that address.  Web application firewall challenges (瑞数 `$_ts`,
`__jsl_clearance`, `acw_sc__v2`) are recorded as `blocked` and the host is not asked
again in this run; nothing tries to get around them.

The fetcher knows nothing about reports; it returns every response it got, for the
archive, and says why when it sent nothing.
"""

from __future__ import annotations

import asyncio
import codecs
import functools
import hashlib
import ipaddress
import logging
import random
import re
import socket
import time
import zlib
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Awaitable, Callable
from urllib.parse import urljoin, urlsplit

import httpx
from protego import Protego

from .host_pools import HostPools

log = logging.getLogger("xxgk.fetch")

USER_AGENT = "xxgk-archive/0.1 (+https://github.com/xxgk-archive/xxgk-archive; archive of government disclosure annual reports)"
MAX_BODY = 50 * 1024 * 1024  # bytes on the wire
MAX_DECOMPRESSED = 100 * 1024 * 1024  # bytes after gzip/deflate
MAX_REDIRECTS = 5
DEADLINE = 600.0  # seconds for one whole request, however slowly the bytes trickle in
RETRY_STATUSES = (408, 429, 500, 502, 503, 504)
WAF_MARKERS = (
    (re.compile(rb"\$_ts\s*=|\$_ts\["), "412 challenge ($_ts, 瑞数)"),
    (re.compile(rb"__jsl_clearance"), "__jsl_clearance challenge (加速乐)"),
    (re.compile(rb"acw_sc__v2"), "acw_sc__v2 challenge (阿里云)"),
)

Resolver = Callable[[str, int], Awaitable[list[str]]]


@dataclass
class Response:
    """One HTTP exchange, successful or not: everything the archive keeps."""
    url: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    error: str | None = None
    blocked: str | None = None
    elapsed_ms: int = 0
    wire_bytes: int = 0  # body bytes as transferred (before decompression)
    fetched_at: float = field(default_factory=time.time)

    @property
    def sha256(self) -> str | None:
        """The body's digest, computed once per body (the crawl asks for it several times)."""
        if self.body is None:
            return None
        known = self.__dict__.get("_sha256")
        if known is None or known[0] is not self.body:
            known = self.__dict__["_sha256"] = (self.body, hashlib.sha256(self.body).hexdigest())
        return known[1]

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    @property
    def location(self) -> str | None:
        loc = self.headers.get("location")
        return urljoin(self.url, loc.strip()) if loc else None


@dataclass
class Result:
    """What happened to one URL: the responses (redirect hops, retries; the last one
    decides), the robots.txt responses fetched on the way, and, when the fetcher sent
    nothing (more), why: `skipped = (kind, reason)` with kind one of
    refused | disallowed | blocked | deferred."""
    url: str
    responses: list[Response] = field(default_factory=list)
    robots: list[Response] = field(default_factory=list)
    skipped: tuple[str, str] | None = None

    @property
    def final(self) -> Response | None:
        return self.responses[-1] if self.responses else None


class HostState:
    """Per host[:port]: one request at a time, the delay, robots rules, block state."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.lock = asyncio.Lock()
        self.next_start = 0.0  # monotonic time before which no request may start
        self.robots: Protego | None = None
        self.robots_state = "unknown"  # unknown | ok | allow-all | deferred
        self.blocked: str | None = None  # WAF challenge seen: not asked again this run
        self.deferred: str | None = None  # robots.txt 5xx, or Retry-After too long
        self.left: float | None = None  # monotonic time the latest request to it left
        self.warming: asyncio.Task | None = None  # robots.txt asked ahead (`Fetcher.warm`)
        self.unreported: list[Response] = []  # robots.txt responses no fetch has returned yet
        self.warmed_for: str | None = None  # the URL `warm` was given for this host


@functools.lru_cache(maxsize=4096)  # asked at every hop of every fetch, of a few addresses
def _is_public(ip: str) -> bool:
    addr = ipaddress.ip_address(ip)
    return not (addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_reserved
                or addr.is_multicast or addr.is_unspecified)


@functools.lru_cache(maxsize=4096)
def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def decode_robots(body: bytes, content_type: str | None = None) -> str:
    """robots.txt as text whatever its encoding: BOMs honoured, then a charset in the
    Content-Type header, then UTF-8, then GB18030 (a superset of GBK/GB2312, common on
    Chinese sites); never raises."""
    m = re.search(r"charset\s*=\s*[\"']?([\w\-]+)", content_type or "", re.I)
    if m and not body.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return body.decode(m.group(1)).lstrip("\ufeff")
        except (LookupError, UnicodeDecodeError):
            pass
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                       (codecs.BOM_UTF16_BE, "utf-16-be")):
        if body.startswith(bom):
            return body[len(bom):].decode(codec, errors="replace")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("gb18030", errors="replace")
    return text.lstrip("\ufeff")


class _Decoder:
    """Content-Encoding decoding with a cap on the output, so a gzip bomb stops at the
    limit instead of filling memory (zlib's `max_length`)."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.encoding = encoding
        self.limit = limit
        self.size = 0
        self.exceeded = False
        if encoding in ("gzip", "x-gzip"):
            self.z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self.z = zlib.decompressobj()
        else:
            self.z = None
        self._first = True

    def feed(self, data: bytes) -> bytes:
        if self.z is None:
            out = data
        else:
            out = self._inflate(data)
        self.size += len(out)
        if self.size > self.limit:
            self.exceeded = True
        return out

    def _inflate(self, data: bytes) -> bytes:
        parts = []
        while data and not self.exceeded:
            room = self.limit - self.size - sum(map(len, parts)) + 1
            try:
                piece = self.z.decompress(data, room)
            except zlib.error:
                if self.encoding == "deflate" and self._first:  # raw deflate, no zlib header
                    self.z = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._first = False
                    continue
                raise
            self._first = False
            parts.append(piece)
            if sum(map(len, parts)) + self.size > self.limit:
                break
            if self.z.unconsumed_tail:
                data = self.z.unconsumed_tail
            elif self.z.eof and self.z.unused_data:  # another gzip member follows
                data = self.z.unused_data
                self.z = zlib.decompressobj(16 + zlib.MAX_WBITS)
            else:
                data = b""
        return b"".join(parts)


def _netloc_key(url: str) -> str:
    """host, or host:port when the port is not the scheme's default: one key per server."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    host = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return host if port is None or port == default else f"{host}:{port}"


async def _system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [i[4][0] for i in infos]


class Fetcher:
    def __init__(self, *, user_agent: str = USER_AGENT, concurrency: int = 8, timeout: float = 30.0,
                 retries: int = 3, backoff: float = 1.0, max_body: int = MAX_BODY,
                 max_decompressed: int = MAX_DECOMPRESSED, max_redirects: int = MAX_REDIRECTS,
                 deadline: float = DEADLINE, transport: httpx.AsyncBaseTransport | None = None,
                 resolve: bool = True, resolver: Resolver | None = None,
                 max_retry_after: float = 120.0) -> None:
        self.user_agent = user_agent
        self.concurrency = concurrency
        self.global_limit = asyncio.Semaphore(concurrency)
        self.timeout = timeout
        self.deadline = max(deadline, timeout)
        self.retries = retries
        self.backoff = backoff
        self.max_body = max_body
        self.max_decompressed = max_decompressed
        self.max_redirects = max_redirects
        self.max_retry_after = max_retry_after
        self.resolve = resolve
        self.resolver = resolver or _system_resolver
        self.hosts: dict[str, HostState] = {}
        self.allowed: dict[str, float] = {}  # netloc or host → delay
        self.named_hosts: set[str] = set()  # host names/addresses the registry names
        # a pool per host (host_pools.py), at most `concurrency` hosts' connections kept alive;
        # no proxy from the environment: the address checks above are about the hosts asked
        self.client = httpx.AsyncClient(
            transport=transport or HostPools(keep=concurrency), timeout=httpx.Timeout(timeout),
            follow_redirects=False, trust_env=False,
            headers={"User-Agent": user_agent, "Accept-Language": "zh-CN,zh;q=0.9",
                     "Accept-Encoding": "gzip, deflate"})

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- what may be asked
    def allow(self, netloc_or_host: str, delay: float) -> None:
        """Let the fetcher ask this host (or host:port), with this delay between requests."""
        key = _netloc_key(f"http://{netloc_or_host}")
        self.allowed[key] = max(delay, self.allowed.get(key, 0.0))  # sites sharing a host: the slowest wins
        self.named_hosts.add(urlsplit(f"//{key}").hostname or key)

    def allow_sites(self, sites) -> None:
        """`allow` every host of these registry sites (start pages and `allow`), each with
        its site's delay."""
        for site in sites:
            for netloc in site.netlocs:
                self.allow(netloc, site.delay)

    def permitted(self, url: str) -> str | None:
        """None if this URL's host is in the registry, else why not."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return f"not an http(s) URL: {url}"
        if _netloc_key(url) not in self.allowed:
            return f"host not in the registry: {parts.netloc}"
        return None

    def state(self, url: str) -> HostState:
        key = _netloc_key(url)
        if key not in self.hosts:
            self.hosts[key] = HostState(self.allowed.get(key, 1.0))
        return self.hosts[key]

    async def _address_ok(self, url: str) -> str | None:
        """A host name must resolve to public addresses only, unless the registry names
        the private address itself (`start`/`allow` with an IP, or `localhost`)."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if _is_ip(host) or host == "localhost":
            if _is_ip(host) and _is_public(host) or host in self.named_hosts:
                return None
            return f"refused: {host} is a non-public address not named in the registry"
        if not self.resolve:
            return None
        try:
            ips = await self.resolver(host, parts.port or (443 if parts.scheme == "https" else 80))
        except OSError as exc:
            return f"cannot resolve {host}: {exc}"
        for ip in ips:
            try:
                public = _is_public(ip)
            except ValueError:
                public = False
            if not public and ip not in self.named_hosts:
                return f"refused: {host} resolves to non-public address {ip}, not named in the registry"
        return None

    # -- the fetch
    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                    validators: Callable[[str], tuple[str | None, str | None]] | None = None) -> Result:
        """GET a URL politely; follow redirects inside the registry; retry what is worth it.
        `etag`/`last_modified` make the request conditional; `validators(url)` does the
        same for every hop (a redirect target archived before)."""
        result = Result(url)
        current = url
        for _hop in range(self.max_redirects + 1):
            why = self.permitted(current) or await self._address_ok(current)
            if why:
                result.skipped = ("refused", why if current == url else f"redirect to {current}: {why}")
                return result
            hs = self.state(current)
            async with hs.lock:
                if hs.blocked:
                    result.skipped = ("blocked", f"host blocked this run: {hs.blocked}")
                    return result
                await self._robots(current, hs, result)
                if hs.unreported:  # asked ahead by `warm`: returned with this URL, for the archive
                    result.robots = hs.unreported + result.robots
                    hs.unreported = []
                if hs.deferred:
                    result.skipped = ("deferred", hs.deferred)
                    return result
                if hs.robots is not None and not hs.robots.can_fetch(current, self.user_agent):
                    result.skipped = ("disallowed", f"disallowed by robots.txt: {current}")
                    return result
                tag, modified = validators(current) if validators else (None, None)
                if current == url:
                    tag, modified = etag or tag, last_modified or modified
                headers = {}
                if tag:
                    headers["If-None-Match"] = tag
                if modified:
                    headers["If-Modified-Since"] = modified
                resp = await self._with_retries(current, hs, headers, result)
            if resp.blocked:
                hs.blocked = resp.blocked
                log.warning("blocked by %s at %s: not asking this host again in this run", resp.blocked, current)
                return result
            if resp.status in (301, 302, 303, 307, 308) and resp.location:
                current = resp.location.split("#")[0]
                continue
            return result
        result.skipped = ("refused", f"too many redirects (more than {self.max_redirects})")
        return result

    async def warm(self, urls: list[str], wait: float) -> None:
        """Ask the hosts of `urls` for their robots.txt now, each in a task of its own, and
        return once every request has left (or after `wait` seconds): a crawl asks every
        host for it first, and the answers can come back while the crawl is still setting
        up.  A host's first `fetch` waits for its answer and returns it with its own
        responses (for the archive); `unreported` gives what no fetch returned.  At most
        `concurrency` hosts, the first ones: the rest would only wait for a slot.  A URL a
        fetch would refuse is left to that fetch to refuse."""
        hosts: list[HostState] = []
        for url in urls:
            if len(hosts) >= self.concurrency:
                break
            hs = self.state(url)
            if hs.robots_state == "unknown" and hs.warming is None and self.permitted(url) is None:
                hs.warming, hs.warmed_for = asyncio.create_task(self._warm(url, hs)), url
                hosts.append(hs)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and not all(hs.left or hs.warming.done() for hs in hosts):
            await asyncio.sleep(0.002)

    async def _warm(self, url: str, hs: HostState) -> None:
        async with hs.lock:
            if hs.robots_state != "unknown" or await self._address_ok(url) is not None:
                return
            result = Result(url)
            try:
                await self._robots(url, hs, result)
            except Exception:  # noqa: BLE001 - the host's first fetch asks again
                log.exception("robots.txt of %s not read ahead", url)
            finally:
                hs.unreported.extend(result.robots)

    async def unreported(self) -> list[tuple[str, Response]]:
        """(URL given to `warm`, response) of the robots.txt responses that no fetch has
        returned (a host none of whose URLs was asked after all), once every one read
        ahead has come; taken out of the fetcher."""
        await asyncio.gather(*(hs.warming for hs in self.hosts.values() if hs.warming is not None))
        out = []
        for hs in self.hosts.values():
            out += [(hs.warmed_for, r) for r in hs.unreported]
            hs.unreported = []
        return out

    async def _robots(self, url: str, hs: HostState, result: Result) -> None:
        """Fetch and read robots.txt once per host: missing or 4xx allows everything,
        5xx (or no answer) defers the host for this run, redirects are followed inside
        the registry."""
        if hs.robots_state != "unknown":
            return
        parts = urlsplit(url)
        robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
        for _hop in range(self.max_redirects + 1):
            resp = await self._one(robots_url, hs, {})
            result.robots.append(resp)
            if resp.status in (301, 302, 303, 307, 308) and resp.location:
                nxt = resp.location.split("#")[0]
                if self.permitted(nxt) is None and await self._address_ok(nxt) is None:
                    robots_url = nxt
                    continue
                hs.robots_state = "allow-all"  # RFC 9309: an unfollowable redirect is "unavailable"
                return
            break
        if resp.status is not None and 200 <= resp.status < 300 and resp.body is not None:
            try:
                hs.robots = Protego.parse(decode_robots(resp.body, resp.content_type))
                hs.robots_state = "ok"
            except Exception:  # noqa: BLE001 - an unreadable robots.txt allows, like a missing one
                hs.robots_state = "allow-all"
            if hs.robots is not None:
                crawl_delay = hs.robots.crawl_delay(self.user_agent)
                if crawl_delay:
                    hs.delay = max(hs.delay, min(float(crawl_delay), 60.0))
        elif resp.status is not None and 400 <= resp.status < 500 and resp.status != 429:
            hs.robots_state = "allow-all"
        else:
            hs.robots_state = "deferred"
            hs.deferred = (f"robots.txt unavailable ({f'HTTP {resp.status}' if resp.status else resp.error}); "
                           f"host deferred to the next run")

    async def _wait_turn(self, hs: HostState) -> None:
        wait = hs.next_start - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    async def _one(self, url: str, hs: HostState, headers: dict[str, str]) -> Response:
        """One request, in the host's turn and inside the global limit; the body read
        with limits on wire size, decompressed size and total time."""
        await self._wait_turn(hs)
        async with self.global_limit:
            await self._wait_turn(hs)
            started = time.monotonic()
            resp = Response(url)
            sent: list[float] = []
            try:
                async with asyncio.timeout(self.deadline):
                    await self._send(url, hs, headers, resp, sent)
            except (TimeoutError, httpx.TimeoutException) as exc:
                resp.error = f"timeout: {type(exc).__name__}"
                resp.body = None
            except httpx.HTTPError as exc:
                resp.error = f"{type(exc).__name__}: {exc}"[:500]
                resp.body = None
            except (OSError, ValueError, zlib.error) as exc:
                resp.error = f"{type(exc).__name__}: {exc}"[:500]
                resp.body = None
            finally:
                # The delay runs from the moment the request left (its headers written to
                # the socket, so no later than the server can have seen it): the next
                # request to this host starts `delay` after that, and never before this
                # one has ended (one request at a time per host).  Nothing sent: from now.
                left = sent[-1] if sent else time.monotonic()
                hs.next_start = left + hs.delay + min(0.01, hs.delay * 0.01)
            resp.elapsed_ms = int((time.monotonic() - started) * 1000)
        self._check_waf(resp)
        return resp

    async def _send(self, url: str, hs: HostState, headers: dict[str, str], resp: Response,
                    sent: list[float]) -> None:
        async def trace(name: str, info: dict) -> None:
            if name.endswith("send_request_headers.complete"):
                sent.append(time.monotonic())
                hs.left = sent[-1]

        req = self.client.build_request("GET", url, headers=headers, extensions={"trace": trace})
        r = await self.client.send(req, stream=True)
        try:
            resp.status = r.status_code
            resp.headers = {k.lower(): v for k, v in r.headers.items()}
            declared = r.headers.get("content-length", "").strip()
            if declared.isdigit() and int(declared) > self.max_body:
                resp.error = f"body too large: {declared} bytes declared (limit {self.max_body})"
                return
            encoding = r.headers.get("content-encoding", "identity").strip().lower()
            decoder = _Decoder(encoding, self.max_decompressed)
            chunks = []
            async for raw in r.aiter_raw():
                resp.wire_bytes += len(raw)
                if resp.wire_bytes > self.max_body:
                    resp.error = f"body too large: over {self.max_body} bytes"
                    return
                chunks.append(decoder.feed(raw))
                if decoder.exceeded:
                    resp.error = f"body too large: over {self.max_decompressed} bytes after {encoding} decoding"
                    return
            if encoding not in ("identity", "", "gzip", "x-gzip", "deflate"):
                resp.error = f"unsupported Content-Encoding {encoding!r}: raw bytes kept"
            resp.body = b"".join(chunks)
        finally:
            await r.aclose()

    def _check_waf(self, resp: Response) -> None:
        if resp.status is None:
            return
        head = (resp.body or b"")[:20000]
        for pattern, reason in WAF_MARKERS:
            if resp.status in (200, 202, 403, 412, 521) and pattern.search(head) and (
                    resp.status != 200 or len(resp.body or b"") < 65536):
                resp.blocked = reason
                return
        if resp.status == 412:
            resp.blocked = "HTTP 412 (a challenge page without a known marker)"

    def _retry_after(self, resp: Response) -> float | None:
        value = (resp.headers.get("retry-after") or "").strip()
        if not value:
            return None
        if value.isdigit():
            return float(value)
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError, IndexError):
            return None

    async def _with_retries(self, url: str, hs: HostState, headers: dict, result: Result) -> Response:
        """Retry errors, timeouts, 408/429/5xx: Retry-After when given (429/503), else
        exponential backoff with jitter; the host's lock is held, so nothing else asks
        the host meanwhile, but the global slot is free."""
        attempt = 0
        while True:
            resp = await self._one(url, hs, headers)
            result.responses.append(resp)
            retryable = (resp.error is not None and not resp.error.startswith(("body too large", "unsupported"))) \
                or resp.status in RETRY_STATUSES
            if resp.blocked or not retryable or attempt >= self.retries:
                return resp
            attempt += 1
            wait = self._retry_after(resp) if resp.status in (429, 503) else None
            if wait is None:
                wait = self.backoff * (2 ** (attempt - 1)) * (1 + random.random() * 0.5)
            if wait > self.max_retry_after:
                resp.error = (resp.error or f"HTTP {resp.status}") + f" (Retry-After {wait:.0f}s; host deferred)"
                hs.deferred = f"asked to come back in {wait:.0f}s (Retry-After); host deferred to the next run"
                return resp
            log.info("retry %s in %.2fs (attempt %d)", url, wait, attempt)
            hs.next_start = max(hs.next_start, time.monotonic() + wait)
            await self._wait_turn(hs)
