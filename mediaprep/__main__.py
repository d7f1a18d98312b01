"""``python -m mediaprep``: the same command line as the ``mediaprep`` script."""
from __future__ import annotations

import sys

from .cli.main import main

sys.exit(main())
