"""Every fixture in fixtures/reports/ against its expected JSON (issue 3's acceptance).

The expected files are written by fixtures/make_reports.py from the numbers it chose (never
from the parser).  One test per fixture compares every fact, the §7 metadata, the
warnings that must be there and the checks; a failure lists each differing key with
what we got and what was expected.  A second test runs `xxgk parse FILE... --json` once
over all fixtures and checks the one-line-per-document output.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import parsers

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "fixtures" / "reports"
META = ("title", "agency", "year", "published", "index_no", "version", "kind")
REPORT_KEYS = ("source", "title", "agency", "year", "published", "index_no", "version", "kind", "facts",
               "checks", "sections", "warnings")


def _documents() -> list[Path]:
    return sorted(p for p in REPORTS.iterdir() if p.suffix in (".html", ".htm", ".txt", ".shtml"))


def _expected(doc: Path) -> dict:
    return json.loads(doc.with_suffix(".expected.json").read_text(encoding="utf-8"))


def _rel(doc: Path) -> str:
    return str(doc.relative_to(ROOT))


def _same(got, want) -> bool:
    """Exact value equality; True/False never pass for 1/0."""
    if isinstance(got, bool) or isinstance(want, bool):
        return got is want
    return got == want


def fact_diffs(got: dict, want: dict) -> list[str]:
    out = []
    for key in sorted(set(want) | set(got)):
        if key not in got:
            out.append(f"facts[{key}]: missing, expected {want[key]!r}")
        elif key not in want:
            out.append(f"facts[{key}]: not in the template, got {got[key]!r}")
        elif not _same(got[key], want[key]):
            out.append(f"facts[{key}]: got {got[key]!r}, expected {want[key]!r}")
    return out


def report_diffs(got: dict, want: dict) -> list[str]:
    """Every way the parse output differs from the expected JSON."""
    if "error" in want:
        diffs = [] if got.get("error") == want["error"] else [
            f"error: got {got.get('error')!r}, expected {want['error']!r}"]
        if "title" in want and got.get("title") != want["title"]:
            diffs.append(f"title: got {got.get('title')!r}, expected {want['title']!r}")
        return diffs
    if got.get("error"):
        return [f"error: got {got['error']!r}, expected a report"]
    diffs = [f"{f}: got {got.get(f)!r}, expected {want[f]!r}" for f in META if not _same(got.get(f), want[f])]
    diffs += fact_diffs(got.get("facts") or {}, want["facts"])
    warnings = got.get("warnings") or []
    diffs += [f"warnings: none contains {w!r}" for w in want["warnings_contain"]
              if not any(w in have for have in warnings)]
    checks = {c["rule"]: c for c in got.get("checks") or []}
    for rule, ok in want["checks"].items():
        have = checks.get(rule)
        if have is None:
            diffs.append(f"checks[{rule}]: missing, expected ok={ok!r}")
        elif have["ok"] is not ok:
            diffs.append(f"checks[{rule}]: got ok={have['ok']!r} ({have['detail']}), expected ok={ok!r}")
    sections = set(got.get("sections") or {})
    if sections != set(want["sections"]):
        diffs.append(f"sections: got {sorted(sections)}, expected {sorted(want['sections'])}")
    return diffs + provenance_diffs(got.get("provenance") or {}, want)


def provenance_diffs(provenance: dict, want: dict) -> list[str]:
    """Legacy reports: the figures read from a sentence carry `source: prose`, every
    other one comes from a table; a table's unit column is kept with its figures."""
    diffs = []
    if "prose_keys" in want:
        prose = set(want["prose_keys"])
        for key in want["facts"]:
            source = (provenance.get(key) or {}).get("source", "table")
            if source != ("prose" if key in prose else "table"):
                diffs.append(f"provenance[{key}]: source {source!r}, expected {'prose' if key in prose else 'table'!r}")
    for key, unit in (want.get("units") or {}).items():
        if (provenance.get(key) or {}).get("unit") != unit:
            diffs.append(f"provenance[{key}]: unit {(provenance.get(key) or {}).get('unit')!r}, expected {unit!r}")
    return diffs


DOCUMENTS = _documents()


def test_there_are_at_least_40_fixtures_each_with_expected_json():
    assert len(DOCUMENTS) >= 40
    for doc in DOCUMENTS:
        assert doc.with_suffix(".expected.json").exists(), doc.name


@pytest.mark.parametrize("doc", DOCUMENTS, ids=[d.name for d in DOCUMENTS])
def test_fixture_matches_expected(doc: Path):
    want = _expected(doc)
    report = parsers.parse(doc.read_bytes(), url=want.get("source") or _rel(doc))
    diffs = report_diffs(report.to_json(provenance=True), want)
    assert not diffs, f"{doc.name}: {len(diffs)} differences\n  " + "\n  ".join(diffs)


def test_xxgk_parse_json_prints_one_line_per_fixture():
    """`xxgk parse FILE... --json` over every fixture at once: §7 JSON per line, error form
    for non-reports, exit code 0 (nothing unreadable)."""
    paths = [_rel(d) for d in DOCUMENTS]
    proc = subprocess.run([sys.executable, "-m", "scraper", "parse", *paths, "--json"], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert len(lines) == len(paths), proc.stdout[-2000:]
    problems = []
    for path, doc, line in zip(paths, DOCUMENTS, lines):
        out = json.loads(line)
        want = _expected(doc)
        diffs = [] if out.get("source") == path else [f"source: got {out.get('source')!r}, expected {path!r}"]
        if "error" in want:
            if out.get("error") != want["error"]:
                diffs.append(f"error: got {out.get('error')!r}, expected {want['error']!r}")
        else:
            diffs += [f"missing key {k}" for k in REPORT_KEYS if k not in out]
            url_only = want.get("source") is not None  # the published date lives in that URL
            diffs += [f"{f}: got {out.get(f)!r}, expected {want[f]!r}" for f in META
                      if not (url_only and f == "published") and not _same(out.get(f), want[f])]
            diffs += fact_diffs(out.get("facts") or {}, want["facts"])
            if not all({"rule", "ok", "detail"} <= set(c) for c in out.get("checks") or []):
                diffs.append("checks: an entry lacks rule/ok/detail")
        if diffs:
            problems.append(f"{doc.name}: " + "; ".join(diffs[:12]) + (" …" if len(diffs) > 12 else ""))
    assert not problems, f"{len(problems)} of {len(paths)} documents differ:\n" + "\n".join(problems)
