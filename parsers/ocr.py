"""Tables published as pictures → rows of cells (tesseract through tesserocr, OpenCV).

A picture of a table is read the way a person reads it: first the ruling lines (OpenCV
morphology: long horizontal and vertical runs of ink), which give the grid, the cell
boxes and the merged cells (a boundary with no line drawn on it joins two cells); then
every cell on its own.  A cell is first read as text (tesseract `chi_sim`, one block); a
cell whose text is a number is read a second time in digits-only mode (tesseract `eng`
restricted to digits) on an enlarged copy.  The two readings are kept with their
confidence (`Reading`): the guard in `parsers/ocr_guard.py` accepts a number only when
the readings agree, their confidence is high and the table's identities hold.

A sign before the digits (the 本年增/减 column: 增2, 减3, +2, -3) is read apart
(`_with_sign`): 增/减 by comparing the glyph with 增 and 减 drawn from the CJK fonts
installed (`parsers/ocr_sign.py`; Debian's `fonts-noto-cjk`: without it such cells stay
null with a warning, never guessed), +/- by its shape and a Latin reading that allows only
signs and digits; the digits right of the sign are then read twice like any number, and
the cell handed to the mapping is the canonical `增2` / `减3` / `+2` / `-3`.

A slightly rotated scan is straightened first (the angle of the long horizontal rules).
Pictures come as PNG, JPEG, GIF, BMP or TIFF bytes (`image_content`), as pages of a PDF
without a text layer rendered at 300 dpi (`pdf_page_images`), or inside a DOCX
(`docx_images`).  The OCR call is a library call on bytes: no file, no subprocess.
Tesseract's language data is Debian's (`tesseract-ocr`, `tesseract-ocr-chi-sim`), found
through `TESSDATA_PREFIX` or under /usr/share/tesseract-ocr; the sign glyphs' fonts are
read from /usr/share/fonts (`fonts-noto-cjk`) the same way.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import threading
import zipfile
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from io import BytesIO

from . import ocr_sign
from .binary import Extracted
from .cells import Cell, Row
from .ocr_sign import Sign

IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"GIF87a", "gif"), (b"GIF89a", "gif"),
               (b"BM", "bmp"), (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"))
IMAGE_FORMS = ("png", "jpeg", "gif", "bmp", "tiff")
PDF_DPI = 300
TEXT_PX = 20  # cells are scaled so their text is about this tall (digits: 1.5 times that)
MAX_PIXELS = 60_000_000  # a larger picture is refused (a decompression bomb, not a report)
MIN_TABLE = (120, 60)  # smallest table box (w, h) in px at the working scale
WORKERS = 2
_LINE_COVER = 0.6  # share of a cell boundary the ruling must cover to separate two cells
_DIGITS = "0123456789.,"
_SIGNED_CHARS = "+-\u22120123456789"


class OcrUnavailable(RuntimeError):
    """tesserocr, OpenCV or Debian's tesseract language data is missing."""


def image_form(data: bytes) -> str | None:
    """png | jpeg | gif | bmp | tiff from the magic bytes, else None."""
    for magic, form in IMAGE_MAGIC:
        if data.startswith(magic):
            if form == "bmp" and (len(data) < 26 or data[14] not in (12, 40, 52, 56, 64, 108, 124)):
                return None  # `BM` followed by no DIB header: text that starts with BM
            return form
    return None


def tessdata() -> str:
    """Debian's tessdata folder holding chi_sim and eng."""
    candidates = [os.environ.get("TESSDATA_PREFIX", "")]
    candidates += sorted(glob.glob("/usr/share/tesseract-ocr/*/tessdata"), reverse=True)
    candidates += ["/usr/share/tessdata", "/usr/local/share/tessdata"]
    for path in candidates:
        if path and all(os.path.exists(os.path.join(path, f"{lang}.traineddata")) for lang in ("chi_sim", "eng")):
            return path.rstrip("/") + "/"
    raise OcrUnavailable("tesseract language data (chi_sim, eng) not found: install Debian's tesseract-ocr and "
                         "tesseract-ocr-chi-sim, or set TESSDATA_PREFIX")


