"""Old binary office files (DOC, WPS, XLS, ET) → DOCX/XLSX with LibreOffice in headless mode.

This is IO (a subprocess), so it lives here and not in `parsers/`: `xxgk parse` and the
crawler call `prepare()` before `parsers.parse`.  Without `soffice` the bytes pass through
unchanged and the parser records the document as `needs_conversion`.  Each conversion
runs with its own throw-away LibreOffice profile, so parallel conversions (or a desktop
LibreOffice) never share a lock, and under a time limit.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from parsers.binary import CONVERT_TO, OLE2_MAGIC, binary_form, ole2_problem

log = logging.getLogger("xxgk.convert")
TIMEOUT = 120  # seconds for one conversion
MAX_BYTES = 50 << 20
_FILTERS = {"docx": "docx:MS Word 2007 XML", "xlsx": "xlsx:Calc MS Excel 2007 XML"}


@dataclass
class Prepared:
    data: bytes
    form: str | None  # the form as published (doc, wps, xls, et, pdf, …); None for text/HTML
    converted: bool = False
    problem: str | None = None  # why a conversion that was needed did not happen


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


class _Memo:
    """Conversions by content: the same form (a 政府信息公开申请表.doc linked from every page
    of a site, or from several sites) starts LibreOffice once per process.  Concurrent
    requests for one body wait for the first conversion instead of starting their own."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self.done: OrderedDict[str, bytes | RuntimeError] = OrderedDict()
        self.running: dict[str, threading.Event] = {}
        self.lock = threading.Lock()

    def get(self, key: str, work) -> bytes:
        with self.lock:
            if key in self.done:
                self.done.move_to_end(key)
                return self._unwrap(self.done[key])
            event = self.running.get(key)
            first = event is None
            if first:
                event = self.running[key] = threading.Event()
        if not first:
            event.wait()
            with self.lock:
                if key in self.done:
                    return self._unwrap(self.done[key])
            return work()  # the first attempt was evicted already: do it again
        try:
            result: bytes | RuntimeError = work()
        except RuntimeError as exc:
            result = exc
        with self.lock:
            self.done[key] = result
            while len(self.done) > self.size:
                self.done.popitem(last=False)
            del self.running[key]
        event.set()
        return self._unwrap(result)

    @staticmethod
    def _unwrap(result: bytes | RuntimeError) -> bytes:
        if isinstance(result, RuntimeError):
            raise RuntimeError(str(result))
        return result


_memo = _Memo()


def convert(data: bytes, form: str, *, timeout: float = TIMEOUT) -> bytes:
    """Bytes of `form` (doc, wps, xls, et) converted to docx/xlsx; raises RuntimeError.
    The same bytes are converted once per process."""
    key = f"{form}:{hashlib.sha256(data).hexdigest()}"
    return _memo.get(key, lambda: _convert(data, form, timeout=timeout))


def _convert(data: bytes, form: str, *, timeout: float) -> bytes:
    exe = soffice()
    if exe is None:
        raise RuntimeError("LibreOffice (soffice) is not installed")
    if len(data) > MAX_BYTES:
        raise RuntimeError(f"{len(data)} bytes: too large to convert")
    target = CONVERT_TO[form]
    with tempfile.TemporaryDirectory(prefix="xxgk-convert-") as tmp:
        src = Path(tmp) / f"input.{form}"
        src.write_bytes(data)
        out = Path(tmp) / "out"
        cmd = [exe, f"-env:UserInstallation=file://{tmp}/profile", "--headless", "--norestore", "--nologo",
               "--nodefault", "--nolockcheck", "--convert-to", _FILTERS[target], "--outdir", str(out), str(src)]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"LibreOffice took longer than {timeout:.0f}s") from exc
        result = out / f"input.{target}"
        if not result.exists():
            why = (proc.stderr or proc.stdout or b"").decode("utf-8", "replace").strip()[:200]
            raise RuntimeError(f"LibreOffice wrote no {target} (exit {proc.returncode}) {why}".strip())
        return result.read_bytes()


def prepare(data: bytes, url: str | None = None, content_type: str | None = None) -> Prepared:
    """The bytes to give `parsers.parse`: converted when the form needs it and LibreOffice
    is here; otherwise unchanged (the parser then says `needs_conversion`)."""
    form = binary_form(data, url, content_type)
    if form not in CONVERT_TO:
        return Prepared(data, form)
    if data.startswith(OLE2_MAGIC) and (broken := ole2_problem(data)):
        log.warning("cannot convert %s (%s): %s", url or "document", form, broken)
        return Prepared(data, form, problem=broken)
    try:
        return Prepared(convert(data, form), form, converted=True)
    except RuntimeError as exc:
        log.warning("cannot convert %s (%s): %s", url or "document", form, exc)
        return Prepared(data, form, problem=str(exc))


def parse(data: bytes, *, url: str | None = None, content_type: str | None = None, on_tree=None):
    """`parsers.parse` after `prepare`: a converted file keeps its published form in
    `report.form` (e.g. `doc`), and a failed conversion says why in the warnings."""
    import parsers

    prepared = prepare(data, url, content_type)
    report = parsers.parse(prepared.data, url=url, content_type=None if prepared.converted else content_type,
                           on_tree=on_tree)
    if prepared.converted:
        report.form = prepared.form
    elif prepared.problem:
        if soffice() is not None:  # the parser's advice (convert it with LibreOffice) failed or cannot work here
            report.warnings = [w for w in report.warnings if not w.startswith(f"{prepared.form}: an old binary")]
        report.warnings.append(f"conversion: {prepared.problem}")
    return report
