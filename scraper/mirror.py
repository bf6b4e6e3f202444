"""Mirror folders (HTTrack, `wget -m`) into captures: each file's original URL and
capture date, its links as they were before the mirroring tool rewrote them.

Where a file's URL comes from, in order: HTTrack's `<!-- Mirrored from HOST/PATH by
HTTrack … DATE -->` comment (pages); HTTrack's `hts-cache/new.txt` (every file it wrote);
a mirrored page that links the file (its link resolved against the page's URL); the
file's path, whose first folder is the host (`127.0.0.1_8080` by HTTrack, `127.0.0.1:8080`
by wget), or `--base-url` + the path for a folder that starts at the site's root.  A
page's date is HTTrack's comment; a file without one takes the date of the page that
links it, else its modification time (wget sets it to the server's Last-Modified).

Undone: HTTrack's comments and `<meta>` it adds, and every link to a file of the mirror
(relative, renamed for a query string, `?query` kept on the link) back to that file's
URL; the rest of each file is kept byte for byte.  A report, list or attachment that a
mirrored page links on its own site but that is not in the folder (and that the site's
robots.txt, when the mirror kept it, does not disallow) is named as missing.
"""

from __future__ import annotations

import mimetypes
import os
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urljoin, urlsplit

from protego import Protego

from parsers.binary import binary_form
from parsers.decode import decode

from .adapters import discover
from .ingest import Found, is_document

Problem = Callable[[str], None]

