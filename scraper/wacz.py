"""The archive as a WACZ 1.1.1 package (https://specs.webrecorder.net/wacz/1.1.1/), the
form ReplayWeb.page opens: the WARC (`archive/data.warc.gz`, stored uncompressed in the
ZIP so a reader can seek into it), its CDXJ index (`indexes/index.cdxj`, by
cdxj-indexer, the indexer the `wacz` package itself uses), the pages people start from
(`pages/pages.jsonl`: report pages and list pages), and `datapackage.json` naming every
part with its size and sha256 (`datapackage-digest.json` holds the hash of that).

Written beside OUT and renamed into place, so OUT is whole or absent.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import warnings
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils

from .warc import Exported, captures_to_export, open_read_only, software, whole_file, write_warc

WACZ_VERSION = "1.1.1"
WARC_NAME = "data.warc.gz"


def cdxj_index(warc: Path) -> bytes:
    """The sorted CDXJ index of one WARC, `filename` relative to archive/."""
    with warnings.catch_warnings():  # its AMF dependency warns about pkg_resources on import
        warnings.simplefilter("ignore")
        from cdxj_indexer import CDXJIndexer

    out = io.StringIO()
    CDXJIndexer(output=out, inputs=[str(warc)], sort=True, post_append=True, filename=WARC_NAME).process_all()
    return out.getvalue().encode("utf-8")


def pages(db: sqlite_utils.Database, *, site: str | None = None, since: str | None = None) -> bytes:
    """pages.jsonl: one line per archived HTML page worth opening (reports first, lists)."""
    exported = {row[1] for row in captures_to_export(db, site=site, since=since)}
    lines = [{"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}]
    rows = db.execute(
        "SELECT c.id, c.url, c.fetched_at, coalesce(r.title, d.title), c.role FROM captures c "
        "LEFT JOIN reports r ON r.capture_id = c.id AND r.current = 1 LEFT JOIN documents d ON d.capture_id = c.id "
        "WHERE c.status = 200 AND c.role IN ('list', 'report') AND c.sha256 IS NOT NULL "
        "AND c.content_type LIKE '%html%' AND c.id IN (SELECT max(id) FROM captures WHERE status = 200 GROUP BY url) "
        "ORDER BY c.role DESC, c.fetched_at, c.id").fetchall()
    for cid, url, fetched_at, title, _role in rows:
        if url in exported:
            lines.append({"id": f"capture-{cid}", "url": url, "ts": fetched_at, "title": title or url})
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode("utf-8")


def _resource(name: str, data: bytes) -> dict:
    return {"name": Path(name).name, "path": name, "hash": "sha256:" + hashlib.sha256(data).hexdigest(),
            "bytes": len(data)}


def export_wacz(db_path: str | Path, out: str | Path, *, site: str | None = None,
                since: str | None = None) -> Exported:
    db = open_read_only(db_path)
    out = Path(out)
    try:
        with whole_file(out) as tmp, tempfile.TemporaryDirectory(prefix="xxgk-wacz-") as work:
            warc = Path(work) / WARC_NAME
            with open(warc, "wb") as fh:
                done = write_warc(db, fh, site=site, since=since, filename=WARC_NAME)
            warc_bytes = warc.read_bytes()
            parts = {f"archive/{WARC_NAME}": warc_bytes, "indexes/index.cdxj": cdxj_index(warc),
                     "pages/pages.jsonl": pages(db, site=site, since=since)}
            package = {
                "profile": "data-package", "wacz_version": WACZ_VERSION, "software": software(),
                "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "title": "xxgk-archive: 政府信息公开工作年度报告" + (f" ({site})" if site else ""),
                "resources": [_resource(name, data) for name, data in parts.items()],
            }
            package_bytes = json.dumps(package, ensure_ascii=False, indent=1).encode("utf-8")
            digest = {"path": "datapackage.json", "hash": "sha256:" + hashlib.sha256(package_bytes).hexdigest()}
            with zipfile.ZipFile(tmp, "w") as z:
                for name, data in parts.items():
                    z.writestr(name, data, zipfile.ZIP_STORED if name.endswith(".gz") else zipfile.ZIP_DEFLATED)
                z.writestr("datapackage.json", package_bytes, zipfile.ZIP_DEFLATED)
                z.writestr("datapackage-digest.json", json.dumps(digest), zipfile.ZIP_DEFLATED)
    finally:
        db.conn.close()
    return done
