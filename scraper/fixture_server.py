"""Serving a folder of sample sites on 127.0.0.1, for the demo and the tests."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator


class _QuietHandler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".txt": "text/plain",
                      ".shtml": "text/html", ".htm": "text/html"}

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass


@contextmanager
def serve_folder(folder: str | Path, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `folder` on loopback at `port` if it is free, else on any free port;
    yields the base URL."""
    handler = partial(_QuietHandler, directory=str(folder))
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError:
        server = ThreadingHTTPServer((host, 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