# --- the engines: one pair per thread, made once ---------------------------------------

_local = threading.local()
_pool_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    """The OCR threads of this process (tesseract runs outside the GIL); each keeps its engines."""
    global _executor
    with _pool_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(WORKERS, thread_name_prefix="ocr")
        return _executor


def _engines():
    """(text engine, digits engine, Latin text engine, signed Latin engine) of this thread."""
    eng = getattr(_local, "engines", None)
    if eng is None:
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # one cell per thread; OpenMP only adds contention
        try:
            import tesserocr
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise OcrUnavailable(f"tesserocr is not installed: {exc}") from exc
        path = tessdata()
        text = tesserocr.PyTessBaseAPI(path=path, lang="chi_sim", psm=tesserocr.PSM.SINGLE_BLOCK)
        text.SetVariable("preserve_interword_spaces", "1")
        digits = tesserocr.PyTessBaseAPI(path=path, lang="eng", psm=tesserocr.PSM.SINGLE_LINE)
        digits.SetVariable("tessedit_char_whitelist", _DIGITS)
        digits.SetVariable("classify_bln_numeric_mode", "1")
        latin = tesserocr.PyTessBaseAPI(path=path, lang="eng", psm=tesserocr.PSM.SINGLE_LINE)
        signed = tesserocr.PyTessBaseAPI(path=path, lang="eng", psm=tesserocr.PSM.SINGLE_LINE)
        signed.SetVariable("tessedit_char_whitelist", _SIGNED_CHARS)
        eng = _local.engines = (text, digits, latin, signed)
    return eng


def _read(api, img) -> tuple[str, float]:
    from PIL import Image

    api.SetImage(Image.fromarray(img))
    text = api.GetUTF8Text()
    return text, float(api.MeanTextConf())


# --- decoding and straightening ---------------------------------------------------------

def decode_image(data: bytes):
    """Grayscale numpy array of PNG/JPEG/GIF/BMP/TIFF bytes (first frame)."""
    import numpy as np
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    with Image.open(BytesIO(data)) as im:
        im.seek(0)
        if im.mode in ("RGBA", "LA", "P"):
            im = im.convert("RGBA")
            white = Image.new("RGBA", im.size, (255, 255, 255, 255))
            im = Image.alpha_composite(white, im)
        return np.asarray(im.convert("L"))


def _binary(gray):
    import cv2

    _t, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    return ink


def _line_masks(ink, text_h: int):
    """Horizontal and vertical ruling lines: runs of ink longer than any stroke of text."""
    import cv2

    k = max(25, int(2.5 * text_h))
    horiz = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (k, 1)))
    vert = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, k)))
    return horiz, vert


def _text_height(ink) -> int:
    """Median height of the glyph-sized blobs of ink (the size of the writing)."""
    import cv2
    import numpy as np

    n, _labels, stats, _c = cv2.connectedComponentsWithStats(ink, connectivity=8)
    hs = stats[1:, cv2.CC_STAT_HEIGHT]
    ws = stats[1:, cv2.CC_STAT_WIDTH]
    glyphs = hs[(hs >= 6) & (hs <= 200) & (ws <= 200) & (ws >= 2)]
    if len(glyphs) < 5:
        return 16
    return int(np.percentile(glyphs, 75))


