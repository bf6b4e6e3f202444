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
