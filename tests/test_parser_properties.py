"""Property tests: the parser never raises, and damaged tables never move a number to
another key (a null is fine, a number under the wrong label is not).

The mutation helpers take a `random.Random`, so hypothesis drives them here and
benchmarks/fuzz_parsers.py drives them for its 10,000-case run.  The default profile
keeps this module well under 30 s; `HYPOTHESIS_PROFILE=fuzz` raises the example counts.
"""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html

import parsers

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "fixtures" / "reports"

settings.register_profile("default", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=2500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# Small and mid-size fixtures of every form (the 350 KB page only costs time here).
MUTATE = ["qingshi-gov-2022-tmpl2019.html", "beiling-zfj-2022-typo-youxiaojian.html",
          "linjiang-scjg-2022-split.html", "donghu-rsj-2021-misaligned.html", "shengping-jyj-2021-gb2312.html",
          "jiangkou-mzj-2020-traditional.html", "nanping-jtj-2021-combined.html", "donghu-tjj-2021-space.txt",
          "xilin-tjj-2023-tmpl2019-pipes.txt", "linjiang-wlj-2021-lines-blank.txt", "xilin-gov-2021-glued.txt",
          "linjiang-jtj-2021-pdf.txt", "hanzhong-mzj-2020.txt", "not-report-list-linjiang.html"]
# Clean HTML fixtures whose every fact is known (expected JSON) for the no-moved-number property.
CLEAN = ["qingshi-gov-2022-tmpl2019.html", "beiling-zfj-2022-typo-youxiaojian.html",
         "donghu-wgj-2022-headings-arabic.html", "linjiang-gov-2022.html"]

_CACHE: dict[str, bytes] = {}


def fixture_bytes(name: str) -> bytes:
    if name not in _CACHE:
        _CACHE[name] = (REPORTS / name).read_bytes()
    return _CACHE[name]


def expected_facts(name: str) -> dict:
    return json.loads((REPORTS / name).with_suffix(".expected.json").read_text(encoding="utf-8"))["facts"]


# --- generators and mutations (also used by benchmarks/fuzz_parsers.py) --------------

TOKENS = ["<table>", "</table>", "<tr>", "</tr>", "<td>", "</td>", '<td colspan="3">', '<td rowspan="99999">',
          "<br>", "<p>", "</p>", "&nbsp;", "<img src=x>", "<meta charset=gb2312>", "<html>", "<body>", "|", " ", "\n",
          "一、本年新收政府信息公开申请数量", "（七）总计", "自然人", "商业企业", "总计", "规章", "本年新制作数量",
          "本年制发件数", "第二十条第（一）项", "行政复议", "结果维持", "三、本年度办理结果", "（六）其他处理", "3.其他",
          "二、主动公开政府信息情况", "临江市民政局2021年政府信息公开工作年度报告", "发布日期：2022年01月20日", "索引号：",
          "0", "1", "12", "640020470", "4166.241619", "增15", "减4", "+(0) -(0)", "251000元", "-", "/", "１２",
          "\x00", "\ufeff", "\u3000", "<!--", "-->", "<script>", "</script>", "<![CDATA[", "]]>", "t20210120_"]


def token_soup(rng: random.Random, n: int | None = None) -> str:
    return "".join(rng.choice(TOKENS) for _ in range(n if n is not None else rng.randint(0, 400)))


_TAG = re.compile(r"<[^<>]{0,300}>")


def mutate_text(text: str, rng: random.Random, steps: int = 3) -> str:
    """Delete, duplicate or swap tags (or lines, for text), truncate, splice garbage."""
    for _ in range(steps):
        op = rng.choice(("delete", "duplicate", "swap", "truncate", "splice", "lines"))
        tags = [m.span() for m in _TAG.finditer(text)] if "<" in text else []
        if op == "truncate" and text:
            text = text[: rng.randint(0, len(text))]
        elif op == "splice":
            at = rng.randint(0, len(text))
            text = text[:at] + token_soup(rng, rng.randint(1, 20)) + text[at:]
        elif op == "lines" or not tags:
            lines = text.split("\n")
            if len(lines) > 2:
                i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
                choice = rng.choice(("swap", "delete", "duplicate"))
                if choice == "swap":
                    lines[i], lines[j] = lines[j], lines[i]
                elif choice == "delete":
                    del lines[i]
                else:
                    lines.insert(j, lines[i])
            text = "\n".join(lines)
        elif op == "delete":
            a, b = rng.choice(tags)
            text = text[:a] + text[b:]
        elif op == "duplicate":
            a, _ = rng.choice(tags)
            b = min(len(text), a + rng.randint(1, 5000))
            text = text[:b] + text[a:b] + text[b:]
        else:
            (a, b), (c, d) = sorted(rng.sample(tags, 2)) if len(tags) > 1 else (tags[0], tags[0])
            if b <= c:
                text = text[:a] + text[c:d] + text[b:c] + text[a:b] + text[d:]
    return text


def mutate_fixture(name: str, rng: random.Random) -> bytes:
    data = fixture_bytes(name)
    if rng.random() < 0.3:  # byte-level damage (broken multi-byte sequences included)
        buf = bytearray(data)
        for _ in range(rng.randint(1, 20)):
            if buf:
                buf[rng.randrange(len(buf))] = rng.randrange(256)
        return bytes(buf[: rng.randint(0, len(buf))] if rng.random() < 0.3 else buf)
    enc = "gb18030" if b"gb2312" in data[:2000].lower() or b"gbk" in data[:2000].lower() else "utf-8"
    text = data.decode(enc, errors="replace")
    return mutate_text(text, rng, rng.randint(1, 6)).encode(enc, errors="replace")


# --- damaging one table cell or row, keeping what the document means -----------------

def _value_cells(doc) -> list:
    """<td>s that hold a bare number (the cells whose key we know from the expected JSON)."""
    return [td for td in doc.iter("td") if re.fullmatch(r"\s*[0-9]+(\.[0-9]+)?\s*", td.text_content() or "")
            and not td.findall(".//table")]


def _is_label(td) -> bool:
    """A cell with words in it (not a number, not blank)."""
    return bool(re.search(r"[^\W\d_]", td.text_content() or ""))


def damage_table(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One of: blank a value cell, delete a value cell, move a row's label cell elsewhere in
    the row (the numbers keep their order), swap two data rows of a table (each keeps its
    label).  The numbers that remain keep their meaning, so no fact may change key."""
    doc = lxml_html.document_fromstring(data.decode("utf-8"))
    values = _value_cells(doc)
    op = rng.choice(("blank", "delete", "move_label", "swap_rows"))
    if op in ("blank", "delete") and values:
        td = rng.choice(values)
        if op == "blank":
            for child in list(td):
                td.remove(child)
            td.text = "\xa0"
        else:
            td.getparent().remove(td)
    elif op == "move_label":
        rows = [tr for tr in doc.iter("tr") if any(td in values for td in tr) and len(tr) > 2
                and not any(td.get("rowspan") for td in tr) and any(_is_label(td) for td in tr)]
        if rows:
            tr = rng.choice(rows)
            label = [td for td in tr if _is_label(td)][0]
            tr.remove(label)
            tr.insert(rng.randint(1, len(tr)), label)
    else:
        tables = [t for t in doc.iter("table") if len([tr for tr in t.iter("tr") if any(td in values for td in tr)]) > 1]
        if tables:
            t = rng.choice(tables)
            rows = [tr for tr in t.iter("tr") if any(td in values for td in tr)
                    and not any(td.get("rowspan") for td in tr)]
            if len(rows) > 1:
                a, b = rng.sample(rows, 2)
                a_mark, b_mark = lxml_html.Element("tr"), lxml_html.Element("tr")
                a.addprevious(a_mark)
                b.addprevious(b_mark)
                a_mark.addprevious(b)
                b_mark.addprevious(a)
                for m in (a_mark, b_mark):
                    m.getparent().remove(m)
    out = lxml_html.tostring(doc, encoding="unicode", doctype="<!DOCTYPE html>")
    return out.encode("utf-8"), op


# --- the properties ------------------------------------------------------------------

def _parse_ok(data, url=None) -> None:
    report = parsers.parse(data, url=url)
    report.to_json(provenance=True)  # the JSON form must build too
    json.dumps(report.to_json(), ensure_ascii=False)


@given(st.binary(max_size=5000))
def test_random_bytes_never_raise(data):
    _parse_ok(data)


@given(st.text(max_size=3000))
def test_random_text_never_raises(text):
    _parse_ok(text)


@given(st.randoms(use_true_random=False), st.sampled_from([None, "x.html", "x.txt", "http://h/t20210120_1.html"]))
def test_token_soup_never_raises(rng, url):
    _parse_ok(token_soup(rng).encode("utf-8"), url)


@given(st.sampled_from(MUTATE), st.randoms(use_true_random=False))
def test_mutated_fixtures_never_raise(name, rng):
    _parse_ok(mutate_fixture(name, rng), url=f"fixtures/reports/{name}")


def test_untouched_serialization_keeps_every_fact():
    """The property below re-serializes pages with lxml; that alone must change nothing."""
    for name in CLEAN:
        want = expected_facts(name)
        doc = lxml_html.document_fromstring(fixture_bytes(name).decode("utf-8"))
        data = lxml_html.tostring(doc, encoding="unicode", doctype="<!DOCTYPE html>").encode("utf-8")
        got = parsers.parse(data, url=name).facts
        assert got == want, name


@given(st.sampled_from(CLEAN), st.randoms(use_true_random=False))
def test_damaged_cells_never_move_a_number_to_another_key(name, rng):
    want = expected_facts(name)
    data, op = damage_table(fixture_bytes(name), rng)
    report = parsers.parse(data, url=name)
    moved = {k: (v, want.get(k)) for k, v in report.facts.items() if v is not None and v != want.get(k)}
    assert not moved, f"{name} after {op}: facts that changed (got, original): {moved}"
