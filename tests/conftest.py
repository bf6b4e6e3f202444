"""Shared fixtures: paths, a built demo archive, free ports."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SEED = FIXTURES / "reports" / "hanzhong-mzj-2020.txt"
CHROMIUM = "/usr/bin/chromium"  # Debian's (.ci/run installs it); never `playwright install`


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def expected_sites() -> dict:
    return json.loads((FIXTURES / "sites" / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def demo_archive(tmp_path_factory) -> Path:
    """The fixture sites crawled once through the real HTTP stack (`xxgk demo --no-serve`)."""
    from click.testing import CliRunner

    from scraper.cli import cli

    db = tmp_path_factory.mktemp("demo") / "archive.db"
    result = CliRunner().invoke(cli, ["demo", "--db", str(db), "--no-serve"])
    assert result.exit_code == 0, result.output
    return db


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by playwright, one per test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps"])
        yield b
        b.close()
