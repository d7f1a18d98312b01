"""Input that is not a file yet: bytes, a binary file object (a web upload), stdin.

Every stage reads files (libmagic, Pillow, PyAV and ffmpeg each open the input
again), so such input is first written to a file: in a private folder of the system
temp folder (mode 0700, the file 0600, created exclusively), under the name the
caller gave (its extension is what the content is checked against), and removed
with the folder when the work is done, however it ends. The copy stops at the
profile's ``safety.max_input_bytes``: a stream can be endless, a file cannot.
"""
from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TypeGuard

from .errors import LimitExceeded, MediaprepError, OutputError, UsageError
from .names import output_stem, split_name

# What the library takes besides a path.
Stream = bytes | bytearray | memoryview | IO[bytes]

CHUNK = 1 << 20


def is_stream(source: object) -> TypeGuard[Stream]:
    """True for bytes or a binary file object; False for a path."""
    return isinstance(source, (bytes, bytearray, memoryview)) or hasattr(source, "read")


def spool_name(name: str) -> str:
    """The file name the spooled copy gets: the given name's own part, made safe the
    way output names are (no folders, no control characters), its extension kept."""
    _, suffix = split_name(Path(name).name)
    suffix = suffix if suffix[1:].isalnum() else ""
    return output_stem(name) + suffix.lower()


def _too_big(limit: int, display: str) -> LimitExceeded:
    return LimitExceeded(f"the input is larger than our limit of {limit:,} bytes", path=display,
                         hint="send a smaller file, or raise max_input_bytes in the profile's [safety]")


def _copy(source: Stream, fd: int, limit: int, display: str) -> None:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = memoryview(source).cast("B")
        if len(data) > limit:
            raise _too_big(limit, display)
        while data:
            data = data[os.write(fd, data):]
        return
    total = 0
    while True:
        chunk: object = source.read(CHUNK)  # typed bytes, but a text-mode file gives str
        if chunk is None:
            raise UsageError("the file object gave no data (is it non-blocking?)", path=display,
                             hint="pass a blocking binary file object, or its bytes")
        if isinstance(chunk, str):
            raise UsageError("the file object gives text, not bytes", path=display,
                             hint="open it in binary mode ('rb'), or pass its bytes")
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise UsageError(f"the file object gave {type(chunk).__name__}, not bytes", path=display)
        if not chunk:
            return
        total += len(chunk)
        if total > limit:
            raise _too_big(limit, display)
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view):]


@contextlib.contextmanager
def spooled(source: Stream, name: str, limit: int) -> Iterator[Path]:
    """A private file holding ``source``, named after ``name``; removed afterwards."""
    if not name or not Path(name).name:
        raise UsageError("the input has no name", hint="give name=, e.g. name=\"photo.heic\"")
    # Here, not at the top: a path (what nearly every run gets) needs neither.
    import tempfile

    from .output import WRITE_ERRNOS

    folder = Path(tempfile.mkdtemp(prefix="mediaprep-input-"))
    try:
        path = folder / spool_name(name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            _copy(source, fd, limit, name)
        except OSError as exc:
            if exc.errno in WRITE_ERRNOS:
                raise OutputError(f"cannot keep the input in the temp folder: {exc.strerror}",
                                  path=folder.parent, hint="set TMPDIR to a folder with room") from exc
            raise
        finally:
            os.close(fd)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def named_as(spool: Path, name: str) -> Iterator[None]:
    """Errors about the spooled copy name the input as the caller knows it."""
    try:
        yield
    except MediaprepError as exc:
        if exc.path is not None and exc.path == spool:
            exc.path = Path(name)
        raise
