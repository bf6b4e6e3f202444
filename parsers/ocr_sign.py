"""The sign before the digits of a 本年增/减 cell read from a picture (`parsers.ocr`).

Tesseract's chi_sim model does not read a small 增 (about 15 px tall): it gives 二, 夫, 埠,
坊, 境 or digits, and it sometimes drops a 减 and reads only the number after it.  So the
sign glyph is read by comparison instead: the left of the cell is compared (OpenCV
`matchTemplate`, TM_CCOEFF_NORMED, over a few scales) with 增 and 减 rendered by PIL from
the CJK fonts installed (Debian's fonts-noto-cjk: Noto Serif/Sans CJK, regular and bold,
every regional face, since a page without `lang` is drawn with the Japanese forms).  A
glyph's score is the lowest of three comparisons at one place: the whole glyph, its left
component (土 / 冫) and its right one (曾 / 咸), so that 憎, 堵, 咸 or 碱 sharing half of a
sign glyph never pass for it.  A sign is read only when its score is at least `ACCEPT`
and `MARGIN` above the other sign's (thresholds measured on the fixtures and on
adversarial glyphs, tests/test_ocr.py).  Without such fonts nothing is compared and the
cell stays unread: never a guess.

`+N` / `-N` are read by shape: the mark left of the digits must be a bar (or a cross) of
a digit's proportions at the digits' middle height, alone in its columns, so that a
fragment of a ruling line or a dash meaning "none" never becomes a minus; `parsers.ocr`
also wants a Latin reading with the sign to agree.
"""

from __future__ import annotations

import glob
import hashlib
import threading
from dataclasses import dataclass
from functools import lru_cache

SIGN_GLYPHS = ("增", "减")
FONT_GLOBS = ("/usr/share/fonts/opentype/noto/Noto*CJK*-Regular.tt[cf]",
              "/usr/share/fonts/opentype/noto/Noto*CJK*-Bold.tt[cf]",
              "/usr/share/fonts/**/Noto*CJK*-Regular.[ot]t[cf]",
              "/usr/share/fonts/**/Noto*CJK*-Bold.[ot]t[cf]")
ACCEPT = 0.72  # glyph comparison: lowest true score measured 0.745, highest of another glyph 0.685
MARGIN = 0.25  # over the other sign (measured: true 0.745+, other sign at most 0.42)
SUSPECT = 0.55  # a left glyph this much like a sign makes a plain number reading doubtful
SHAPE_ACCEPT = 0.7  # +/-: how well the mark fills a bar or a cross
REF_PX = 128  # reference glyphs are drawn this size, then scaled to the cell's
WORK_PX = 40  # small cells are compared enlarged to this height (both sides alike)
SCALES = (0.9, 0.95, 1.0, 1.05, 1.1)  # of the cell's ink height
_SPLIT = {"增": 0.36, "减": 0.30}  # where the left component (土, 冫) ends, as a share of the width


@dataclass(frozen=True)
class Sign:
    """A sign read before the digits of a cell, and how it was read."""
    glyph: str  # 增 | 减 | + | - ; "" when there was nothing to compare with
    score: float  # 0-1: the glyph comparison (or the shape of a +/-)
    other: float  # the best score of the other sign
    cut: int  # x in the cell where the digits start
    method: str  # "glyph comparison" | "shape" | "no CJK font"

    @property
    def clear(self) -> bool:
        """Read beyond doubt: high enough and well above the other sign."""
        if self.method == "glyph comparison":
            return self.score >= ACCEPT and self.score - self.other >= MARGIN
        return self.method == "shape" and self.score >= SHAPE_ACCEPT

    def describe(self) -> str:
        """For provenance and warnings: `增 by glyph comparison (0.86; 减 0.33)`."""
        if self.method == "no CJK font":
            return "sign glyph not compared: no CJK font found (Debian fonts-noto-cjk)"
        if self.method == "shape":
            return f"{self.glyph} by its shape ({self.score:.2f}) and a Latin reading"
        other = SIGN_GLYPHS[1 - SIGN_GLYPHS.index(self.glyph)]
        return f"{self.glyph} by glyph comparison ({self.score:.2f}; {other} {self.other:.2f})"


# --- reference glyphs ---------------------------------------------------------------------

def font_faces() -> tuple[tuple[str, int], ...]:
    """(file, face index) of every non-mono face of the regular and bold CJK fonts installed."""
    from PIL import ImageFont

    files = sorted({p for pattern in FONT_GLOBS for p in glob.glob(pattern, recursive=True)})
    out = []
    for path in files:
        for index in range(32):  # a .ttc holds several faces; a .otf one
            try:
                font = ImageFont.truetype(path, 16, index=index)
            except OSError:
                break
            if "Mono" not in font.getname()[0] and font.getmask(SIGN_GLYPHS[0]).getbbox():
                out.append((path, index))
    return tuple(out)


