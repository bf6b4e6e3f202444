"""Every canned query, the views and the archived-original route through Datasette's JSON
API, on the crawled fixture archive; expected values come from the fixture sites'
expected.json or from the archive file itself, never from the query under test."""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.parse
import urllib.request

import pytest

from datasette_server import XSS_TITLE, build_fixture_archive, datasette


@pytest.fixture(scope="module")
def fixture_db(demo_archive, tmp_path_factory):
    return build_fixture_archive(demo_archive, tmp_path_factory.mktemp("ds"))


@pytest.fixture(scope="module")
def base(fixture_db):
    with datasette(fixture_db) as url:
        yield url


@pytest.fixture(scope="module")
def expected(expected_sites):
    """(agency, year) → expected report of the fixture sites."""
    return {(e["agency"], e["year"]): e for e in expected_sites["reports"].values()}


def get(base: str, path: str, **params):
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=20) as r:
        return json.loads(r.read())


def query(base: str, name: str, **params) -> list[dict]:
    return get(base, f"/archive/{name}.json", _shape="array", **params)


def fact(e: dict, key: str):
    return e["facts"][key]


def group(e: dict, prefix: str) -> int:
    return sum(v for k, v in e["facts"].items() if k.startswith(f"applications.{prefix}.") and k.endswith(".total"))


def test_agency_years_follows_one_agency_through_name_variants(base, expected):
    rows = query(base, "agency_years", agency="白水县")
    assert [r["year"] for r in rows] == [2019, 2020, 2021, 2022]  # 2019: the added report
    assert {r["agency"] for r in rows} == {"白水县人民政府"}
    for r in rows[1:]:
        e = expected[("白水县人民政府", r["year"])]
        assert r["new_received"] == fact(e, "applications.new_received.total")
        assert r["granted"] == fact(e, "applications.granted.total")
        assert r["withheld"] == group(e, "withheld")
        assert r["unable"] == group(e, "unable")
        assert r["carried_forward"] == fact(e, "applications.carried_forward.total")
    assert rows[0]["withheld"] is None  # the added report has no withheld cells: no partial sum


def test_ranking_orders_agencies_by_applications_received(base, expected):
    rows = query(base, "ranking", year=2021)
    want = sorted(((fact(e, "applications.new_received.total"), a) for (a, y), e in expected.items() if y == 2021),
                  reverse=True) + [(2, None)]
    assert [(r["new_received"], r["agency"]) for r in rows] == want  # 黑山县教育局 is unresolved: agency empty
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert [r["agency"] for r in query(base, "ranking", year=2021, level="county")] == ["白水县人民政府"]


def test_refusal_rates_by_region_and_year(base, expected):
    rows = query(base, "refusal_rates", year=2022)
    assert len(rows) == 2
    for r in rows:
        (agency, _), e = next(((k, e) for k, e in expected.items()
                               if k[1] == 2022 and r["region"] in ("青山市", "青山市白水县")
                               and k[0] == {"青山市": "青山市民政局", "青山市白水县": "白水县人民政府"}[r["region"]]))
        total = fact(e, "applications.total.total")
        assert (r["handled"], r["withheld"], r["unable"]) == (total, group(e, "withheld"), group(e, "unable"))
        assert r["withheld_pct"] == round(100 * group(e, "withheld") / total, 1)
    assert {r["region"] for r in query(base, "refusal_rates", region="青山市白水")} == {"青山市白水县"}


def test_failing_checks_lists_every_failed_rule_with_detail(base, fixture_db):
    with sqlite3.connect(fixture_db) as conn:
        want = set(conn.execute("SELECT c.report_id, c.rule, c.detail FROM checks c JOIN reports r ON r.id = c.report_id "
                                "WHERE c.ok = 0 AND r.current = 1").fetchall())
    rows = query(base, "failing_checks")
    assert want and {(r["report_id"], r["rule"], r["detail"]) for r in rows} == want
    balance = query(base, "failing_checks", rule="balance", year=2020)
    assert balance and {r["rule"] for r in balance} == {"applications.balance"} and {r["year"] for r in balance} == {2020}


