"""The command line starts without pandas and numpy, and they still import afterwards.

Each check runs in a fresh interpreter: the test process has imported both long ago.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_command_line_start_imports_neither_pandas_nor_numpy():
    out = run("import sys, scraper.cli; print(sorted(m for m in ('numpy', 'pandas') if m in sys.modules))")
    assert out == "[]"


def test_numpy_imports_after_the_command_line_and_sqlite_utils_still_writes(tmp_path):
    out = run("import scraper.cli, numpy, sqlite_utils\n"
              "db = sqlite_utils.Database(memory=True)\n"
              "db['t'].insert({'a': 1, 'b': 'x'})\n"
              "print(numpy.__name__, db.execute('select a, b from t').fetchall())")
    assert out == "numpy [(1, 'x')]"


def test_a_module_imported_before_is_left_alone():
    out = run("import numpy, sqlite_utils.db as d, scraper.cli\nprint(d.np is numpy)")
    assert out == "True"


def test_the_program_leaves_its_objects_to_the_operating_system_at_exit():
    """`xxgk` (and `python -m scraper`) freeze the collector once the command is done, so
    the interpreter's exit does not search every module's objects for cycles; the command's
    exit code and output are those of the command."""
    out = run("import atexit, gc, sys\n"
              "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0))\n"
              "sys.argv = ['xxgk', '--version']\n"
              "from scraper.cli import main\n"
              "main()")
    assert out.splitlines()[0].startswith("xxgk, version ") and out.splitlines()[-1] == "frozen True"
    done = subprocess.run([sys.executable, "-m", "scraper", "crawl", "--registry", "no-such.toml"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "no-such.toml" in done.stderr


def test_a_crawl_asks_for_robots_txt_before_it_imports_the_parsers_and_sqlite_utils(tmp_path):
    """The first requests leave about 0.1 s sooner: `xxgk crawl` imports the parsers and
    sqlite-utils (without pandas) only once every host's robots.txt request is on its way."""
    registry = tmp_path / "sites.toml"
    registry.write_text('[[site]]\nid = "a"\nname = "甲县民政局"\nstart = ["http://127.0.0.1:9/a/"]\n',
                        encoding="utf-8")
    out = run("import sys\n"
              "from scraper import fetch\n"
              "warm = fetch.Fetcher.warm\n"
              "async def watched(self, urls, wait):\n"
              "    print('at warm:', sorted(m for m in ('parsers', 'sqlite_utils') if m in sys.modules))\n"
              "    return await warm(self, urls, wait)\n"
              "fetch.Fetcher.warm = watched\n"
              "import atexit\n"
              "atexit.register(lambda: print('at exit:', sorted(m for m in ('pandas', 'parsers', 'sqlite_utils') "
              "if m in sys.modules)))\n"
              f"sys.argv = ['xxgk', 'crawl', '--db', {str(tmp_path / 'a.db')!r}, '--registry', {str(registry)!r}, "
              "'--retries', '0', '--timeout', '1']\n"
              "from scraper.cli import main\n"
              "try:\n    main()\nexcept SystemExit:\n    pass")
    assert "at warm: []" in out.splitlines()
    assert out.splitlines()[-1] == "at exit: ['parsers', 'sqlite_utils']"


def test_the_other_commands_import_sqlite_utils_without_pandas(tmp_path):
    out = run("import atexit, sys\n"
              "atexit.register(lambda: print('at exit:', sorted(m for m in ('numpy', 'pandas', 'sqlite_utils') "
              "if m in sys.modules)))\n"
              f"sys.argv = ['xxgk', 'scorecard', '--db', {str(tmp_path / 'a.db')!r}]\n"
              "from scraper.cli import main\n"
              "try:\n    main()\nexcept SystemExit:\n    pass")
    assert out.splitlines()[-1] == "at exit: ['sqlite_utils']"
