"""The site registry (cli.md, "Site registry"): TOML in, validated `Site`s out.

A registry entry is the only way to add a host.  Errors name the line, the field and
why, so an operator editing `sites.toml` by hand can fix it without reading code.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

LEVELS = ("province", "city", "county", "township", "department")
_ID = re.compile(r"^[a-z0-9-]+$")


class RegistryError(ValueError):
    """A registry that cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Site:
    id: str
    name: str
    start: list[str]
    region: str | None = None
    region_code: str | None = None
    level: str | None = None
    allow: list[str] = field(default_factory=list)
    delay: float = 1.0
    verified: bool = True
    aliases: list[str] = field(default_factory=list)

    @property
    def hosts(self) -> set[str]:
        """Hosts this site may be crawled on (`allow`, default: the hosts of `start`)."""
        return {h.lower() for h in self.allow} if self.allow else {
            (urlsplit(u).hostname or "").lower() for u in self.start}

    @property
    def netlocs(self) -> set[str]:
        """host[:port] forms named in the registry (ports matter for loopback tests)."""
        out = {urlsplit(u).netloc.lower() for u in self.start}
        return out | {a.lower() for a in self.allow}


_SITE_HEADER = re.compile(r"^\s*\[\[\s*site\s*\]\]")
FIELDS = ("id", "name", "region", "region_code", "level", "start", "allow", "delay", "verified", "aliases",
          "note")


def _line_of(text: str, site_index: int, fieldname: str | None = None) -> int:
    """Line of the `site_index`-th [[site]] header, or of `fieldname` inside that block."""
    lines = text.splitlines()
    count, block = -1, 0
    for n, line in enumerate(lines, start=1):
        if _SITE_HEADER.match(line):
            count += 1
            if count == site_index:
                block = n
                break
    if not block or fieldname is None:
        return block
    key = re.compile(rf"^\s*[\"']?{re.escape(fieldname)}[\"']?\s*=")
    for n in range(block + 1, len(lines) + 1):
        line = lines[n - 1]
        if line.lstrip().startswith("["):
            break
        if key.match(line):
            return n
    return block


def parse_registry(text: str, source: str = "sites.toml") -> list[Site]:
    """Validate a registry; the first problem raises RegistryError naming file:line,
    the site, the field and why."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"{source}: not valid TOML: {exc}") from exc
    unknown_top = set(data) - {"site"}
    if unknown_top:
        raise RegistryError(f"{source}: unknown table(s) {', '.join(sorted(unknown_top))}; "
                            "sites are [[site]] entries")
    entries = data.get("site")
    if not isinstance(entries, list) or not entries:
        raise RegistryError(f"{source}: no [[site]] entries")
    sites: list[Site] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        def bad(fieldname: str, why: str) -> RegistryError:
            return RegistryError(f"{source}:{_line_of(text, i, fieldname)}: site #{i + 1}"
                                 f"{' (' + repr(entry.get('id')) + ')' if isinstance(entry.get('id'), str) else ''}"
                                 f" field '{fieldname}': {why}")

        for key in entry:
            if key not in FIELDS:
                raise bad(key, f"unknown field (known: {', '.join(FIELDS)})")
        sid = entry.get("id")
        if not isinstance(sid, str) or not _ID.match(sid):
            raise bad("id", "required, lowercase letters, digits and '-' only")
        if sid in seen:
            raise bad("id", f"duplicate id {sid!r}")
        seen.add(sid)
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise bad("name", "required text")
        start = entry.get("start")
        if isinstance(start, str):
            start = [start]
        if not isinstance(start, list) or not start or not all(isinstance(u, str) for u in start):
            raise bad("start", "required: a list of list-page URLs")
        for u in start:
            parts = urlsplit(u)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise bad("start", f"not an http(s) URL: {u!r}")
        for textfield in ("region", "note"):
            if entry.get(textfield) is not None and not isinstance(entry[textfield], str):
                raise bad(textfield, "text")
        level = entry.get("level")
        if level is not None and level not in LEVELS:
            raise bad("level", f"{level!r} is not one of {', '.join(LEVELS)}")
        allow = entry.get("allow", [])
        if not isinstance(allow, list) or not all(isinstance(h, str) and h and "/" not in h for h in allow):
            raise bad("allow", "a list of host names (host or host:port, no scheme or path)")
        delay = entry.get("delay", 1.0)
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0 or delay > 600:
            raise bad("delay", "seconds between requests to one host, a number from 0 to 600")
        code = entry.get("region_code")
        if code is not None and not re.fullmatch(r"\d{6}", str(code)):
            raise bad("region_code", "a 6-digit 行政区划代码")
        verified = entry.get("verified", True)
        if not isinstance(verified, bool):
            raise bad("verified", "true or false (whether a crawl has reached this column)")
        aliases = entry.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise bad("aliases", "a list of names")
        sites.append(Site(id=sid, name=name.strip(), start=start, region=entry.get("region"),
                          region_code=str(code) if code is not None else None, level=level,
                          allow=allow, delay=float(delay), verified=verified, aliases=aliases))
    return sites


def load_registry(path: str | Path) -> list[Site]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise RegistryError(f"{p}: registry file not found") from exc
    except UnicodeDecodeError as exc:
        raise RegistryError(f"{p}: not UTF-8 ({exc})") from exc
    return parse_registry(text, str(p))


def rebase(sites: list[Site], base: str) -> list[Site]:
    """Point every site at another scheme://host:port (the demo's fixture server)."""
    b = urlsplit(base)

    def move(u: str) -> str:
        p = urlsplit(u)
        return urlunsplit((b.scheme, b.netloc, p.path, p.query, p.fragment))

    return [replace(s, start=[move(u) for u in s.start], allow=[b.netloc] if s.allow else [])
            for s in sites]
