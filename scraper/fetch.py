"""A polite HTTP fetcher for fragile government sites (httpx, async).

Politeness is here and nowhere else: robots.txt (protego), one request at a time per
host with a delay between them, a global concurrency limit, an honest User-Agent,
Retry-After and exponential backoff with jitter, timeouts, and limits on redirects and
body size.  Safety too: only registry hosts, checked again after every redirect, and
no private/loopback/link-local address unless the registry names it.  The fetcher knows
nothing about reports; it returns every response it got, for the archive.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import random
import re
import socket
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpx
from protego import Protego

log = logging.getLogger("xxgk.fetch")

USER_AGENT = "xxgk-archive/0.1 (+https://github.com/xxgk-archive/xxgk-archive; archive of government disclosure annual reports)"
MAX_BODY = 50 * 1024 * 1024  # bytes, after decompression
MAX_REDIRECTS = 5
WAF_MARKERS = (
    (re.compile(rb"\$_ts\s*=|\$_ts\["), "412 challenge ($_ts, 瑞数)"),
    (re.compile(rb"__jsl_clearance"), "__jsl_clearance challenge"),
    (re.compile(rb"acw_sc__v2"), "acw_sc__v2 challenge"),
)


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
    fetched_at: float = field(default_factory=time.time)

    @property
    def sha256(self) -> str | None:
        return hashlib.sha256(self.body).hexdigest() if self.body is not None else None

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    @property
    def location(self) -> str | None:
        loc = self.headers.get("location")
        return urljoin(self.url, loc) if loc else None


@dataclass
class Result:
    """The responses for one URL (redirect hops, retries), the last one decides."""
    url: str
    responses: list[Response] = field(default_factory=list)

    @property
    def final(self) -> Response | None:
        return self.responses[-1] if self.responses else None


class HostState:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.lock = asyncio.Lock()
        self.last = 0.0
        self.robots: Protego | None = None
        self.robots_state = "unknown"  # unknown | ok | allow-all | deferred
        self.blocked: str | None = None


def _is_public(ip: str) -> bool:
    addr = ipaddress.ip_address(ip)
    return not (addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_reserved
                or addr.is_multicast or addr.is_unspecified)


class Fetcher:
    def __init__(self, *, user_agent: str = USER_AGENT, concurrency: int = 8, timeout: float = 30.0,
                 retries: int = 3, backoff: float = 1.0, max_body: int = MAX_BODY,
                 max_redirects: int = MAX_REDIRECTS, transport: httpx.AsyncBaseTransport | None = None,
                 resolve: bool = True, max_retry_after: float = 120.0) -> None:
        self.user_agent = user_agent
        self.global_limit = asyncio.Semaphore(concurrency)
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_body = max_body
        self.max_redirects = max_redirects
        self.max_retry_after = max_retry_after
        self.resolve = resolve
        self.hosts: dict[str, HostState] = {}
        self.allowed: dict[str, float] = {}  # netloc or host → delay
        self.named: set[str] = set()  # hosts/netlocs the registry names (may be private)
        self.request_log: list[tuple[float, str, str]] = []  # (time, method, url)
        self.robots_responses: list[Response] = []
        self.client = httpx.AsyncClient(
            transport=transport, timeout=httpx.Timeout(timeout), follow_redirects=False,
            headers={"User-Agent": user_agent, "Accept-Language": "zh-CN,zh;q=0.9"},
            limits=httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency))

    async def aclose(self) -> None:
        await self.client.aclose()

    def allow(self, netloc_or_host: str, delay: float) -> None:
        key = netloc_or_host.lower()
        self.allowed[key] = delay
        self.named.add(key)

    def _host_key(self, url: str) -> str:
        return urlsplit(url).netloc.lower()

    def permitted(self, url: str) -> str | None:
        """None if this URL may be requested, else why not."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return f"not an http(s) URL: {url}"
        if parts.netloc.lower() not in self.allowed and parts.hostname.lower() not in self.allowed:
            return f"host not in the registry: {parts.netloc}"
        return None

    def state(self, url: str) -> HostState:
        key = self._host_key(url)
        if key not in self.hosts:
            host = urlsplit(url).hostname or ""
            delay = self.allowed.get(key, self.allowed.get(host.lower(), 1.0))
            self.hosts[key] = HostState(delay)
        return self.hosts[key]

    async def _address_ok(self, url: str) -> str | None:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.netloc.lower() in self.named or host in self.named:
            named_private = True
        else:
            named_private = False
        try:
            ipaddress.ip_address(host)
            ips = [host]
        except ValueError:
            if not self.resolve:
                return None
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(host, parts.port or 80,
                                                                      type=socket.SOCK_STREAM)
            except OSError as exc:
                return f"cannot resolve {host}: {exc}"
            ips = [i[4][0] for i in infos]
        for ip in ips:
            if not _is_public(ip) and not named_private:
                return f"refused: {host} resolves to non-public address {ip}"
        return None

    async def _wait_turn(self, hs: HostState) -> None:
        gap = time.monotonic() - hs.last
        if gap < hs.delay:
            await asyncio.sleep(hs.delay - gap)

    async def _robots(self, url: str, hs: HostState) -> None:
        if hs.robots_state != "unknown":
            return
        parts = urlsplit(url)
        robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
        resp = await self._one(robots_url, hs, {})
        self.robots_responses.append(resp)
        if resp.status is not None and 200 <= resp.status < 300 and resp.body is not None:
            text = resp.body.decode("utf-8", errors="replace").lstrip("\ufeff")
            try:
                hs.robots = Protego.parse(text)
                hs.robots_state = "ok"
            except Exception:  # noqa: BLE001 - a broken robots.txt allows, like a missing one
                hs.robots_state = "allow-all"
        elif resp.status is not None and 400 <= resp.status < 500:
            hs.robots_state = "allow-all"
        else:
            hs.robots_state = "deferred"

    def take_robots_responses(self) -> list[Response]:
        """robots.txt responses since the last call, for the archive."""
        out, self.robots_responses = self.robots_responses, []
        return out

    async def _one(self, url: str, hs: HostState, headers: dict[str, str]) -> Response:
        """One request, after the host's delay; the body read with a size limit."""
        await self._wait_turn(hs)
        started = time.monotonic()
        hs.last = started
        self.request_log.append((time.time(), "GET", url))
        resp = Response(url)
        try:
            req = self.client.build_request("GET", url, headers=headers)
            r = await self.client.send(req, stream=True)
            try:
                resp.status = r.status_code
                resp.headers = {k.lower(): v for k, v in r.headers.items()}
                declared = r.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.max_body:
                    resp.error = f"body too large: {declared} bytes declared (limit {self.max_body})"
                else:
                    chunks, size = [], 0
                    async for chunk in r.aiter_bytes():
                        size += len(chunk)
                        if size > self.max_body:
                            resp.error = f"body too large: over {self.max_body} bytes"
                            break
                        chunks.append(chunk)
                    if resp.error is None:
                        resp.body = b"".join(chunks)
            finally:
                await r.aclose()
        except httpx.TimeoutException as exc:
            resp.error = f"timeout: {type(exc).__name__}"
        except httpx.HTTPError as exc:
            resp.error = f"{type(exc).__name__}: {exc}"[:500]
        except (OSError, ValueError) as exc:
            resp.error = f"{type(exc).__name__}: {exc}"[:500]
        finally:
            hs.last = time.monotonic()
        resp.elapsed_ms = int((time.monotonic() - started) * 1000)
        if resp.status is not None and resp.body is not None:
            for pattern, reason in WAF_MARKERS:
                if resp.status in (200, 202, 403, 412, 521) and pattern.search(resp.body[:20000]):
                    resp.blocked = reason
                    break
        return resp

    def _retry_after(self, resp: Response) -> float | None:
        value = resp.headers.get("retry-after")
        if not value:
            return None
        if value.strip().isdigit():
            return float(value.strip())
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> Result:
        """GET a URL politely; follow redirects inside the registry; retry what is worth it."""
        result = Result(url)
        current = url
        for _hop in range(self.max_redirects + 1):
            why = self.permitted(current)
            if why is None:
                why = await self._address_ok(current)
            if why:
                result.responses.append(Response(current, error=why))
                return result
            hs = self.state(current)
            if hs.blocked:
                result.responses.append(Response(current, blocked=hs.blocked, error="host blocked this run"))
                return result
            async with self.global_limit, hs.lock:
                await self._robots(current, hs)
                if hs.robots_state == "deferred":
                    result.responses.append(Response(current, error="robots.txt unavailable (5xx or error); host deferred"))
                    return result
                if hs.robots is not None and not hs.robots.can_fetch(current, self.user_agent):
                    result.responses.append(Response(current, error="disallowed by robots.txt"))
                    return result
                if hs.robots is not None:
                    crawl_delay = hs.robots.crawl_delay(self.user_agent)
                    if crawl_delay:
                        hs.delay = max(hs.delay, min(float(crawl_delay), 60.0))
                headers = {}
                if current == url and etag:
                    headers["If-None-Match"] = etag
                if current == url and last_modified:
                    headers["If-Modified-Since"] = last_modified
                resp = await self._with_retries(current, hs, headers, result)
            if resp.blocked:
                hs.blocked = resp.blocked
                return result
            if resp.status in (301, 302, 303, 307, 308) and resp.location:
                current = resp.location.split("#")[0]
                continue
            return result
        result.responses.append(Response(current, error=f"too many redirects (>{self.max_redirects})"))
        return result

    async def _with_retries(self, url: str, hs: HostState, headers: dict, result: Result) -> Response:
        attempt = 0
        while True:
            resp = await self._one(url, hs, headers)
            result.responses.append(resp)
            retryable = resp.error is not None and not resp.error.startswith("body too large") \
                or resp.status in (429, 500, 502, 503, 504)
            if resp.blocked or not retryable or attempt >= self.retries:
                return resp
            attempt += 1
            wait = self._retry_after(resp) if resp.status in (429, 503) else None
            if wait is None:
                wait = self.backoff * (2 ** (attempt - 1)) * (1 + random.random() * 0.5)
            if wait > self.max_retry_after:
                resp.error = (resp.error or "") + f" (Retry-After {wait:.0f}s too long; given up)"
                return resp
            log.info("retry %s in %.1fs (attempt %d)", url, wait, attempt)
            await asyncio.sleep(wait)
