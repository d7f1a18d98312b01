"""`mediaprep prepare`: make files compliant and print their attachment blocks."""
from __future__ import annotations

import contextlib
import json
import sys
import time
import traceback
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from ..attachment import AttachmentStyle
from ..errors import MediaprepError, MissingDependency, UsageError, escape_name
from ..model import PrepareOptions, PrepareResult, Role
from ..names import output_stem
from ..profiles import Profile, get_profile
from ..script import startup_over
from .messages import debug_enabled, detail, fail_line, notice, print_json, verbosity, warn
from .options import (
    STDIN,
    as_option,
    attachment_style_option,
    fitting_options,
    json_option,
    measure_option,
    name_option,
    profile_option,
    stdin_input,
)
from .send_options import upload_option
from .tools import require_tools

if TYPE_CHECKING:
    from .progress import StageBar


def _print_prepared(result: PrepareResult) -> None:
    for out in result.outputs:
        dims = f", {out.width}x{out.height}" if out.width else ""
        dur = f", {out.duration:.2f} s" if out.duration is not None else ""
        q = f", jpeg quality {out.quality}" if out.quality is not None else ""
        how = " (passed through unchanged)" if out.passed_through else ""
        score = f", {out.score.label()}" if out.score is not None else ""
        click.echo(f"{escape_name(result.input)} -> {escape_name(out.path)} [{out.slot}]: "
                   f"{result.input_bytes:,} -> {out.bytes:,} bytes{dims}{dur}{q}{how}{score}")
        if out.details:
            detail(f"{escape_name(out.path)}: " + ", ".join(f"{k} {v}" for k, v in out.details))
    for block in result.attachments:
        click.echo(json.dumps(block.to_dict(result.attachment_style), ensure_ascii=False))


@click.command("prepare")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("-o", "--out-dir", type=click.Path(path_type=str),
              help="Output folder (default: beside each input; never over it).")
@as_option("What to make: image, thumb, voice or video (default: from the content).")
@profile_option
@click.option("--media-id", help="Media id to put in the attachment block (default: a placeholder).")
@click.option("--thumb-media-id", help="Thumb media id for a video's attachment block.")
@fitting_options
@attachment_style_option
@click.option("--overwrite", is_flag=True,
              help="Replace files of the outputs' names in the output folder (default: refuse, exit 7).")
@measure_option
@name_option("The name of the input read from stdin (-): outputs are named after it and its "
             "extension is checked against the content.")
@json_option("Print one JSON object per input, one per line.")
@upload_option
def prepare_cmd(paths: tuple[str, ...], out_dir: str | None, as_: Role | None, profile_name: str,
                media_id: str | None, thumb_media_id: str | None, trim: float | None,
                split: bool | None, max_parts: int | None, attachment_style: AttachmentStyle,
                overwrite: bool, measure: bool, name: str | None, as_json: bool,
                wechat: Any = None) -> None:
    """Make files compliant and print their attachment blocks (--upload: with real media ids).

    Outputs keep the inputs' names (photo.heic -> photo.jpg, 照片.png -> 照片.jpg);
    several inputs get distinct names, decided before any work. - reads one input
    from stdin (with --name; outputs go to -o or the current folder). Exit code:
    the worst of the inputs'.
    """
    stdin = stdin_input(paths, name, "cat photo.heic | mediaprep prepare - --name photo.heic -o out")
    if stdin is not None and not name:
        raise UsageError("reading stdin (-) needs --name",
                         hint="e.g. --name photo.heic: outputs are named after it")
    # stdin's input is known by its name (outputs are named after it, in -o or here).
    labels = [Path(Path(name or STDIN).name) if p == STDIN else Path(p) for p in paths]
    if stdin is not None and labels.count(Path(Path(name or STDIN).name)) > 1:
        raise UsageError(f"--name {name} is also given as a file", hint="give stdin another --name")
    sources: dict[Path, Path | IO[bytes]] = {label: (stdin if p == STDIN and stdin else label)
                                             for p, label in zip(paths, labels, strict=True)}
    opts = PrepareOptions(as_=as_, media_id=media_id, thumb_media_id=thumb_media_id, trim=trim,
                          split=split, max_parts=max_parts, attachment_style=attachment_style)
    profile = get_profile(profile_name)
    # What no input can fix is found before any work, and reported once.
    if wechat is not None:
        from .send import check_upload_credentials

        check_upload_credentials(wechat)
    require_tools(labels, as_)
    if measure:  # a missing extra is one exit 3, not one per input
        from ..measure.outputs import require

        require()
    plan = _plan_names(labels, Path(out_dir) if out_dir is not None else None)
    if len(plan) == 1:  # one input: its failure is the command's, through the one handler
        (src, stem), = plan
        try:
            _prepare_one(src, sources[src], stem, out_dir, profile, opts, overwrite, as_json, wechat,
                         measure)
        except MediaprepError as exc:
            if as_json:  # stdout still gets its one document
                print_json(error_document(exc, src))
            raise
        return
    worst = 0
    for src, stem in plan:
        try:
            _prepare_one(src, sources[src], stem, out_dir, profile, opts, overwrite, as_json, wechat,
                         measure)
        except MissingDependency:
            raise  # no later input can do better: reported once, exit 3
        except MediaprepError as exc:
            if debug_enabled():
                traceback.print_exception(exc)
            if as_json:
                print_json(error_document(exc, src))
            else:
                click.echo(fail_line(exc.one_line()), err=True)
            worst = max(worst, int(exc.exit_code))
    sys.exit(worst)