def test_late_reports(base, expected):
    rows = query(base, "late_reports")
    late = {k for k, e in expected.items() if not e["on_time"]}
    assert {(r["agency"], r["year"]) for r in rows} == late
    r = rows[0]
    assert r["days_late"] > 0 and r["deadline"] == f"{r['year'] + 1}-01-31"


def test_carry_breaks_between_consecutive_years(base, expected):
    want = set()
    for (agency, year), e in expected.items():
        prev = expected.get((agency, year - 1))
        if prev and fact(e, "applications.carried_over.total") != fact(prev, "applications.carried_forward.total"):
            want.add((agency, year))
    # the added 2019 report of 白水县 carries 0 forward; 2020 carries over something else
    if fact(expected[("白水县人民政府", 2020)], "applications.carried_over.total") != 0:
        want.add(("白水县人民政府", 2020))
    rows = query(base, "carry_breaks")
    assert want and {(r["agency"], r["year"]) for r in rows} == want
    for r in rows:
        assert r["difference"] == r["carried_over"] - r["carried_forward_previous_year"] != 0
    assert {r["year"] for r in query(base, "carry_breaks", year=2022, agency="青山")} <= {2022}


def test_year_overview(base, expected):
    rows = {r["year"]: r for r in query(base, "year_overview")}
    for year in (2020, 2021, 2022):
        es = [e for (a, y), e in expected.items() if y == year]
        assert rows[year]["new_received"] == sum(fact(e, "applications.new_received.total") for e in es) + (
            2 if year == 2021 else 0)  # 黑山县教育局 2021
        assert rows[year]["withheld"] == sum(group(e, "withheld") for e in es)


@pytest.mark.parametrize("word", ["培训", "培", "信息处理费", "注入"])
def test_search_finds_every_report_containing_the_word(base, fixture_db, word):
    with sqlite3.connect(fixture_db) as conn:
        want = {r[0] for r in conn.execute("SELECT DISTINCT report_id FROM sections WHERE instr(text, ?) > 0", [word])}
    rows = query(base, "search_sections", q=word)
    assert want and {r["report_id"] for r in rows} == want
    assert all(word in r["snippet"] for r in rows)


def test_search_for_a_missing_word_finds_nothing(base):
    assert query(base, "search_sections", q="量子") == []
    assert query(base, "search_sections", q="量子纠缠态") == []


def test_views_read_like_the_official_tables(base, expected):
    r = query(base, "report_applications", agency="青山市民政局", year=2021)[0]
    e = expected[("青山市民政局", 2021)]
    assert r["withheld_state_secret__natural_person"] == fact(e, "applications.withheld.state_secret.natural_person")
    assert r["other_no_fee__total"] == fact(e, "applications.other.no_fee.total")
    assert r["other__total"] is None  # the 2021 template splits （六） into three rows
    active = query(base, "report_active", report_id=r["report_id"])[0]
    assert active["rules__in_force"] == fact(e, "active.rules.in_force")
    appeals = query(base, "report_appeals", report_id=r["report_id"])[0]
    assert appeals["suit_direct__pending"] == fact(e, "appeals.suit_direct.pending")
    labels = {x["column_name"]: x for x in query(base, "labels", _size="max")}
    assert labels["withheld_state_secret__natural_person"]["label"] == "1.属于国家秘密 › 自然人"
    assert labels["withheld_state_secret__natural_person"]["unit"] == "件"


def test_report_checks_summarize_failed_rules(base, fixture_db):
    with sqlite3.connect(fixture_db) as conn:
        want = {rid: sorted(rules.split(",")) for rid, rules in conn.execute(
            "SELECT report_id, group_concat(rule) FROM checks WHERE ok = 0 GROUP BY report_id")}
    rows = query(base, "report_checks", _size="max")
    got = {r["report_id"]: json.loads(r["failed_rules"]) for r in rows if r["n_failed"]}
    assert got == want


