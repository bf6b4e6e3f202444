"""Pure parsers: bytes or text in, normalized report records out.  No network, no DB.

`parse()` is the one entry point (cli.md, "Python API"); the pipeline is
decode → rows of cells (HTML grids or flattened text) → template mapping → metadata,
sections → checks.
"""

from __future__ import annotations

from .document import parse
from .record import Report

__all__ = ["parse", "Report"]
