"""Seconds per picture of the OCR reader (issue 15), on the rendered fixtures (fixtures/ocr/).

    .venv/bin/python benchmarks/ocr_bench.py [--runs 3]

Each picture document (PNG, JPEG, the scan-like PDF, the page with table pictures) is
parsed `runs` times after one warm-up (the tesseract engines are made once per thread);
printed: the best and median seconds per document and per picture, the non-zero cells
right and the wrong numbers against the source fixture's expected JSON.  The target is a
one-page table picture in under 5 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from parsers import ocr  # noqa: E402
from scraper import pictures  # noqa: E402

OCR = ROOT / "fixtures" / "ocr"
DOCS = (".png", ".jpg", "-scan.pdf", "-img.html")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    names = sorted(p.name.removesuffix(".expected.json") for p in OCR.glob("*.expected.json"))
    print(f"{'document':<48} {'pictures':>8} {'best s':>7} {'median s':>8} {'s/picture':>9} {'right':>7} {'wrong':>5}")
    per_picture = []
    for name in names:
        truth = json.loads((OCR / f"{name}.expected.json").read_text(encoding="utf-8"))["facts"]
        for suffix in DOCS:
            path = OCR / f"{name}{suffix}"
            data = path.read_bytes()
            n = {".png": 1, ".jpg": 1}.get(suffix) or (3 if suffix != ".png" else 1)
            times = []
            for run in range(args.runs + 1):
                ocr._memo.clear()  # read the pictures every time
                started = time.perf_counter()
                report = pictures.parse(data, url=str(path), load=pictures.local_loader(path))
                if run:
                    times.append(time.perf_counter() - started)
            right = sum(report.facts.get(k) == v for k, v in truth.items() if v)
            wrong = sum(v is not None and v != truth.get(k) for k, v in report.facts.items())
            per_picture.append(min(times) / n)
            print(f"{name + suffix:<48} {n:>8} {min(times):>7.2f} {statistics.median(times):>8.2f} "
                  f"{min(times) / n:>9.2f} {right:>3}/{sum(1 for v in truth.values() if v):<3} {wrong:>5}")
    print(f"seconds per picture: median {statistics.median(per_picture):.2f}, max {max(per_picture):.2f} "
          f"(OCR threads: {ocr.WORKERS})")


if __name__ == "__main__":
    main()
