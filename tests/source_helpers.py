"""Walks over a real file through a Source with tiny windows, so that every read
and search crosses window and step boundaries that a real file crosses rarely."""
from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator

from mediaprep.formats.source import Source


@contextlib.contextmanager
def file_source(data: bytes, window: int = 7, step: int = 5) -> Iterator[Source]:
    with tempfile.TemporaryFile() as fh:
        fh.write(data)
        fh.flush()
        yield Source.of_file(fh, window=window, step=step)
