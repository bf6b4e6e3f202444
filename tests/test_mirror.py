"""Mirror folders into the archive (scraper/mirror.py): a real HTTrack mirror and a real
`wget -m` mirror of the fixture web on loopback import with their original URLs, capture
dates and links, as the same reports a crawl makes; missing pages are named."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import pytest

from webarchives import reports, tool, xxgk
from webserver import FIXTURE_WEB, fixture_registry, fixture_web

EXPECTED = json.loads((FIXTURE_WEB / "expected.json").read_text(encoding="utf-8"))
SITES = ("hekou", "shiqiao")  # query-string pages renamed by HTTrack; a page with PDF/DOCX attachments


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory):
    """HTTrack and wget mirrors of two fixture agencies, and the crawler's own crawl of them."""
    httrack, wget = tool("httrack"), tool("wget")
    tmp = tmp_path_factory.mktemp("mirror")
    with fixture_web() as servers:
        servers = {k: v for k, v in servers.items() if k in SITES}
        starts = [s.base + EXPECTED[name]["start"] for name, s in servers.items()]
        # only the loopback hosts of the start pages (HTTrack's filters, wget never spans hosts
        # without -H), a few levels, short timeouts; -%N0 -A…: no HTTrack rate limiting on loopback
        subprocess.run([httrack, *starts, "-O", str(tmp / "httrack"), "-r6", "-%v0", "-q", "-c8", "-%N0",
                        "-A100000000", "-T5", "-R1", "-I0", "-*", "+127.0.0.1:*/*"],
                       capture_output=True, timeout=120, check=False)
        subprocess.run([wget, "-m", "-l", "5", "-e", "robots=on", "--tries=1", "--timeout=5", "-nv", "-nH",
                        "-P", str(tmp / "wget"), servers["hekou"].base + EXPECTED["hekou"]["start"]],
                       capture_output=True, timeout=120, check=False)
        registry = tmp / "sites.toml"
        registry.write_text(fixture_registry(servers, 0.01, EXPECTED), encoding="utf-8")
        crawled = tmp / "crawled.db"
        result = xxgk("crawl", "--db", crawled, "--registry", registry, "--retries", "0")
        assert result.exit_code == 0, result.output
        yield tmp, servers, registry, crawled


def test_httrack_mirror_imports_with_urls_dates_and_links_restored(mirrored):
    tmp, servers, registry, crawled = mirrored
    db = tmp / "httrack.db"
    result = xxgk("import-mirror", tmp / "httrack", "--db", db, "--registry", registry)
    assert "new reports" in result.stdout, result.output
    got, crawl = reports(db), reports(crawled)
    assert got == crawl and len(got) == len(EXPECTED["hekou"]["reports"])  # every report, facts and checks
    for path, meta in EXPECTED["hekou"]["reports"].items():
        assert (servers["hekou"].base + path, meta["agency"], meta["year"], meta["version"]) in got
    conn = sqlite3.connect(db)
    from scraper import archive
    adb = archive.open_archive(db)
    # query-string pages (list2679.html on disk) back under their URLs
    urls = {u for (u,) in conn.execute("SELECT url FROM captures")}
    assert {servers["hekou"].base + p for p in EXPECTED["hekou"]["lists"]} <= urls
    # each page's date is HTTrack's comment; the comments and links HTTrack added are gone
    page = next((tmp / "httrack").glob("127.0.0.1_*/xxgk/show-6103.html"))
    stamp = re.search(rb"Mirrored from \S+ by HTTrack[^,]*, ([^>]*?) -->", page.read_bytes()).group(1).decode()
    url = servers["shiqiao"].base + "/xxgk/show-6103.html"
    cid, fetched_at = conn.execute("SELECT id, fetched_at FROM captures WHERE url = ?", [url]).fetchone()
    assert fetched_at == parsedate_to_datetime(stamp).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = archive.capture_body(adb, cid)
    assert b"HTTrack" not in body and f'href="{servers["shiqiao"].base}/uploads/2024/nb2023.pdf"'.encode() in body
    original = (FIXTURE_WEB / "shiqiao" / "xxgk" / "show-6103.html").read_bytes()
    assert body.replace(servers["shiqiao"].base.encode(), b"") == original.replace(b'href="../uploads', b'href="/uploads') \
        or b"nb2023-tables.docx" in body
    # attachments byte for byte, attached to the page that links them, as in the crawl
    for path in EXPECTED["shiqiao"]["attachments"]:
        att = servers["shiqiao"].base + path
        role, parent, sha = conn.execute("SELECT c.role, p.url, c.sha256 FROM captures c LEFT JOIN captures p "
                                         "ON p.id = c.parent_id WHERE c.url = ?", [att]).fetchone()
        assert role == "attachment" and "/xxgk/show-" in parent
        assert sha == hashlib.sha256((FIXTURE_WEB / "shiqiao" / path.lstrip("/")).read_bytes()).hexdigest()
    # assigned to the registry's sites by host
    for url, site in conn.execute("SELECT url, site_id FROM captures"):
        assert servers[site].netloc == urlsplit(url).netloc


def test_wget_mirror_with_base_url(mirrored):
    tmp, servers, registry, crawled = mirrored
    db = tmp / "wget.db"
    base = servers["hekou"].base
    result = xxgk("import-mirror", tmp / "wget", "--db", db, "--base-url", base + "/")
    assert result.exit_code == 0, result.output
    want = {k: v for k, v in reports(crawled).items() if k[0].startswith(base)}
    assert reports(db) == want and len(want) == 5
    urls = {u for (u,) in sqlite3.connect(db).execute("SELECT url FROM captures")}
    assert base + "/xxgk/ndbg/list.html?page=2" in urls and base + "/xxgk/ndbg/2024/4504.html" in urls


def test_a_mirror_with_missing_pages_names_them_and_imports_the_rest(mirrored, tmp_path):
    tmp, servers, registry, crawled = mirrored
    folder = tmp_path / "mirror"
    shutil.copytree(tmp / "wget", folder)
    (folder / "xxgk" / "ndbg" / "2022" / "4502.html").unlink()
    db = tmp_path / "archive.db"
    result = xxgk("import-mirror", folder, "--db", db, "--base-url", servers["hekou"].base)
    assert result.exit_code == 1
    lost = servers["hekou"].base + "/xxgk/ndbg/2022/4502.html"
    assert len(result.stderr.strip().splitlines()) == 1 and f"missing report {lost}" in result.stderr
    got = reports(db)
    assert len(got) == 4 and not any(k[0] == lost for k in got)
    # a folder of files with no URL anywhere: each named, nothing archived for it
    odd = tmp_path / "odd"
    (odd / "no host here").mkdir(parents=True)
    (odd / "no host here" / "a.html").write_text("<html><body>x</body></html>")
    result = xxgk("import-mirror", odd, "--db", tmp_path / "odd.db")
    assert result.exit_code == 1 and "give --base-url" in result.stderr
    assert sqlite3.connect(tmp_path / "odd.db").execute("SELECT count(*) FROM captures").fetchone()[0] == 0
