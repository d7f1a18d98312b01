"""How mediaprep opens a file it reads: one set of flags for sniff, the early decode
and the batch worker. (Only ``os`` is imported here: the early decode reads these
before anything else of the command is loaded.)"""
from __future__ import annotations

import os

# Never wait (a FIFO swapped in after a stat would block a plain open until a writer
# comes), never take a terminal as the controlling one, never pass the descriptor on
# to a child process.
READ = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
# Never through a symlink in the last component (the open fails with ELOOP): for a
# path that was not a link when it was looked at, or a link not chosen to be followed.
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
READ_NOFOLLOW = READ | NOFOLLOW
