"""Report fixtures printed to PDF (fixtures/attachments/print_reports.py, LibreOffice's
export): the PDF must give every fact the printed document gives."""

from __future__ import annotations

import json

import pytest

import parsers
from conftest import FIXTURES

PRINTED = sorted((FIXTURES / "attachments" / "printed").glob("*.pdf"))


def test_there_are_printed_fixtures():
    assert len(PRINTED) >= 6


@pytest.mark.parametrize("pdf", PRINTED, ids=lambda p: p.name)
def test_printed_pdf_gives_the_facts_of_its_source(pdf):
    expected = json.loads((FIXTURES / "reports" / f"{pdf.stem}.expected.json").read_text(encoding="utf-8"))
    report = parsers.parse(pdf.read_bytes(), url=pdf.name)
    assert report.error is None, report.warnings
    assert report.form == "pdf"
    assert (report.agency, report.year, report.version) == (expected["agency"], expected["year"], expected["version"])
    diff = {k: (report.facts.get(k), v) for k, v in expected["facts"].items() if report.facts.get(k) != v}
    assert diff == {}