def _plan_names(paths: list[Path], out_dir: Path | None) -> list[tuple[Path, str]]:
    """Each input once, with an output stem no other input of this run shares in the
    same folder (batch's rule: photo.jpg keeps "photo", photo.png becomes "photo_png")."""
    unique = list(dict.fromkeys(paths))
    by_folder: dict[Path, list[Path]] = {}
    for path in unique:
        folder = out_dir if out_dir is not None else path.absolute().parent
        by_folder.setdefault(folder.absolute(), []).append(path)
    stems: dict[Path, str] = {}
    for group in by_folder.values():
        if len(group) == 1:  # alone in its folder: nothing to clash with, its own stem
            stems[group[0]] = output_stem(group[0])
            continue
        from ..batching.naming import choose_stems

        stems.update(choose_stems(group))
    return [(path, stems[path]) for path in unique]


def error_document(exc: MediaprepError, path: Path) -> dict[str, Any]:
    """The JSON a failed input prints where a result would have been."""
    return {"schema": "mediaprep/prepare/1", "input": str(path), "error": exc.one_line(),
            "exit_code": int(exc.exit_code)}


def _stage_bar(name: str) -> StageBar:
    """The progress bar of a terminal (imported only where one is drawn)."""
    from .progress import StageBar

    return StageBar(name)


def _reporting(progress: StageBar) -> contextlib.AbstractContextManager[None]:
    """ffmpeg's progress into the bar (the tool's progress reader, imported with the bar)."""
    from ..tools import ffprogress

    return ffprogress.reporting(progress.encode)


def _prepare_one(src: Path, source: Path | IO[bytes], stem: str, out_dir: str | None, profile: Profile,
                 opts: PrepareOptions, overwrite: bool, as_json: bool, wechat: Any,
                 measure: bool = False) -> None:
    progress = _stage_bar(src.name) if sys.stderr.isatty() and not verbosity().quiet else None
    started = time.monotonic()
    streamed = not isinstance(source, Path)  # stdin: spooled by prepare(), outputs here or in -o
    from ..pipeline import prepare  # the work: imported when there is some (not for --help)

    try:
        with _reporting(progress) if progress else contextlib.nullcontext():
            result = prepare(source, out_dir=out_dir or ("." if streamed else None), profile=profile,
                             options=opts, progress=progress, stem=stem, overwrite=overwrite,
                             name=src.name if streamed else None, measure=measure)
    finally:
        if progress is not None:
            progress.close()
        startup_over()  # the first input is done: a run of many goes on collecting
    if wechat is not None:
        from .send import upload_prepared_result

        result = upload_prepared_result(result, wechat)
    detail(f"{escape_name(result.input)}: prepared as {result.role} for profile {profile.name} "
           f"({profile.limits(result.role).describe()}) in {time.monotonic() - started:.2f} s")
    notice(result.notices, result.input)
    warn(result.warnings, result.input)
    if as_json:
        print_json(result.to_dict())
    else:
        _print_prepared(result)
