"""Shared by test_warc.py and test_mirror.py: what an archive's reports say (ids left out,
so two archives can be compared), the CLI, and the real tools (wget, httrack)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from scraper.cli import cli


def reports(db: Path) -> dict[tuple, dict]:
    """Every current report by (source URL, agency, year, version): its facts and checks."""
    conn = sqlite3.connect(db)
    out = {}
    for rid, url, agency, year, version in conn.execute(
            "SELECT id, source_url, agency, year, version FROM reports WHERE current = 1"):
        out[(url, agency, year, version)] = {
            "facts": sorted(conn.execute("SELECT key, value, raw FROM facts WHERE report_id = ?", [rid])),
            "checks": sorted(conn.execute("SELECT rule, ok, detail FROM checks WHERE report_id = ?", [rid])),
        }
    conn.close()
    return out


def xxgk(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def tool(name: str) -> str:
    """A real tool the acceptance tests need; CI installs it (.ci/run), so never a skip."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: apt-get install -y {name} (.ci/run installs it)")
    return path
