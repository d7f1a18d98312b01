"""The command line: click commands over the library; the only place errors become
exit codes. ``main`` is the command group in main.py; ``run`` (the `mediaprep`
script) runs it as a process of its own."""
from __future__ import annotations

import os

# numpy's OpenBLAS starts a thread per core at import, which then spins for a while
# waiting for work mediaprep never gives it (no large matrix products): 0.1 s of CPU
# taken from the ffmpeg run that follows (the voice decode), ~0.04 s of a 3-minute
# voice note's wall time on two cores. The command is a process of its own, so it
# may say so for itself (the library leaves its host's settings alone); a value the
# user set wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from .main import main, run  # noqa: E402 - after the setting, which numpy reads when it loads

__all__ = ["main", "run"]
