"""What the command line says on stderr besides its results: notices, warnings,
the one-line error a failed command ends with, and the per-file FAIL/SKIP lines.

Every line is escaped (escape_name), so a hostile file name cannot put a newline
or a terminal control sequence on the user's screen.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import click

from ..errors import escape_name


def say(message: str) -> None:
    """One line on stderr, prefixed with the program's name."""
    click.echo(f"mediaprep: {escape_name(message)}", err=True)


def warn(messages: Iterable[str], path: Path | None = None) -> None:
    """One warning line per message, naming the file it is about when given."""
    for msg in messages:
        where = f"{path}: " if path is not None else ""
        say(f"warning: {where}{msg}")


def error(line: str) -> None:
    """The line a command that failed ends with (see main.MediaprepGroup)."""
    say(f"error: {line}")


def fail_line(text: str) -> str:
    """A file that could not be checked or prepared; ``text`` names the file."""
    return f"FAIL  {text}"


def skip_line(name: object, reason: str) -> str:
    """A file that was not read, or not prepared, and why."""
    return f"SKIP  {escape_name(name)}: {escape_name(reason)}"
