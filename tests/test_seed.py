"""The real seed report (汉中市民政局 2020, text-flattened page): issue #2's acceptance."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT, SEED


def _parse_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scraper", "parse", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def test_seed_parse_json_through_the_command_line():
    proc = _parse_cli(str(SEED), "--json")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    out = json.loads(lines[0])
    assert out["year"] == 2020
    assert out["agency"] == "汉中市民政局"
    assert out["version"] == "2019"
    assert out["published"] == "2021-01-20"
    assert out["index_no"] == "610700001-/2021000152"
    assert out["kind"] == "agency"
    facts = out["facts"]
    assert facts["applications.new_received.total"] == 4
    assert facts["applications.total.total"] == 8
    assert facts["active.rules.total_published"] == 20
    assert facts["active.licensing.decisions"] == 13
    assert facts["active.licensing.change"] is None
    assert facts["appeals.review.upheld"] == 1
    assert any("active.licensing.change" in w and "2020年1-4月行政许可13件" in w for w in out["warnings"])
    checks = {c["rule"]: c for c in out["checks"]}
    assert checks["applications.balance"]["ok"] is False
    assert "total: 4+0 != 8+0" in checks["applications.balance"]["detail"]
    assert checks["applications.results_sum"]["ok"] is False
    assert checks["appeals.group_total"]["ok"] is True
    assert checks["report.on_time"]["ok"] is True
    assert set(out["sections"]) == {"overview", "active", "applications", "appeals", "problems", "other"}
    assert out["sections"]["other"].startswith("无其他需要报告的事项")
    assert "网站主办单位" not in out["sections"]["other"]


def test_seed_every_key_of_the_2019_template_is_present():
    from parsers import parse
    from parsers.templates import TEMPLATES

    report = parse(SEED.read_bytes(), url=str(SEED))
    assert list(report.facts) == TEMPLATES["2019"].keys()
    # every number in the 23 x 7 applications block was read (the seed has no blanks there)
    assert all(report.facts[k] is not None for k in report.facts if k.startswith("applications."))
    assert report.facts["active.punishment.change"] == 15
    assert report.facts["applications.granted.natural_person"] == 4


def test_seed_provenance_points_at_the_cell():
    from parsers import parse

    report = parse(SEED.read_bytes(), url=str(SEED))
    fact = report.found["active.licensing.change"]
    assert fact.raw.startswith("2020年1-4月行政许可13件")
    assert fact.row_label == "行政许可"
    lines = SEED.read_text(encoding="utf-8").splitlines()
    assert fact.raw in lines[fact.row]