def _render(glyph: str, face: tuple[str, int]):
    """The glyph drawn black on white at REF_PX, cut to its ink."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(face[0], REF_PX, index=face[1])
    im = Image.new("L", (2 * REF_PX, 2 * REF_PX), 255)
    ImageDraw.Draw(im).text((REF_PX // 2, REF_PX // 2), glyph, font=font, fill=0)
    a = np.asarray(im)
    ys, xs = np.nonzero(a < 128)
    return a[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


_refs_lock = threading.Lock()


@lru_cache(maxsize=None)
def references(glyph: str) -> tuple:
    """The distinct drawings of `glyph` in the installed fonts (the regional faces that draw
    it alike counted once); empty without a CJK font."""
    with _refs_lock:
        seen: dict[str, object] = {}
        for face in font_faces():
            a = _render(glyph, face)
            seen.setdefault(hashlib.sha1(a.tobytes() + repr(a.shape).encode()).hexdigest(), a)
        return tuple(seen.values())


@lru_cache(maxsize=4096)
def _template(glyph: str, k: int, height: int, up: float):
    """Reference `k` of `glyph` at the cell's size (`height` px), enlarged like the cell."""
    import cv2

    ref = references(glyph)[k]
    width = max(4, round(ref.shape[1] * height / ref.shape[0]))
    t = cv2.resize(ref, (width, height), interpolation=cv2.INTER_AREA)
    return cv2.resize(t, None, fx=up, fy=up, interpolation=cv2.INTER_LINEAR) if up > 1 else t


# --- the cell -----------------------------------------------------------------------------

def _ink(gray):
    import cv2

    _t, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    return ink


def _extent(ink) -> int:
    """Height of the ink in a band of columns (0 when empty)."""
    import numpy as np

    rows = np.nonzero(ink.any(axis=1))[0]
    return int(rows[-1] - rows[0] + 1) if len(rows) else 0


def extra_width(gray, digits: str) -> float:
    """How much wider the ink of a cell is than the digits read in it would be, in digit
    heights: below 0 for a number (measured up to -0.07 on the fixtures), about 0.6 or
    more when a CJK glyph before the digits was not read."""
    import cv2
    import numpy as np

    ink = _ink(gray)
    h = _extent(ink)
    n, _labels, stats, _c = cv2.connectedComponentsWithStats(ink, connectivity=8)
    glyphs = [stats[i] for i in range(1, n) if stats[i][4] >= 3 and stats[i][3] >= 0.3 * h]
    if not glyphs or not digits:
        return 0.0
    digit_h = int(max(glyphs, key=lambda s: s[0] + s[2])[3])  # the last glyph is a digit
    cols = np.nonzero(ink.any(axis=0))[0]
    figures = sum(c.isdigit() for c in digits)
    expected = 0.8 * figures + 0.4 * (len(digits) - figures)  # a digit at most 0.8 of its height wide
    return (int(cols[-1] - cols[0]) + 1) / digit_h - expected


def _part(window, t, a: int, b: int) -> float:
    """Comparison of the columns a..b of the template with the same columns of the cell."""
    import cv2

    tt, ww = t[:, a:b], window[:, a:b]
    if tt.size == 0 or tt.std() < 1 or ww.std() < 1:
        return 0.0
    return float(cv2.matchTemplate(ww, tt, cv2.TM_CCOEFF_NORMED)[0, 0])


def _best_match(region, glyph: str, height: int, up: float) -> tuple[float, int]:
    """(score, right edge in the region) of the best place and drawing of `glyph`: the
    whole glyph compared at every place, its two components where the whole is best (the
    score is the lowest of the three, so a place whose whole is lower cannot win)."""
    import cv2

    places = []
    for k in range(len(references(glyph))):
        for s in SCALES:
            t = _template(glyph, k, max(5, round(height * s)), up)
            if t.shape[0] <= region.shape[0] and t.shape[1] <= region.shape[1]:
                _lo, whole, _l, (x, y) = cv2.minMaxLoc(cv2.matchTemplate(region, t, cv2.TM_CCOEFF_NORMED))
                places.append((whole, x, y, t))
    best, right = 0.0, 0
    for whole, x, y, t in sorted(places, key=lambda p: -p[0]):
        if whole <= best:
            break
        window = region[y:y + t.shape[0], x:x + t.shape[1]]
        cut = round(t.shape[1] * _SPLIT[glyph])
        score = min(whole, _part(window, t, 0, cut), _part(window, t, cut, t.shape[1]))
        if score > best:
            best, right = score, x + t.shape[1]
    return best, right


