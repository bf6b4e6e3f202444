"""Parse speed against pandas.read_html on the same bytes, measured in the same run.

    .venv/bin/python benchmarks/parse_bench.py [REPEATS]

Pages: the ~350 KB Word-exported report (style bloat, the tables ~10-15% of the bytes), the
~60 KB report from fixtures/reports/, and the first shaped as real Word exports are (about
400 KB: `<o:p>` in every paragraph, a span around every digit run; its facts checked equal).  For each: median ms of our full parse
(`parsers.parse`: decoding, tables, facts, metadata, sections, checks) and of
`pandas.read_html` (which only reads the tables into DataFrames), and the ratio.
Target (issue 3): ours <= 0.5x pandas.  Needs the `bench` extra (pandas, lxml, html5lib).
"""

from __future__ import annotations

import io
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas  # noqa: E402

import parsers  # noqa: E402

PAGES = ("linjiang-czj-2021-350k.html", "donghu-wjw-2021-60k.html")
TARGET = 0.5


def median_ms(a, b, repeats: int) -> tuple[float, float]:
    """Median ms of `a` and of `b`, run alternately so a change in machine load hits both."""
    a(), b()  # warm-up (imports, caches)
    ta, tb = [], []
    for _ in range(repeats):
        for fn, times in ((a, ta), (b, tb)):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(ta), statistics.median(tb)


SHAPED = "linjiang-czj-2021-350k.html+o:p+digit spans"
DIGIT_SPAN = "<span lang=EN-US style='font-size:10.5pt;font-family:\"Times New Roman\"'>{}</span>"


def word_shaped(page: bytes) -> bytes:
    """The page as real Word exports carry it (issue 16): `<o:p></o:p>` closing every
    paragraph and a span around every run of digits in the table cells' text."""
    def text(m: re.Match) -> str:
        return ">" + re.sub(r"\d+", lambda d: DIGIT_SPAN.format(d.group(0)), m.group(1)) + "<"

    html = re.sub(r"<td[^>]*>.*?</td>", lambda m: re.sub(r">([^<]*)<", text, m.group(0)),
                  page.decode("utf-8"), flags=re.S)
    return html.replace("</p>", "<o:p></o:p></p>").encode("utf-8")


def page_bytes(name: str) -> bytes:
    if name == SHAPED:
        data = word_shaped((ROOT / "fixtures" / "reports" / PAGES[0]).read_bytes())
        plain = parsers.parse((ROOT / "fixtures" / "reports" / PAGES[0]).read_bytes(), url=PAGES[0])
        assert parsers.parse(data, url=PAGES[0]).facts == plain.facts, "the shaping must not change a fact"
        return data
    return (ROOT / "fixtures" / "reports" / name).read_bytes()


def main(repeats: int = 31) -> int:
    worst = 0.0
    print(f"{'page':44s} {'KB':>6s} {'ours ms':>9s} {'pandas ms':>10s} {'ratio':>6s}")
    for name in (*PAGES, SHAPED):
        data = page_bytes(name)
        report = parsers.parse(data, url=name)
        filled = sum(v is not None for v in report.facts.values())
        assert filled > 150 and report.checks, f"{name}: the parse must be complete to be timed ({filled} facts)"
        ours, theirs = median_ms(lambda: parsers.parse(data, url=name),
                                 lambda: pandas.read_html(io.BytesIO(data), encoding="utf-8"), repeats)
        ratio = ours / theirs
        worst = max(worst, ratio)
        print(f"{name:44s} {len(data) / 1024:6.0f} {ours:9.1f} {theirs:10.1f} {ratio:6.2f}")
    print(f"worst ratio {worst:.2f} (target <= {TARGET}): {'OK' if worst <= TARGET else 'MISSED'}")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main(*(int(a) for a in sys.argv[1:])))
