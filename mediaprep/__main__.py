"""``python -m mediaprep``: the same command line as the ``mediaprep`` script."""
from __future__ import annotations

from .script import run

run()
