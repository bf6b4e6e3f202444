"""scraper/report_forms.py: the official forms' layout and failed checks explained, without
a server (the pages themselves are tested in test_pages.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from parsers import parse
from parsers.checks import balance, run_checks
from parsers.legacy_template import INDICATORS
from parsers.templates import APPLICATION_ROWS_2019, APPLICATION_ROWS_2021, TEMPLATES
from scraper import report_forms as F

from conftest import FIXTURES, SEED


@pytest.mark.parametrize("version", ["2019", "2021"])
def test_every_template_key_is_placed_once(version):
    forms = F.forms_for(version, version, TEMPLATES[version].keys())
    placed = [k for f in forms for r in f.rows for k in r.keys if k]
    assert sorted(placed) == sorted(TEMPLATES[version].keys())
    assert [f.id for f in forms] == ["active", "applications", "appeals"]
    rows = APPLICATION_ROWS_2019 if version == "2019" else APPLICATION_ROWS_2021
    assert len(forms[1].rows) == len(rows)


def test_rowspans_cover_the_groups():
    form = F.applications_form("2021")
    spans = {l.zh: l.rowspan for r in form.rows for l in r.labels if l.rowspan > 1}
    assert spans["（三）不予公开"] == 8 and spans["（四）无法提供"] == 3 and spans["（五）不予处理"] == 5
    assert spans["（六）其他处理"] == 3
    results = [r for r in APPLICATION_ROWS_2021 if r not in ("new_received", "carried_over", "carried_forward")]
    assert spans["三、本年度办理结果"] == len(results)


def test_a_mixed_report_keeps_every_figure():
    keys = TEMPLATES["2021"].keys() + ["applications.other.total", "active.procurement.amount"]
    forms = F.forms_for("2021", "2021", keys)
    assert set(keys) <= set().union(*(f.keys() for f in forms))
    assert forms[-1].id == "other" and "active.procurement.amount" in forms[-1].keys()


def test_legacy_order_is_every_indicator_once():
    order = F.legacy_order()
    assert sorted(order) == sorted(i.key for i in INDICATORS)
    assert order.index("requests_received") < order.index("requests_in_person")  # the total above its parts


def test_balance_explained_on_the_seed():
    report = parse(SEED.read_bytes(), url=str(SEED))
    failed = balance(report)
    assert failed.ok is False
    found = F.explain("applications.balance", failed.detail, report.facts)
    cols = [part.split(":")[0] for part in failed.detail.split("; ")]
    assert [f.cells[0].rsplit(".", 1)[1] for f in found] == cols
    for f in found:
        a, b, c, d = (report.facts[k] for k in f.cells)
        assert f.arithmetic == f"{a} + {b} ≠ {c} + {d}" and a + b != c + d


def test_legacy_sums_explained():
    path = FIXTURES / "reports" / "legacy-donghu-gov-2016-national.html"
    report = parse(path.read_bytes(), url=str(path))
    report.facts["legacy.staff.year"] += 2
    check = next(c for c in run_checks(report) if c.rule == "legacy.sums")
    assert check.ok is False
    (found,) = F.explain("legacy.sums", check.detail, report.facts)
    assert set(found.cells) == {"legacy.staff.year", "legacy.staff_full_time.year", "legacy.staff_part_time.year"}


def test_cells_tell_blank_unreadable_and_zero_apart():
    row = {"value": None, "raw": "—", "unit": None, "source": None, "label": "", "label_en": "",
           "grid_table": 1, "grid_row": 2, "grid_col": 3}
    assert F.cell_of("k", row).state == "blank"
    assert F.cell_of("k", dict(row, raw="2020年1-3月许可事项8件")).state == "unread"
    zero = F.cell_of("k", dict(row, value=0, raw="0"))
    assert zero.state == "number" and zero.text == "0"
    assert F.cell_of("k", None).state == "absent"
    assert "table 2, row 3, column 4" in zero.where
