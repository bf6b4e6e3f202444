"""Pictures on a report page that may stand where its tables should be (needs OCR).

A page with no table and some `<img>` is not a scanned table by that alone: real report
pages carry a logo, a QR code (二维码), share icons, badges in the footer.  A picture
counts only when it sits in the report body (not in a header, footer, nav or share
block, not named a logo or QR code) and is large (width or height from its attributes or
style ≥ `LARGE_PX`), or carries no size and stands after the section headings, where the
tables belong.  Its place among the page's lines is known by a marker line put in the
text (`mark_pictures` before `html_text.html_lines`, `picture_lines` after).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .html_grid import BREAK

LARGE_PX = 300
BANNER_RATIO = 5  # wider than 5:1 is a banner or a title strip, not a table
_MARK = "\ue000"  # private use: never in a real page's text
_CHROME_TAGS = {"header", "footer", "nav", "aside"}
_CHROME_WORDS = re.compile(r"share|logo|banner|footer|header|navbar|menu|qrcode|qr-?code|erweima|ewm|copyright|"
                           r"bread|crumb|search|sidebar|weixin|weibo|wechat|^top|top$|^foot|^head|bottom|^nav|nav$",
                           re.I)
_CHROME_NAMES = re.compile(r"二维码|logo|标志|标识|分享|微信|微博|扫一扫|qrcode|erweima|ewm|share|icon|weixin|weibo|"
                           r"wechat|jiucuo|纠错|党政机关|dzjg|badge|btn|button|arrow|attach|fujian|附件", re.I)
_PX = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(px|%)?\s*$", re.I)
_STYLE_PX = re.compile(r"(?<![-\w])(width|height)\s*:\s*(\d+(?:\.\d+)?)\s*(px|%|pt)?", re.I)


@dataclass(frozen=True)
class Picture:
    size: str  # "large" | "unsized"
    line: int = -1  # index among the page's lines (after `picture_lines`)
    src: str | None = None  # the `<img src>` as written (the crawler fetches it for OCR)


def _length(value: str | None) -> float | None:
    """A width/height attribute in px; a percentage counts as large from 50 %."""
    m = _PX.match(value or "")
    if not m:
        return None
    n = float(m.group(1))
    return (LARGE_PX if n >= 50 else 0.0) if m.group(2) == "%" else n


def _size(img) -> str:
    """large, small or unsized, from the attributes and the inline style."""
    dims = {"width": _length(img.get("width")), "height": _length(img.get("height"))}
    for name, n, unit in _STYLE_PX.findall(img.get("style") or ""):
        n = float(n)
        dims[name.lower()] = (LARGE_PX if n >= 50 else 0.0) if unit == "%" else n * (4 / 3 if unit == "pt" else 1)
    known = [v for v in dims.values() if v is not None]
    if not known:
        return "unsized"
    w, h = dims["width"], dims["height"]
    if w and h and (w / h >= BANNER_RATIO or h / w >= BANNER_RATIO):
        return "small"
    return "large" if max(known) >= LARGE_PX else "small"


def _in_chrome(img) -> bool:
    """A logo, QR code, icon, or anything inside the page's header, footer, nav or share block."""
    names = " ".join(img.get(a) or "" for a in ("src", "alt", "title", "class", "id"))
    if _CHROME_NAMES.search(names):
        return True
    for el in img.iterancestors():
        if not isinstance(el.tag, str):
            continue
        if el.tag in _CHROME_TAGS:
            return True
        for attr in ("class", "id"):
            if any(_CHROME_WORDS.search(token) for token in (el.get(attr) or "").split()):
                return True
    return False


def mark_pictures(doc) -> list[Picture]:
    """The pictures that may be a table, each followed in the tree by a marker line
    (call after the grids are read and before `html_lines`)."""
    out: list[Picture] = []
    for img in doc.iter("img"):
        size = _size(img)
        if size == "small" or _in_chrome(img):
            continue
        try:
            img.tail = f"{BREAK}{_MARK}{len(out)}{BREAK}" + (img.tail or "")
        except ValueError:  # a tail lxml will not take back: the picture's place stays unknown
            continue
        out.append(Picture(size, src=(img.get("src") or "").strip() or None))
    return out


def picture_lines(lines: list[str], pictures: list[Picture]) -> tuple[list[str], list[Picture]]:
    """The page's lines without the markers, and each picture with the line it stands at."""
    kept: list[str] = []
    placed: list[Picture] = []
    for line in lines:
        if line.startswith(_MARK) and line[1:].isdigit() and int(line[1:]) < len(pictures):
            p = pictures[int(line[1:])]
            placed.append(Picture(p.size, len(kept), p.src))
        else:
            kept.append(line)
    return kept, placed


def pictures_where_tables_belong(pictures: list[Picture], body_start: int, body_end: int,
                                 first_heading: int | None) -> list[Picture]:
    """The large pictures inside the report body, and the unsized ones after the first
    section heading (where the tables belong); lines are indexes into the page's lines."""
    return [p for p in pictures if body_start <= p.line < body_end
            and (p.size == "large" or (first_heading is not None and p.line > first_heading))]
