"""Parse time per PDF page, against pdfplumber's own text extraction of the same pages.

    .venv/bin/python benchmarks/pdf_bench.py [ROUNDS]

For each fixture PDF (fixtures/attachments/*.pdf) and a long one built from them (the
ruled report's pages repeated, 40 pages, written to a temp folder with pypdfium2), prints
milliseconds per page for `parsers.parse` (tables, furniture, mapping, checks) and for the
baseline measured in the same run (`page.extract_text()` for every page: the floor cost
of reading the text layer), and their ratio.  Best of ROUNDS (default 5).
"""

from __future__ import annotations

import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pdfplumber  # noqa: E402

import parsers  # noqa: E402

ATT = ROOT / "fixtures" / "attachments"


def best(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def baseline(data: bytes) -> None:
    with pdfplumber.open(BytesIO(data)) as pdf:
        for page in pdf.pages:
            page.extract_text()


def long_pdf(pages: int) -> bytes:
    """The ruled fixture's pages repeated to `pages` pages (pypdfium2 ships with pdfplumber)."""
    import pypdfium2 as pdfium

    src = pdfium.PdfDocument(str(ATT / "ruled-2019.pdf"))
    out = pdfium.PdfDocument.new()
    while len(out) < pages:
        out.import_pages(src, list(range(min(len(src), pages - len(out)))))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.pdf"
        out.save(str(path))
        return path.read_bytes()


def main(rounds: int = 5) -> None:
    cases = [(p.name, p.read_bytes()) for p in sorted(ATT.glob("*.pdf"))]
    cases.append(("long-40-pages.pdf (ruled pages x20)", long_pdf(40)))
    print(f"{'document':38} {'pages':>5} {'parse ms/page':>14} {'baseline ms/page':>17} {'ratio':>6}")
    total_parse = total_base = total_pages = 0.0
    for name, data in cases:
        with pdfplumber.open(BytesIO(data)) as pdf:
            pages = len(pdf.pages)
        report = parsers.parse(data, url=name)
        t_parse = best(lambda: parsers.parse(data, url=name), rounds)
        t_base = best(lambda: baseline(data), rounds)
        total_parse, total_base, total_pages = total_parse + t_parse, total_base + t_base, total_pages + pages
        outcome = report.error or f"{sum(v is not None for v in report.facts.values())} facts"
        print(f"{name:38} {pages:5d} {1000 * t_parse / pages:14.1f} {1000 * t_base / pages:17.1f} "
              f"{t_parse / t_base:6.2f}  ({outcome})")
    print(f"{'all':38} {int(total_pages):5d} {1000 * total_parse / total_pages:14.1f} "
          f"{1000 * total_base / total_pages:17.1f} {total_parse / total_base:6.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
