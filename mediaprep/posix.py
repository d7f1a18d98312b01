"""What needs a POSIX system (Linux, macOS): batch (its lock uses fcntl, its workers
resource limits and process groups). `import mediaprep` and single-file check and
prepare do not, so these modules are imported where they are used, and the one
line below says what is missing instead of an ImportError traceback."""
from __future__ import annotations

import importlib

from .errors import MissingDependency

POSIX_MODULES = ("fcntl", "resource")


def missing_posix() -> list[str]:
    """The POSIX modules this Python lacks (none on Linux and macOS)."""
    missing = []
    for name in POSIX_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def require_posix(what: str) -> None:
    """Raise MissingDependency (exit 3) in one line when ``what`` cannot run here."""
    missing = missing_posix()
    if missing:
        raise MissingDependency(
            f"{what} needs a POSIX system (Linux or macOS); this Python has no {', '.join(missing)}",
            hint="prepare files one at a time with `mediaprep prepare`, or run under WSL")
