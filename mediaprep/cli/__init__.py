"""The command line: click commands over the library; the only place errors become exit codes."""
from __future__ import annotations

from .main import main

__all__ = ["main"]
