"""``python -m mediaprep``: the same command line as the ``mediaprep`` script."""
from __future__ import annotations

from .cli.main import run

run()
