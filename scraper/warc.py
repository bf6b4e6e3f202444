"""The archive as WARC 1.1 (ISO 28500) and WARC files into the archive, with warcio.

Export: every capture with an HTTP status becomes a `response` record (a 304 a `revisit`
with the server-not-modified profile, pointing at the capture it confirmed) preceded by
the `request` that asked for it, `WARC-Date` = the capture time, one `warcinfo` first.
The archive keeps each body byte for byte (after removing any Content-Encoding) but of
the response headers only Content-Type, ETag and Last-Modified: those are written, with
the body's Content-Length; the others (Date, Server, cookies, …) were never stored.  A
redirect's Location was not stored either.

Import (`read_warcs`): responses, revisits, resources, and segmented records joined from
their continuations, in WARCs written by wget, Heritrix, browsertrix-crawler, warcio or
us, gzipped or not, and the WARCs inside a WACZ.  A record whose digest does not match, a
revisit whose original is nowhere, a segment left without its others, a file cut short
or one that is not a WARC at all is named (`problem`) and the rest is read.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import sqlite3
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import BinaryIO, Callable, Iterator
from urllib.parse import urlsplit

import sqlite_utils
from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import BufferedReader, ChunkedDataReader
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from . import archive
from .ingest import Found, Summary, ingest, is_document

NOT_MODIFIED_PROFILE = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
Problem = Callable[[str], None]


def software() -> str:
    from importlib.metadata import version

    return f"xxgk-archive/{version('xxgk-archive')} (warcio/{version('warcio')})"


# --- export -------------------------------------------------------------------------

@dataclass
class Exported:
    records: int = 0  # response and revisit records
    skipped: list[str] = field(default_factory=list)  # captures with no HTTP answer or no body


def open_read_only(db_path: str | Path) -> sqlite_utils.Database:
    """The archive for reading: an export never writes to it."""
    uri = Path(db_path).resolve().as_uri() + "?mode=ro"
    return sqlite_utils.Database(sqlite3.connect(uri, uri=True))


def sha1_digest(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def _http_date(fetched_at: str) -> str:
    from datetime import datetime

    return formatdate(datetime.strptime(fetched_at, "%Y-%m-%dT%H:%M:%SZ").timestamp(), usegmt=True)


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def captures_to_export(db: sqlite_utils.Database, *, site: str | None = None, since: str | None = None):
    where, args = ["status IS NOT NULL"], []
    if site:
        where.append("site_id = ?")
        args.append(site)
    if since:
        where.append("fetched_at >= ?")
        args.append(since)
    return db.execute("SELECT id, url, fetched_at, status, content_type, etag, last_modified, sha256 FROM captures "
                      f"WHERE {' AND '.join(where)} ORDER BY fetched_at, id", args).fetchall()


def write_warc(db: sqlite_utils.Database, out: BinaryIO, *, site: str | None = None, since: str | None = None,
               filename: str = "archive.warc.gz") -> Exported:
    """Write the selected captures as gzipped WARC 1.1 records to `out`."""
    from .fetch import USER_AGENT

    writer = WARCWriter(out, gzip=True, warc_version="1.1")
    writer.write_record(writer.create_warcinfo_record(filename, {
        "software": software(), "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        "description": "Captures of government-information-disclosure annual reports (政府信息公开工作年度报告)",
    }))
    done = Exported()
    last_good: dict[str, tuple[str, str]] = {}  # url → (WARC-Date, payload digest) of its last 200
    for cid, url, fetched_at, status, ctype, etag, modified, sha in captures_to_export(db, site=site, since=since):
        date = fetched_at
        request = [("Host", urlsplit(url).netloc), ("User-Agent", USER_AGENT)]
        if status == 304:
            previous = last_good.get(url) or _previous_200(db, url, fetched_at)
            if previous is None:
                done.skipped.append(f"capture {cid} {url}: a 304 with no earlier capture to refer to")
                continue
            headers = [(k, v) for k, v in (("ETag", etag), ("Last-Modified", modified)) if v]
            record = writer.create_warc_record(url, "revisit", http_headers=StatusAndHeaders(
                "304 Not Modified", headers, protocol="HTTP/1.1"), warc_headers_dict={
                "WARC-Date": date, "WARC-Profile": NOT_MODIFIED_PROFILE, "WARC-Refers-To-Target-URI": url,
                "WARC-Refers-To-Date": previous[0], "WARC-Payload-Digest": previous[1]})
            request += [(k, v) for k, v in (("If-None-Match", etag), ("If-Modified-Since", modified)) if v]
        else:
            data = archive.body(db, sha) if sha else b""
            if data is None:
                done.skipped.append(f"capture {cid} {url}: its body {sha} is missing from the archive")
                continue
            headers = [(k, v) for k, v in (("Content-Type", ctype), ("ETag", etag), ("Last-Modified", modified)) if v]
            headers.append(("Content-Length", str(len(data))))
            record = writer.create_warc_record(url, "response", payload=io.BytesIO(data), length=len(data),
                                               http_headers=StatusAndHeaders(f"{status} {_reason(status)}", headers,
                                                                             protocol="HTTP/1.1"),
                                               warc_headers_dict={"WARC-Date": date})
            if status == 200:
                last_good[url] = (date, sha1_digest(data))
        req = writer.create_warc_record(url, "request", http_headers=StatusAndHeaders(
            f"GET {_path(url)} HTTP/1.1", request, is_http_request=True), warc_headers_dict={
            "WARC-Date": date, "WARC-Concurrent-To": record.rec_headers.get_header("WARC-Record-ID")})
        writer.write_record(req)
        writer.write_record(record)
        done.records += 1
    return done


def _path(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _previous_200(db: sqlite_utils.Database, url: str, before: str) -> tuple[str, str] | None:
    row = db.execute("SELECT fetched_at, sha256 FROM captures WHERE url = ? AND status = 200 AND sha256 IS NOT NULL "
                     "AND fetched_at <= ? ORDER BY fetched_at DESC, id DESC LIMIT 1", [url, before]).fetchone()
    data = archive.body(db, row[1]) if row else None
    return (row[0], sha1_digest(data)) if data is not None else None


@contextmanager
def whole_file(out: Path) -> Iterator[Path]:
    """A temporary file beside OUT, renamed onto it when the block ends and removed when
    the block fails: OUT is written as a whole or not at all."""
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, out)
    except BaseException:
        os.unlink(tmp)
        raise


def export_warc(db_path: str | Path, out: str | Path, *, site: str | None = None, since: str | None = None) -> Exported:
    """Write OUT as a whole or not at all."""
    db = open_read_only(db_path)
    out = Path(out)
    try:
        with whole_file(out) as tmp, open(tmp, "wb") as fh:
            return write_warc(db, fh, site=site, since=since, filename=out.name)
    finally:
        db.conn.close()


# --- import -------------------------------------------------------------------------

_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})")


def warc_date(value: str | None) -> str:
    """A WARC-Date as the archive writes capture times (UTC, to the second)."""
    m = _DATE.match(value or "")
    if not m:
        raise ValueError(f"WARC-Date {value!r} is not a date")
    return f"{m.group(1)}T{m.group(2)}Z"


def digest_matches(value: str, data: bytes) -> bool | None:
    """A `WARC-*-Digest` value against the bytes; None for an algorithm we do not know."""
    algo, _, encoded = value.partition(":")
    try:
        digest = hashlib.new(algo.strip().lower().replace("-", ""), data).digest()
    except ValueError:
        return None
    encoded = encoded.strip()
    return encoded.upper() in (base64.b32encode(digest).decode(), digest.hex().upper()) or \
        encoded == base64.b64encode(digest).decode()


def decode_payload(raw: bytes, http: StatusAndHeaders) -> bytes:
    """An HTTP payload as sent (chunked, gzip, deflate, br) back to the body's bytes."""
    encoding = (http.get_header("Content-Encoding") or "").strip().lower() or None
    if encoding not in (None, "identity", "gzip", "x-gzip", "deflate", "br"):
        raise ValueError(f"Content-Encoding {encoding} is not one we can undo")
    decomp = {"x-gzip": "gzip", "identity": None}.get(encoding, encoding) if encoding else None
    if "chunked" in (http.get_header("Transfer-Encoding") or "").lower():
        return ChunkedDataReader(io.BytesIO(raw), decomp_type=decomp).read()
    return BufferedReader(io.BytesIO(raw), decomp_type=decomp).read()


