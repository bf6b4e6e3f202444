"""A real HTTP server on 127.0.0.1 for crawl tests: static files plus scripted routes.

Routes map a path to a function `(handler) -> None` that writes the whole response, so a
test can answer 500 then 200, stall, reset the connection or send a truncated body.
Every request is logged with its time, for politeness assertions.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator

Route = Callable[[SimpleHTTPRequestHandler], None]


class _Handler(SimpleHTTPRequestHandler):
    routes: dict[str, Route] = {}
    log: list[tuple[float, str, str, dict]] = []

    def log_message(self, format, *args):  # noqa: A002
        pass

    def do_GET(self):  # noqa: N802
        self.log.append((time.monotonic(), "GET", self.path, dict(self.headers)))
        route = self.routes.get(self.path.split("#")[0])
        if route is not None:
            route(self)
            return
        super().do_GET()


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


@contextmanager
def web(folder: str | Path, routes: dict[str, Route] | None = None) -> Iterator[tuple[str, list]]:
    """Serve `folder` plus `routes` on 127.0.0.1:<free port>; yields (base URL, request log)."""
    log: list = []
    handler = type("Handler", (_Handler,), {"routes": dict(routes or {}), "log": log})

    def factory(*args, **kwargs):
        return handler(*args, directory=str(folder), **kwargs)

    server = ThreadingHTTPServer(("127.0.0.1", 0), factory)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", log
    finally:
        server.shutdown()
        server.server_close()
