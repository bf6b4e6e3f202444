"""WARC and WACZ, out and in (scraper/warc.py, wacz.py, ingest.py): the demo archive
exported passes `warcio check` and imports into an empty archive as the same reports and
facts; a WARC written by real wget over the fixture web imports as the crawler's own
crawl of it; revisits, segmented and request-only records; damaged input named, the rest
imported, nothing half-written."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from scraper.lock import ArchiveLock
from scraper.warc import NOT_MODIFIED_PROFILE, sha1_digest
from webarchives import reports, tool, xxgk
from webserver import FIXTURE_WEB, fixture_registry, fixture_web

WARCIO = str(Path(sys.executable).parent / "warcio")
EXPECTED = json.loads((FIXTURE_WEB / "expected.json").read_text(encoding="utf-8"))


def records(path: Path) -> list[tuple]:
    """(type, headers, http headers, payload) of every record."""
    out = []
    with open(path, "rb") as fh:
        for r in ArchiveIterator(fh):
            out.append((r.rec_type, r.rec_headers, r.http_headers, r.content_stream().read()))
    return out


@pytest.fixture(scope="module")
def demo_warc(demo_archive, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("warc") / "demo.warc.gz"
    result = xxgk("export-warc", out, "--db", demo_archive)
    assert result.exit_code == 0, result.output
    return out


def test_export_warc_passes_warcio_check_and_keeps_every_capture(demo_archive, demo_warc):
    check = subprocess.run([WARCIO, "check", "-v", str(demo_warc)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("digest pass") > 20 and "fail" not in check.stdout
    recs = records(demo_warc)
    assert recs[0][0] == "warcinfo" and b"software: xxgk-archive/" in recs[0][3]
    assert recs[0][1].protocol == "WARC/1.1"
    conn = sqlite3.connect(demo_archive)
    captures = conn.execute("SELECT url, fetched_at, status, sha256 FROM captures ORDER BY fetched_at, id").fetchall()
    responses = [r for r in recs if r[0] == "response"]
    assert len(responses) == len(captures)
    ids = {r[1].get_header("WARC-Record-ID"): r for r in recs}
    from scraper import archive
    db = archive.open_archive(demo_archive)
    for (url, fetched_at, status, sha), (_t, h, http, payload) in zip(captures, responses):
        assert h.get_header("WARC-Target-URI") == url and h.get_header("WARC-Date") == fetched_at
        assert int(http.get_statuscode()) == status
        assert payload == (archive.body(db, sha) if sha else b"")  # byte for byte
        assert h.get_header("WARC-Payload-Digest") == sha1_digest(payload)
    for _t, h, http, _p in (r for r in recs if r[0] == "request"):  # each request names its response
        response = ids[h.get_header("WARC-Concurrent-To")]
        assert response[0] == "response" and response[1].get_header("WARC-Target-URI") == h.get_header("WARC-Target-URI")
        assert http.protocol == "GET"


def test_warc_round_trip_gives_the_same_reports_and_facts(demo_archive, demo_warc, tmp_path):
    db = tmp_path / "imported.db"
    result = xxgk("import-warc", demo_warc, "--db", db)
    assert result.exit_code == 0, result.output
    want = reports(demo_archive)
    assert len(want) == 7 and reports(db) == want
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM captures").fetchone()[0] == len(records(demo_warc)) // 2
    # importing it again adds nothing
    result = xxgk("import-warc", demo_warc, "--db", db)
    assert result.exit_code == 0 and "imported 0," in result.output
    assert reports(db) == want and conn.execute("SELECT count(*) FROM reports").fetchone()[0] == 7


def test_wacz_round_trip_with_valid_parts(demo_archive, tmp_path):
    out = tmp_path / "demo.wacz"
    result = xxgk("export-wacz", out, "--db", demo_archive)
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        assert {"archive/data.warc.gz", "indexes/index.cdxj", "pages/pages.jsonl", "datapackage.json",
                "datapackage-digest.json"} <= names
        assert z.getinfo("archive/data.warc.gz").compress_type == zipfile.ZIP_STORED
        package = json.loads(z.read("datapackage.json"))
        assert package["profile"] == "data-package" and package["wacz_version"] == "1.1.1"
        for res in package["resources"]:  # every part named with its size and hash
            data = z.read(res["path"])
            assert res["bytes"] == len(data) and res["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
        assert {r["path"] for r in package["resources"]} == names - {"datapackage.json", "datapackage-digest.json"}
        digest = json.loads(z.read("datapackage-digest.json"))
        assert digest["hash"] == "sha256:" + hashlib.sha256(z.read("datapackage.json")).hexdigest()
        warc = z.read("archive/data.warc.gz")
        index = [line.split(" ", 2) for line in z.read("indexes/index.cdxj").decode().splitlines()]
        pages = [json.loads(line) for line in z.read("pages/pages.jsonl").decode().splitlines()]
    assert index == sorted(index) and len(index) == 13
    for _surt, ts, fields in index:  # each line points at its record in the WARC
        f = json.loads(fields)
        rec = next(iter(ArchiveIterator(io.BytesIO(warc[int(f["offset"]):int(f["offset"]) + int(f["length"])]))))
        assert rec.rec_headers.get_header("WARC-Target-URI") == f["url"] and f["filename"] == "data.warc.gz"
        assert rec.rec_headers.get_header("WARC-Date").replace("-", "").replace(":", "").replace("T", "")[:14] == ts
    assert pages[0]["format"] == "json-pages-1.0"
    indexed = {json.loads(fields)["url"] for _s, _t, fields in index}
    html = {u for (u,) in sqlite3.connect(demo_archive).execute(
        "SELECT url FROM captures WHERE status = 200 AND content_type LIKE '%html%'")}
    assert {p["url"] for p in pages[1:]} == html and len(pages) - 1 == len(html) == 12
    assert all(p["url"] in indexed and p["ts"] and p["title"] for p in pages[1:])
    titled = {p["url"]: p["title"] for p in pages[1:]}
    for url, title in sqlite3.connect(demo_archive).execute("SELECT source_url, title FROM reports"):
        assert titled[url] == title
    db = tmp_path / "from-wacz.db"
    result = xxgk("import-warc", out, "--db", db)
    assert result.exit_code == 0, result.output
    assert reports(db) == reports(demo_archive)


def test_a_304_is_a_revisit_out_and_a_not_modified_capture_in(demo_archive, tmp_path):
    db = tmp_path / "with304.db"
    shutil.copy(demo_archive, db)
    conn = sqlite3.connect(db)
    url, site = conn.execute("SELECT url, site_id FROM captures WHERE role = 'report' ORDER BY id").fetchone()
    conn.execute("INSERT INTO captures (site_id, url, role, fetched_at, status, etag) VALUES (?, ?, 'report', "
                 "'2099-01-02T03:04:05Z', 304, '\"e1\"')", [site, url])
    conn.commit()
    out = tmp_path / "a.warc"
    assert xxgk("export-warc", out, "--db", db, "--site", site).exit_code == 0
    revisits = [r for r in records(out) if r[0] == "revisit"]
    assert len(revisits) == 1
    _t, h, http, _p = revisits[0]
    assert h.get_header("WARC-Profile") == NOT_MODIFIED_PROFILE and h.get_header("WARC-Date") == "2099-01-02T03:04:05Z"
    assert h.get_header("WARC-Refers-To-Target-URI") == url and http.get_statuscode() == "304"
    first = conn.execute("SELECT fetched_at FROM captures WHERE url = ? AND status = 200", [url]).fetchone()[0]
    assert h.get_header("WARC-Refers-To-Date") == first
    # --since keeps only the later capture; --site only that site's
    assert xxgk("export-warc", tmp_path / "b.warc", "--db", db, "--since", "2099-01-01").exit_code == 0
    assert [r[0] for r in records(tmp_path / "b.warc")] == ["warcinfo", "request", "revisit"]
    other = {r[1].get_header("WARC-Target-URI") for r in records(out) if r[0] == "response"}
    assert other and all(u in {c[0] for c in conn.execute("SELECT url FROM captures WHERE site_id = ?", [site])}
                         for u in other)
    imported = tmp_path / "imported.db"
    assert xxgk("import-warc", out, "--db", imported).exit_code == 0
    got = sqlite3.connect(imported)
    assert got.execute("SELECT status, sha256 FROM captures WHERE fetched_at = '2099-01-02T03:04:05Z'").fetchall() == [
        (304, None)]
    assert got.execute("SELECT count(*) FROM reports WHERE source_url = ?", [url]).fetchone()[0] == 1


def _raw_record(kind: str, url: str, date: str, block: bytes, extra: dict[str, str]) -> bytes:
    """A WARC record written by hand, as other tools write segments (warcio writes none)."""
    head = [f"WARC-Type: {kind}", f"WARC-Target-URI: {url}", f"WARC-Date: {date}",
            *(f"{k}: {v}" for k, v in extra.items()), f"Content-Length: {len(block)}"]
    return ("WARC/1.1\r\n" + "\r\n".join(head) + "\r\n\r\n").encode() + block + b"\r\n\r\n"


def test_heritrix_style_revisits_segments_and_request_only_records(demo_archive, tmp_path):
    """An uncompressed WARC with a dedup revisit (identical payload), a report split into
    a response and two continuations, chunked and gzipped on the wire, and a request that
    never got an answer: every report imported as from plain responses."""
    conn = sqlite3.connect(demo_archive)
    from scraper import archive
    db = archive.open_archive(demo_archive)
    rows = conn.execute("SELECT c.url, c.sha256 FROM reports r JOIN captures c ON c.id = r.capture_id "
                        "ORDER BY c.url").fetchall()
    (url1, sha1), (url2, sha2), (url3, sha3) = rows[:3]
    body1, body2, body3 = (archive.body(db, s) for s in (sha1, sha2, sha3))
    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=False, warc_version="1.1")
    w.write_record(w.create_warc_record(url3 + "?unanswered", "request", http_headers=StatusAndHeaders(
        "GET /x HTTP/1.1", [("Host", urlsplit(url3).netloc)], is_http_request=True)))
    resp = w.create_warc_record(url1 + "?copy", "response", payload=io.BytesIO(body1), length=len(body1),
                                http_headers=StatusAndHeaders("200 OK", [("Content-Type", "text/html")],
                                                              protocol="HTTP/1.1"),
                                warc_headers_dict={"WARC-Date": "2024-01-01T00:00:00Z"})
    w.write_record(resp)
    w.write_record(w.create_revisit_record(url1, sha1_digest(body1), url1 + "?copy", "2024-01-01T00:00:00Z",
                                           http_headers=StatusAndHeaders("200 OK", [("Content-Type", "text/html")],
                                                                         protocol="HTTP/1.1"),
                                           warc_headers_dict={"WARC-Date": "2024-01-02T00:00:00Z"}))
    zipped = gzip.compress(body2)
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(zipped[i:i + 500]), zipped[i:i + 500])
                       for i in range(0, len(zipped), 500)) + b"0\r\n\r\n"
    http = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Encoding: gzip\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    block = http + chunked
    cut = [len(http) + 100, len(http) + len(chunked) // 2]
    parts = [block[:cut[0]], block[cut[0]:cut[1]], block[cut[1]:]]
    origin = "<urn:uuid:00000000-0000-0000-0000-00000000seg1>"
    raw = _raw_record("response", url2, "2024-01-03T00:00:00Z", parts[0], {
        "WARC-Record-ID": origin, "Content-Type": "application/http; msgtype=response",
        "WARC-Segment-Number": "1", "WARC-Payload-Digest": sha1_digest(chunked)})
    raw += _raw_record("continuation", url2, "2024-01-03T00:00:00Z", parts[2], {
        "WARC-Record-ID": "<urn:uuid:00000000-0000-0000-0000-00000000seg3>", "WARC-Segment-Origin-ID": origin,
        "WARC-Segment-Number": "3", "WARC-Segment-Total-Length": str(len(block))})
    raw += _raw_record("continuation", url2, "2024-01-03T00:00:00Z", parts[1], {
        "WARC-Record-ID": "<urn:uuid:00000000-0000-0000-0000-00000000seg2>", "WARC-Segment-Origin-ID": origin,
        "WARC-Segment-Number": "2"})
    path = tmp_path / "heritrix.warc"
    path.write_bytes(buf.getvalue() + raw)
    out = tmp_path / "imported.db"
    result = xxgk("import-warc", path, "--db", out)
    assert result.exit_code == 0, result.output
    got = reports(out)
    want = reports(demo_archive)
    for url in (url1 + "?copy", url1, url2):
        base = url.split("?")[0]
        mine = {k[1:]: v for k, v in got.items() if k[0] == url}
        theirs = {k[1:]: v for k, v in want.items() if k[0] == base}
        assert mine == theirs and len(mine) == 1, url
    imported = sqlite3.connect(out)
    assert imported.execute("SELECT sha256 FROM captures WHERE url = ?", [url2]).fetchone()[0] == sha2
    assert not imported.execute("SELECT 1 FROM captures WHERE url LIKE '%unanswered'").fetchall()
    # a segment lost: the record is named, not imported
    path.write_bytes(buf.getvalue() + raw[:raw.index(b"WARC/1.1\r\nWARC-Type: continuation", 10)])
    result = xxgk("import-warc", path, "--db", tmp_path / "lost.db")
    assert result.exit_code == 1 and f"{url2}: segmented record {origin} incomplete" in result.stderr
    assert not sqlite3.connect(tmp_path / "lost.db").execute(
        "SELECT 1 FROM captures WHERE url = ?", [url2]).fetchall()


def test_damaged_input_is_named_and_the_rest_imported(demo_archive, demo_warc, tmp_path):
    data = demo_warc.read_bytes()
    recs = records(demo_warc)
    n_reports = len(reports(demo_archive))
    # a truncated file: the records before the cut are imported, the file named
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: len(data) * 2 // 3])
    db = tmp_path / "a.db"
    result = xxgk("import-warc", cut, "--db", db)
    assert result.exit_code == 1
    assert f"failed: {cut}" in result.stderr and ("cut short" in result.stderr or "damaged" in result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1
    got = reports(db)
    assert 0 < len(got) < n_reports and all(reports(demo_archive)[k] == v for k, v in got.items())
    # a record whose body does not match its digest: that one named and left out
    plain = tmp_path / "plain.warc"
    plain.write_bytes(b"".join(gzip.GzipFile(fileobj=io.BytesIO(data)).read() for _ in [0]))
    sources = {u for (u,) in sqlite3.connect(demo_archive).execute("SELECT source_url FROM reports")}
    victim = next(r for r in recs if r[0] == "response" and r[1].get_header("WARC-Target-URI") in sources)
    url = victim[1].get_header("WARC-Target-URI")
    raw = plain.read_bytes()
    at = raw.index(b"WARC-Target-URI: " + url.encode() + b"\r\n", raw.index(b"WARC-Type: response"))
    at = raw.index("年度报告".encode(), at)
    plain.write_bytes(raw[:at] + "年终报告".encode() + raw[at + len("年度报告".encode()):])
    db = tmp_path / "b.db"
    result = xxgk("import-warc", plain, "--db", db)
    assert result.exit_code == 1 and f"{url}: " in result.stderr and "digest failed" in result.stderr
    assert len(reports(db)) == n_reports - 1
    assert not sqlite3.connect(db).execute("SELECT 1 FROM captures WHERE url = ?", [url]).fetchall()
    # a file that is no WARC at all, beside a good one: named, the good one imported
    junk = tmp_path / "notes.txt"
    junk.write_text("not a web archive\n")
    db = tmp_path / "c.db"
    result = xxgk("import-warc", junk, demo_warc, "--db", db)
    assert result.exit_code == 1 and f"failed: {junk}: not a WARC file" in result.stderr
    assert reports(db) == reports(demo_archive)
    # an import into an archive that already has it loses nothing and doubles nothing
    result = xxgk("import-warc", cut, "--db", db)
    assert result.exit_code == 1 and reports(db) == reports(demo_archive)


def test_bad_db_paths_and_the_lock(demo_warc, tmp_path):
    text = tmp_path / "notes.db"
    text.write_text("hello\n")
    for args in (("import-warc", demo_warc), ("export-warc", tmp_path / "x.warc.gz"),
                 ("export-wacz", tmp_path / "x.wacz")):
        result = xxgk(*args, "--db", text)
        assert result.exit_code == 2 and result.stderr.startswith(f"error: {text}:"), args
        assert len(result.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.glob("x.*")) and text.read_text() == "hello\n"
    assert xxgk("export-warc", tmp_path / "y.warc.gz", "--db", tmp_path / "missing.db").exit_code == 2
    db = tmp_path / "archive.db"
    with ArchiveLock(db):
        result = xxgk("import-warc", demo_warc, "--db", db)
    assert result.exit_code == 3 and "lock" in result.stderr


def test_wget_warc_of_the_fixture_web_imports_as_the_crawl_made_it(tmp_path):
    wget = tool("wget")
    with fixture_web() as servers:
        # the start pages, and the list pages a script paginates (TRS createPageHTML), as a
        # wget user seeds them; yunling's later records come from dataproxy XML, out of reach
        starts = [s.base + path for name, s in servers.items()
                  for path in [EXPECTED[name]["start"], *EXPECTED[name]["lists"]]]
        registry = tmp_path / "sites.toml"
        registry.write_text(fixture_registry(servers, 0.01, EXPECTED), encoding="utf-8")
        # only the loopback fixture hosts (wget never spans hosts without -H), 4 levels deep
        run = subprocess.run([wget, "-r", "-l", "4", "-e", "robots=on", "--tries=1", "--timeout=5", "-nv",
                              "--warc-file", str(tmp_path / "web"), "-P", str(tmp_path / "files"), *starts],
                             capture_output=True, text=True, timeout=120)
        assert (tmp_path / "web.warc.gz").exists(), run.stderr[-2000:]
        crawled = tmp_path / "crawled.db"
        result = xxgk("crawl", "--db", crawled, "--registry", registry, "--retries", "0")
        assert result.exit_code == 0, result.output
    imported = tmp_path / "imported.db"
    result = xxgk("import-warc", tmp_path / "web.warc.gz", "--db", imported, "--registry", registry)
    assert result.exit_code == 0, result.output
    got, crawl = reports(imported), reports(crawled)
    in_warc = {r[1].get_header("WARC-Target-URI") for r in records(tmp_path / "web.warc.gz") if r[0] == "response"}
    # every report the crawl made from a page wget fetched, imported with the same facts and checks
    want = {k: v for k, v in crawl.items() if k[0] in in_warc}
    assert got == want
    paths = {(urlsplit(k[0]).path, k[1], k[2], k[3]) for k in got}
    for name in ("hekou", "songlin"):  # the columns wget can follow without JavaScript: all of them
        for path, meta in EXPECTED[name]["reports"].items():
            assert (path, meta["agency"], meta["year"], meta["version"]) in paths, path
    # shiqiao's PDFs and DOCX tables linked from its pages: reports, merged as the crawl merged them
    conn = sqlite3.connect(imported)
    sources = "SELECT r.source_url, s.url, s.role FROM report_sources s JOIN reports r ON r.id = s.report_id " \
              "WHERE r.current = 1 ORDER BY 1, 2"
    merged = conn.execute(sources).fetchall()
    assert merged == sqlite3.connect(crawled).execute(sources).fetchall()
    # shiqiao's PDFs and DOCX linked from its pages: attachments of those pages, kept byte for
    # byte, with the outcome the crawl had for them
    crawl_conn = sqlite3.connect(crawled)
    outcome = "SELECT c.role, p.url, d.outcome FROM captures c LEFT JOIN captures p ON p.id = c.parent_id " \
              "LEFT JOIN documents d ON d.capture_id = c.id WHERE c.url = ? ORDER BY c.id DESC LIMIT 1"
    for path in EXPECTED["shiqiao"]["attachments"]:
        url = servers["shiqiao"].base + path
        mine = conn.execute(outcome, [url]).fetchone()
        assert mine[0] == "attachment" and "/xxgk/show-" in mine[1] and mine[2]
        assert mine == crawl_conn.execute(outcome, [url]).fetchone(), url
        sha = conn.execute("SELECT sha256 FROM captures WHERE url = ?", [url]).fetchone()[0]
        assert sha == hashlib.sha256((FIXTURE_WEB / "shiqiao" / path.lstrip("/")).read_bytes()).hexdigest()
    sites = dict(conn.execute("SELECT url, site_id FROM captures"))
    assert all(sites[u] == next(n for n, s in servers.items() if s.netloc == urlsplit(u).netloc) for u in sites)
