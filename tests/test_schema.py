"""Schema migrations: an archive written at the first schema version upgrades in place
with its data kept; a failing step leaves the archive as it was."""

from __future__ import annotations

import sqlite3
import zlib

import pytest

from scraper import archive, schema


def old_archive(path) -> None:
    """An archive as schema version 1 wrote it (facts as a table with labels per fact)."""
    conn = sqlite3.connect(path)
    for statement in schema._statements(schema.MIGRATIONS[0]):
        conn.execute(statement)
    conn.execute("PRAGMA user_version=1")
    body = "<html>白水县人民政府2020年政府信息公开工作年度报告</html>".encode()
    conn.execute("INSERT INTO bodies VALUES ('abc', ?, 'zlib', ?)", [len(body), zlib.compress(body)])
    conn.execute("INSERT INTO sites (id, name) VALUES ('baishui', '白水县人民政府')")
    conn.execute("INSERT INTO captures (id, site_id, url, fetched_at, status, content_type, sha256, size) "
                 "VALUES (1, 'baishui', 'http://127.0.0.1:1/r.html', '2021-03-21T00:00:00Z', 200, 'text/html', 'abc', ?)",
                 [len(body)])
    conn.execute("INSERT INTO reports (id, site_id, agency, year, version, kind, title, source_url, capture_id, current) "
                 "VALUES (7, 'baishui', '白水县人民政府', 2020, '2019', 'government', 't', 'http://127.0.0.1:1/r.html', 1, 1)")
    facts = [("applications.new_received.total", 21, "21", 3, 3, 9),
             ("applications.granted.total", 10, "10件", 3, 5, 9),
             ("active.fees.change", None, "—", 1, 8, 3),
             ("active.licensing.change", None, "2020年1-4月行政许可13件", 1, 1200, 4),
             ("active.fees.amount", 24252.311082, "24252.311082", 1, 9, 2)]
    for key, value, raw, t, r, c in facts:
        table, rest = key.split(".", 1)
        row, col = rest.rsplit(".", 1)
        conn.execute("INSERT INTO facts (report_id, key, table_name, row_key, col_key, value, raw, label, row_label, "
                     "col_label, grid_table, grid_row, grid_col) VALUES (7,?,?,?,?,?,?,?,?,?,?,?,?)",
                     [key, table, row, col, value, raw, "label", "行", "列", t, r, c])
    conn.execute("INSERT INTO checks VALUES (7, 'applications.balance', 0, 'total: 21+0 != 20+0')")
    conn.execute("INSERT INTO sections (report_id, section, text) VALUES (7, 'overview', '本年度组织培训两次，公开信息处理费标准。')")
    conn.commit()
    conn.close()


def test_an_old_archive_upgrades_in_place_with_its_data(tmp_path):
    path = tmp_path / "archive.db"
    old_archive(path)
    db = archive.open_archive(path)
    assert schema.version(db) == len(schema.MIGRATIONS)
    got = {r[0]: r[1:] for r in db.execute(
        "SELECT key, value, raw, grid_table, grid_row, grid_col, label FROM facts WHERE report_id = 7")}
    assert got["applications.new_received.total"][:5] == (21, "21", 3, 3, 9)
    assert got["applications.granted.total"][:5] == (10, "10件", 3, 5, 9)
    assert got["active.fees.change"][:5] == (None, "—", 1, 8, 3)
    assert got["active.licensing.change"][:5] == (None, "2020年1-4月行政许可13件", 1, 1200, 4)
    assert got["active.fees.amount"][:2] == (24252.311082, "24252.311082")
    assert got["applications.granted.total"][5] == "(一)予以公开 › 总计"  # labels from the catalogue now
    assert archive.capture_body(db, 1) == "<html>白水县人民政府2020年政府信息公开工作年度报告</html>".encode()
    assert db.execute("SELECT rule, ok, detail FROM checks WHERE report_id = 7").fetchall() == [
        ("applications.balance", 0, "total: 21+0 != 20+0")]
    summary = db.execute("SELECT new_received, granted FROM report_summary WHERE report_id = 7").fetchone()
    assert summary == (21, 10)
    # the old section text is searchable with three characters and with two
    assert db.execute("SELECT rowid FROM sections_fts WHERE sections_fts MATCH '\"信息处理费\"'").fetchall()
    assert db.execute("SELECT rowid FROM sections_bigrams WHERE sections_bigrams MATCH '\"培训\"'").fetchall()
    # and the upgraded archive takes new reports and links agencies
    archive.upsert_sites(db, [type("S", (), dict(id="baishui", name="白水县人民政府", region="白水县", region_code=None,
                                                 level="county", start=[], allow=[], verified=True, aliases=[]))()])
    assert db.execute("SELECT agency_id FROM reports WHERE id = 7").fetchone()[0] is not None
    db.conn.close()
    again = archive.open_archive(path)  # opening an up-to-date archive changes nothing
    assert schema.version(again) == len(schema.MIGRATIONS)


