"""Serving: the real Datasette, over the project's configuration, read-only."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import pytest

from datasette_server import datasette


@pytest.fixture(scope="module")
def served(demo_archive):
    with datasette(demo_archive) as base:
        yield base


def get(base: str, path: str, **params) -> object:
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def test_reports_and_facts_through_the_json_api(served, expected_sites):
    reports = get(served, "/archive/reports.json", _shape="array", current=1, _size="max")
    assert len(reports) == len(expected_sites["reports"])
    by_year = {(r["agency"], r["year"]): r for r in reports}
    r = by_year[("青山市民政局", 2021)]
    exp = next(e for p, e in expected_sites["reports"].items() if e["agency"] == "青山市民政局" and e["year"] == 2021)
    facts = get(served, "/archive/facts.json", _shape="array", report_id=r["id"], _size="max")
    got = {f["key"]: f["value"] for f in facts}
    assert {k: got.get(k, "missing") for k in exp["facts"]} == exp["facts"]
    granted = next(f for f in facts if f["key"] == "applications.granted.total")
    assert granted["label"].startswith("(一)予以公开") and granted["raw"] == str(granted["value"])


def test_canned_query_and_chinese_search(served):
    rows = get(served, "/archive/agency_years.json", _shape="array", agency="白水县")
    assert [r["year"] for r in rows] == [2020, 2021, 2022]
    hits = get(served, "/archive/search_sections.json", _shape="array", q="信息处理费")
    assert {h["year"] for h in hits} >= {2020, 2021, 2022}
    short = get(served, "/archive/search_sections.json", _shape="array", q="培训")
    assert len(short) >= 7


def test_serving_is_read_only(served):
    req = urllib.request.Request(served + "/archive/-/query", data=b"sql=delete+from+reports", method="POST")
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(req, timeout=10)
    with pytest.raises(urllib.error.HTTPError):
        get(served, "/archive.json", sql="delete from reports")
    assert len(get(served, "/archive/reports.json", _shape="array")) > 0