def test_every_report_is_linked_to_an_agency_or_listed_unresolved(base):
    reports = query(base, "reports", _size="max", current=1)
    agencies = {a["id"]: a for a in query(base, "agencies")}
    assert {agencies[r["agency_id"]]["name"] for r in reports if r["agency_id"]} == {"青山市民政局", "白水县人民政府"}
    assert [r["agency"] for r in reports if r["agency_id"] is None] == ["黑山县教育局"]
    assert [u["name"] for u in query(base, "unresolved_agencies")] == ["黑山县教育局"]
    assert {a["region_code"] for a in agencies.values()} == {None, "999901"}


def test_every_table_and_column_is_described(base, fixture_db):
    meta = get(base, "/-/metadata.json")
    assert meta["title"] and meta["license"] and meta["source"]
    tables = meta["databases"]["archive"]["tables"]
    with sqlite3.connect(fixture_db) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE 'sections_fts%' AND name NOT LIKE 'sections_bigrams_%'")]
        for name in names:
            assert tables.get(name, {}).get("description"), name
            if name == "sections_bigrams":
                continue
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info([{name}])")]
            missing = [c for c in cols if not tables[name].get("columns", {}).get(c)]
            assert not missing, (name, missing)
    assert "件" in tables["report_applications"]["columns"]["new_received__total"]
    assert "万元" in tables["report_active"]["columns"]["fees__amount"]


def test_the_archived_original_downloads_as_captured(base, fixture_db):
    from scraper import archive

    report = query(base, "reports", current=1, _size=1, year=2021, site_id="qingshan-mzj")[0]
    db = archive.open_archive(fixture_db)
    body = archive.capture_body(db, report["capture_id"])
    with urllib.request.urlopen(f"{base}/-/original/{report['capture_id']}", timeout=10) as r:
        assert r.read() == body
        assert r.headers["Content-Type"] == "application/octet-stream"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Content-Disposition"].startswith("attachment;")
        assert r.headers["X-Original-Content-Type"].startswith("text/html")
    with urllib.request.urlopen(f"{base}/archive/reports/{report['id']}", timeout=10) as r:
        page = r.read().decode()
    assert f'href="/-/original/{report["capture_id"]}"' in page and f'href="{report["source_url"]}"' in page
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{base}/-/original/999999", timeout=10)
    assert err.value.code == 404


def test_hostile_title_is_escaped_in_html(base):
    with urllib.request.urlopen(f"{base}/archive/reports_overview?year=2019", timeout=10) as r:
        page = r.read().decode()
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in page
    assert "<script>window.__xss" not in page and '<img src=x onerror' not in page
    assert XSS_TITLE in [r["title"] for r in query(base, "reports", year=2019)]


def test_serving_is_read_only_and_live(base, fixture_db):
    """Writes are refused (read-only connections); the database is served live, not frozen."""
    for path, data in (("/archive/-/query", b"sql=delete+from+reports"), ("/archive/reports/-/insert", b"{}")):
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(urllib.request.Request(base + path, data=data, method="POST"), timeout=10)
    with pytest.raises(urllib.error.HTTPError):
        get(base, "/archive.json", sql="delete from reports")
    dbs = get(base, "/-/databases.json")
    assert [(d["name"], d["is_mutable"]) for d in dbs] == [("archive", True)]
    assert len(query(base, "reports")) > 0


def test_serve_binds_loopback_by_default():
    from click.testing import CliRunner

    from scraper import serve
    from scraper.cli import serve as serve_command

    host_option = next(p for p in serve_command.params if p.name == "host")
    assert host_option.default == "127.0.0.1"
    args = serve.datasette_args("x/archive.db")
    assert args[args.index("--host") + 1] == "127.0.0.1" and "-i" not in args
    assert "-i" in serve.datasette_args("x/archive.db", immutable=True)
    result = CliRunner().invoke(serve_command, ["--db", "/nonexistent/archive.db"])
    assert result.exit_code == 2