def test_a_failing_step_leaves_the_archive_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / "archive.db"
    old_archive(path)
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:3] + ["CREATE TABLE broken (x);\nSELECT no_such_fn();\n"])
    with pytest.raises(sqlite3.OperationalError):
        archive.open_archive(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'broken'").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM facts").fetchone()[0] == 5


def test_bigrams_cover_every_character():
    assert schema.bigrams("培训工作") == "培训 训工 工作 作"
    assert schema.bigrams("") == "" and schema.bigrams(None) == ""


def test_report_versions_equal_the_window_definition(tmp_path):
    """Step 12's correlated-lookup `report_versions` gives row for row what step 4's window
    functions gave, on histories with changed pages, re-published URLs, reports without a
    capture and without an agency."""
    import random

    db = archive.open_archive(tmp_path / "archive.db")
    rng = random.Random(12)
    with db.conn:
        db.execute("INSERT INTO agencies (id, name) VALUES (1, '临江市民政局'), (2, '临江市财政局')")
        db.execute("INSERT INTO sites (id, name) VALUES ('lj', '临江市')")
        for cid in range(1, 30):
            db.execute("INSERT INTO captures (id, site_id, url, fetched_at) VALUES (?, 'lj', 'u', ?)",
                       [cid, f"2024-01-{cid % 28 + 1:02d}T00:00:00Z"])
        for rid in range(1, 80):
            agency_id = rng.choice([1, 2, None])
            db.execute("INSERT INTO reports (id, agency_id, agency, year, kind, source_url, capture_id, current) "
                       "VALUES (?,?,?,?,?,?,?,?)",
                       [rid, agency_id, rng.choice(["临江市民政局", "临江市水利局"]), rng.choice([2020, 2021, None]),
                        rng.choice(["agency", None]), rng.choice([f"http://127.0.0.1:1/{i}.html" for i in range(6)] + [None]),
                        rng.choice([*range(1, 30), None]), rng.randint(0, 1)])
    window = next(st for st in schema._statements(schema.VIEWS) if "CREATE VIEW report_versions" in st)
    db.execute(window.replace("CREATE VIEW report_versions", "CREATE TEMP VIEW report_versions_window"))
    got = db.execute("SELECT * FROM report_versions ORDER BY report_id").fetchall()
    want = db.execute("SELECT * FROM report_versions_window ORDER BY report_id").fetchall()
    assert len(got) == 79 and got == want
    assert {r[12] for r in got} > {1} and {r[13] for r in got} > {1}  # histories of several versions


def _search(conn, word: str) -> list[int]:
    """Rowids of the sections the two indexes find for `word` (trigram ≥ 3 characters)."""
    fts = "sections_fts" if len(word) >= 3 else "sections_bigrams"
    return sorted(r for (r,) in conn.execute(f"SELECT rowid FROM {fts} WHERE {fts} MATCH ?", [f'"{word}"']))


def _consistent(conn) -> None:
    """FTS5's own check: the trigram index holds exactly what `sections` holds."""
    with conn:  # an INSERT: Python's sqlite3 opens a transaction for it
        conn.execute("INSERT INTO sections_fts (sections_fts) VALUES ('integrity-check')")
        conn.execute("INSERT INTO sections_bigrams (sections_bigrams) VALUES ('integrity-check')")