def skew_angle(ink) -> float:
    """Degrees a scan is turned, from its long horizontal rules (0 when none is found)."""
    import cv2
    import numpy as np

    h, w = ink.shape
    closed = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 5)))
    horiz = cv2.morphologyEx(closed, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (max(40, w // 8), 1)))
    n, labels, stats, _c = cv2.connectedComponentsWithStats(horiz, connectivity=8)
    angles, weights = [], []
    for i in range(1, n):
        x, y, bw, bh, _area = stats[i]
        if bw < w // 5 or bh > bw // 5:
            continue
        ys, xs = np.nonzero(labels[y:y + bh, x:x + bw] == i)
        if len(xs) < 50:
            continue
        slope = np.polyfit(xs.astype(float), ys.astype(float), 1)[0]
        angles.append(np.degrees(np.arctan(slope)))
        weights.append(bw)
    if not angles:
        return 0.0
    order = np.argsort(angles)
    cum = np.cumsum(np.asarray(weights)[order])
    return float(np.asarray(angles)[order][np.searchsorted(cum, cum[-1] / 2)])  # weighted median


def straighten(gray, angle: float):
    import cv2

    if abs(angle) < 0.05:
        return gray
    h, w = gray.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(gray, m, (w, h), flags=cv2.INTER_CUBIC, borderValue=255)


# --- grid -----------------------------------------------------------------------------

def _cluster(values: list[float], tol: float) -> list[float]:
    out: list[list[float]] = []
    for v in sorted(values):
        if out and v - out[-1][-1] <= tol:
            out[-1].append(v)
        else:
            out.append([v])
    return [sum(c) / len(c) for c in out]


@dataclass
class Box:
    """One cell of a ruled table: grid rows r0..r1-1, grid columns c0..c1-1, pixel box."""
    r0: int
    r1: int
    c0: int
    c1: int
    x0: int
    y0: int
    x1: int
    y1: int


@dataclass
class Table:
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in the straightened picture
    nrows: int
    ncols: int
    cells: list[Box]


def _covered(mask, x0: int, y0: int, x1: int, y1: int) -> float:
    """Share of the positions along a boundary band (horizontal if wider than tall) that hold a line."""
    band = mask[max(0, y0):max(0, y1), max(0, x0):max(0, x1)]
    if band.size == 0:
        return 0.0
    if x1 - x0 >= y1 - y0:
        return float((band.max(axis=0) > 0).mean())
    return float((band.max(axis=1) > 0).mean())


def find_tables(gray, text_h: int) -> tuple[list[Table], object]:
    """The ruled tables of a (straightened) picture, with their merged cells."""
    import cv2
    import numpy as np

    ink = _binary(gray)
    horiz, vert = _line_masks(ink, text_h)
    grid = cv2.dilate(horiz | vert, np.ones((3, 3), np.uint8))
    n, labels, stats, _c = cv2.connectedComponentsWithStats(grid, connectivity=8)
    tables = []
    tol = max(4, text_h // 3)
    for i in range(1, n):
        x, y, w, h, _area = stats[i]
        if w < MIN_TABLE[0] or h < MIN_TABLE[1]:
            continue
        region = labels[y:y + h, x:x + w] == i
        hz = np.where(region, horiz[y:y + h, x:x + w], 0)
        vt = np.where(region, vert[y:y + h, x:x + w], 0)
        ys = _line_positions(hz, axis=1, min_len=max(2 * text_h, w // 12))
        xs = _line_positions(vt, axis=0, min_len=max(text_h, h // 40))
        ys, xs = _cluster(ys, tol), _cluster(xs, tol)
        if len(ys) < 2 or len(xs) < 2 or (len(ys) - 1) * (len(xs) - 1) < 2:
            continue
        pad = max(2, text_h // 6)
        nr, nc = len(ys) - 1, len(xs) - 1
        parent = list(range(nr * nc))

        def find(a: int) -> int:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        def union(a: int, b: int) -> None:
            parent[find(a)] = find(b)

        for r in range(nr):
            for c in range(nc):
                top, bot = int(ys[r]) + pad, int(ys[r + 1]) - pad
                left, right = int(xs[c]) + pad, int(xs[c + 1]) - pad
                if c + 1 < nc:  # the vertical boundary on the right of this cell
                    xb = int(xs[c + 1])
                    if _covered(vt, xb - pad, top, xb + pad + 1, bot) < _LINE_COVER:
                        union(r * nc + c, r * nc + c + 1)
                if r + 1 < nr:  # the horizontal boundary below
                    yb = int(ys[r + 1])
                    if _covered(hz, left, yb - pad, right, yb + pad + 1) < _LINE_COVER:
                        union(r * nc + c, (r + 1) * nc + c)
        groups: dict[int, list[tuple[int, int]]] = {}
        for r in range(nr):
            for c in range(nc):
                groups.setdefault(find(r * nc + c), []).append((r, c))
        boxes = []
        for members in groups.values():
            r0, r1 = min(m[0] for m in members), max(m[0] for m in members) + 1
            c0, c1 = min(m[1] for m in members), max(m[1] for m in members) + 1
            boxes.append(Box(r0, r1, c0, c1, x + int(xs[c0]), y + int(ys[r0]), x + int(xs[c1]), y + int(ys[r1])))
        tables.append(Table((x, y, x + w, y + h), nr, nc, sorted(boxes, key=lambda b: (b.r0, b.c0))))
    tables.sort(key=lambda t: (t.box[1], t.box[0]))
    return tables, ink


def _line_positions(mask, axis: int, min_len: int) -> list[float]:
    """Centres of ruling lines: rows (axis=1) or columns (axis=0) of the mask holding a run
    of at least `min_len` pixels of line."""
    import numpy as np

    counts = (mask > 0).sum(axis=axis)
    idx = np.nonzero(counts >= min_len)[0]
    return [float(v) for v in idx]


# --- reading the cells -----------------------------------------------------------------

@dataclass
class Reading:
    """What OCR made of one cell: the text reading, the digits-only reading of a number
    cell, and the confidence (0-100; the lower of the two readings for a number).  A cell
    with a sign before its digits (本年增/减: 增2, 减3, +2, -3) also has the `sign` and how
    it was read (`ocr_sign`); its digits, and `digits_text`, are then the two readings of
    the part right of the sign."""
    text: str
    confidence: float
    digits: str | None = None  # digits-only reading (number cells)
    digits_confidence: float | None = None
    sign: Sign | None = None  # a sign found before the digits, clear or not
    digits_text: str | None = None  # text reading of the digits right of a clear sign

    @property
    def agree(self) -> bool:
        """Both readings give the same number (the text reading's I, l, | read as 1, O as 0)."""
        text = self.text if self.digits_text is None else self.digits_text
        return bool(self.digits) and _NUMBER.match(self.digits) is not None and \
            _plain(text).translate(_CONFUSED) == self.digits

    @property
    def signed(self) -> bool:
        """A sign read clearly and the digits after it read on their own."""
        return self.sign is not None and self.sign.clear and self.digits_text is not None and bool(self.digits)

    @property
    def cell_text(self) -> str:
        """The text the mapping reads: the canonical signed form (增2, -3) of a signed
        reading, the digits-only reading of a number, else the text reading."""
        if self.signed:
            return f"{self.sign.glyph}{self.digits}"
        return self.digits or self.text


_CONFUSED = str.maketrans({"I": "1", "l": "1", "|": "1", "O": "0", "o": "0", "。": ".", "，": ",", "．": "."})


def _plain(text: str) -> str:
    return re.sub(r"[\s,，]", "", text)


_CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")
_NUMBER = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$|^\d+(?:\.\d+)?$")


def _clean_text(text: str) -> str:
    """Lines of a cell joined (no space between CJK pieces), spaces inside CJK dropped."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    out = ""
    for ln in lines:
        if out and not (_CJK.search(out[-1]) or _CJK.search(ln[0])):
            out += " "
        out += ln
    out = re.sub(r"(?<=[\u3000-\u9fff\uff00-\uffef])\s+|\s+(?=[\u3000-\u9fff\uff00-\uffef])", "", out)
    return out.strip()


def _crop(gray, ink, b: Box, line_w: int):
    """The inside of a cell, ruling lines and their debris cut off; None if it holds no ink."""
    import numpy as np

    inset = line_w + 2
    x0, y0, x1, y1 = b.x0 + inset, b.y0 + inset, b.x1 - inset, b.y1 - inset
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    region = ink[y0:y1, x0:x1]
    cols = np.nonzero(region.sum(axis=0))[0]
    rows = np.nonzero(region.sum(axis=1))[0]
    if int((region > 0).sum()) < 12 or len(cols) == 0:
        return None
    m = 4
    cx0, cx1 = max(0, cols[0] - m), min(region.shape[1], cols[-1] + m + 1)
    cy0, cy1 = max(0, rows[0] - m), min(region.shape[0], rows[-1] + m + 1)
    return gray[y0 + cy0:y0 + cy1, x0 + cx0:x0 + cx1]


def _framed(img, scale: float):
    """Scaled to the reading size, with a white margin (tesseract wants one)."""
    import cv2

    if abs(scale - 1) > 0.05:
        img = cv2.resize(img, None, fx=scale, fy=scale,
                         interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)
    return cv2.copyMakeBorder(img, 12, 12, 12, 12, cv2.BORDER_CONSTANT, value=255)


_TEXT_SCALES = (1.0, 0.75, 1.5, 1.25)  # of the base scale: a label no template knows is read again


def _known(text: str) -> bool:
    """A label the template mapping recognizes (a row, a header, a group) or a number."""
    from .labels import normalize
    from .mapping import classify

    return bool(_NUMBER.match(_plain(text).translate(_CONFUSED))) or classify(normalize(text)) is not None


def _text_reading(img, scale: float) -> tuple[str, float]:
    """The text of a cell, read again at other sizes while the mapping recognizes no label in it."""
    text_api = _engines()[0]
    first = None
    for factor in _TEXT_SCALES:
        raw, conf = _read(text_api, _framed(img, scale * factor))
        text = _clean_text(raw)
        first = first or (text, conf)
        if not text or _known(text) or len(text) <= 1:
            return text, conf
    return first


def _number_reading(img, scale: float, text: str, conf: float) -> Reading:
    """The digits-only reading of a number cell, with a text reading that agrees if one can."""
    text_api, digits_api, latin_api, _ = _engines()
    digits, dconf = "", 0.0
    for factor in (1.5, 1.0, 2.5):  # an enlarged copy first; a lone glyph sometimes needs another size
        digits, dconf = _read(digits_api, _framed(img, scale * factor))
        digits = _plain(digits)
        if digits:
            break
    # the number is the digits-only reading's, and so is the confidence; the text reading
    # (another model) only has to agree with it, at one of its sizes
    reading = Reading(text, dconf, digits, dconf)
    for factor in _TEXT_SCALES[1:]:
        if reading.agree or not digits:
            break
        again = _clean_text(_read(text_api, _framed(img, scale * factor))[0])
        if Reading(again, dconf, digits, dconf).agree:
            reading = Reading(again, dconf, digits, dconf)
    if not reading.agree and digits:  # the Latin model unconstrained (a lone digit the Chinese model misses)
        latin = _clean_text(_read(latin_api, _framed(img, scale * 1.5))[0])
        if Reading(latin, dconf, digits, dconf).agree:
            reading = Reading(latin, dconf, digits, dconf)
    return reading


def read_cell(img, scale: float, number: bool = False) -> Reading:
    """One cell: its text (read again at other sizes while the mapping recognizes no
    label in it), and for a number its digits-only reading (`number`: the cell stands
    among numbers, so it gets one whatever the text reading made of it); a short number
    cell that may have a sign before its digits is read once more for it (`_with_sign`)."""
    text, conf = _text_reading(img, scale)
    if not number and (len(text) > 14 or _CJK.search(text) or not _NUMBER.match(_plain(text).translate(_CONFUSED))):
        plain = Reading(text, conf)
        maybe_signed = _SIGN_FORM.match(_plain(text)) or _LATIN_FORM.match(_plain(text))
        return _with_sign(img, scale, plain) if maybe_signed else plain
    return _with_sign(img, scale, _number_reading(img, scale, text, conf))


# --- a sign before the digits (本年增/减) -----------------------------------------------------

_SIGN_FORM = re.compile(r"^[\u3000-\u9fff\uff00-\uffef](\d{1,6})$")  # 增2 read as 二2, 夫2, 埠2
_LATIN_FORM = re.compile(r"^([+\uff0b]|[-\u2212\uff0d\u2013\u2014\u4e00])(\d{1,6})$")  # +2, -3, −3, 一3
_MINUS = "-\u2212\uff0d\u2013\u2014\u4e00"
MAX_SIGNED_WIDTH = 6.0  # a signed number cell is at most this many times as wide as tall (its margins included)
DROPPED_SIGN_WIDTH = 0.25  # digit heights of ink beyond the digits read: a glyph both readings dropped
CJK_SIGN_WIDTH = (0.75, 1.25)  # width of a 增/减 glyph over the cell's ink height
DIGITS_HEIGHT = 0.95  # digits after a CJK sign are at most this share of its height (measured 0.8-0.9)
_ONE_GLYPH_THEN_DIGITS = re.compile(r"^[^\d\s]?[\d.,]*$")  # the whole cell's text: 二2, 321, 二 (not 减少)


def _doubtful(img, reading: Reading) -> bool:
    """A number reading that may hide a sign: the readings disagree or are unsure (the
    guard would refuse them in the 本年增/减 column), or the ink is wider than the digits
    read (a glyph before them both readings dropped)."""
    from .ocr_guard import UNCHECKED_CONFIDENCE

    if reading.digits is None:
        return False
    if not reading.agree or reading.confidence < UNCHECKED_CONFIDENCE:
        return True
    return ocr_sign.extra_width(img, reading.digits) > DROPPED_SIGN_WIDTH


def _with_sign(img, scale: float, reading: Reading) -> Reading:
    """`reading`, or the cell read as a sign and digits when one is found before them.  A
    sign seen but not read clearly stays on the reading (the guard refuses the number);
    a cell with nothing like a sign is left as it was read."""
    if img.shape[1] > MAX_SIGNED_WIDTH * img.shape[0]:
        return reading
    text = _plain(reading.text)
    latin, cjk = _LATIN_FORM.match(text), _SIGN_FORM.match(text)
    if not (latin or cjk or _doubtful(img, reading)):
        return reading
    shape = ocr_sign.latin_sign(img)
    if shape is not None:  # a + or - mark: confirmed by two readings, or never a number
        return _latin_signed(img, scale, reading, shape, latin)
    if latin:
        return reading
    sign = ocr_sign.cjk_sign(img)
    if sign is None or (sign.method == "no CJK font" and not cjk):
        return reading
    if sign.method != "no CJK font" and sign.score < ocr_sign.SUSPECT:
        return reading
    if not sign.clear or not _ONE_GLYPH_THEN_DIGITS.match(text):  # 减少: a word, not a sign
        return replace(reading, sign=sign)
    part = ocr_sign.digits_part(img, sign.cut, sign_width=CJK_SIGN_WIDTH, max_height=DIGITS_HEIGHT)
    return _signed_reading(part, scale, reading, sign, cjk.group(1) if cjk else None)


def _latin_signed(img, scale: float, reading: Reading, sign: Sign, latin) -> Reading:
    """+N / -N: the mark's shape, the text reading and a Latin reading with only signs and
    digits allowed must all give the same sign and number (else the sign stays on the
    reading unconfirmed, and the guard refuses the number)."""
    said = _plain(_read(_engines()[3], _framed(img, scale * 1.5))[0]).replace("\u2212", "-")
    for factor in _TEXT_SCALES[1:]:  # the text reading at other sizes (`+]12` at one of them)
        if latin is not None or not _LATIN_FORM.match(said):
            break
        latin = _LATIN_FORM.match(_plain(_clean_text(_read(_engines()[0], _framed(img, scale * factor))[0])))
    text_mark = None if latin is None else ("-" if latin.group(1) in _MINUS else "+")
    if text_mark != sign.glyph or said != f"{sign.glyph}{latin.group(2)}":
        return replace(reading, sign=sign)
    return _signed_reading(ocr_sign.digits_part(img, sign.cut), scale, reading, sign, latin.group(2))


def _signed_reading(part, scale: float, reading: Reading, sign: Sign, said: str | None) -> Reading:
    """The digits right of a clear sign read as a number (both readings, as any number);
    `said`: the digits the whole cell's text reading gave after the sign, if it did, which
    must be the same.  Else the sign stays on the reading unconfirmed."""
    if part is None:
        return replace(reading, sign=sign)
    text, conf = _text_reading(part, scale)
    digits = _number_reading(part, scale, text, conf)
    if not digits.agree or (said is not None and said.translate(_CONFUSED) != digits.digits):
        return replace(reading, sign=sign)
    return Reading(reading.text, digits.confidence, digits.digits, digits.digits_confidence, sign, digits.text)


def _among_numbers(jobs: list, readings: list) -> list[int]:
    """Indexes of cells of one grid column, below its first number, whose short text is
    neither a number nor a label the mapping knows, in a column mostly of numbers."""
    columns: dict[tuple[int, int], list[int]] = {}
    rows: dict[tuple[int, int], list[int]] = {}
    for k, (t_index, b, img) in enumerate(jobs):
        if img is not None and readings[k] is not None and b.c1 - b.c0 == 1:
            columns.setdefault((t_index, b.c0), []).append(k)
        if img is not None and readings[k] is not None and b.r1 - b.r0 == 1:
            rows.setdefault((t_index, b.r0), []).append(k)
    out: set[int] = set()
    for along, groups in ((lambda b: b.r0, columns), (lambda b: b.c0, rows)):
        for ks in groups.values():
            numeric = [k for k in ks if readings[k].digits is not None]
            if len(numeric) < max(2, len(ks) // 2):
                continue
            first = min(along(jobs[k][1]) for k in numeric)  # below the column's first number, right of the row's
            out.update(k for k in ks if readings[k].digits is None and along(jobs[k][1]) > first
                       and len(readings[k].text) <= 4 and not _known(readings[k].text))
    return sorted(out)


@dataclass
class PictureTables:
    """The tables of one picture: rows of `Cell`s (form `ocr`) and each cell's reading."""
    rows: list[Row] = field(default_factory=list)
    readings: dict[tuple[int, int, int], Reading] = field(default_factory=dict)  # (table, row, col) of origin
    tables: int = 0
    angle: float = 0.0


def read_picture(gray, first_table: int = 0) -> PictureTables:
    """Every ruled table of a grayscale picture, cell by cell."""
    ink = _binary(gray)
    text_h = _text_height(ink)
    angle = skew_angle(ink)
    if abs(angle) >= 0.05:
        gray = straighten(gray, angle)
        ink = _binary(gray)
    tables, ink = find_tables(gray, text_h)
    out = PictureTables(angle=angle)
    scale = min(4.0, max(0.5, TEXT_PX / max(8, text_h)))
    line_w = max(2, text_h // 8)
    jobs = []
    for t_index, table in enumerate(tables, start=first_table):
        for b in table.cells:
            jobs.append((t_index, b, _crop(gray, ink, b, line_w)))
    readings = list(_pool().map(lambda j: read_cell(j[2], scale) if j[2] is not None else None, jobs))
    # a short cell read as a stray character in a column of numbers is a number misread
    # (a lossy `3` read as 时): read it again as a number
    again = [k for k in _among_numbers(jobs, readings)]
    for k, reading in zip(again, _pool().map(lambda k: read_cell(jobs[k][2], scale, number=True), again)):
        readings[k] = reading
    by_table: dict[int, list[tuple[Box, Reading | None]]] = {}
    for (t_index, b, _img), reading in zip(jobs, readings):
        by_table.setdefault(t_index, []).append((b, reading))
    for t_index, table in enumerate(tables, start=first_table):
        cells = by_table.get(t_index, [])
        for r in range(table.nrows):
            row = []
            for b, reading in sorted(cells, key=lambda br: br[0].c0):
                if not b.r0 <= r < b.r1:
                    continue
                text = "" if reading is None else reading.cell_text
                row.append(Cell(text, t_index, r, b.c0, b.c1 - b.c0, (b.r0, b.c0), continued=b.r0 != r))
                if reading is not None:
                    out.readings[(t_index, b.r0, b.c0)] = reading
            if row:
                out.rows.append(Row(row, "ocr"))
    out.tables = len(tables)
    return out


# --- the inputs ---------------------------------------------------------------------------

@dataclass
class OcrExtracted(Extracted):
    """`Extracted` with the readings of every OCR cell, for the guard."""
    readings: dict[tuple[int, int, int], Reading] = field(default_factory=dict)
    pictures: int = 0


_memo: OrderedDict[str, PictureTables] = OrderedDict()
_memo_lock = threading.Lock()
MEMO_SIZE = 64


def _read_memo(picture, first: int) -> PictureTables:
    """`read_picture` of bytes (decoded here) or of a decoded picture; the same bytes are
    read once per process (the crawler reads a page's pictures as attachments, then the
    page with them; a page's reading is then only the mapping)."""
    if not isinstance(picture, bytes):
        return read_picture(picture, first)
    key = hashlib.sha256(picture).hexdigest()
    with _memo_lock:
        got = _memo.get(key)
        if got is not None:
            _memo.move_to_end(key)
    if got is None:
        got = read_picture(decode_image(picture), 0)
        with _memo_lock:
            _memo[key] = got
            while len(_memo) > MEMO_SIZE:
                _memo.popitem(last=False)
    return _shifted(got, first) if first else got


def _shifted(got: PictureTables, first: int) -> PictureTables:
    """The same tables numbered from `first` (a picture after others of the same page)."""
    rows = [Row([Cell(c.text, c.table + first, c.row, c.col, c.span, c.origin, c.continued) for c in r.cells], r.form)
            for r in got.rows]
    readings = {(t + first, r, c): v for (t, r, c), v in got.readings.items()}
    return PictureTables(rows, readings, got.tables, got.angle)


def pictures_content(pictures: list, what: str) -> OcrExtracted:
    """Rows of the tables in these pictures (bytes, or grayscale arrays), in order; `what`
    names them in warnings."""
    out = OcrExtracted()
    first = 0
    for k, picture in enumerate(pictures):
        got = _read_memo(picture, first)
        first += got.tables
        out.rows.extend(got.rows)
        out.readings.update(got.readings)
        if abs(got.angle) >= 0.05:
            out.warnings.append(f"ocr: {what} {k + 1} turned {got.angle:.2f}°; straightened")
        for row in got.rows:
            texts = [c.text for c in row.cells if not c.continued]
            if any(texts):
                out.lines.append(" | ".join(texts))
    out.pictures = len(pictures)
    if not out.rows:
        out.error = "needs_ocr"
        out.has_images = True
        out.warnings.append(f"ocr: no ruled table found in the {what}")
    return out


def image_content(data: bytes) -> OcrExtracted:
    """A picture file (PNG, JPEG, GIF, BMP, TIFF): its ruled tables read by OCR."""
    return pictures_content([data], "picture")


def pdf_page_images(data: bytes, dpi: int = PDF_DPI, max_pages: int = 50) -> list:
    """Grayscale renderings of a PDF's pages at `dpi` (pypdfium2)."""
    import numpy as np
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        out = []
        for i in range(min(len(pdf), max_pages)):
            bitmap = pdf[i].render(scale=dpi / 72, grayscale=True)
            out.append(np.asarray(bitmap.to_pil().convert("L")))
        return out
    finally:
        pdf.close()


def pdf_content(data: bytes) -> OcrExtracted:
    """A PDF of scanned pages: each page rendered at 300 dpi and read by OCR."""
    return pictures_content(pdf_page_images(data), "page")


def docx_images(data: bytes) -> list[bytes]:
    """The pictures inside a DOCX (word/media), in document order where the names tell it."""
    with zipfile.ZipFile(BytesIO(data)) as z:
        names = [n for n in z.namelist() if n.startswith("word/media/")]
        key = lambda n: [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", n)]  # noqa: E731
        return [data for data in (z.read(n) for n in sorted(names, key=key)) if image_form(data)]


def docx_content(data: bytes) -> OcrExtracted:
    return pictures_content(docx_images(data), "picture in the document")
