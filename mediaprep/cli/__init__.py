"""The command line: click commands over the library; the only place errors become
exit codes. ``main`` (the `mediaprep` script) is the command group in main.py."""
from __future__ import annotations

from .main import main

__all__ = ["main"]
