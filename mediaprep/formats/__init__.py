"""formats: pure parsers of byte formats. Bytes in, facts out; no I/O beyond a
bounded read, no decoding of pixels or samples.

Each module walks one format's structure (``jpeg``: markers, ``png``: chunks,
``amr``: AMR-NB frames, ``isobmff``: MP4 boxes). Whatever the bytes, a parser
returns a result or raises a ``FormatError`` subclass, never ``IndexError`` or
``struct.error``: a hostile file must not reach the caller as an internal error.
"""
from __future__ import annotations

from ..errors import BadInput


class FormatError(BadInput):
    """The bytes do not follow the format (truncated, damaged or something else).

    A ``BadInput``: when a caller lets it through, the user sees exit code 4 and
    the reason. Callers that parse our own output (the voice fit checking what
    ffmpeg wrote) map it to ``ToolFailed`` instead."""
