"""formats: pure parsers of byte formats. Bytes in, facts out; no I/O beyond a
bounded read, no decoding of pixels or samples.

Each module walks one format's structure (``jpeg``: markers, ``png``: chunks and
APNG frames, ``gif``: blocks and frames, ``webp``: RIFF chunks and animation
frames, ``amr``: AMR-NB frames, ``isobmff``: MP4 boxes). Whatever the bytes, a
parser returns a result or raises a ``FormatError`` subclass, never
``IndexError`` or ``struct.error``: a hostile file must not reach the caller as
an internal error. Every walk has a cap on the items it visits (``TooComplex``
past it), and reads files through ``source.Source``: a window at a time, never
the whole file.
"""
from __future__ import annotations

from ..errors import BadInput


class FormatError(BadInput):
    """The bytes do not follow the format (truncated, damaged or something else).

    A ``BadInput``: when a caller lets it through, the user sees exit code 4 and
    the reason. Callers that parse our own output (the voice fit checking what
    ffmpeg wrote) map it to ``ToolFailed`` instead."""


class TooComplex(FormatError):
    """More structure (segments, chunks, blocks) than any real file has: a walk's
    cap on its own work was reached. The file is refused as too much work."""
