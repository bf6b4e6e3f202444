"""A real HTTP server on 127.0.0.1 for crawl tests: static files plus scripted routes.

Routes map a path (with or without its query) to a function `(handler) -> None` that
writes the whole response, so a test can answer 500 then 200, stall, reset the
connection, send a truncated or endless body, or a challenge page.  Every request is
logged with its arrival time (the kernel's receive timestamp), for politeness assertions, and the bytes sent are counted.
Static files get an ETag and answer If-None-Match / If-Modified-Since with 304.

`fixture_web()` serves each agency of fixtures/web/ on its own port (its own host),
with the Hanweb dataproxy and the query-string pages that agency's files need.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import threading
import time
import zlib
from contextlib import ExitStack, contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import parse_qsl, urlsplit

Route = Callable[[SimpleHTTPRequestHandler], None]
FIXTURE_WEB = Path(__file__).resolve().parent.parent / "fixtures" / "web"


SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def _arrival(conn: socket.socket) -> float:
    """When the request's first byte reached this host, by the kernel's clock
    (SO_TIMESTAMPNS), so the log's gaps are the network's, not thread scheduling's."""
    try:
        data, ancillary, _flags, _addr = conn.recvmsg(1, socket.CMSG_SPACE(16), socket.MSG_PEEK)
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= 16:
                sec, nsec = struct.unpack("qq", value[:16])
                return sec + nsec / 1e9
    except OSError:
        pass
    return time.time()


class _TimestampingServer(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self):
        self.socket.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)  # inherited by accepted sockets
        super().server_bind()


class _Counting:
    """Wraps the socket writer to count the bytes a response really sent."""

    def __init__(self, raw, handler) -> None:
        self.raw, self.handler = raw, handler

    def write(self, data) -> int:
        n = self.raw.write(data)
        self.handler.traffic[0] += len(data)
        return n

    def __getattr__(self, name):
        return getattr(self.raw, name)


class _Handler(SimpleHTTPRequestHandler):
    routes: dict[str, Route] = {}
    log: list[tuple[float, str, str, dict]] = []
    traffic: list[int] = [0]
    latency: float = 0.0
    form: dict[str, str] = {}

    def log_message(self, format, *args):  # noqa: A002
        pass

    def setup(self):
        super().setup()
        self.wfile = _Counting(self.wfile, self)

    def handle_one_request(self):
        self.arrived = _arrival(self.connection)
        super().handle_one_request()

    def _dispatch(self, method: str) -> None:
        self.log.append((self.arrived, method, self.path, dict(self.headers)))
        self.form = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        if method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            self.form.update(parse_qsl(self.rfile.read(length).decode("utf-8", "replace"), keep_blank_values=True))
        if self.latency:
            time.sleep(self.latency)
        path = self.path.split("#")[0]
        route = self.routes.get(path) or self.routes.get(path.split("?")[0])
        try:
            if route is not None:
                route(self)
            elif method == "GET":
                super().do_GET()
            else:
                self.send_error(405)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_GET(self):  # noqa: N802
        self._dispatch("GET")

    def do_POST(self):  # noqa: N802
        self._dispatch("POST")

    def send_head(self):
        """Static files with an ETag; If-None-Match answered with 304."""
        path = self.translate_path(self.path)
        self._etag = None
        if os.path.isfile(path):
            st = os.stat(path)
            tag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
            if self.headers.get("If-None-Match") == tag:
                self.send_response(304)
                self.send_header("ETag", tag)
                self.end_headers()
                return None
            self._etag = tag
        return super().send_head()

    def end_headers(self):
        if getattr(self, "_etag", None):
            self.send_header("ETag", self._etag)
            self._etag = None
        super().end_headers()


# -- scripted answers -------------------------------------------------------------------

