"""Reports published as files: PDF, Word (DOCX; DOC/WPS after conversion), spreadsheets.

`binary_form` tells the form from the bytes themselves (magic numbers first, then the
content type and the URL's extension), and `extract` reduces each form to the same
two things an HTML page gives: rows of `Cell`s for `mapping.map_rows`, and lines of text
for metadata and sections (the pipeline, `document.parse_binary`, takes it from there;
a reader never imports the pipeline).  Conversion of old binary formats (DOC, WPS, XLS) needs
LibreOffice, which is IO: it lives in `scraper/convert.py`; here such bytes are recorded
as `needs_conversion`.  The readers (pdfplumber, python-docx, openpyxl) are imported only
when a file of their kind arrives, so HTML parsing never pays for them.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from io import BytesIO

from .cells import Row

PDF_MAGIC = b"%PDF"
ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_EXT = re.compile(r"\.(pdf|docx|doc|wps|xlsx|xls|et)(?:[?#]|$)", re.I)
_CTYPES = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/msword": "doc",
    "application/vnd.ms-excel": "xls",
    "application/kswps": "wps",
    "application/vnd.ms-works": "wps",
}
# Forms LibreOffice turns into one we can read, and what it turns them into.
CONVERT_TO = {"doc": "docx", "wps": "docx", "xls": "xlsx", "et": "xlsx"}


@dataclass
class Extracted:
    """What a file reader hands back: table rows, text lines, or why it could not."""
    rows: list[Row] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None  # needs_ocr | unreadable
    has_images: bool = False  # pictures where text could be (scanned pages, image tables)
    title: str | None = None  # the file's own title property, if any
    raw_lines: list[str] = field(default_factory=list)  # PDF: each printed line as is (text-like pages)


def _hint(url: str | None, content_type: str | None) -> str | None:
    if content_type:
        ct = content_type.split(";")[0].strip().lower()
        if ct in _CTYPES:
            return _CTYPES[ct]
    if url and (m := _EXT.search(url)):
        return m.group(1).lower()
    return None


def _ole2_kind(data: bytes, hint: str | None) -> str:
    """doc, wps, xls or et: the OLE2 directory names its main stream in UTF-16LE."""
    head = data[:1 << 20]
    if "WordDocument".encode("utf-16-le") in head:
        return "wps" if hint == "wps" else "doc"
    if "Workbook".encode("utf-16-le") in head or "Book".encode("utf-16-le") in head:
        return "et" if hint == "et" else "xls"
    return hint if hint in CONVERT_TO else "doc"


def ole2_problem(data: bytes) -> str | None:
    """Why an OLE2 file cannot be the Word, WPS, Excel or ET document it claims to be (its
    header or directory unreadable, or no main stream in it); None when it can be.  Asked
    before LibreOffice is started on it: a launch costs about a second of CPU, and a
    truncated download or a file of zeros behind an OLE2 signature is common."""
    import olefile

    try:
        with olefile.OleFileIO(BytesIO(data)) as ole:
            streams = {"/".join(entry) for entry in ole.listdir()}
    except Exception as exc:  # noqa: BLE001 - olefile raises OSError, ValueError, struct.error, …
        return f"not a readable OLE2 file ({type(exc).__name__}: {exc})"
    if streams & {"WordDocument", "Workbook", "Book"}:
        return None
    return "an OLE2 file with no Word or Excel stream in it"


def binary_form(data: bytes | str, url: str | None = None, content_type: str | None = None) -> str | None:
    """pdf | docx | xlsx | doc | wps | xls | et for a file report, png | jpeg | gif | bmp |
    tiff for a picture (read by OCR); None for text and HTML."""
    if not isinstance(data, bytes):
        return None
    from .ocr import image_form

    if picture := image_form(data):
        return picture
    head = data[:1024].lstrip(b"\r\n\t \xef\xbb\xbf")
    if head.startswith(PDF_MAGIC) or (b"%PDF-" in data[:1024]):
        return "pdf"
    if data.startswith(OLE2_MAGIC):
        return _ole2_kind(data, _hint(url, content_type))
    if data.startswith(ZIP_MAGIC):
        try:
            with zipfile.ZipFile(BytesIO(data)) as z:
                names = z.namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            return _hint(url, content_type) if _hint(url, content_type) in ("docx", "xlsx") else None
        if any(n.startswith("word/") for n in names):
            return "docx"
        if any(n.startswith("xl/") for n in names):
            return "xlsx"
        return None
    hint = _hint(url, content_type)
    if hint in ("pdf", "docx", "xlsx", *CONVERT_TO) and not _looks_like_text(data):
        return hint  # declared a file but not one we recognize: reported as unreadable
    return None


def _looks_like_text(data: bytes) -> bool:
    sample = data[:2048]
    return b"\x00" not in sample and (b"<" in sample or not sample or sample.isascii()
                                      or _decodes(sample))


def _decodes(sample: bytes) -> bool:
    for enc in ("utf-8", "gb18030"):
        try:
            sample.decode(enc)
            return True
        except UnicodeDecodeError:
            continue
    return False


PICTURE_FORMS = ("png", "jpeg", "gif", "bmp", "tiff")


def _ocr(form: str, data: bytes, text: Extracted | None = None) -> Extracted:
    """The tables of a picture, of a scanned PDF or of the pictures in a DOCX, read by OCR
    (`parsers.ocr`), with the text the file has besides (`text`: a DOCX's paragraphs and
    title); without tesseract the document stays `needs_ocr`, saying why."""
    from . import ocr

    text = text or Extracted()
    try:
        if form == "pdf":
            got = ocr.pdf_content(data)
        elif form == "docx":
            got = ocr.docx_content(data)
        else:
            got = ocr.image_content(data)
    except ocr.OcrUnavailable as exc:
        return Extracted(lines=text.lines, title=text.title, error="needs_ocr", has_images=True,
                         warnings=[*text.warnings, f"{form}: cannot run OCR: {exc}"])
    got.lines = text.lines + got.lines
    got.title = text.title
    got.warnings = [w for w in text.warnings if "needs OCR" not in w] + got.warnings
    return got


def extract(data: bytes, form: str) -> Extracted:
    """Rows and lines of one file; never raises on bad input."""
    if form in CONVERT_TO:
        target = CONVERT_TO[form]
        return Extracted(error="needs_conversion", warnings=[
            f"{form}: an old binary office format; convert it to {target} with LibreOffice "
            f"(xxgk parse and xxgk crawl do this when `soffice` is installed) and parse the {target}"])
    try:
        if form in PICTURE_FORMS:
            return _ocr(form, data)
        if form == "pdf":
            from .pdf import pdf_content
            got = pdf_content(data)
            return _ocr(form, data, got) if got.error == "needs_ocr" and got.has_images else got
        if form == "docx":
            from .word import docx_content
            got = docx_content(data)
            return _ocr(form, data, got) if got.has_images and not got.rows else got
        if form == "xlsx":
            from .sheet import xlsx_content
            return xlsx_content(data)
    except Exception as exc:  # noqa: BLE001 - a broken file is a flagged record, never a crash
        return Extracted(error="unreadable", warnings=[f"{form}: cannot read the file: {type(exc).__name__}: {exc}"[:300]])
    return Extracted(error="unreadable", warnings=[f"{form}: not a form this parser reads"])
