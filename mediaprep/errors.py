"""Exit codes and the exception hierarchy.

The library raises; only ``cli.py`` turns an exception into an exit code. Every
exception carries its code, a one-line message and, where we know one, a hint
saying what the user can do about it.
"""
from __future__ import annotations

from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1
    USAGE = 2
    MISSING_DEPENDENCY = 3
    BAD_INPUT = 4  # unreadable or unsupported input
    NOT_COMPLIANT = 5  # check: does not comply; prepare: cannot be made to comply
    TOOL_FAILED = 6  # an external tool (ffmpeg) failed, hung or produced garbage
    CANNOT_WRITE = 7
    BATCH_FAILURES = 8
    INTERRUPTED = 130  # SIGINT (Ctrl-C); SIGTERM and SIGHUP exit 128 + their number


# Characters that reorder or hide text on a terminal (bidi embeddings, overrides,
# isolates and marks): a name holding them can pose as another name.
_BIDI = frozenset({0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)})


def escape_name(value: object) -> str:
    """Render a path or name on one line: control characters and newlines escaped,
    undecodable bytes shown as \\xNN (never a raw byte on the terminal)."""
    text = str(value)
    out = []
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # surrogateescape'd byte from a non-UTF-8 name
            out.append(f"\\x{code - 0xDC00:02x}")
        elif 0xD800 <= code <= 0xDFFF:  # any other lone surrogate: no terminal can print it
            out.append(f"\\u{code:04x}")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0:
            out.append(f"\\x{code:02x}")
        elif code in _BIDI:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


class Stopped(BaseException):
    """SIGTERM or SIGHUP arrived (``docker stop``, a closed SSH session). A BaseException,
    like KeyboardInterrupt, so that every cleanup on the way out runs (child process
    groups killed, staging folders removed) and no ``except Exception`` swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class MediaprepError(Exception):
    """Root of every error the library raises on purpose."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        hint: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.hint = hint
        # Extra text for --debug only (an external tool's full stderr, say).
        self.detail = detail

    def one_line(self) -> str:
        parts = []
        if self.path is not None:
            parts.append(f"{escape_name(self.path)}: ")
        parts.append(escape_name(self.message.rstrip(".")))
        if self.hint:
            parts.append(f" ({escape_name(self.hint.rstrip('.'))})")
        return "".join(parts)

    def __str__(self) -> str:
        return self.one_line()


class UsageError(MediaprepError):
    exit_code = ExitCode.USAGE


class MissingDependency(MediaprepError):
    exit_code = ExitCode.MISSING_DEPENDENCY


class BadInput(MediaprepError):
    """Unreadable, truncated, hostile or unsupported input."""

    exit_code = ExitCode.BAD_INPUT


class UnsupportedType(BadInput):
    """The file's content is not a media type we accept."""


class LimitExceeded(BadInput):
    """The input asks for more work than our limits allow (pixels, duration, streams)."""


class CannotComply(MediaprepError):
    """prepare could not make a compliant output within the profile's limits."""

    exit_code = ExitCode.NOT_COMPLIANT


class ToolFailed(MediaprepError):
    """An external tool crashed, hung or produced an unusable result."""

    exit_code = ExitCode.TOOL_FAILED


class ToolTimeout(ToolFailed):
    pass


class OutputError(MediaprepError):
    exit_code = ExitCode.CANNOT_WRITE


class RequestInvalid(UsageError):
    """A message request body IMIconnect would refuse. ``problems`` lists every one,
    each with the code the API would answer (7003, 7004, 7009, ...)."""

    def __init__(self, problems: tuple[object, ...], *, path: Path | str | None = None,
                 hint: str | None = None) -> None:
        self.problems = tuple(problems)
        listed = "; ".join(str(p) for p in self.problems)
        n = len(self.problems)
        super().__init__(f"request invalid ({n} problem{'s' if n != 1 else ''}): {listed}",
                         path=path, hint=hint or "nothing was sent; fix these and run again")


class RemoteError(MediaprepError):
    """A remote API (WeChat, IMIconnect) refused a request, failed or could not be
    reached. Exit code 6, like any other external tool that failed."""

    exit_code = ExitCode.TOOL_FAILED
    retry_after: float | None = None  # seconds the server asked us to wait (Retry-After)

    def __init__(self, message: str, *, code: int | str | None = None, service: str = "",
                 retryable: bool = False, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.code = code
        self.service = service
        self.retryable = retryable


class RemoteTimeout(RemoteError):
    pass


class OutcomeUnknown(RemoteError):
    """The request reached the API but no usable answer came back: it may have been
    queued, so it is not sent again automatically."""
