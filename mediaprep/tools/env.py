"""The environment settings that tune how external programs run, parsed in one place.

Each is read by the process that starts the children (never in a child between
fork and exec, where an error could only surface as a SubprocessError), and a
value that is not what the variable takes is a UsageError (exit 2) naming the
variable and what to write instead. The CLI parses them all before any work.
"""
from __future__ import annotations

import os

from ..errors import UsageError

# Address-space cap for every external program, in MB (0: none). A decoder fed a
# hostile file must not take the machine down; 4 GiB is far above what ffmpeg
# needs for 4K H.264.
MEMORY_ENV = "MEDIAPREP_CHILD_MEMORY_MB"
DEFAULT_MEMORY_MB = 4096
# How many threads one prepare may use: threads per ffmpeg run (decoders, filters,
# x264), OpenCV's threads, the size of the process's thread pool (tools/threads.py)
# and the number of voice encodes side by side. Unset or 0: the tools' own choice
# (all cores). A batch sets 1 in its workers: there the files are the unit of
# parallelism, and N workers each running an all-core x264 only oversubscribe.
THREADS_ENV = "MEDIAPREP_THREADS"


def _whole_number(name: str, default: int, example: str, meaning: str) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isascii() or not text.isdigit():
        raise UsageError(f"{name} must be a whole number of {meaning}, not {text!r}",
                         hint=f"e.g. {name}={example}, or unset it for the default")
    return int(text)


def child_memory_mb() -> int:
    """MEDIAPREP_CHILD_MEMORY_MB: the cap in MB, 0 for none (default 4096)."""
    return _whole_number(MEMORY_ENV, DEFAULT_MEMORY_MB, str(DEFAULT_MEMORY_MB),
                         "megabytes (0 for no limit)")


def threads() -> int | None:
    """MEDIAPREP_THREADS: the threads one prepare may use (see THREADS_ENV), or None
    for the tools' own choice."""
    return _whole_number(THREADS_ENV, 0, "2", "threads (0 for ffmpeg's choice)") or None


def cores() -> int:
    """The cores this process may use (affinity and cpusets counted where the OS says)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def check_all() -> None:
    """Parse every setting, so a bad value is reported before any work starts."""
    child_memory_mb()
    threads()
