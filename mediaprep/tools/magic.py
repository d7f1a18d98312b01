"""Everything that knows about libmagic: its C API, called through ctypes.

We use four calls of it (``magic_open``, ``magic_load``, ``magic_buffer``,
``magic_error``; ``magic_version`` for bug reports), unchanged since file 5.x, on
two handles: one answering MIME types, one answering libmagic's words. The library
is opened by the name its packages install it under (``libmagic.so.1`` on Linux),
which the dynamic loader resolves without running anything. Only when that fails
is it found through python-magic's loader, which searches further (Homebrew and
MacPorts folders, Windows builds, ``python-magic-bin``'s bundled DLL) but runs
``ldconfig -p`` to do so (``ctypes.util.find_library``), twice, at import: a cost
every run would pay for a picture whose type takes libmagic a fraction of a
millisecond.
"""
from __future__ import annotations

import ctypes
import functools
import sys
import threading
from typing import Any

from ..errors import MissingDependency

# How to get libmagic, per system; shown once when it is missing.
INSTALL_HINT = ("install libmagic: Debian/Ubuntu: apt-get install libmagic1; Fedora: dnf install "
                "file-libs; Alpine: apk add libmagic; macOS: brew install libmagic")

# magic.h
MAGIC_NONE = 0x000000
MAGIC_MIME_TYPE = 0x000010
MAGIC_PARAM_NAME_MAX = 4
# A name/use recursion limit above libmagic's default (python-magic's issue 190: some
# real files exceed it and libmagic then fails instead of answering).
NAME_MAX = 64

# The library's installed name, per system (Debian, Fedora, Alpine: libmagic.so.1;
# Homebrew and MacPorts: libmagic.1.dylib). Elsewhere python-magic's search finds it.
_SONAME = {"linux": "libmagic.so.1", "darwin": "libmagic.1.dylib"}.get(sys.platform)


def _open_library() -> tuple[ctypes.CDLL, str]:
    """libmagic, and how it was found (for --version)."""
    if _SONAME is not None:
        try:
            return ctypes.CDLL(_SONAME), _SONAME
        except OSError:
            pass  # not where the loader looks: search for it as python-magic does
    try:
        import magic  # python-magic: finds libmagic wherever it is installed
    except ImportError as exc:  # missing wheel or missing libmagic.so
        raise MissingDependency(f"cannot load libmagic ({exc})", hint=INSTALL_HINT) from exc
    found = getattr(magic, "libmagic", None)
    if not isinstance(found, ctypes.CDLL):
        raise MissingDependency("python-magic did not load libmagic", hint=INSTALL_HINT)
    return found, f"found by python-magic: {found._name}"


@functools.lru_cache(maxsize=1)
def _library() -> tuple[Any, str]:
    lib, how = _open_library()
    lib.magic_open.restype = ctypes.c_void_p
    lib.magic_open.argtypes = [ctypes.c_int]
    lib.magic_load.restype = ctypes.c_int
    lib.magic_load.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.magic_buffer.restype = ctypes.c_char_p
    lib.magic_buffer.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    lib.magic_error.restype = ctypes.c_char_p
    lib.magic_error.argtypes = [ctypes.c_void_p]
    if hasattr(lib, "magic_setparam"):
        lib.magic_setparam.restype = ctypes.c_int
        lib.magic_setparam.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_size_t)]
    if hasattr(lib, "magic_version"):
        lib.magic_version.restype = ctypes.c_int
        lib.magic_version.argtypes = []
    return lib, how


class MagicError(Exception):
    """libmagic could not judge a buffer (python-magic's MagicException): not the
    file's fault, so it is reported as an internal error, with libmagic's reason."""


class _Handle:
    """One libmagic cookie with its database loaded. libmagic's calls on a cookie are
    not thread-safe: each goes through the lock."""

    def __init__(self, flags: int) -> None:
        self.lib, _ = _library()
        self.lock = threading.Lock()
        self.cookie = self.lib.magic_open(flags)
        if not self.cookie:
            raise MissingDependency("libmagic cannot start (out of memory?)", hint=INSTALL_HINT)
        if self.lib.magic_load(self.cookie, None) != 0:
            raise MissingDependency(f"libmagic cannot load its database ({self._error()})",
                                    hint="reinstall libmagic (" + INSTALL_HINT.split(": ", 1)[1] + ")")
        if hasattr(self.lib, "magic_setparam"):
            # Best effort, as python-magic does: some versions refuse it and work anyway.
            self.lib.magic_setparam(self.cookie, MAGIC_PARAM_NAME_MAX, ctypes.byref(ctypes.c_size_t(NAME_MAX)))
        self.mime = bool(flags & MAGIC_MIME_TYPE)

    def _error(self) -> str:
        message = self.lib.magic_error(self.cookie)
        return message.decode("utf-8", "backslashreplace") if message else "no reason given"

    def of_buffer(self, data: bytes) -> str:
        with self.lock:
            answer = self.lib.magic_buffer(self.cookie, data, len(data))
            if answer is None:
                if self.lib.magic_error(self.cookie) is None and self.mime:
                    return "application/octet-stream"  # libmagic 5.09 fails without a reason
                raise MagicError(self._error())
        # Its words may quote the file's own bytes, in whatever charset (python-magic's reading).
        return str(answer.decode("utf-8", "backslashreplace"))


@functools.lru_cache(maxsize=1)
def _magic() -> _Handle:
    return _Handle(MAGIC_MIME_TYPE)


@functools.lru_cache(maxsize=1)
def _describer() -> _Handle:
    return _Handle(MAGIC_NONE)


def require() -> None:
    """Raise MissingDependency (exit 3) now, before any work, when libmagic is missing:
    every file would fail the same way, so it is reported once, not once per file."""
    _magic()


def mime_of(head: bytes) -> str:
    """libmagic's MIME verdict on the first bytes of a file."""
    return _magic().of_buffer(head)


def libmagic_version() -> str:
    """libmagic's version and where it was loaded from, e.g. "5.44 (libmagic.so.1)"
    (for --version and bug reports)."""
    lib, how = _library()
    try:
        number = int(lib.magic_version())
    except (AttributeError, ValueError):  # before file 5.13: no magic_version
        return f"unknown version ({how})"
    return f"{number // 100}.{number % 100:02d} ({how})"


def describe(head: bytes) -> str:
    """libmagic's words for the first bytes of a file ("MPEG transport stream data"),
    on one line: what a refusal names when the MIME type says little."""
    text = _describer().of_buffer(head)
    return " ".join(text.split())
