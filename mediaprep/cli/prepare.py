"""`mediaprep check`, `prepare` and `profiles`: one file (or a few) against a profile."""
from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from ..attachment import AttachmentStyle
from ..batching.naming import choose_stems
from ..batching.walk import Found, walk
from ..errors import BadInput, ExitCode, MediaprepError, escape_name
from ..model import ROLES, PrepareOptions, PrepareResult, Role
from ..pipeline import prepare
from ..preflight.check import CheckReport, check
from ..profiles import BUILTIN, Profile, get_profile
from .messages import fail_line, skip_line, warn
from .options import (
    as_option,
    attachment_style_option,
    fitting_options,
    json_option,
    measure_option,
    profile_option,
)
from .progress import StageBar
from .send import upload_option, upload_prepared_result


def _debug() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().params.get("debug"))


def _expand(paths: tuple[str, ...]) -> list[Found]:
    """The files named, and every entry under the folders named, walked by the same
    rules as `mediaprep batch` (FIFOs, devices and symlinks leading outside the
    folder are marked skip and never opened)."""
    out: list[Found] = []
    for p in paths:
        path = Path(p)
        out.extend(walk(path) if path.is_dir() else [Found(path, path)])
    return out


@click.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@profile_option
@as_option("Check as this role (default: from the content).")
@json_option()
def check_cmd(paths: tuple[str, ...], profile_name: str, as_: Role | None, as_json: bool) -> None:
    """Check files (or folders) against a profile without changing anything.

    Exit 0 when every file complies, 5 when any does not, or the code of the
    first file that could not be read.
    """
    profile = get_profile(profile_name)
    results: list[dict[str, Any]] = []
    worst: ExitCode = ExitCode.OK
    for found in _expand(paths):
        path = found.path
        if found.skip is not None:
            results.append({"path": str(path), "skipped": found.skip})
            if not as_json:
                click.echo(skip_line(path, found.skip), err=True)
            continue
        try:
            if found.error is not None:
                raise BadInput(found.error, path=path)
            report = check(path, profile, as_)
        except MediaprepError as exc:
            if _debug():
                traceback.print_exception(exc)
            results.append({"path": str(path), "error": exc.one_line(), "exit_code": int(exc.exit_code)})
            if not as_json:
                click.echo(fail_line(exc.one_line()), err=True)
            if worst in (ExitCode.OK, ExitCode.NOT_COMPLIANT):
                worst = exc.exit_code
            continue
        results.append(report.to_dict())
        if not report.complies and worst == ExitCode.OK:
            worst = ExitCode.NOT_COMPLIANT
        if not as_json:
            _print_report(report)
    if as_json:
        click.echo(json.dumps({"profile": profile.name, "complies": worst == ExitCode.OK,
                               "files": results}, indent=2))
    sys.exit(int(worst))


def _print_report(report: CheckReport) -> None:
    facts = dict(report.facts)
    summary = f"{report.bytes:,} bytes"
    if "width" in facts and facts.get("width"):
        summary += f", {facts['width']}x{facts['height']}"
    if "duration" in facts:
        summary += f", {facts['duration']:.2f} s"
    for key in ("audio_codec", "video_codec"):
        if facts.get(key):
            summary += f", {facts[key]}"
    if "sample_rate" in facts:
        summary += f" {facts['sample_rate']} Hz {facts['channels']} ch"
    status = "OK  " if report.complies else "FAIL"
    click.echo(f"{status}  {escape_name(report.path)} [{report.role}, {report.profile}]: {summary}")
    for v in report.violations:
        click.echo(f"      - {v}")
    warn(report.warnings, report.path)