def cjk_sign(gray) -> Sign | None:
    """增 or 减 at the left of a cell by glyph comparison (the higher scoring one, clear or
    not); None when the cell holds no ink, a `no CJK font` sign without fonts."""
    import cv2
    import numpy as np

    if not references(SIGN_GLYPHS[0]) or not references(SIGN_GLYPHS[1]):
        return Sign("", 0.0, 0.0, 0, "no CJK font")
    ink = _ink(gray)
    ys, xs = np.nonzero(ink)
    if len(xs) < 12:
        return None
    y0, y1, x0 = int(ys.min()), int(ys.max()) + 1, int(xs.min())
    h = y1 - y0
    pad = max(2, h // 4)
    rx0, ry0 = max(0, x0 - pad), max(0, y0 - pad)
    region = gray[ry0:y1 + pad, rx0:x0 + round(1.4 * h) + pad]
    up = round(max(1.0, WORK_PX / h), 2)
    if up > 1:
        region = cv2.resize(region, None, fx=up, fy=up, interpolation=cv2.INTER_LINEAR)
    scores = {g: _best_match(region, g, h, up) for g in SIGN_GLYPHS}
    glyph = max(SIGN_GLYPHS, key=lambda g: scores[g][0])
    other = scores[SIGN_GLYPHS[1 - SIGN_GLYPHS.index(glyph)]][0]
    score, right = scores[glyph]
    return Sign(glyph, round(score, 3), round(other, 3), rx0 + round(right / up), "glyph comparison")


def latin_sign(gray) -> Sign | None:
    """+ or - left of the digits, by shape: a bar (a cross) no taller than a digit, at least
    a quarter of one wide, centred at the digits' middle height, alone in its columns and
    close to them.  None for anything else (a rule's fragment, a speck, a lone dash, a digit)."""
    import cv2
    import numpy as np

    ink = _ink(gray)
    n, _labels, stats, _c = cv2.connectedComponentsWithStats(ink, connectivity=8)
    boxes = sorted((tuple(int(v) for v in stats[i][:5]) for i in range(1, n) if stats[i][4] >= 3),
                   key=lambda b: b[0])
    if len(boxes) < 2:
        return None
    x, y, w, h, area = boxes[0]
    rest = boxes[1:]
    top = min(b[1] for b in rest)
    digit_h = max(b[1] + b[3] for b in rest) - top
    start = min(b[0] for b in rest)
    if digit_h < 6 or start < x + w or start - (x + w) > 0.6 * digit_h:
        return None  # not alone in its columns, or far from the digits
    middle = (y + h / 2 - top) / digit_h
    if not 0.3 <= middle <= 0.8:
        return None
    box = ink[y:y + h, x:x + w] > 0
    if h <= max(2, 0.25 * digit_h) and max(3, 2 * h, 0.25 * digit_h) <= w <= 1.1 * digit_h:
        return Sign("-", round(area / (w * h), 3), 0.0, x + w, "shape")
    if 0.3 * digit_h <= min(w, h) and max(w, h) <= digit_h and abs(w - h) <= 0.35 * max(w, h):
        row = box[max(0, h // 2 - 1):h // 2 + 2].any(axis=0).mean()
        col = box[:, max(0, w // 2 - 1):w // 2 + 2].any(axis=1).mean()
        q = max(1, min(w, h) // 4)
        corners = np.mean([box[:q, :q].mean(), box[:q, -q:].mean(), box[-q:, :q].mean(), box[-q:, -q:].mean()])
        return Sign("+", round(float(min(row, col) * (1 - corners)), 3), 0.0, x + w, "shape")
    return None


def digits_part(gray, cut: int, sign_width: tuple[float, float] = (0.0, 99.0), max_height: float = 1.0):
    """The cell right of its sign, from the blank columns nearest `cut` (a white margin
    kept).  None when no gap between sign and digits lies near `cut`, when the sign's width
    (a share of the ink height) is outside `sign_width`, when the rest is taller than
    `max_height` of the whole (digits are shorter than a CJK glyph: 少 after 减 is no
    number), or when nothing is left."""
    import numpy as np

    ink = _ink(gray)
    h = _extent(ink)
    cols = np.nonzero(ink.any(axis=0))[0]
    if h == 0 or len(cols) == 0:
        return None
    x0 = int(cols[0])
    gaps = [int(x) for x in range(x0 + 1, int(cols[-1])) if not ink[:, x].any() and ink[:, x - 1].any()]
    near = [x for x in gaps if abs(x - cut) <= max(2, h / 5)]
    if not near:
        return None
    gap = min(near, key=lambda x: abs(x - cut))
    if not sign_width[0] <= (gap - x0) / h <= sign_width[1] or _extent(ink[:, gap:]) > max_height * h:
        return None
    return np.pad(gray[:, gap:], ((0, 0), (4, 0)), constant_values=255)