def test_sections_are_indexed_when_their_batch_commits(tmp_path):
    """Step 17: a crawl's units are savepoints of one batch; their sections are indexed by
    the batch's commit, a failed unit's never, and a section changed or deleted before or
    after it was indexed leaves the indexes exactly as `sections` is."""
    from scraper.group_commit import GroupCommit

    db = archive.open_archive(tmp_path / "a.db")
    conn = db.conn
    with conn:
        conn.executemany("INSERT INTO reports (id, agency, year) VALUES (?, '某县教育局', 2021)", [(i,) for i in range(1, 5)])
    reader = sqlite3.connect(tmp_path / "a.db")
    commits = GroupCommit(conn, every=3600, before_commit=schema.index_sections)

    def section(report_id: int, name: str, text: str) -> int:
        return conn.execute("INSERT INTO sections (report_id, section, text) VALUES (?,?,?)",
                            [report_id, name, text]).lastrowid

    with commits.unit():
        kept = section(1, "overview", "本年度组织培训两次")
    with pytest.raises(RuntimeError), commits.unit():
        section(2, "overview", "这一段永远不会提交")
        raise RuntimeError("a parser bug")
    with commits.unit():
        changed = section(3, "overview", "先写的文字")
    with commits.unit():
        conn.execute("UPDATE sections SET text = '后改的文字' WHERE rowid = ?", [changed])
        gone = section(4, "overview", "写了又删掉")
    with commits.unit():
        conn.execute("DELETE FROM sections WHERE rowid = ?", [gone])
    assert conn.execute("SELECT count(*) FROM sections_unindexed").fetchone()[0] == 2
    assert _search(reader, "培训") == []  # nothing committed yet
    commits.flush()
    assert _search(reader, "培训") == [kept] and _search(reader, "组织培训") == [kept]
    assert _search(reader, "后改的") == [changed] and _search(reader, "先写的") == []
    assert _search(reader, "永远不会") == [] and _search(reader, "又删掉") == []
    assert reader.execute("SELECT count(*) FROM sections_unindexed").fetchone()[0] == 0
    _consistent(conn)
    # sections indexed already: changed and deleted in the indexes at once
    with commits.unit():
        conn.execute("UPDATE sections SET text = '第三次的文字' WHERE rowid = ?", [changed])
        conn.execute("DELETE FROM sections WHERE rowid = ?", [kept])
    commits.flush()
    assert _search(reader, "培训") == [] and _search(reader, "后改的") == []
    assert _search(reader, "第三次") == [changed]
    _consistent(conn)
    reader.close()


def test_sections_a_raw_writer_left_unindexed_are_indexed_on_open(tmp_path):
    db = archive.open_archive(tmp_path / "a.db")
    with db.conn:
        db.conn.executemany("INSERT INTO reports (id, agency, year) VALUES (?, '某县教育局', 2021)", [(1,), (2,)])
    with db.conn:  # SQL of its own, committed without schema.index_sections
        db.conn.execute("INSERT INTO sections (report_id, section, text) VALUES (1, 'overview', '信息处理费标准')")
    assert _search(db.conn, "处理费") == []
    db.conn.close()
    db = archive.open_archive(tmp_path / "a.db")
    assert _search(db.conn, "处理费") == [1] and _search(db.conn, "标准") == [1]
    _consistent(db.conn)
    with archive.transaction(db):  # the archive's own writes index before they commit
        db.conn.execute("INSERT INTO sections (report_id, section, text) VALUES (2, 'overview', '年度报告')")
    assert _search(sqlite3.connect(tmp_path / "a.db"), "年度") == [2]


def test_registry_sites_are_updated_in_place_and_keep_what_the_archive_learned(tmp_path):
    """`upsert_sites` (one statement for the whole registry): a site named again takes the
    registry's new fields, keeps `reached_at`, and is counted once in `row_counts`."""
    from scraper.registry import Site

    db = archive.open_archive(tmp_path / "archive.db")
    archive.upsert_sites(db, [Site(id="a", name="甲县民政局", start=["http://127.0.0.1:1/a/"], region="甲县"),
                              Site(id="b", name="乙县民政局", start=["http://127.0.0.1:1/b/"])])
    db.execute("UPDATE sites SET reached_at = '2026-01-02T00:00:00Z' WHERE id = 'a'")
    db.conn.commit()
    archive.upsert_sites(db, [Site(id="a", name="甲县民政局", start=["http://127.0.0.1:1/a2/"], region="甲县",
                                   level="county", verified=False)])
    rows = db.execute("SELECT id, start, region, level, verified, reached_at FROM sites ORDER BY id").fetchall()
    assert rows == [("a", '["http://127.0.0.1:1/a2/"]', "甲县", "county", 0, "2026-01-02T00:00:00Z"),
                    ("b", '["http://127.0.0.1:1/b/"]', None, None, 1, None)]
    assert db.execute("SELECT n FROM row_counts WHERE name = 'sites'").fetchone()[0] == 2
    assert db.execute("SELECT count(*) FROM agencies").fetchone()[0] == 2
