"""The archive as a researcher sees it: Debian's headless Chromium (playwright with
executable_path, never `playwright install`) against the real Datasette on 127.0.0.1.
One browser and one server for the module; a screenshot lands in a temporary folder
when a test fails."""

from __future__ import annotations

import os
import tempfile
import urllib.parse
from pathlib import Path

import pytest

from conftest import CHROMIUM

from datasette_server import build_fixture_archive, datasette

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (.ci/run installs it)")


def shots() -> Path:
    """A temporary folder for screenshots, made on first use."""
    global _SHOTS
    if _SHOTS is None:
        _SHOTS = Path(tempfile.mkdtemp(prefix="xxgk-browser-"))
    return _SHOTS


_SHOTS: Path | None = None


@pytest.fixture(scope="module")
def base(demo_archive, tmp_path_factory):
    db = build_fixture_archive(demo_archive, tmp_path_factory.mktemp("browser"))
    with datasette(db) as url:
        yield url


@pytest.fixture
def page(browser, base, request):
    context = browser.new_context(base_url=base, accept_downloads=True, viewport={"width": 1280, "height": 900})
    # never any traffic off this machine
    context.route("**/*", lambda route: route.continue_() if urllib.parse.urlsplit(route.request.url).hostname
                  in ("127.0.0.1", "localhost") else route.abort())
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.errors = errors
    failed_before = request.session.testsfailed
    yield pg
    if request.session.testsfailed > failed_before:  # this test's call phase failed
        shot = shots() / f"{request.node.name}.png"
        pg.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}")
    context.close()


def test_home_page_describes_the_archive(page):
    page.goto("/")
    assert "政府信息公开工作年度报告档案" in page.title() + page.inner_text("body")
    assert "件" in page.inner_text("body") and "万元" in page.inner_text("body")
    page.click("a[href='/archive']")
    page.wait_for_url("**/archive")
    assert page.locator("a", has_text="reports_overview").count() >= 1
    assert page.locator("a", has_text="agency_years").count() >= 1 or "agency" in page.inner_text("body")


def test_facet_reports_by_year(page):
    page.goto("/archive/reports_overview")
    facet = page.locator(".facet-info[data-column=year]")
    assert facet.count() == 1
    facet.locator("a", has_text="2021").first.click()
    page.wait_for_url("**year=2021**")
    years = page.locator("td.col-year").all_inner_texts()
    assert years and set(years) == {"2021"}
    assert page.locator(".facet-info[data-column=region]").count() == 1
    assert page.locator(".facet-info[data-column=failed_rules]").count() == 1


def test_agency_trend_query_draws_a_chart(page):
    page.goto("/archive/agency_years?" + urllib.parse.urlencode({"agency": "白水县"}))
    page.wait_for_selector("#xxgk-chart[data-rendered='1'], #xxgk-chart[data-error='1']", timeout=20000)
    assert page.get_attribute("#xxgk-chart", "data-error") is None, page.inner_text("#xxgk-chart")
    marks = page.locator("#xxgk-chart svg path, #xxgk-chart svg .mark-symbol path")
    assert marks.count() > 3
    assert set(page.locator("td.col-year").all_inner_texts()) == {"2019", "2020", "2021", "2022"}
    assert not page.errors


def test_overview_dashboard_draws_its_charts(page):
    page.goto("/-/dashboards/overview")
    # every chart of the dashboard draws (vega-embed adds its class once a chart is embedded)
    page.wait_for_function("document.querySelectorAll('.vega-embed svg, .vega-embed canvas').length >= 3",
                           timeout=20000)
    assert not page.errors


def test_search_a_two_character_word_and_open_the_report(page):
    page.goto("/archive/search_sections")
    page.fill("input[name=q]", "培训")
    page.click("form.sql input[type=submit]")
    page.wait_for_selector("td.col-snippet")
    snippets = page.locator("td.col-snippet").all_inner_texts()
    assert snippets and all("【培训】" in s for s in snippets)
    page.locator("td.col-report_id a").first.click()
    page.wait_for_url("**/report/*")  # the report page, laid out like the official form
    assert "年度报告" in page.inner_text("h1.title")
    assert page.locator("[data-key]").count() > 0


def test_open_the_archived_original(page, base):
    page.goto("/archive/reports?site_id=qingshan-mzj&year=2021")
    page.locator("td.col-title a, td.col-id a").first.click()
    link = page.locator("a.xxgk-original").first
    live = page.locator("td.col-source_url a").first.get_attribute("href")
    assert live.startswith("http://127.0.0.1:") and live.endswith(".html")
    with page.expect_download() as info:
        link.click()
    download = info.value
    data = Path(download.path()).read_bytes()
    assert "青山市民政局2021年" in data.decode("utf-8", "replace")
    assert download.suggested_filename.endswith(".html")
    assert page.url.startswith(base + "/archive/reports/")  # not navigated to a rendering of the bytes


def test_hostile_title_is_text_and_never_runs(page):
    for path in ("/archive/reports_overview?year=2019", "/archive/reports?year=2019"):
        page.goto(path)
        assert page.get_by_text("<script>window.__xss = 1</script>", exact=False).count() >= 1
        assert page.evaluate("typeof window.__xss") == "undefined"
    page.goto("/archive/search_sections?" + urllib.parse.urlencode({"q": "注入"}))
    assert page.evaluate("typeof window.__xss") == "undefined"