@dataclass
class _Revisit:
    url: str
    date: str
    status: int | None
    http: StatusAndHeaders | None
    profile: str
    digest: str | None
    refers_url: str | None
    refers_date: str | None
    where: str


@dataclass
class _Segments:
    url: str
    date: str
    http: StatusAndHeaders
    digest: str | None
    where: str
    parts: dict[int, bytes] = field(default_factory=dict)
    total: int | None = None  # WARC-Segment-Total-Length, from the last segment


class WarcReader:
    """Reads WARC files into `Found` responses; see the module docstring."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.found: list[Found] = []
        self.by_digest: dict[str, Found] = {}  # payload digest → a response with that body
        self.by_capture: dict[tuple[str, str], Found] = {}  # (url, WARC-Date) → response
        self.revisits: list[_Revisit] = []
        self.segments: dict[str, _Segments] = {}  # WARC-Record-ID of the first segment → parts

    # one file
    def read(self, path: str | Path) -> None:
        path = Path(path)
        try:
            with open(path, "rb") as fh:
                if zipfile.is_zipfile(fh):
                    self._wacz(path)
                else:
                    fh.seek(0)
                    self._stream(fh, str(path))
        except OSError as exc:
            self.problem(f"{path}: cannot read it ({exc.strerror or exc})")

    def _wacz(self, path: Path) -> None:
        with zipfile.ZipFile(path) as z:
            members = [n for n in z.namelist() if n.startswith("archive/") and re.search(r"\.warc(\.gz)?$", n)]
            if not members:
                self.problem(f"{path}: a ZIP file with no archive/*.warc(.gz): not a WACZ")
            for name in members:
                with z.open(name) as fh:
                    self._stream(fh, f"{path}!{name}")

    def _stream(self, fh: BinaryIO, where: str) -> None:
        n = 0
        it = ArchiveIterator(fh, check_digests=True)
        try:
            for record in it:
                self._record(record, f"{where} record {n + 1}")
                n += 1
        except Exception as exc:  # noqa: BLE001 - warcio raises several kinds for a damaged file
            why = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
            if n == 0:
                self.problem(f"{where}: not a WARC file ({why}); nothing read from it")
            else:
                self.problem(f"{where}: damaged or cut short after {n} records ({why}); "
                             "the records before it were read, the rest of the file was not")

    def _record(self, record, where: str) -> None:
        kind = record.rec_type
        h = record.rec_headers
        url = h.get_header("WARC-Target-URI") or ""
        if kind == "continuation":
            return self._continuation(record, where)
        if kind not in ("response", "revisit", "resource") or not url.startswith(("http://", "https://")):
            return
        date = warc_date(h.get_header("WARC-Date"))
        if h.get_header("WARC-Segment-Number"):
            return self._first_segment(record, url, date, where)
        if kind == "revisit":
            http = record.http_headers
            self.revisits.append(_Revisit(
                url, date, int(http.get_statuscode()) if http and http.get_statuscode() else None, http,
                h.get_header("WARC-Profile") or "", h.get_header("WARC-Payload-Digest"),
                h.get_header("WARC-Refers-To-Target-URI"), h.get_header("WARC-Refers-To-Date"), where))
            return
        if kind == "resource":
            body = record.content_stream().read()
            status, http, ctype = 200, None, h.get_header("Content-Type")
        else:
            http = record.http_headers
            if http is None or not http.get_statuscode():
                return
            status, ctype = int(http.get_statuscode()), http.get_header("Content-Type")
            try:
                body = record.content_stream().read()
            except ValueError as exc:  # an encoding we cannot undo
                self.problem(f"{where}: {url}: {exc}; not imported")
                return
        if not self._complete(record, url, where):
            return
        f = Found(url, date, status, ctype, body, where, etag=http.get_header("ETag") if http else None,
                  last_modified=http.get_header("Last-Modified") if http else None)
        digest = h.get_header("WARC-Payload-Digest")
        if digest:
            self.by_digest.setdefault(digest.strip(), f)
        self.by_capture[(url, date)] = f
        if is_document(url, ctype, body):
            self.found.append(f)

    def _complete(self, record, url: str, where: str, *, payload_digest: bool = True) -> bool:
        """Was the whole block there, and do its digests match?"""
        if record.raw_stream.limit:  # fewer bytes than Content-Length before the file ended
            self.problem(f"{where}: {url}: cut short ({record.raw_stream.limit} bytes missing); not imported")
            return False
        checker = record.digest_checker
        problems = [p for p in checker.problems if payload_digest or "payload" not in p]
        if problems:
            self.problem(f"{where}: {url}: {'; '.join(problems)}; not imported")
            return False
        return True

    # segmented records (WARC 1.1 §8.5): a response split over continuation records
    def _first_segment(self, record, url: str, date: str, where: str) -> None:
        h = record.rec_headers
        raw = record.raw_stream.read()
        if record.http_headers is None or not self._complete(record, url, where, payload_digest=False):
            return
        seg = _Segments(url, date, record.http_headers, h.get_header("WARC-Payload-Digest"), where)
        seg.parts[int(h.get_header("WARC-Segment-Number"))] = raw
        seg.total = _int(h.get_header("WARC-Segment-Total-Length"))
        self.segments[h.get_header("WARC-Record-ID")] = seg

    def _continuation(self, record, where: str) -> None:
        h = record.rec_headers
        origin = h.get_header("WARC-Segment-Origin-ID")
        raw = record.raw_stream.read()
        if not self._complete(record, h.get_header("WARC-Target-URI") or "continuation", where):
            return
        seg = self.segments.get(origin)
        if seg is None:
            self.problem(f"{where}: a continuation of {origin}, whose first segment is not in these files; "
                         "not imported")
            return
        seg.parts[_int(h.get_header("WARC-Segment-Number")) or 0] = raw
        seg.total = _int(h.get_header("WARC-Segment-Total-Length")) or seg.total

    def _join_segments(self) -> None:
        for origin, seg in self.segments.items():
            numbers = sorted(seg.parts)
            if seg.total is None or numbers != list(range(1, len(numbers) + 1)):
                self.problem(f"{seg.where}: {seg.url}: segmented record {origin} incomplete (segments "
                             f"{', '.join(map(str, numbers))} of it); not imported")
                continue
            raw = b"".join(seg.parts[n] for n in numbers)
            if seg.digest and digest_matches(seg.digest, raw) is False:
                self.problem(f"{seg.where}: {seg.url}: payload digest of the joined segments does not match; "
                             "not imported")
                continue
            try:
                body = decode_payload(raw, seg.http)
            except Exception as exc:  # noqa: BLE001 - a damaged encoding
                self.problem(f"{seg.where}: {seg.url}: {exc}; not imported")
                continue
            ctype = seg.http.get_header("Content-Type")
            f = Found(seg.url, seg.date, int(seg.http.get_statuscode()), ctype, body, seg.where,
                      etag=seg.http.get_header("ETag"), last_modified=seg.http.get_header("Last-Modified"))
            if seg.digest:
                self.by_digest.setdefault(seg.digest.strip(), f)
            self.by_capture[(seg.url, seg.date)] = f
            if is_document(seg.url, ctype, body):
                self.found.append(f)

    # revisits: a 304, or a body identical to an earlier record's
    def _resolve_revisits(self, archived: Callable[[str, str | None], bytes | None]) -> None:
        for r in self.revisits:
            not_modified = r.status == 304 or r.profile.endswith("/server-not-modified")
            original = self.by_digest.get((r.digest or "").strip()) if r.digest else None
            if original is None and r.refers_url and r.refers_date:
                original = self.by_capture.get((r.refers_url, warc_date(r.refers_date)))
            body = original.body if original is not None else archived(r.refers_url or r.url, r.digest)
            ctype = (r.http.get_header("Content-Type") if r.http else None) or (original.content_type if original else None)
            if not_modified:
                if is_document(r.url, ctype, body) or body is None:
                    self.found.append(Found(r.url, r.date, 304, ctype, None, r.where,
                                            etag=r.http.get_header("ETag") if r.http else None))
                continue
            if body is None:
                self.problem(f"{r.where}: {r.url}: a revisit of a record that is neither in these files nor in "
                             "the archive; not imported")
                continue
            if is_document(r.url, ctype, body):
                self.found.append(Found(r.url, r.date, r.status or 200, ctype, body, r.where,
                                        etag=r.http.get_header("ETag") if r.http else None,
                                        last_modified=r.http.get_header("Last-Modified") if r.http else None))

    def finish(self, archived: Callable[[str, str | None], bytes | None]) -> list[Found]:
        self._join_segments()
        self._resolve_revisits(archived)
        return self.found


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def archived_body(db: sqlite_utils.Database) -> Callable[[str, str | None], bytes | None]:
    """A revisit's original from the archive: the URL's latest body with that digest."""
    def find(url: str, digest: str | None) -> bytes | None:
        for (sha,) in db.execute("SELECT DISTINCT sha256 FROM captures WHERE url = ? AND sha256 IS NOT NULL "
                                 "ORDER BY fetched_at DESC", [url]).fetchall():
            data = archive.body(db, sha)
            if data is not None and (not digest or digest_matches(digest, data)):
                return data
        return None
    return find


def read_warcs(paths: list[str | Path], problem: Problem,
               archived: Callable[[str, str | None], bytes | None] = lambda url, digest: None) -> list[Found]:
    """Every document response in these files (revisits resolved, segments joined)."""
    reader = WarcReader(problem)
    for path in paths:
        reader.read(path)
    return reader.finish(archived)


def import_warcs(db: sqlite_utils.Database, paths: list[str | Path], problem: Problem) -> Summary:
    """Read the files, then archive and parse what they hold (scraper/ingest.py)."""
    return ingest(db, read_warcs(paths, problem, archived_body(db)))