_MIRRORED = re.compile(rb"<!-- Mirrored from (\S+) by HTTrack Website Copier/[^,]*, ([^>]*?) -->\r?\n?")
_ADDED = re.compile(rb"<!-- Added by HTTrack -->.*?<!-- /Added by HTTrack -->", re.S)
_LINK = re.compile(rb"""(\b(?:href|src|data)\s*=\s*)(["'])([^"'<>]*)\2""", re.I)
_HOST_DIR = re.compile(r"^[A-Za-z0-9.\-]+([:_]\d+)?$")
_SKIP = ("hts-cache", "hts-log.txt", "backblue.gif", "fade.gif", "hts-in_progress.lock")


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Mirror:
    def __init__(self, root: str | Path, base_url: str | None, problem: Problem) -> None:
        self.root = Path(root)
        self.base_url = base_url.rstrip("/") if base_url else None
        self.scheme = urlsplit(base_url).scheme if base_url else "http"
        self.problem = problem
        self.files = [p for p in sorted(self.root.rglob("*")) if p.is_file() and not self._tool_file(p)]
        self.url: dict[Path, str] = {}
        self.date: dict[Path, str] = {}

    def _tool_file(self, p: Path) -> bool:
        rel = p.relative_to(self.root).parts
        return rel[0] in _SKIP or p.name.endswith((".tmp", ".delayed", ".lock"))

    # where each file came from
    def locate(self) -> None:
        for p in self.files:
            head = p.read_bytes()[:4096] if p.suffix.lower() in (".html", ".htm", ".shtml", "") else b""
            m = _MIRRORED.search(head)
            if m:
                self.url[p] = self._absolute(m.group(1).decode("utf-8", "replace"))
                try:
                    self.date[p] = _iso(parsedate_to_datetime(m.group(2).decode("ascii", "replace")))
                except (TypeError, ValueError):
                    pass
        self._hts_cache()
        for p in self.files:  # files linked from a located page, by the page's URL
            if p in self.url and self._is_page(p):
                for target, href in self._local_links(p):
                    if target not in self.url:
                        self.url[target] = urljoin(self.url[p], href.split("?")[0])
                    if p in self.date:
                        self.date.setdefault(target, self.date[p])
        for p in list(self.files):
            if p not in self.url:
                try:
                    self.url[p] = self._from_path(p)
                except ValueError as exc:
                    self.problem(str(exc))
                    self.files.remove(p)
                    continue
            if p not in self.date:
                self.date[p] = _iso(datetime.fromtimestamp(p.stat().st_mtime, timezone.utc))

    def _absolute(self, host_path: str) -> str:
        return host_path if "://" in host_path else f"{self.scheme}://{host_path}"

    def _hts_cache(self) -> None:
        """HTTrack's list of what it wrote: URL and local file, one tab-separated line each."""
        lst = self.root / "hts-cache" / "new.txt"
        if not lst.exists():
            return
        by_rel = {p.relative_to(self.root).as_posix(): p for p in self.files}
        for line in lst.read_text(encoding="utf-8", errors="replace").splitlines()[1:]:
            cols = line.split("\t")
            if len(cols) < 9 or not cols[3].startswith("2"):
                continue
            url, local = cols[7], cols[8]
            for rel, p in by_rel.items():  # the folder may have moved since: match the tail
                if local.endswith("/" + rel) and p not in self.url:
                    self.url[p] = url
                    break

    def _from_path(self, p: Path) -> str:
        rel = p.relative_to(self.root).as_posix()
        first = rel.split("/", 1)[0]
        if self.base_url and first != urlsplit(self.base_url).netloc:
            return f"{self.base_url}/{rel}"
        if self.base_url:
            return f"{self.scheme}://{rel}"
        if _HOST_DIR.match(first):
            host, _, rest = rel.partition("/")
            host = re.sub(r"_(\d+)$", r":\1", host)
            return f"{self.scheme}://{host}/{rest}"
        raise ValueError(f"{p}: no URL for it (no HTTrack comment, no host folder); give --base-url")

    def _is_page(self, p: Path) -> bool:
        return p.suffix.lower() in (".html", ".htm", ".shtml") or "?" in p.name or p in self.url and \
            p.read_bytes()[:512].lstrip().lower().startswith((b"<!doctype", b"<html"))

    def _local_links(self, p: Path):
        """(file, href) for every link of a page that points at a file of the mirror."""
        for m in _LINK.finditer(p.read_bytes()):
            href = m.group(3).decode("latin-1").strip()
            target = self._target(p, href)
            if target is not None and target.is_file():
                yield target, href

    def _target(self, page: Path, href: str) -> Path | None:
        if not href or href.startswith(("#", "/", "javascript:", "mailto:", "data:")) or re.match(r"^[a-z]+:", href, re.I):
            return None
        local = unquote(href.split("#")[0], encoding="utf-8", errors="replace")
        path = Path(os.path.normpath(page.parent / local))
        if not path.exists() and "?" in local:  # HTTrack keeps `?query` on the link to a renamed file
            path = Path(os.path.normpath(page.parent / local.split("?")[0]))
        return path if path.is_relative_to(self.root) else None

    # the files as captures
    def restore(self, p: Path) -> bytes:
        """A page with HTTrack's additions removed and its links to mirrored files pointing
        at their URLs again."""
        data = _ADDED.sub(b"", _MIRRORED.sub(b"", p.read_bytes()))

        def back(m: re.Match) -> bytes:
            href = m.group(3).decode("latin-1")
            target = self._target(p, href.strip())
            if target is None or target not in self.url:
                return m.group(0)
            fragment = "#" + href.split("#", 1)[1] if "#" in href else ""
            return m.group(1) + m.group(2) + (self.url[target] + fragment).encode("latin-1", "replace") + m.group(2)

        return _LINK.sub(back, data)

    def captures(self) -> list[Found]:
        self.locate()
        found: list[Found] = []
        for p in self.files:
            url = self.url[p]
            data = p.read_bytes()
            html = binary_form(data, url, None) is None
            if html:
                data = self.restore(p)
            ctype = mimetypes.guess_type(urlsplit(url).path)[0] if html else None
            if html and ctype is None and data[:1024].lstrip().lower().startswith((b"<!doctype html", b"<html")):
                ctype = "text/html"
            if not is_document(url, ctype, data) or (html and b"<" not in data[:4096]):
                continue
            found.append(Found(url, self.date[p], 200, ctype, data, str(p)))
        self._missing(found)
        return found

    def _missing(self, found: list[Found]) -> None:
        have = {f.url for f in found} | set(self.url.values())
        robots = {}  # host → the robots.txt the mirroring tool obeyed, when it kept one
        for p, url in self.url.items():
            if urlsplit(url).path == "/robots.txt":
                robots[urlsplit(url).netloc] = Protego.parse(p.read_text(encoding="utf-8", errors="replace"))
        named: set[str] = set()
        for f in found:
            if "html" not in (f.content_type or ""):
                continue
            links = discover(f.url, decode(f.body, f.content_type).text)
            host = urlsplit(f.url).netloc
            for kind, urls in (("report", links.reports), ("list", links.lists), ("attachment", links.attachments)):
                for u in urls:
                    if urlsplit(u).netloc != host or u in have or u in named:
                        continue
                    if host in robots and not robots[host].can_fetch(u, "*"):
                        continue  # left out on purpose: disallowed by the site's robots.txt
                    named.add(u)
                    self.problem(f"{self.root}: missing {kind} {u} (linked from {f.url})")


def read_mirror(root: str | Path, problem: Problem, base_url: str | None = None) -> list[Found]:
    """Every page and document file of a mirror folder as a capture (see the docstring)."""
    return Mirror(root, base_url, problem).captures()
