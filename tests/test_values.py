"""One cell read as a number (report-format.md §4): what is a number, what is not."""

from __future__ import annotations

import pytest

from parsers.values import CellValue, looks_numeric, parse_value


@pytest.mark.parametrize("raw, value", [
    ("4", 4), (" 12 ", 12), ("１２", 12), ("1,234", 1234), ("251000元", 251000), ("3 件", 3),
    ("24252.311082", 24252.311082), ("4166.241619", 4166.241619), ("0", 0),
])
def test_plain_numbers(raw, value):
    assert parse_value(raw) == CellValue(value, None)


@pytest.mark.parametrize("raw", ["", "\u00a0", "—", "-", "/", "／", "∕", "无"])
def test_no_number_is_null_without_a_warning(raw):
    assert parse_value(raw).value is None and parse_value(raw).problem is None
    assert looks_numeric(raw)


@pytest.mark.parametrize("raw, value", [("增15", 15), ("减4", -4), ("+1036", 1036), ("-2", -2), ("+(3)", 3)])
def test_signed_forms_in_change_columns(raw, value):
    assert parse_value(raw, signed=True).value == value


@pytest.mark.parametrize("raw", ["增15", "减4", "-2"])
def test_signed_forms_elsewhere_are_null_with_a_reason(raw):
    cell = parse_value(raw)
    assert cell.value is None and raw in cell.problem


@pytest.mark.parametrize("raw", ["+(0) -(0)", "4 5", "4\n5", "1 234", "2020年1-4月行政许可13件(2020年4月后)"])
def test_two_numbers_or_a_sentence_are_null_with_the_text_quoted(raw):
    cell = parse_value(raw, signed=True)
    assert cell.value is None
    assert raw.strip() in cell.problem
