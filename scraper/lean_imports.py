"""sqlite-utils imported without pandas and numpy, for a short `xxgk` start.

sqlite-utils imports pandas and numpy whenever they are installed, only to map their
scalar types to column types when it creates a table from Python values.  The archive's
tables are made by SQL (`schema.py`) and take plain Python values, so neither is needed;
with pandas installed (as beside the benchmarks, or in a researcher's environment) the two
imports were 0.35 s of a 0.6 s start of every command.  The command line imports this
first; any later `import pandas` or `import numpy` (OCR uses numpy) works as usual.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

SKIPPED = ("pandas", "numpy")


def sqlite_utils() -> ModuleType:
    """The `sqlite_utils` module, imported (once) while pandas and numpy read as absent."""
    if "sqlite_utils" in sys.modules:
        return sys.modules["sqlite_utils"]
    hidden = [name for name in SKIPPED if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # importing a None entry raises ImportError
    try:
        return importlib.import_module("sqlite_utils")
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


sqlite_utils()