def _print_prepared(result: PrepareResult) -> None:
    for out in result.outputs:
        dims = f", {out.width}x{out.height}" if out.width else ""
        dur = f", {out.duration:.2f} s" if out.duration is not None else ""
        q = f", jpeg quality {out.quality}" if out.quality is not None else ""
        how = " (passed through unchanged)" if out.passed_through else ""
        score = f", {out.score.label()}" if out.score is not None else ""
        click.echo(f"{escape_name(result.input)} -> {escape_name(out.path)} [{out.slot}]: "
                   f"{result.input_bytes:,} -> {out.bytes:,} bytes{dims}{dur}{q}{how}{score}")
    for block in result.attachments:
        click.echo(json.dumps(block.to_dict(result.attachment_style)))


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
@json_option("Print one JSON object per input, one per line.")
@upload_option
def prepare_cmd(paths: tuple[str, ...], out_dir: str | None, as_: Role | None, profile_name: str,
                media_id: str | None, thumb_media_id: str | None, trim: float | None,
                split: bool | None, max_parts: int | None, attachment_style: AttachmentStyle,
                overwrite: bool, measure: bool, as_json: bool, wechat: Any = None) -> None:
    """Make files compliant and print their attachment blocks (--upload: with real media ids).

    Outputs keep the inputs' names (photo.heic -> photo.jpg, 照片.png -> 照片.jpg);
    several inputs get distinct names, decided before any work. Exit code: the
    worst of the inputs'.
    """
    opts = PrepareOptions(as_=as_, media_id=media_id, thumb_media_id=thumb_media_id, trim=trim,
                          split=split, max_parts=max_parts, attachment_style=attachment_style)
    profile = get_profile(profile_name)
    if measure:  # before any file: a missing extra is one exit 3, not one per input
        from ..measure.outputs import require

        require()
    plan = _plan_names([Path(p) for p in paths], Path(out_dir) if out_dir is not None else None)
    if len(plan) == 1:  # one input: its failure is the command's, through the one handler
        (src, stem), = plan
        _prepare_one(src, stem, out_dir, profile, opts, overwrite, as_json, wechat, measure)
        return
    worst = 0
    for src, stem in plan:
        try:
            _prepare_one(src, stem, out_dir, profile, opts, overwrite, as_json, wechat, measure)
        except MediaprepError as exc:
            if _debug():
                traceback.print_exception(exc)
            if as_json:
                click.echo(json.dumps(error_document(exc, src)))
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
        stems.update(choose_stems(group))
    return [(path, stems[path]) for path in unique]


def error_document(exc: MediaprepError, path: Path) -> dict[str, Any]:
    """The JSON a failed input prints where a result would have been."""
    return {"input": str(path), "error": exc.one_line(), "exit_code": int(exc.exit_code)}


def _prepare_one(src: Path, stem: str, out_dir: str | None, profile: Profile, opts: PrepareOptions,
                 overwrite: bool, as_json: bool, wechat: Any, measure: bool = False) -> None:
    progress = StageBar(src.name) if sys.stderr.isatty() else None
    try:
        result = prepare(src, out_dir=out_dir, profile=profile, options=opts, progress=progress,
                         stem=stem, overwrite=overwrite, measure=measure)
    finally:
        if progress is not None:
            progress.close()
    if wechat is not None:
        result = upload_prepared_result(result, wechat)
    warn(result.warnings, result.input)
    if as_json:
        click.echo(json.dumps(result.to_dict()))
    else:
        _print_prepared(result)


@click.command("profiles")
@json_option("Print the profiles as JSON.")
def profiles_cmd(as_json: bool) -> None:
    """List the built-in profiles and their limits."""
    if as_json:
        click.echo(json.dumps({name: {role: {"max_bytes": p.limits(role).max_bytes,
                                             "formats": list(p.limits(role).formats),
                                             "max_duration": p.limits(role).max_duration,
                                             "min_bytes": p.limits(role).min_bytes}
                                      for role in ROLES} for name, p in BUILTIN.items()}, indent=2))
        return
    for name, p in BUILTIN.items():
        click.echo(f"{name}: {p.description}")
        for role in ROLES:
            click.echo(f"  {role:<6} {p.limits(role).describe()}")
