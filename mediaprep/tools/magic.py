"""Everything that knows about libmagic: its C API through ctypes, or python-magic.

Where libmagic is installed under its usual name (``libmagic.so.1`` on Linux,
``libmagic.1.dylib`` on macOS) the dynamic loader opens it without running
anything, and we call the few functions we use ourselves (``magic_open``,
``magic_load``, ``magic_buffer``, ``magic_error``, ``magic_version``; unchanged
since file 5.x), as python-magic does. Importing python-magic instead runs
``ldconfig -p`` twice (``ctypes.util.find_library``, once for each of its two
modules) and costs ~10 ms: every run paid that for a picture whose type takes
libmagic a fraction of a millisecond. Where the loader does not find it by that
name (a Homebrew or MacPorts folder the loader does not search, Windows builds,
``python-magic-bin``'s bundled DLL and database), python-magic searches for it and
is used as before.
"""
from __future__ import annotations

import ctypes
import functools
import sys
import threading
from typing import Any, Protocol

from ..errors import MissingDependency

# How to get libmagic, per system; shown once when it is missing.
INSTALL_HINT = ("install libmagic: Debian/Ubuntu: apt-get install libmagic1; Fedora: dnf install "
                "file-libs; Alpine: apk add libmagic; macOS: brew install libmagic")

# magic.h
MAGIC_NONE = 0x000000
MAGIC_MIME_TYPE = 0x000010
MAGIC_PARAM_NAME_MAX = 4
# A name/use recursion limit above libmagic's default, as python-magic sets it (its
# issue 190: some real files exceed the default and libmagic then fails to answer).
_NAME_USE_LIMIT = 64

# The library's installed name, per system (Debian, Fedora, Alpine: libmagic.so.1;
# macOS: libmagic.1.dylib where the loader looks).
_SONAME = {"linux": "libmagic.so.1", "darwin": "libmagic.1.dylib"}.get(sys.platform)


class MagicError(Exception):
    """libmagic could not judge a buffer (python-magic's MagicException): not the
    file's fault, so it is reported as an internal error, with libmagic's reason."""


class _Judge(Protocol):
    def from_buffer(self, data: bytes) -> str: ...


@functools.lru_cache(maxsize=1)
def _by_name() -> Any | None:
    """libmagic opened by its installed name, its functions typed; None when the
    loader does not find it there."""
    if _SONAME is None:
        return None
    try:
        lib = ctypes.CDLL(_SONAME)
    except OSError:
        return None
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
    return lib


class _Cookie:
    """One libmagic handle with its default database loaded (what python-magic's
    ``Magic()`` makes). libmagic's calls on a handle are not thread-safe: each goes
    through the lock."""

    def __init__(self, lib: Any, flags: int) -> None:
        self.lib = lib
        self.lock = threading.Lock()
        self.mime = bool(flags & MAGIC_MIME_TYPE)
        self.cookie = lib.magic_open(flags)
        if not self.cookie:
            raise MissingDependency("libmagic cannot start (out of memory?)", hint=INSTALL_HINT)
        if lib.magic_load(self.cookie, None) != 0:
            raise MissingDependency(f"libmagic cannot load its database ({self._error()})", hint=INSTALL_HINT)
        if hasattr(lib, "magic_setparam"):
            # Best effort, as python-magic does: some versions refuse it and work anyway.
            lib.magic_setparam(self.cookie, MAGIC_PARAM_NAME_MAX, ctypes.byref(ctypes.c_size_t(_NAME_USE_LIMIT)))

    def _error(self) -> str:
        message = self.lib.magic_error(self.cookie)
        return str(message.decode("utf-8", "backslashreplace")) if message else "no reason given"

    def from_buffer(self, data: bytes) -> str:
        with self.lock:
            answer = self.lib.magic_buffer(self.cookie, data, len(data))
            if answer is None:
                if self.lib.magic_error(self.cookie) is None and self.mime:
                    return "application/octet-stream"  # libmagic 5.09 fails without a reason
                raise MagicError(self._error())
        # Its words may quote the file's own bytes, in any charset: python-magic's decoding.
        return str(answer.decode("utf-8", "backslashreplace"))


def _python_magic() -> Any:
    try:
        import magic  # python-magic: finds libmagic wherever it is installed
    except ImportError as exc:  # missing wheel or missing libmagic
        raise MissingDependency(f"python-magic cannot load libmagic ({exc})", hint=INSTALL_HINT) from exc
    return magic


def _judge(flags: int) -> _Judge:
    lib = _by_name()
    if lib is not None:
        return _Cookie(lib, flags)
    judge: _Judge = _python_magic().Magic(mime=bool(flags & MAGIC_MIME_TYPE))
    return judge


@functools.lru_cache(maxsize=1)
def _magic() -> _Judge:
    return _judge(MAGIC_MIME_TYPE)


@functools.lru_cache(maxsize=1)
def _describer() -> _Judge:
    return _judge(MAGIC_NONE)


def require() -> None:
    """Raise MissingDependency (exit 3) now, before any work, when libmagic is missing:
    every file would fail the same way, so it is reported once, not once per file."""
    _magic()


def mime_of(head: bytes) -> str:
    """libmagic's MIME verdict on the first bytes of a file."""
    return str(_magic().from_buffer(head))


def libmagic_version() -> str:
    """libmagic's version and how it was loaded, e.g. "5.44 (libmagic.so.1)" (for
    --version and bug reports)."""
    _magic()  # the same error when libmagic is missing
    lib = _by_name()
    if lib is not None:
        how = _SONAME
        version = lib.magic_version if hasattr(lib, "magic_version") else None
    else:
        magic = _python_magic()
        how = "python-magic"
        version = magic.version
    try:
        number = int(version()) if version is not None else None
    except (NotImplementedError, AttributeError, ValueError):
        number = None
    if number is None:  # before file 5.13: no magic_version
        return f"unknown version ({how})"
    return f"{number // 100}.{number % 100:02d} ({how})"


def describe(head: bytes) -> str:
    """libmagic's words for the first bytes of a file ("MPEG transport stream data"),
    on one line: what a refusal names when the MIME type says little."""
    text = str(_describer().from_buffer(head))
    return " ".join(text.split())