def respond(status: int, body: bytes | str = b"", content_type: str = "text/html; charset=utf-8",
            headers: dict[str, str] | None = None) -> Route:
    data = body.encode("utf-8") if isinstance(body, str) else body

    def route(h: SimpleHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    return route


def sequence(*routes: Route) -> Route:
    """Answer with each route in turn; the last one repeats."""
    calls = [0]

    def route(h: SimpleHTTPRequestHandler) -> None:
        i = min(calls[0], len(routes) - 1)
        calls[0] += 1
        routes[i](h)

    return route


def redirect(location: str, status: int = 302) -> Route:
    return respond(status, "", headers={"Location": location})


def stall(seconds: float, then: Route | None = None) -> Route:
    """Say nothing for `seconds` (the client should time out first)."""
    def route(h: SimpleHTTPRequestHandler) -> None:
        time.sleep(seconds)
        if then:
            then(h)

    return route


def reset() -> Route:
    """Close the connection with a TCP RST, before any response."""
    def route(h: SimpleHTTPRequestHandler) -> None:
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.close_connection = True
        h.connection.close()

    return route


def truncated(body: bytes, declared: int) -> Route:
    """Declare `declared` bytes, send `body` (fewer), close."""
    def route(h: SimpleHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        h.send_header("Content-Length", str(declared))
        h.end_headers()
        h.wfile.write(body)
        h.wfile.flush()
        h.close_connection = True

    return route


def endless(size: int, *, declare: bool = True, chunk: int = 1 << 16) -> Route:
    """A `size`-byte body made lazily, chunk by chunk (never held in memory); stops when
    the client hangs up."""
    block = b"<p>" + b"0" * (chunk - 7) + b"</p>\n"

    def route(h: SimpleHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        if declare:
            h.send_header("Content-Length", str(size))
        h.end_headers()
        sent = 0
        while sent < size:
            piece = block[: size - sent]
            h.wfile.write(piece)
            sent += len(piece)
        h.close_connection = True

    return route


def gzip_bomb(decompressed: int) -> Route:
    """A small gzip body that inflates to `decompressed` bytes."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing; built 1 MiB at a time
    block = bytes(1 << 20)
    comp = b"".join(z.compress(block[: min(len(block), decompressed - i)])
                    for i in range(0, decompressed, len(block))) + z.flush()

    def route(h: SimpleHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Encoding", "gzip")
        h.send_header("Content-Length", str(len(comp)))
        h.end_headers()
        h.wfile.write(comp)

    return route


def static(file: Path, content_type: str = "text/html") -> Route:
    """A file under another URL (e.g. a query-string page), with Last-Modified/304."""
    from email.utils import formatdate, parsedate_to_datetime

    def route(h: SimpleHTTPRequestHandler) -> None:
        st = file.stat()
        since = h.headers.get("If-Modified-Since")
        try:
            if since and parsedate_to_datetime(since).timestamp() >= int(st.st_mtime):
                h.send_response(304)
                h.end_headers()
                return
        except (TypeError, ValueError):
            pass
        data = file.read_bytes()
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Last-Modified", formatdate(st.st_mtime, usegmt=True))
        h.end_headers()
        h.wfile.write(data)

    return route


def hanweb_dataproxy(store: Path) -> Route:
    """Hanweb's `/module/web/jpage/dataproxy.jsp`: records startrecord..endrecord (1-based,
    inclusive) of a column as XML; parameters from the query or a POSTed form, as a JSP
    reads them."""
    data = json.loads(store.read_text(encoding="utf-8"))
    records: list[str] = data["records"]

    def route(h: SimpleHTTPRequestHandler) -> None:
        f = h.form
        if f.get("columnid") != data["columnid"] or not f.get("startrecord", "").isdigit():
            respond(200, "<datastore><totalrecord>0</totalrecord><recordset></recordset></datastore>",
                    "text/xml; charset=utf-8")(h)
            return
        start, end = int(f["startrecord"]), int(f.get("endrecord") or f["startrecord"])
        per_page = int(f.get("perpage") or 15)
        chosen = records[start - 1:end]
        xml = (f"<?xml version=\"1.0\" encoding=\"utf-8\"?><datastore><totalrecord>{len(records)}</totalrecord>"
               f"<totalpage>{-(-len(records) // per_page)}</totalpage><recordset>"
               + "".join(f"<record><![CDATA[{r}]]></record>" for r in chosen) + "</recordset></datastore>")
        respond(200, xml, "text/xml; charset=utf-8")(h)

    return route


# -- servers ----------------------------------------------------------------------------

class Server:
    """One running server: its base URL, request log and byte counter."""

    def __init__(self, base: str, log: list, traffic: list[int], routes: dict[str, Route],
                 stop: Callable[[], None] = lambda: None) -> None:
        self.base, self.log, self.traffic, self.routes, self.stop = base, log, traffic, routes, stop

    @property
    def netloc(self) -> str:
        return urlsplit(self.base).netloc

    def paths(self) -> list[str]:
        return [entry[2] for entry in self.log]


@contextmanager
def serve(folder: str | Path, routes: dict[str, Route] | None = None, *, latency: float = 0.0,
          keep_alive: bool = False, poll_interval: float = 0.05) -> Iterator[Server]:
    """Serve `folder` plus `routes` on 127.0.0.1:<free port>; `keep_alive`: HTTP/1.1 with
    persistent connections, as the web servers in front of most sites answer (scripted
    routes that cut a response short close the connection themselves).  `poll_interval`:
    how often the idle server looks whether it should stop (the longest `stop` waits)."""
    log: list = []
    traffic = [0]
    table = dict(routes or {})
    handler = type("Handler", (_Handler,), {"routes": table, "log": log, "traffic": traffic,
                                            "latency": latency,
                                            "protocol_version": "HTTP/1.1" if keep_alive else "HTTP/1.0"})

    def factory(*args, **kwargs):
        return handler(*args, directory=str(folder), **kwargs)

    server = _TimestampingServer(("127.0.0.1", 0), factory)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": poll_interval}, daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{server.server_address[1]}", log, traffic, table, server.shutdown)
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def web(folder: str | Path, routes: dict[str, Route] | None = None, *,
        latency: float = 0.0) -> Iterator[tuple[str, list]]:
    """Serve `folder` plus `routes`; yields (base URL, request log)."""
    with serve(folder, routes, latency=latency) as s:
        yield s.base, s.log


def agency_routes(root: Path) -> dict[str, Route]:
    """The dynamic parts of one fixtures/web agency: dataproxy, query-string pages."""
    routes: dict[str, Route] = {}
    if (root / "dataproxy.json").exists():
        routes["/module/web/jpage/dataproxy.jsp"] = hanweb_dataproxy(root / "dataproxy.json")
    if (root / "routes.json").exists():
        for url, file in json.loads((root / "routes.json").read_text(encoding="utf-8")).items():
            routes[url] = static(root / file)
    return routes


@contextmanager
def fixture_web(root: Path = FIXTURE_WEB, *, latency: float = 0.0, copies: int = 1,
                routes: dict[str, dict[str, Route]] | None = None) -> Iterator[dict[str, Server]]:
    """Every agency of fixtures/web on its own port, keeping connections alive; `copies`
    > 1 serves each agency that many times (as `name`, `name-2`, …) for a bigger web.
    Idle servers look twice a second whether to stop (100 servers polling 20 times a
    second cost the machine 3% of a core during a benchmark), and are stopped together."""
    agencies = sorted(p.name for p in root.iterdir() if p.is_dir())
    with ExitStack() as stack:
        servers = {}
        for name in agencies:
            for c in range(1, copies + 1):
                key = name if c == 1 else f"{name}-{c}"
                extra = agency_routes(root / name) | (routes or {}).get(key, {})
                servers[key] = stack.enter_context(serve(root / name, extra, latency=latency, keep_alive=True,
                                                         poll_interval=0.5))
        try:
            yield servers
        finally:
            stopping = [threading.Thread(target=s.stop) for s in servers.values()]
            for t in stopping:
                t.start()
            for t in stopping:
                t.join()


def fixture_registry(servers: dict[str, Server], delay: float, expected: dict) -> str:
    """A sites.toml for the fixture web as served."""
    names = {"songlin": "松林市财政局", "yunling": "云岭县人民政府", "hekou": "河口镇人民政府", "shiqiao": "石桥区教育局"}
    out = []
    for key, server in servers.items():
        agency = key.split("-")[0]
        out.append(f'[[site]]\nid = "{key}"\nname = "{names.get(agency, agency)}"\n'
                   f'start = ["{server.base}{expected[agency]["start"]}"]\ndelay = {delay}\n')
    return "\n".join(out)
