"""What a failed ffmpeg run means, from its stderr: the input is damaged (exit 4) or
the tool itself failed (exit 6), said in one plain line that names the file once.

ffmpeg 6 and later prefix each log line with the part of its pipeline that wrote it:
``[in#0/mov,mp4 @ 0x..]`` the demuxer, ``[aist#0:1/flac @ 0x..] [dec:flac @ 0x..]``
an input stream's decoder, ``[vost#0:0/libx264 @ 0x..] [enc:libx264 @ 0x..]`` an
encoder, ``[fc#0 @ 0x..]`` and ``[Parsed_..]`` the filters, ``[out#0/mp4 @ 0x..]`` a
muxer. A thread of the input side that ends with an error means the data could not
be read or decoded: the file is damaged. ffmpeg then prints a cascade of generic
lines (threads terminating, "Nothing was written"), and error codes as numbers
(-1145393733 is its "decode error rate exceeded"): the first line that says what
went wrong is kept, without pointers, codes or the file's path.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from ..errors import BadInput, MediaprepError, ToolFailed

_PREFIXES = re.compile(r"^(?:\[[^\]]*\]\s*)+")
# The input side: demuxers (in#N), input streams (ist, aist, vist, sist, dist) and decoders.
_INPUT_SIDE = re.compile(r"^\[(?:in#\d+|[avsdt]?ist#\d+:\d+|dec:)")
_STREAM_KIND = re.compile(r"^\[([av])ist#")
_FATAL = ("Terminating thread with return code", "Task finished with error code",
          "Error processing packet in decoder", "Error during demuxing", "Error opening input")
# Lines of the cascade after the real error: never the reason.
_CASCADE = ("Terminating thread with return code", "Task finished with error code",
            "Nothing was written into output file", "Conversion failed", "Error sending frames to consumers",
            "Could not open encoder before EOF", "Error muxing a packet", "Error closing file",
            "Error writing trailer", "Last message repeated", "Error while filtering",
            "Error submitting a packet to the muxer", "Error processing packet in decoder")
# What decoders and demuxers say about data they cannot use.
_DAMAGE = ("invalid data found when processing input", "decode_frame() failed", "decoding error",
           "invalid frame header", "invalid sync code", "error while decoding", "moov atom not found",
           "header missing", "corrupt", "truncat", "invalid nal unit", "error reading header",
           "packet too small", "no frame!", "missing picture in access unit", "overread")
# ffmpeg's error codes as they appear in its messages (FFERRTAG values).
_CODES = {"-1145393733": "too much of it could not be decoded",  # FFERRTAG('E','R','E','D')
          "-1094995529": "invalid data",  # AVERROR_INVALIDDATA
          "-542398533": "an external library failed"}  # AVERROR_EXTERNAL
# Error codes as numbers ("return code -542398533", "(Error number -1145393733 occurred)"):
# negative, six digits or more, never part of a decimal.
_NUMBERS = re.compile(r"\s*\((?:Error number )?-\d{5,}(?: occurred)?\)|\s*(?<![\w.])-\d{6,}\b")
_POINTERS = re.compile(r"\s*@ 0x[0-9a-f]+")
MAX_REASON = 160


def input_path(argv: Sequence[str]) -> Path | None:
    """The first ``-i file:...`` of an ffmpeg command line (the user's file), relative
    to the working folder when it lies inside it (inputs reach ffmpeg as absolute
    URLs; the user named them as they are here)."""
    for flag, value in zip(argv, argv[1:], strict=False):
        if flag == "-i" and value.startswith("file:"):
            path = Path(value[len("file:"):])
            try:
                return path.relative_to(Path.cwd())
            except ValueError:
                return path
    return None


def _plain(line: str, path: Path | None) -> str:
    text = _PREFIXES.sub("", line).strip()
    for code, words in _CODES.items():
        if code in text:
            return words
    text = _POINTERS.sub("", _NUMBERS.sub("", text))
    if path is not None:
        for shown in ("file:" + str(path.absolute()), str(path.absolute()), str(path)):
            text = text.replace(shown, path.name)
    text = text.strip(" :.") or "unknown error"
    return text if len(text) <= MAX_REASON else text[:MAX_REASON - 3] + "..."


def _fatal_input_line(lines: list[str]) -> str | None:
    for line in lines:
        if _INPUT_SIDE.match(line) and any(f in line for f in _FATAL):
            return line
    return None


def explain(exc: ToolFailed, argv: Sequence[str]) -> MediaprepError:
    """The error to raise for a failed ffmpeg run: BadInput when a thread of the
    input side (demuxer, decoder) ended on an error, else ToolFailed; both name the
    input once and keep the whole stderr for --debug. A crash (a signal) is always
    the tool's failure."""
    stderr = exc.detail or ""
    path = input_path(argv)
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    fatal = None if "killed by signal" in exc.message else _fatal_input_line(lines)
    if fatal is None:
        if "killed by signal" in exc.message:
            return ToolFailed(exc.message, path=path, hint=exc.hint, detail=stderr)
        meaningful = [line for line in lines if not any(c in line for c in _CASCADE)]
        reason = _plain(meaningful[0] if meaningful else (lines[-1] if lines else exc.message), path)
        return ToolFailed(f"ffmpeg failed: {reason}", path=path, hint=exc.hint, detail=stderr)
    kind = _STREAM_KIND.match(fatal)
    what = {"a": "audio", "v": "video"}.get(kind.group(1) if kind else "", "data")
    reason = _plain(fatal, path)
    if reason not in _CODES.values():
        # The decoder's or demuxer's own words, where it said what it found.
        damage = next((line for line in lines if any(d in line.lower() for d in _DAMAGE)), None)
        if damage is not None:
            reason = _plain(damage, path)
    return BadInput(f"the file's {what} is damaged: {reason}", path=path,
                    hint="export or download it again", detail=stderr)
