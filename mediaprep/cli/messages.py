"""What the command line says on stderr besides its results: notices, warnings,
details, the one-line error a failed command ends with, and the per-file FAIL/SKIP
lines.

How much is said follows the global options, which are accepted anywhere on the
line (see main.py): ``-q`` hides notices and warnings (errors and results stay),
``-v`` adds details, ``--debug`` adds tracebacks and tools' full output. They are
kept in the root click context, so one CliRunner invocation never leaks its
settings into the next.

Every line is escaped (escape_name), so a hostile file name cannot put a newline
or a terminal control sequence on the user's screen.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click

from ..errors import MediaprepError, escape_name

_KEY = "mediaprep.verbosity"


@dataclass(frozen=True)
class Verbosity:
    """How much the command says (-q, -v) and whether --debug shows tracebacks."""
    level: int = 0  # -1 quiet, 0 normal, 1 and up verbose
    debug: bool = False

    @property
    def quiet(self) -> bool:
        return self.level < 0

    @property
    def verbose(self) -> bool:
        return self.level > 0


def verbosity() -> Verbosity:
    """The settings of the running command (defaults outside a command)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return Verbosity()
    value = ctx.find_root().meta.get(_KEY)
    return value if isinstance(value, Verbosity) else Verbosity()


def set_verbosity(ctx: click.Context, *, level: int | None = None, debug: bool | None = None) -> None:
    """Record a global option (called by the option callbacks in main.py). Options
    only ever raise what is said: ``-q`` then ``-v`` on one line ends verbose, as
    the later word is what the user meant last."""
    root = ctx.find_root()
    current = verbosity_of(root)
    if level is not None:
        current = replace(current, level=level)
    if debug:
        current = replace(current, debug=True)
    root.meta[_KEY] = current


def verbosity_of(ctx: click.Context) -> Verbosity:
    value = ctx.find_root().meta.get(_KEY)
    return value if isinstance(value, Verbosity) else Verbosity()


_JSON_WANTED = "mediaprep.json"
_JSON_PRINTED = "mediaprep.json_printed"


def wants_json(ctx: click.Context) -> None:
    """The command was given --json (see options.json_option)."""
    ctx.find_root().meta[_JSON_WANTED] = True


def print_json(document: Any, *, indent: int | None = None) -> None:
    """One JSON document on stdout (non-ASCII kept readable), remembered as printed."""
    text = json.dumps(document, indent=indent, ensure_ascii=False)
    # A name that is not UTF-8 holds lone surrogates (surrogateescape); written out they
    # would be raw bytes. As \udcXX they are the JSON escape ensure_ascii would write.
    click.echo(text.encode("utf-8", "backslashreplace").decode("utf-8"))
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.find_root().meta[_JSON_PRINTED] = True


def error_document(exc: MediaprepError) -> dict[str, Any]:
    """What a --json command prints on stdout when it fails before its own document
    (mediaprep/schemas/error.schema.json)."""
    doc: dict[str, Any] = {"schema": "mediaprep/error/1", "error": exc.one_line(), "message": exc.message,
                           "exit_code": int(exc.exit_code)}
    if exc.path is not None:
        doc["path"] = str(exc.path)
    if exc.hint:
        doc["hint"] = exc.hint
    return doc


def json_error_owed(ctx: click.Context) -> bool:
    """--json was asked for and no document was printed yet."""
    meta = ctx.find_root().meta
    return bool(meta.get(_JSON_WANTED)) and not meta.get(_JSON_PRINTED)


def debug_enabled() -> bool:
    return verbosity().debug


def say(message: str) -> None:
    """One line on stderr, prefixed with the program's name (always shown)."""
    click.echo(f"mediaprep: {escape_name(message)}", err=True)


def _about(path: Path | str | None) -> str:
    return f"{path}: " if path is not None else ""


def notice(messages: Iterable[str], path: Path | str | None = None) -> None:
    """What was done as intended (GPS removed, rotated upright): hidden by -q."""
    if verbosity().quiet:
        return
    for msg in messages:
        say(f"info: {_about(path)}{msg}")


def warn(messages: Iterable[str], path: Path | str | None = None) -> None:
    """What the user may want to act on: one line each, hidden by -q."""
    if verbosity().quiet:
        return
    for msg in messages:
        say(f"warning: {_about(path)}{msg}")


def detail(message: str) -> None:
    """More about what happened, for -v only."""
    if verbosity().verbose:
        say(message)


def error(line: str) -> None:
    """The line a command that failed ends with (see main.MediaprepGroup)."""
    say(f"error: {line}")


def fail_line(text: str) -> str:
    """A file that could not be checked or prepared; ``text`` names the file."""
    return f"FAIL  {text}"


def skip_line(name: object, reason: str) -> str:
    """A file that was not read, or not prepared, and why."""
    return f"SKIP  {escape_name(name)}: {escape_name(reason)}"
