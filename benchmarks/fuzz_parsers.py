"""Fuzz the parsers: 10,000 generated documents, count the uncaught exceptions.

    .venv/bin/python benchmarks/fuzz_parsers.py [N] [SEED]

Cases, in equal parts: random bytes, random Unicode text, token soup of table markup and
template labels, and mutated fixtures (tags deleted/duplicated/swapped, lines shuffled,
truncation, byte damage).  The generators are the ones tests/test_parser_properties.py
uses under hypothesis.  Prints the number of exceptions (the target is 0) and the first
few tracebacks.
"""

from __future__ import annotations

import random
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import parsers  # noqa: E402
from test_parser_properties import MUTATE, mutate_fixture, token_soup  # noqa: E402


def case(rng: random.Random, kind: str) -> tuple[bytes | str, str | None]:
    if kind == "bytes":
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 4000))), None
    if kind == "text":
        return "".join(chr(rng.choice((rng.randint(0, 0x7f), rng.randint(0x4e00, 0x9fff), rng.randint(0, 0x10ffff))))
                       for _ in range(rng.randint(0, 2000))).encode("utf-8", "surrogatepass"), rng.choice([None, "x.txt"])
    if kind == "soup":
        return token_soup(rng).encode("utf-8"), rng.choice([None, "x.html", "http://h/t20210120_1.html"])
    name = rng.choice(MUTATE)
    return mutate_fixture(name, rng), f"fixtures/reports/{name}"


def main(n: int = 10_000, seed: int = 20240101) -> int:
    rng = random.Random(seed)
    kinds = ("bytes", "text", "soup", "mutated")
    errors: list[tuple[str, str]] = []
    by_kind: Counter = Counter()
    start = time.perf_counter()
    for i in range(n):
        kind = kinds[i % len(kinds)]
        data, url = case(rng, kind)
        by_kind[kind] += 1
        try:
            report = parsers.parse(data, url=url)
            report.to_json(provenance=True)
        except Exception:  # noqa: BLE001 - counting them is the point
            errors.append((kind, traceback.format_exc()))
    took = time.perf_counter() - start
    print(f"cases: {n} ({', '.join(f'{k} {v}' for k, v in by_kind.items())}) in {took:.1f} s")
    print(f"uncaught exceptions: {len(errors)}")
    for kind, tb in errors[:3]:
        print(f"--- {kind}\n{tb}")
    return 1 if errors else 0


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    sys.exit(main(*args))
