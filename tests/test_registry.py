"""The site registry: the shipped sites.toml, and errors that name line, field and why."""

from __future__ import annotations

import re

import pytest

from conftest import ROOT
from scraper.registry import RegistryError, load_registry, parse_registry

SPEC = ROOT.parent / "shared" / "spec" / "real-sites.md"

GOOD = '''# a comment
[[site]]
id = "a"
name = "甲"
start = ["http://a.example/col/"]

[[site]]   # second
id = "b"
name = "乙"
start = ["http://b.example/col/"]
'''


def test_shipped_registry_has_every_real_column_unverified():
    sites = load_registry(ROOT / "sites.toml")
    assert len({s.id for s in sites}) == len(sites) == 30
    assert all(s.verified is False for s in sites)
    starts = {u for s in sites for u in s.start}
    if SPEC.exists():  # the seed list the registry was written from
        columns = set(re.findall(r"^\| [^|]+ \| (https?://\S+) \|", SPEC.read_text(encoding="utf-8"), re.M))
        assert columns and columns == starts
    assert all(s.level in ("province", "city", "county", "township", "department") for s in sites)


def test_verified_defaults_to_true_and_must_be_boolean():
    assert [s.verified for s in parse_registry(GOOD)] == [True, True]
    with pytest.raises(RegistryError, match=r"sites.toml:11: site #2 \('b'\) field 'verified': true or false"):
        parse_registry(GOOD + 'verified = "no"\n')


@pytest.mark.parametrize("extra, line, fieldname, why", [
    ('delay = "slow"\n', 11, "delay", "a number from 0 to 600"),
    ("delay = -1\n", 11, "delay", "a number from 0 to 600"),
    ('level = "village"\n', 11, "level", "'village' is not one of"),
    ('region_code = "12345"\n', 11, "region_code", "6-digit"),
    ('allow = ["http://b.example/"]\n', 11, "allow", "no scheme or path"),
    ('dealy = 2\n', 11, "dealy", "unknown field"),
])
def test_errors_name_line_field_and_why(extra, line, fieldname, why):
    with pytest.raises(RegistryError) as err:
        parse_registry(GOOD + extra, "reg.toml")
    msg = str(err.value)
    assert msg.startswith(f"reg.toml:{line}: site #2 ('b') field '{fieldname}': "), msg
    assert why in msg


def test_error_points_at_the_field_line_inside_the_block():
    text = GOOD.replace('start = ["http://b.example/col/"]', 'start = ["ftp://b.example/col/"]')
    with pytest.raises(RegistryError, match=r"^sites.toml:10: site #2 \('b'\) field 'start': not an http"):
        parse_registry(text)


def test_missing_field_points_at_the_site_header():
    text = GOOD.replace('name = "乙"\n', "")
    with pytest.raises(RegistryError, match=r"^sites.toml:7: site #2 \('b'\) field 'name': required"):
        parse_registry(text)


def test_duplicate_id_and_bad_toml():
    with pytest.raises(RegistryError, match=r"sites.toml:8: site #2 \('a'\) field 'id': duplicate id 'a'"):
        parse_registry(GOOD.replace('id = "b"', 'id = "a"'))
    with pytest.raises(RegistryError, match=r"not valid TOML: .*line 3"):
        parse_registry('[[site]]\nid = "a"\nname = \n')
    with pytest.raises(RegistryError, match="no \\[\\[site\\]\\] entries"):
        parse_registry("# empty\n")


def test_missing_file_is_a_registry_error(tmp_path):
    with pytest.raises(RegistryError, match="registry file not found"):
        load_registry(tmp_path / "nope.toml")
    (tmp_path / "gbk.toml").write_bytes('[[site]]\nname = "甲"\n'.encode("gbk"))
    with pytest.raises(RegistryError, match="not UTF-8"):
        load_registry(tmp_path / "gbk.toml")
