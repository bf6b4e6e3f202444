"""The archived original: `/-/original/<capture_id>` returns the captured bytes exactly as
downloaded, as an attachment that the browser never renders inside our origin
(application/octet-stream, nosniff, a sandboxing CSP); report rows link to it.
"""

from __future__ import annotations

import mimetypes
import re
from urllib.parse import quote, unquote, urlsplit

from datasette import hookimpl
from datasette.utils.asgi import NotFound, Response
from markupsafe import Markup, escape

from scraper.bodies import BodyError, unpack

LINKED_COLUMNS = {"capture_id"}
REPORT_COLUMNS = {"report_id", "previous_report_id", "supersedes"}


def _filename(url: str | None, capture_id: int, content_type: str | None) -> str:
    name = unquote(urlsplit(url or "").path.rsplit("/", 1)[-1]) or f"capture-{capture_id}"
    name = re.sub(r"[\x00-\x1f/\\\"]", "_", name)
    if "." not in name:
        ext = mimetypes.guess_extension((content_type or "").split(";")[0].strip()) or ".bin"
        name += ext
    return f"{capture_id}-{name}"


async def original(request, datasette):
    capture_id = int(request.url_vars["capture_id"])
    db = datasette.get_database()
    row = (await db.execute(
        "SELECT c.url, c.content_type, c.sha256, b.compression, b.data FROM captures c "
        "JOIN bodies b ON b.sha256 = c.sha256 WHERE c.id = ?", [capture_id])).first()
    if row is None:
        raise NotFound(f"No archived body for capture {capture_id}")
    try:
        data = unpack(row["compression"], row["data"])
    except BodyError as exc:
        return Response.text(f"The archived body of capture {capture_id} is damaged: {exc} (xxgk verify)",
                             status=500)
    name = _filename(row["url"], capture_id, row["content_type"])
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
    return Response(
        data, status=200, content_type="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "X-Original-Content-Type": (row["content_type"] or "").encode("ascii", "replace").decode(),
            "X-Original-URL": (row["url"] or "").encode("ascii", "replace").decode(),
            "X-Archive-SHA256": row["sha256"] or "",
            "Cache-Control": "public, max-age=31536000, immutable",
        })


@hookimpl
def register_routes():
    return [(r"^/-/original/(?P<capture_id>\d+)$", original)]


@hookimpl
def render_cell(value, column, table, database, datasette):
    """Link archived originals and reports from any table or view that names them."""
    if value is None or not isinstance(value, int):
        return None
    if column in LINKED_COLUMNS:
        return Markup(f'<a class="xxgk-original" href="{escape(datasette.urls.path(f"/-/original/{value}"))}" '
                      f'download>{value} ⤓ 存档原件 archived original</a>')
    if column in REPORT_COLUMNS and table != "reports":  # the report as people read it (report_page.py)
        return Markup(f'<a href="{escape(datasette.urls.path(f"/report/{value}"))}">{value}</a>')
    return None
