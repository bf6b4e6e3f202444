"""How the archive keeps a body's bytes (`bodies.data`): zstd-compressed; archives
written before December 2026 hold zlib, and both are read the same way.

zstd at level 4 compresses the real-shaped report pages of fixtures/reports four times
faster than zlib at level 6 did, and decompresses them twice as fast, for 2% more bytes
(8.7 against 8.9 times smaller).  A crawl compresses every new body while it keeps each
host's requests on time, and a reparse decompresses every body.  Kept apart from
`archive` so the Datasette plugin that serves originals imports only this.
"""

from __future__ import annotations

import threading
import zlib

import zstandard

COMPRESSION = "zstd"  # what `pack` writes, in `bodies.compression`
LEVEL = 4

_local = threading.local()  # zstandard's (de)compressor objects are not for two threads at once


class BodyError(ValueError):
    """Stored bytes that do not give back a body."""


def pack(data: bytes) -> bytes:
    """A body as `bodies.data` keeps it (`COMPRESSION`)."""
    compressor = getattr(_local, "compressor", None)
    if compressor is None:
        compressor = _local.compressor = zstandard.ZstdCompressor(level=LEVEL)
    return compressor.compress(data)


def unpack(compression: str | None, data: bytes) -> bytes:
    """The body's original bytes; `BodyError` when they do not decompress or the
    compression is not one this version knows."""
    if compression == "zstd":
        decompressor = getattr(_local, "decompressor", None)
        if decompressor is None:
            decompressor = _local.decompressor = zstandard.ZstdDecompressor()
        try:
            return decompressor.decompress(data)  # the frame records the size (`pack` writes it)
        except zstandard.ZstdError as exc:
            raise BodyError(f"does not decompress ({exc})") from None
    if compression == "zlib":
        try:
            return zlib.decompress(data)
        except zlib.error as exc:
            raise BodyError(f"does not decompress ({exc})") from None
    if compression in ("none", "identity", None):
        return bytes(data)
    raise BodyError(f"unknown compression {compression!r}")
