"""Bytes → text, with the encodings Chinese government sites actually use.

The charset comes from the HTTP header, else a BOM, else `<meta charset>` /
`<meta http-equiv>`, else detection (charset-normalizer).  GB2312 and GBK are decoded as
GB18030, their superset: pages declared GB2312 routinely use GBK characters.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes

_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_HEADER = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-]+)", re.I)
_GB = {"gb2312", "gbk", "gb_2312", "gb_2312-80", "gb18030", "x-gbk", "cp936", "euc-cn", "hz-gb-2312"}


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    how: str  # header | bom | meta | utf-8 | detected | fallback
    lossy: bool = False  # some bytes could not be decoded and were replaced


def _canonical(name: str) -> str | None:
    name = name.strip().lower()
    if name in _GB or name.startswith("gb"):
        return "gb18030"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _decode(data: bytes, encoding: str, how: str) -> Decoded:
    try:
        return Decoded(data.decode(encoding), encoding, how)
    except UnicodeDecodeError:
        return Decoded(data.decode(encoding, errors="replace"), encoding, how, lossy=True)


def declared(data: bytes, content_type: str | None = None) -> str | None:
    """The encoding the server or the page itself names (header, UTF-8 BOM, meta), or
    None.  Only a hint: the bytes may not agree, which the caller must check."""
    if content_type and (m := _HEADER.search(content_type)) and (enc := _canonical(m.group(1))):
        return enc
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8"
    m = _META.search(data[:8192])
    if m:
        return _canonical(m.group(1).decode("ascii", "replace"))
    return None


def decode(data: bytes, content_type: str | None = None) -> Decoded:
    if content_type:
        m = _HEADER.search(content_type)
        if m and (enc := _canonical(m.group(1))):
            d = _decode(data, enc, "header")
            if not d.lossy:
                return d
            # a wrong header is common (UTF-8 declared, GBK served): try the page's own
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return _decode(data, enc, "bom")
    m = _META.search(data[:8192])
    if m and (enc := _canonical(m.group(1).decode("ascii", "replace"))):
        d = _decode(data, enc, "meta")
        if not d.lossy or enc != "utf-8":
            return d
    try:
        return Decoded(data.decode("utf-8"), "utf-8", "utf-8")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data[:65536], cp_isolation=["gb18030", "big5", "utf_8", "utf_16"]).best()
    if best is not None and best.encoding:
        enc = _canonical(best.encoding) or best.encoding
        return _decode(data, enc, "detected")
    return _decode(data, "gb18030", "fallback")
