"""Options more than one command takes, defined once so their names, choices and
help read the same everywhere."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..attachment import STYLES
from ..model import ROLES

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


def json_option(help: str = "Print one JSON object on stdout.") -> Callable[[F], F]:
    """--json, passed on as ``as_json``."""
    def decorate(f: F) -> F:
        return click.option("--json", "as_json", is_flag=True, help=help)(f)
    return decorate


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
