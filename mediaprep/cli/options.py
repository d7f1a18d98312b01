"""Options more than one command takes, defined once so their names, choices and
help read the same everywhere."""
from __future__ import annotations

import sys
from collections.abc import Callable
from typing import IO, Any, TypeVar

import click

from ..attachment import STYLES
from ..errors import UsageError
from ..model import ROLES
from .messages import wants_json

F = TypeVar("F", bound=Callable[..., Any])

PROFILE_HELP = "Profile: wechat (default), wechat-oa, wecom, or a path to a .toml file."


def profile_option(f: F) -> F:
    """--profile NAME, passed on as ``profile_name``."""
    return click.option("--profile", "profile_name", default="wechat", show_default=True,
                        help=PROFILE_HELP)(f)


def as_option(help: str) -> Callable[[F], F]:
    """--as ROLE, passed on as ``as_`` (a model.Role, or None for "from the content");
    the help says what the role means to the command."""
    def decorate(f: F) -> F:
        return click.option("--as", "as_", type=click.Choice(ROLES), help=help)(f)
    return decorate


def attachment_style_option(f: F) -> F:
    """--attachment-style, passed on as ``attachment_style`` (an attachment.AttachmentStyle)."""
    return click.option("--attachment-style", type=click.Choice(STYLES), default="table", show_default=True,
                        help="'table': the API parameter table's form; 'media': the page's example form.")(f)


def _remember_json(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        wants_json(ctx)
    return value


def json_option(help: str = "Print one JSON object on stdout.") -> Callable[[F], F]:
    """--json, passed on as ``as_json``. Remembered for the error handler in main.py:
    a command asked for JSON that fails before printing its document prints an error
    document instead (messages.print_json), so stdout is never empty."""
    def decorate(f: F) -> F:
        return click.option("--json", "as_json", is_flag=True, callback=_remember_json, help=help)(f)
    return decorate


STDIN = "-"


def name_option(help: str) -> Callable[[F], F]:
    """--name NAME for the input read from stdin (``-``), passed on as ``name``."""
    def decorate(f: F) -> F:
        return click.option("--name", metavar="NAME", help=help)(f)
    return decorate


def stdin_input(paths: tuple[str, ...], name: str | None, example: str) -> IO[bytes] | None:
    """The binary stdin when ``-`` is among the paths (once at most), else None."""
    count = paths.count(STDIN)
    if count == 0:
        if name is not None:
            raise UsageError("--name names the input read from stdin", hint=f"give - as the path: {example}")
        return None
    if count > 1:
        raise UsageError("- (stdin) can be read only once")
    stream = sys.stdin
    if stream is None or stream.isatty():
        raise UsageError("- reads the input from stdin, but stdin is a terminal",
                         hint=f"pipe a file in: {example}")
    return stream.buffer


def fitting_options(f: F) -> F:
    """--trim, --split/--no-split and --max-parts, passed on as ``trim``, ``split`` and
    ``max_parts`` (PrepareOptions checks their values)."""
    f = click.option("--max-parts", type=click.IntRange(min=1),
                     help="Refuse when more parts would be needed.")(f)
    f = click.option("--split/--no-split", default=None,
                     help="Split long input into parts (voice: on by default; video: off).")(f)
    return click.option("--trim", type=float, is_flag=False, flag_value=0.0, default=None,
                        help="Keep only the first SECONDS (plain --trim on voice: the profile's 60 s).")(f)


def measure_option(f: F) -> F:
    """--measure, passed on as ``measure``: score every output (mediaprep.measure)."""
    return click.option("--measure", is_flag=True,
                        help="Score each output against its input: SSIMULACRA2 for pictures, VMAF "
                             "for video, level and speech kept for voice (needs the measure extra: "
                             "pip install 'mediaprep[measure]').")(f)
