"""Bounded random access to an input's bytes, for the walks in this package.

A walk asks for a few bytes at an offset (a marker, a chunk header, a frame
descriptor) and skips the rest by arithmetic, so reading a file through a
``Source`` costs memory for one small window, never for the whole file: a JPEG
followed by 2 GB of zeros is walked in a few reads and the zeros are never
touched. The same walks run on ``bytes`` (tests, data already in memory) through
the same interface, so there is one code path to test.

Reading goes through ``os.pread`` on a file descriptor, not ``mmap``: a file that
shrinks while it is mapped kills the reader with SIGBUS, which no ``except`` can
turn into a one-line error.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import BinaryIO

# Bytes read per window: one read serves the marker, chunk or block headers that
# sit close together at the start of a file.
WINDOW = 1 << 16
# Bytes searched per step by ``search`` (entropy-coded JPEG data, runs of fill bytes).
SEARCH_STEP = 1 << 20


class Source:
    """The bytes of one input, read a window at a time; see the module docstring."""

    def __init__(self, data: bytes | None = None, *, fd: int | None = None, size: int = 0,
                 window: int = WINDOW, step: int = SEARCH_STEP) -> None:
        self._data = data
        self._fd = fd
        self.size = len(data) if data is not None else size
        self._base = 0
        self._window = b""
        # Read and search sizes: the defaults, or tiny ones in tests, which then
        # cross every window and step boundary a real file would.
        self.window_size = window
        self._step = step

    @classmethod
    def of(cls, data: bytes | Source) -> Source:
        """``data`` itself when it is a Source already; else a Source over the bytes."""
        return data if isinstance(data, Source) else cls(bytes(data))

    @classmethod
    def of_file(cls, fh: BinaryIO, window: int = WINDOW, step: int = SEARCH_STEP) -> Source:
        """A Source over an open binary file (its size taken now; the caller keeps it open)."""
        fd = fh.fileno()
        return cls(fd=fd, size=os.fstat(fd).st_size, window=window, step=step)

    def read(self, pos: int, n: int) -> bytes:
        """Up to ``n`` bytes at offset ``pos`` (fewer at the end of the data, none past it)."""
        if pos < 0 or n <= 0 or pos >= self.size:
            return b""
        if self._data is not None:
            return self._data[pos:pos + n]
        assert self._fd is not None
        start = pos - self._base
        if start < 0 or start + n > len(self._window):
            if n > self.window_size:  # a long read (a metadata block): exactly what was asked
                return os.pread(self._fd, min(n, self.size - pos), pos)
            self._window = os.pread(self._fd, self.window_size, pos)
            self._base, start = pos, 0
        return self._window[start:start + n]

    def byte(self, pos: int) -> int:
        """The byte at ``pos``, or -1 past the end."""
        got = self.read(pos, 1)
        return got[0] if got else -1

    def u16be(self, pos: int) -> int | None:
        got = self.read(pos, 2)
        return int.from_bytes(got, "big") if len(got) == 2 else None

    def search(self, pattern: re.Pattern[bytes], pos: int, width: int = 2) -> int | None:
        """Offset of the first match of ``pattern`` at or after ``pos``, or None. The
        pattern must match exactly ``width`` bytes: the search steps through the file
        SEARCH_STEP bytes at a time, overlapping by ``width - 1`` so that no match is cut
        in two. Time grows with the bytes searched, at C speed; memory stays one step."""
        if self._data is not None:
            found = pattern.search(self._data, pos)
            return found.start() if found else None
        while pos < self.size:
            chunk = self.read(pos, self._step)
            found = pattern.search(chunk)
            if found:
                return pos + found.start()
            if len(chunk) < width:
                return None
            pos += len(chunk) - (width - 1)
        return None


def read_prefix(path: Path, n: int) -> bytes:
    """The first ``n`` bytes of a file (fewer if it is shorter): for a caller that
    knows, from a walk or a budget, how many it needs."""
    with open(path, "rb") as fh:
        return fh.read(max(0, n))
