"""The pages people read (cli.md, "Pages people read"): /report/<id>, /agency/<id> and the
home page, in Debian's headless Chromium against the real `xxgk serve` on 127.0.0.1.

The archive is the shared serving fixture (demo crawl, a hostile title and section text)
plus legacy reports parsed from fixtures/reports/legacy-*.html with `parsers.parse` and
saved with `scraper.archive.save_report` (with their bytes as captures), one legacy year
made to break its running totals, a hostile unreadable cell, and a second version of a
2021 report with one figure changed.  Every expectation is read from that archive."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sqlite3
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import CHROMIUM, FIXTURES
from datasette_server import XSS_TITLE, build_fixture_archive, datasette

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (.ci/run installs it)")
HOSTILE_RAW = '<img src=x onerror="window.__xss = 3">十二件'


def _capture(db, url: str, data: bytes) -> int:
    from scraper import archive

    sha = hashlib.sha256(data).hexdigest()
    return archive.add_capture(db, {"url": url, "role": "report", "fetched_at": archive.now(), "status": 200,
                                    "content_type": "text/html", "sha256": sha, "size": len(data)}, data)


def _save_parsed(db, path: Path, url: str, change=None) -> int:
    """Parse a fixture, optionally change the report, save it with its bytes as a capture."""
    from parsers import parse
    from parsers.checks import run_checks
    from scraper import archive

    data = path.read_bytes()
    report = parse(data, url=url)
    assert report.is_report, report.error
    if change:
        change(report)
        report.checks = run_checks(report)
    capture = _capture(db, url, data)
    return archive.save_report(db, report, site_id=None, capture_id=capture, sha256=None)


def _next_legacy_year(report) -> None:
    """南屏县 2015 from its 2014 report: every running total carried on by the year's figure,
    but the year's requests one more and their running total one more again (2014's 80 +
    2015's 12 ≠ 93: legacy.cumulative_flow fails for requests only), the parts of requests
    left as they were (legacy.sums fails: 5 + 4 + 2 ≠ 12), and the reviews cell a hostile
    unreadable text."""
    report.year, report.published = 2015, "2016-03-10"
    report.title = report.title.replace("2014", "2015")
    report.source = "http://127.0.0.1:9/legacy/nanping-2015.html"
    facts = report.facts
    facts["legacy.requests_received.year"] = 12
    for key in [k for k in facts if k.endswith(".cumulative")]:
        year = facts[key.replace(".cumulative", ".year")]
        facts[key] = facts[key] + year + (1 if key == "legacy.requests_received.cumulative" else 0)
    facts["legacy.reviews.year"] = None
    for key, value in facts.items():
        raw = HOSTILE_RAW if key == "legacy.reviews.year" else str(value)
        report.found[key] = dataclasses.replace(report.found[key], value=value, raw=raw)


@pytest.fixture(scope="module")
def archive_db(demo_archive, tmp_path_factory) -> dict:
    from parsers import parse
    from scraper import archive

    db_path = build_fixture_archive(demo_archive, tmp_path_factory.mktemp("pages"))
    db = archive.open_archive(db_path)
    with db.conn:
        for name, region in (("南屏县", "南屏县"), ("东湖区人民政府", "东湖区")):
            db.execute("INSERT INTO agencies (name, region, level) VALUES (?, ?, 'county')", [name, region])
    reports = FIXTURES / "reports"
    ids = {
        "nanping2014": _save_parsed(db, reports / "legacy-nanping-gov-2014-provincial.html",
                                    "http://127.0.0.1:9/legacy/nanping-2014.html"),
        "nanping2015": _save_parsed(db, reports / "legacy-nanping-gov-2014-provincial.html",
                                    "http://127.0.0.1:9/legacy/nanping-2015.html", _next_legacy_year),
        "donghu2016": _save_parsed(db, reports / "legacy-donghu-gov-2016-national.html",
                                   "http://127.0.0.1:9/legacy/donghu-2016.html"),
    }
    # a second version of 青山市民政局's 2021 report: the same page captured again, one figure changed
    first = db.execute("SELECT id, capture_id, source_url FROM reports WHERE agency_id = 1 AND year = 2021").fetchone()
    report = parse(archive.capture_body(db, first[1]), url=first[2])
    report.facts["applications.granted.natural_person"] += 1
    ids["qingshan2021_v2"] = archive.save_report(db, report, site_id="qingshan-mzj", capture_id=first[1], sha256=None)
    ids["qingshan2021_v1"] = first[0]
    ids["xss"] = db.execute("SELECT id FROM reports WHERE title = ?", [XSS_TITLE]).fetchone()[0]
    for name, (agency, year) in {"r2019": ("青山市民政局", 2020), "r2021": ("青山市民政局", 2022),
                                 "baishui2022": ("白水县人民政府", 2022)}.items():
        ids[name] = db.execute("SELECT id FROM reports WHERE agency = ? AND year = ? AND current = 1",
                               [agency, year]).fetchone()[0]
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return {"path": db_path, "ids": ids}


@pytest.fixture(scope="module")
def base(archive_db):
    with datasette(archive_db["path"]) as url:
        yield url


def _context(browser, base, width: int, *, javascript: bool = True):
    context = browser.new_context(base_url=base, accept_downloads=True, viewport={"width": width, "height": 900},
                                  java_script_enabled=javascript)
    context.route("**/*", lambda route: route.continue_() if urllib.parse.urlsplit(route.request.url).hostname
                  in ("127.0.0.1", "localhost") else route.abort())
    return context


@pytest.fixture
def page(browser, base):
    context = _context(browser, base, 1280)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.errors = errors
    yield pg
    context.close()


def _facts(db_path: Path, report_id: int) -> dict[str, tuple]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return {k: (v, raw) for k, v, raw in conn.execute(
            "SELECT key, value, raw FROM facts WHERE report_id = ?", [report_id])}
    finally:
        conn.close()


def _dom_cells(page) -> dict[str, str]:
    cells = page.eval_on_selector_all("td[data-key]", "tds => tds.map(td => [td.dataset.key, td.innerText.trim()])")
    keys = [k for k, _ in cells]
    assert len(keys) == len(set(keys)), "a key appears in two cells"
    return dict(cells)


@pytest.mark.parametrize("which", ["r2019", "r2021", "donghu2016", "nanping2014", "nanping2015"])
def test_every_fact_is_on_the_page_under_its_key(page, archive_db, which):
    report_id = archive_db["ids"][which]
    facts = _facts(archive_db["path"], report_id)
    assert facts
    page.goto(f"/report/{report_id}")
    dom = _dom_cells(page)
    assert set(facts) <= set(dom), sorted(set(facts) - set(dom))
    for key, (value, raw) in facts.items():
        text = dom[key]
        if value is not None:
            assert float(text) == float(value), (key, text, value)
        elif raw is not None and raw.strip() and raw.strip() not in ("—", "-", "/", "无"):
            assert "未能识读" in text and raw.strip() in text, (key, text, raw)  # marked, raw text shown
        else:
            assert text == "", (key, text)
    for key in set(dom) - set(facts):  # cells of the form the report has no figure for
        assert dom[key] == ""


def test_forms_follow_the_report_version(page, archive_db):
    ids = archive_db["ids"]
    page.goto(f"/report/{ids['r2019']}")
    assert page.locator("td[data-key='applications.other.total']").count() == 1  # 2019: one （六） row
    assert page.locator("td[data-key='applications.other.no_fee.total']").count() == 0
    assert page.locator("td[data-key='active.procurement.amount']").count() == 1
    assert "第二十条第（九）项" in page.inner_text("#table-active")
    page.goto(f"/report/{ids['r2021']}")
    assert page.locator("td[data-key='applications.other.no_fee.total']").count() == 1
    assert page.locator("td[data-key='active.rules.in_force']").count() == 1
    assert "本年收费金额（单位：万元）" in page.inner_text("#table-active")
    page.goto(f"/report/{ids['nanping2014']}")
    table = page.locator("#table-legacy table")
    assert "政府信息公开情况统计表" in page.inner_text("#table-legacy")
    rows = page.eval_on_selector_all("#table-legacy tbody tr", """trs => trs.filter(tr => tr.querySelector('td[data-key]'))
        .map(tr => [tr.querySelector('td[data-key]').dataset.key, tr.querySelector('td.unit').innerText.trim()])""")
    conn = sqlite3.connect(f"file:{archive_db['path']}?mode=ro", uri=True)
    units = dict(conn.execute("SELECT key, unit FROM facts WHERE report_id = ? AND col_key = 'year'",
                              [ids["nanping2014"]]).fetchall())
    conn.close()
    assert {k: u for k, u in rows} == units  # the unit written beside each figure
    from scraper.report_forms import legacy_order
    order = [k.split(".")[1] for k, _ in rows]
    assert order == sorted(order, key=legacy_order().index)  # the national list's order
    assert table.locator("td[data-key$='.cumulative']").count() == len(rows)  # the 累计 column


def test_failed_balance_check_highlights_exactly_its_cells(page, archive_db):
    report_id = archive_db["ids"]["r2019"]
    conn = sqlite3.connect(f"file:{archive_db['path']}?mode=ro", uri=True)
    detail = conn.execute("SELECT detail FROM checks WHERE report_id = ? AND rule = 'applications.balance' AND ok = 0",
                          [report_id]).fetchone()[0]
    conn.close()
    failing_cols = [part.split(":")[0] for part in detail.split("; ")]
    expected = {f"applications.{row}.{col}" for col in failing_cols
                for row in ("new_received", "carried_over", "total", "carried_forward")}
    page.goto(f"/report/{report_id}")
    notes = page.locator("#table-applications [data-check='applications.balance']")
    assert notes.count() == len(failing_cols)
    facts = _facts(archive_db["path"], report_id)
    for i, col in enumerate(failing_cols):
        a, b, c, d = (facts[f"applications.{r}.{col}"][0] for r in ("new_received", "carried_over", "total",
                                                                    "carried_forward"))
        assert f"{a} + {b} ≠ {c} + {d}" in notes.nth(i).inner_text()
    flagged = set(page.eval_on_selector_all("td[data-checks~='applications.balance']", "tds => tds.map(t => t.dataset.key)"))
    assert flagged == expected
    noted = {k for i in range(notes.count()) for k in notes.nth(i).get_attribute("data-cells").split()}
    assert noted == expected
    # highlighted: a flagged cell looks different from a cell no check involves
    style = "el => getComputedStyle(el).backgroundColor"
    plain = page.locator("td[data-key='applications.granted.business']").evaluate(style)
    assert page.locator(f"td[data-key='applications.new_received.{failing_cols[0]}']").evaluate(style) != plain
    # following the note's link marks its own cells apart from the other rule's (no script)
    note = notes.first
    note.locator("a.show-cells").click()
    own = f"td[data-key='applications.carried_over.{failing_cols[0]}']"
    other = "td[data-checks='applications.results_sum']"  # a results-sum cell balance does not involve
    assert page.locator(own).evaluate(style) != page.locator(other).first.evaluate(style)


def test_cross_year_checks_link_the_other_year(page, archive_db):
    ids = archive_db["ids"]
    page.goto(f"/report/{ids['nanping2015']}")
    note = page.locator("[data-check='legacy.cumulative_flow']")
    assert note.count() == 1
    assert "93 ≠ 80 + 12" in note.inner_text()
    assert note.locator("a", has_text="2014").get_attribute("href") == f"/report/{ids['nanping2014']}"
    assert set(page.eval_on_selector_all("td[data-checks~='legacy.cumulative_flow']", "t => t.map(x => x.dataset.key)")) \
        == {"legacy.requests_received.cumulative", "legacy.requests_received.year"}
    sums = page.locator("[data-check='legacy.sums']")
    assert sums.count() == 2  # the year's requests and their running total
    assert "5 + 4 + 2 = 11 ≠ 12" in sums.first.inner_text()
    page.goto(f"/report/{ids['nanping2014']}")  # the earlier year shows it too, linking the later one
    assert page.locator("[data-check='legacy.cumulative_flow'] a", has_text="2015").count() == 1
    from scraper import crosscheck
    import sqlite_utils
    found = [f for f in crosscheck.carry_link(sqlite_utils.Database(archive_db["path"])) if f["ok"] is False]
    assert found
    for f in found:
        page.goto(f"/report/{f['report_id']}")
        link = page.locator("[data-check='applications.carry_link'] a", has_text=str(f["year"] - 1))
        assert link.get_attribute("href") == f"/report/{f['previous_report_id']}"


def test_every_failed_check_is_named_on_its_page(page, archive_db):
    conn = sqlite3.connect(f"file:{archive_db['path']}?mode=ro", uri=True)
    failed: dict[int, set] = {}
    for rid, rule in conn.execute("SELECT report_id, rule FROM checks WHERE ok = 0"):
        failed.setdefault(rid, set()).add(rule)
    conn.close()
    assert len(failed) >= 4
    for rid, rules in failed.items():
        page.goto(f"/report/{rid}")
        shown = set(page.eval_on_selector_all("[data-check]", "els => els.map(e => e.dataset.check)"))
        assert rules <= shown, (rid, rules - shown)


def test_published_date_on_time_or_days_late(page, archive_db):
    conn = sqlite3.connect(f"file:{archive_db['path']}?mode=ro", uri=True)
    late = conn.execute("SELECT report_id, detail FROM checks WHERE rule = 'report.on_time' AND ok = 0").fetchone()
    on_time = conn.execute("SELECT report_id FROM checks WHERE rule = 'report.on_time' AND ok = 1").fetchone()[0]
    conn.close()
    days = late[1].split(", ")[1].split(" days")[0]
    page.goto(f"/report/{late[0]}")
    assert f"{days} days late" in page.inner_text("dl.report-meta")
    assert page.locator("dl.report-meta [data-check='report.on_time']").count() == 1
    page.goto(f"/report/{on_time}")
    assert "on time" in page.inner_text("dl.report-meta")


def test_provenance_opens_and_the_original_downloads_safely(page, archive_db, base):
    ids = archive_db["ids"]
    page.goto(f"/report/{ids['r2019']}")
    key = "active.licensing.change"  # the cell the parser could not read
    prov = page.locator(f"[id='p-{key}']")
    assert not prov.is_visible()
    page.click(f"td[data-key='{key}'] a")
    assert prov.is_visible()
    facts = _facts(archive_db["path"], ids["r2019"])
    text = prov.inner_text()
    assert facts[key][1] in text  # the raw cell text
    assert "行政许可" in text and "本年增/减" in text and "table" in text and "row" in text
    page.click("td[data-key='applications.new_received.total'] a")
    prov = page.locator("[id='p-applications.new_received.total']")
    assert prov.is_visible() and "本年新收" in prov.inner_text()
    link = prov.locator("a[download]")
    href = link.get_attribute("href")
    with urllib.request.urlopen(base + href) as r:
        assert r.headers["Content-Disposition"].startswith("attachment;")
        assert "sandbox" in r.headers["Content-Security-Policy"]
        assert r.headers["Content-Type"] == "application/octet-stream"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        body = r.read()
    with page.expect_download() as info:
        link.click()
    assert Path(info.value.path()).read_bytes() == body
    assert "青山市民政局2020年" in body.decode("utf-8", "replace")
    assert page.url.startswith(base + "/report/")  # never navigated to a rendering of the bytes


def test_provenance_of_a_legacy_prose_and_table_figure(page, archive_db):
    ids = archive_db["ids"]
    page.goto(f"/report/{ids['donghu2016']}")
    page.click("td[data-key='legacy.budget.year'] a")
    text = page.locator("[id='p-legacy.budget.year']").inner_text()
    assert "政府信息公开专项经费" in text and "万元" in text and "3.5" in text


def test_hostile_title_section_and_cell_stay_text(page, archive_db):
    ids = archive_db["ids"]
    page.goto(f"/report/{ids['xss']}")
    assert page.inner_text("h1.title") == XSS_TITLE
    assert "<script>注入" in page.inner_text("[data-section='overview']")
    page.goto(f"/report/{ids['nanping2015']}")
    assert HOSTILE_RAW in page.inner_text("td[data-key='legacy.reviews.year']")
    page.goto("/")
    page.goto("/?" + urllib.parse.urlencode({"q": "<script>window.__xss = 4</script>"}))
    assert "<script>window.__xss = 4</script>" in page.inner_text("#agency-results")
    for path in (f"/report/{ids['xss']}", f"/report/{ids['nanping2015']}", "/", "/agency/2"):
        page.goto(path)
        assert page.evaluate("typeof window.__xss") == "undefined", path
        assert page.locator("img[src=x]").count() == 0


def test_other_versions_show_what_changed(page, archive_db):
    ids = archive_db["ids"]
    v1, v2 = _facts(archive_db["path"], ids["qingshan2021_v1"]), _facts(archive_db["path"], ids["qingshan2021_v2"])
    changed = {k for k in v1 if v1[k][0] != v2.get(k, (None,))[0]}
    assert changed == {"applications.granted.natural_person"}
    page.goto(f"/report/{ids['qingshan2021_v2']}")
    versions = page.locator("#versions")
    assert versions.locator(f"a[href='/report/{ids['qingshan2021_v1']}']").count() == 1
    versions.locator("summary").click()
    key = changed.pop()
    assert f"{key}: {v1[key][0]} → {v2[key][0]}" in versions.inner_text()


def test_agency_page_years_side_by_side(page, archive_db):
    conn = sqlite3.connect(f"file:{archive_db['path']}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    for agency_id in [r[0] for r in conn.execute("SELECT DISTINCT agency_id FROM reports WHERE agency_id IS NOT NULL")]:
        page.goto(f"/agency/{agency_id}")
        reports = conn.execute("SELECT id, year, current FROM reports WHERE agency_id = ?", [agency_id]).fetchall()
        links = set(page.eval_on_selector_all("#reports a[href^='/report/']", "as => as.map(a => a.getAttribute('href'))"))
        assert links == {f"/report/{r['id']}" for r in reports}  # every report, older versions included
        current = sorted((r for r in reports if r["current"]), key=lambda r: (r["year"], r["id"]))
        years = page.eval_on_selector_all("table.years thead th[data-year]", "ths => ths.map(t => t.dataset.year)")
        assert years == [str(r["year"]) for r in current]
        figures = {r["report_id"]: r for r in conn.execute(
            f"SELECT * FROM report_figures WHERE report_id IN ({','.join(str(r['id']) for r in current)})")}
        cells = page.eval_on_selector_all("td[data-figure]", """tds => tds.map(td =>
            [td.dataset.figure, td.dataset.report, td.childNodes[0] ? td.childNodes[0].textContent.trim() : ''])""")
        assert cells
        for column, rid, text in cells:
            value = figures[int(rid)][column]
            assert (text == "" if value is None else float(text) == value), (column, rid, text, value)
    conn.close()
    page.goto("/agency/3")  # 南屏县: legacy years through the series mapping, with their change
    assert page.locator("td[data-figure='new_received']").all_inner_texts() == ["11", "12\n+1"]
    assert page.locator("svg.chart polyline").count() >= 1
    assert page.locator("tr.checks-row .chip", has_text="累计").count() == 0  # cross-year flow is on the report page
    assert page.locator("tr.checks-row .chip", has_text="统计表合计").count() == 1


def test_home_page_starts_where_people_start(page, archive_db):
    page.goto("/")
    assert "政府信息公开工作年度报告档案" in page.title() + page.inner_text("body")
    conn = sqlite3.connect(f"file:{archive_db['path']}?mode=ro", uri=True)
    per_year = dict(conn.execute("SELECT year, count(*) FROM reports WHERE current = 1 AND year IS NOT NULL GROUP BY year"))
    newest = conn.execute("SELECT id, title FROM reports WHERE current = 1 ORDER BY id DESC LIMIT 1").fetchone()
    failing = conn.execute("SELECT id FROM reports WHERE current = 1 AND n_failed_checks > 0 ORDER BY id DESC LIMIT 1").fetchone()[0]
    conn.close()
    rows = page.eval_on_selector_all("#per-year tbody tr", "trs => trs.map(tr => [tr.cells[0].innerText, tr.cells[1].innerText])")
    assert {int(y): int(n) for y, n in rows} == per_year
    conn = sqlite3.connect(f"file:{archive_db['path']}?mode=ro", uri=True)
    per_region = {region: (n, years) for region, n, years in conn.execute(
        "SELECT a.region, count(DISTINCT a.id), count(DISTINCT r.agency_id || '-' || r.year) FROM agencies a "
        "LEFT JOIN reports r ON r.agency_id = a.id GROUP BY a.region")}
    conn.close()
    rows = page.eval_on_selector_all("#per-region tbody tr", "trs => trs.map(tr => Array.from(tr.cells, c => c.innerText))")
    assert {region: (int(n), int(y)) for region, n, y in rows} == per_region
    assert page.locator(f"#latest li[data-report='{newest[0]}'] a.title").inner_text() == newest[1]
    assert page.locator(f"#failing li[data-report='{failing}'] .chip").count() >= 1
    # search: an agency by part of its name opens its page; the same words search the text
    page.fill("input[name=q]", "民政")
    page.locator("button", has_text="find agency").click()
    page.locator("#agency-results a", has_text="青山市民政局").click()
    page.wait_for_url("**/agency/1")
    page.goto("/")
    page.fill("input[name=q]", "培训")
    page.locator("button", has_text="search the text").click()
    page.wait_for_url("**/search_sections?q=*")
    assert page.locator("td.col-snippet").count() >= 1
    # the internal tables are hidden from the database page
    page.goto(f"/{archive_db['path'].stem}")
    listed = " ".join(page.locator("h3 a, h2 a").all_inner_texts())
    assert "reports_overview" in page.inner_text("body")
    for internal in ("fact_values", "row_counts", "frontier", "series_values", "report_figures"):
        assert internal not in listed


def test_pages_work_without_javascript(browser, base, archive_db):
    context = _context(browser, base, 1280, javascript=False)
    pg = context.new_page()
    ids = archive_db["ids"]
    pg.goto(f"/report/{ids['r2021']}")
    assert pg.locator("td[data-key='applications.new_received.total']").inner_text().strip() != ""
    pg.click("td[data-key='applications.new_received.total'] a")
    assert pg.locator("[id='p-applications.new_received.total']").is_visible()
    pg.goto("/agency/1")
    assert pg.locator("table.years td[data-figure]").count() > 0 and pg.locator("svg.chart").count() == 1
    context.close()


@pytest.mark.parametrize("width", [375, 1280])
def test_screenshots_and_no_page_scroll(browser, base, archive_db, width, tmp_path_factory):
    """The pages at phone and desktop width: the page never scrolls sideways (wide tables
    scroll in their box); the screenshots are kept for a person to look at."""
    folder = tmp_path_factory.mktemp(f"shots-{width}")
    context = _context(browser, base, width)
    pg = context.new_page()
    ids = archive_db["ids"]
    for name, path in (("home", "/"), ("report-2019", f"/report/{ids['r2019']}"), ("report-2021", f"/report/{ids['r2021']}"),
                       ("report-legacy", f"/report/{ids['nanping2015']}"), ("agency", "/agency/1")):
        pg.goto(path)
        assert pg.evaluate("document.documentElement.scrollWidth") <= width, (name, width)
        pg.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
    print(f"screenshots: {folder}")
    context.close()


def test_print_stylesheet_hides_navigation(browser, base, archive_db):
    context = _context(browser, base, 1280)
    pg = context.new_page()
    pg.goto(f"/report/{archive_db['ids']['r2019']}")
    pg.emulate_media(media="print")
    assert not pg.locator("header").is_visible()
    assert not pg.locator(".report-nav").is_visible()
    assert pg.locator("#table-applications table").is_visible()
    context.close()


def test_unknown_pages_are_404(base):
    for path in ("/report/999999", "/agency/999999"):
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(base + path)
        assert e.value.code == 404
