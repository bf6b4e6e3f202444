"""Agencies and the cross-report checks (`xxgk check`) on a small archive built with breaks:
name variants of one body across years, a carry-over break, an in-force break, a
duplicate, and names that resolve to nothing or to two agencies."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from parsers import Report
from scraper import archive
from scraper.agencies import Resolver, normalize
from scraper.cli import cli
from scraper.registry import Site


@pytest.mark.parametrize("a, b", [
    ("平潭综合实验区", "平潭综合实验区管委会"), ("平潭综合实验区", "平潭综合实验区管理委员会"),
    ("白水县人民政府", "白水县"), ("白水县人民政府", "白水县政府"),
    ("上海市人民政府办公厅", "上海市政府办公室"), ("青山市 民政局", "青山市民政局"), ("ＡＢ市民政局", "AB市民政局"),
])
def test_variants_of_one_body_normalize_alike(a, b):
    assert normalize(a) == normalize(b)


@pytest.mark.parametrize("a, b", [
    ("白水县人民政府", "白水县人民政府办公室"), ("白水县人民政府", "白水县民政局"),
    ("上海市人民政府", "上海市人民政府办公厅"), ("青山市民政局", "青山市民政厅"),
])
def test_different_bodies_stay_apart(a, b):
    assert normalize(a) != normalize(b)


SITES = [
    Site(id="pingtan", name="平潭综合实验区", start=["http://127.0.0.1:1/"], region="福建省平潭综合实验区",
         region_code="350128", level="county", aliases=["平潭综合实验区党工委管委会"]),
    Site(id="qingshan-mzj", name="青山市民政局", start=["http://127.0.0.1:1/q"], region="青山市", level="department"),
    # two bodies sharing an alias: a report under that alias is ambiguous
    Site(id="east", name="东区教育局", start=["http://127.0.0.1:1/e"], aliases=["区教育局"]),
    Site(id="west", name="西区教育局", start=["http://127.0.0.1:1/w"], aliases=["区教育局"]),
]


def report(agency, year, *, version="2021", url=None, facts=None, kind="agency") -> Report:
    return Report(source=url or f"http://127.0.0.1:1/{agency}/{year}.html", title=f"{agency}{year}年政府信息公开工作年度报告",
                  agency=agency, year=year, version=version, kind=kind, published=f"{year + 1}-01-20",
                  facts=facts or {})


def flow(carried_over, carried_forward, rules=(0, 0, 0)) -> dict:
    made, repealed, in_force = rules
    return {"applications.carried_over.total": carried_over, "applications.carried_forward.total": carried_forward,
            "active.rules.made": made, "active.rules.repealed": repealed, "active.rules.in_force": in_force,
            "active.normative_docs.made": None, "active.normative_docs.repealed": 0,
            "active.normative_docs.in_force": 5}


@pytest.fixture
def broken_archive(tmp_path):
    path = tmp_path / "archive.db"
    db = archive.open_archive(path)
    archive.upsert_sites(db, SITES)
    save = lambda r, site: archive.save_report(db, r, site_id=site, capture_id=None, sha256=None)  # noqa: E731
    # 平潭: three spellings over three years; 2022 carries over 5 though 2021 carried forward 4
    save(report("平潭综合实验区管委会", 2020, facts=flow(0, 2, (1, 0, 10))), "pingtan")
    save(report("平潭综合实验区", 2021, facts=flow(2, 4, (2, 1, 11))), "pingtan")        # both links hold
    save(report("平潭综合实验区党工委管委会", 2022, facts=flow(5, 0, (3, 0, 20))), "pingtan")  # 5 != 4; 20 != 11+3
    # 青山: 2019 template in 2020 (no in-force flow), 2021 published twice at two URLs
    save(report("青山市民政局", 2020, version="2019", facts=flow(0, 1)), "qingshan-mzj")
    save(report("青山市民政局", 2021, facts=flow(1, 0)), "qingshan-mzj")
    save(report("青山市民政局", 2021, url="http://127.0.0.1:1/q/copy.html", facts=flow(1, 0)), "qingshan-mzj")
    # names that resolve to nothing, or to two agencies
    save(report("黑山县教育局", 2021, facts=flow(0, 0)), None)
    save(report("区教育局", 2021, facts=flow(0, 0)), "east")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path, db


def test_variants_resolve_to_one_agency_and_unknown_names_to_none(broken_archive):
    _, db = broken_archive
    rows = db.execute("SELECT r.agency, a.name FROM reports r LEFT JOIN agencies a ON a.id = r.agency_id").fetchall()
    linked = dict(rows)
    assert {linked[n] for n in ("平潭综合实验区管委会", "平潭综合实验区", "平潭综合实验区党工委管委会")} == {"平潭综合实验区"}
    assert linked["黑山县教育局"] is None and linked["区教育局"] is None
    a = db.execute("SELECT region, region_code, level, site_id FROM agencies WHERE name = '平潭综合实验区'").fetchone()
    assert a == ("福建省平潭综合实验区", "350128", "county", "pingtan")
    assert Resolver.from_db(db).why_not("区教育局") == "ambiguous: 东区教育局, 西区教育局"


def test_xxgk_check_finds_every_break(broken_archive):
    path, _ = broken_archive
    result = CliRunner().invoke(cli, ["check", "--db", str(path), "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    carry = {(f["agency"], f["year"]): f["ok"] for f in found["applications.carry_link"]}
    assert carry == {("平潭综合实验区", 2021): True, ("平潭综合实验区", 2022): False, ("青山市民政局", 2021): True}
    flows = {(f["agency"], f["year"], f["detail"].split(":")[0]): f["ok"] for f in found["active.in_force_flow"]}
    # normative_docs.made is null: skipped, never guessed; 青山 2020 uses the 2019 tables: no flow
    assert flows == {("平潭综合实验区", 2021, "rules"): True, ("平潭综合实验区", 2022, "rules"): False}
    assert [(d["agency"], d["year"]) for d in found["duplicates"]] == [("青山市民政局", 2021)]
    unresolved = {u["agency"]: u["detail"] for u in found["agencies.unresolved"]}
    assert set(unresolved) == {"黑山县教育局", "区教育局"}
    assert "ambiguous" in unresolved["区教育局"] and "no registry name" in unresolved["黑山县教育局"]

    text = CliRunner().invoke(cli, ["check", "--db", str(path)]).output
    assert "applications.carry_link: 3 checked, 1 failed" in text
    assert "平潭综合实验区 2022: carried over 5 in 2022, carried forward 4 in 2021" in text
    assert "agencies.unresolved: 2 names resolve to no agency" in text


def test_an_alias_added_later_links_old_reports(broken_archive, tmp_path):
    path, db = broken_archive
    registry = tmp_path / "sites.toml"
    registry.write_text('[[site]]\nid = "heishan-jyj"\nname = "黑山县教育局"\nregion = "黑山县"\nlevel = "department"\n'
                        'start = ["http://127.0.0.1:1/h"]\n', encoding="utf-8")
    db.conn.close()
    result = CliRunner().invoke(cli, ["reparse", "--db", str(path), "--registry", str(registry)])
    assert result.exit_code == 0, result.output
    assert "agency unresolved 1" in result.output  # 区教育局 stays ambiguous
    db = archive.open_archive(path)
    assert db.execute("SELECT a.name FROM reports r JOIN agencies a ON a.id = r.agency_id "
                      "WHERE r.agency = '黑山县教育局'").fetchone() == ("黑山县教育局",)


def test_the_kept_resolver_follows_every_change_of_the_agencies(tmp_path):
    """`Resolver.from_db` is kept between reports; an agency added by the registry, by plain
    SQL on the same connection, or by another connection is seen at once."""
    path = tmp_path / "archive.db"
    db = archive.open_archive(path)
    archive.upsert_sites(db, [Site(id="a", name="甲县民政局", start=["http://127.0.0.1:1/a/"])])
    assert Resolver.from_db(db) is Resolver.from_db(db)  # kept while nothing changed
    assert Resolver.from_db(db).resolve("乙县民政局") is None
    archive.upsert_sites(db, [Site(id="b", name="乙县民政局", start=["http://127.0.0.1:1/b/"])])
    assert Resolver.from_db(db).resolve("乙县民政局") is not None
    with db.conn:
        db.execute("INSERT INTO agencies (name) VALUES ('丙县民政局')")
    assert Resolver.from_db(db).resolve("丙县民政局") is not None
    other = archive.open_archive(path)
    with other.conn:
        other.execute("UPDATE agencies SET aliases = '[\"丁县民政局\"]' WHERE name = '甲县民政局'")
    assert Resolver.from_db(db).resolve("丁县民政局") == Resolver.from_db(db).resolve("甲县民政局") is not None


def test_sync_sites_merges_sites_of_one_body_into_one_agency(tmp_path):
    db = archive.open_archive(tmp_path / "archive.db")
    archive.upsert_sites(db, [Site(id="a1", name="白水县人民政府", start=["http://127.0.0.1:1/a/"]),
                              Site(id="a2", name="白水县", start=["http://127.0.0.1:1/b/"], aliases=["白水"]),
                              Site(id="c", name="白水县民政局", start=["http://127.0.0.1:1/c/"])])
    rows = db.execute("SELECT name, site_id, aliases FROM agencies ORDER BY id").fetchall()
    assert rows == [("白水县人民政府", "a1", '["白水"]'), ("白水县民政局", "c", "[]")]
