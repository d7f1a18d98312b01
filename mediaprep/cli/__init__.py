"""The command line: click commands over the library; the only place errors become
exit codes. ``main`` is the command group in main.py; ``run`` (the `mediaprep`
script) runs it as a process of its own."""
from __future__ import annotations

from .main import main, run

__all__ = ["main", "run"]
