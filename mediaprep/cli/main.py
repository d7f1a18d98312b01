"""The command line. The only place exceptions become exit codes and messages."""
from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from ..errors import BadInput, ExitCode, MediaprepError, escape_name
from ..model import PrepareOptions, PrepareResult
from ..pipeline import prepare
from ..preflight.check import CheckReport, check
from ..profiles import BUILTIN, ROLES, get_profile
from .send import register as register_send_commands
from .send import upload_option, upload_prepared_result

PROFILE_HELP = "Profile: wechat (default), wechat-oa, wecom, or a path to a .toml file."


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class MediaprepGroup(click.Group):
    """Runs a command and turns whatever it raises into one line and an exit code."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # `--trim` takes an optional number: `--trim 30` keeps 30 s, a bare `--trim`
        # keeps the profile's limit. Click would swallow the next word (`--trim
        # talk.m4a`) as the value, so a bare one is spelled out before parsing.
        fixed: list[str] = []
        for i, arg in enumerate(args):
            if arg == "--":
                fixed.extend(args[i:])
                break
            nxt = args[i + 1] if i + 1 < len(args) else None
            if arg == "--trim" and (nxt is None or not _is_number(nxt)):
                fixed.append("--trim=0")
            else:
                fixed.append(arg)
        return super().parse_args(ctx, fixed)

    def invoke(self, ctx: click.Context) -> Any:
        debug = bool(ctx.params.get("debug"))
        try:
            return super().invoke(ctx)
        except MediaprepError as exc:
            if debug:
                traceback.print_exc()
                if exc.detail:
                    click.echo(exc.detail, err=True)
            click.echo(f"mediaprep: error: {exc.one_line()}", err=True)
            ctx.exit(int(exc.exit_code))
        except KeyboardInterrupt:
            click.echo("mediaprep: interrupted", err=True)
            ctx.exit(int(ExitCode.INTERRUPTED))
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:  # noqa: BLE001 - the last resort: one line, exit 1
            if debug:
                traceback.print_exc()
            click.echo(f"mediaprep: internal error: {escape_name(type(exc).__name__)}: "
                       f"{escape_name(exc)} (rerun with --debug and report it)", err=True)
            ctx.exit(int(ExitCode.INTERNAL))


@click.group(cls=MediaprepGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks and external tools' full output.")
@click.version_option(package_name="mediaprep")
def main(debug: bool) -> None:
    """Make photos, voice notes and videos ready to send over WeChat via IMIconnect.

    \b
    Exit codes: 0 ok, 1 internal error, 2 usage, 3 missing dependency,
    4 unreadable or unsupported input, 5 does not comply / cannot be made to comply,
    6 external tool failed, 7 cannot write output, 8 batch had failures, 130 interrupted.
    """


def _debug() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().params.get("debug"))


def _warn(messages: tuple[str, ...] | list[str], path: Path | None = None) -> None:
    for msg in messages:
        where = f"{escape_name(path)}: " if path is not None else ""
        click.echo(f"mediaprep: warning: {where}{escape_name(msg)}", err=True)


def _expand(paths: tuple[str, ...]) -> list[Any]:
    """batch.Found entries: the files named, and every entry under the folders named,
    walked by the same rules as `mediaprep batch` (FIFOs, devices and symlinks
    leading outside the folder are marked skip and never opened)."""
    from ..batching.run import Found, walk

    out: list[Found] = []
    for p in paths:
        path = Path(p)
        out.extend(walk(path) if path.is_dir() else [Found(path, path)])
    return out


@main.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--profile", "profile_name", default="wechat", show_default=True, help=PROFILE_HELP)
@click.option("--as", "as_", type=click.Choice(ROLES), help="Check as this role (default: from the content).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def check_cmd(paths: tuple[str, ...], profile_name: str, as_: str | None, as_json: bool) -> None:
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
                click.echo(f"SKIP  {escape_name(path)}: {escape_name(found.skip)}", err=True)
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
                click.echo(f"FAIL  {exc.one_line()}", err=True)
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
    _warn(report.warnings, report.path)


def _print_prepared(result: PrepareResult) -> None:
    for out in result.outputs:
        dims = f", {out.width}x{out.height}" if out.width else ""
        dur = f", {out.duration:.2f} s" if out.duration is not None else ""
        q = f", quality {out.quality}" if out.quality is not None else ""
        how = " (passed through unchanged)" if out.passed_through else ""
        click.echo(f"{escape_name(result.input)} -> {escape_name(out.path)} [{out.slot}]: "
                   f"{result.input_bytes:,} -> {out.bytes:,} bytes{dims}{dur}{q}{how}")
    for block in result.attachments:
        click.echo(json.dumps(block.to_dict(result.attachment_style)))


class _StageBar:
    """A one-line bar on a terminal for a single long prepare (video passes, voice
    parts): redrawn in place on stderr, erased at the end; nothing when piped."""

    def __init__(self, name: str, width: int = 24) -> None:
        self.name = escape_name(name)
        self.width = width
        self.drawn = False

    def __call__(self, done: float, total: float, what: str) -> None:
        frac = 0.0 if total <= 0 else max(0.0, min(1.0, done / total))
        fill = int(round(frac * self.width))
        bar = "#" * fill + "-" * (self.width - fill)
        click.echo(f"\r\x1b[K{self.name} [{bar}] {escape_name(what)}", err=True, nl=False)
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            click.echo("\r\x1b[K", err=True, nl=False)


@main.command("prepare")
@click.argument("path", type=click.Path(path_type=str))
@click.option("-o", "--out-dir", type=click.Path(path_type=str), help="Output folder (default: beside the input; never over it).")
@click.option("--as", "as_", type=click.Choice(ROLES), help="What to make: image, thumb, voice or video (default: from the content).")
@click.option("--profile", "profile_name", default="wechat", show_default=True, help=PROFILE_HELP)
@click.option("--media-id", help="Media id to put in the attachment block (default: a placeholder).")
@click.option("--thumb-media-id", help="Thumb media id for a video's attachment block.")
@click.option("--trim", type=float, is_flag=False, flag_value=0.0, default=None,
              help="Keep only the first SECONDS (plain --trim on voice: the profile's 60 s).")
@click.option("--split/--no-split", default=None,
              help="Split long input into parts (voice: on by default; video: off).")
@click.option("--max-parts", type=click.IntRange(min=1), help="Refuse when more parts would be needed.")
@click.option("--attachment-style", type=click.Choice(["table", "media"]), default="table", show_default=True,
              help="'table': the API parameter table's form; 'media': the page's example form.")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object on stdout.")
@upload_option
def prepare_cmd(path: str, out_dir: str | None, as_: str | None, profile_name: str,
                media_id: str | None, thumb_media_id: str | None, trim: float | None,
                split: bool | None, max_parts: int | None, attachment_style: str,
                as_json: bool, wechat: Any = None) -> None:
    """Make one file compliant and print its attachment block (--upload: with real media ids)."""
    opts = PrepareOptions(as_=as_, media_id=media_id, thumb_media_id=thumb_media_id, trim=trim,
                          split=split, max_parts=max_parts, attachment_style=attachment_style)
    progress = _StageBar(Path(path).name) if sys.stderr.isatty() else None
    try:
        result = prepare(path, out_dir=out_dir, profile=profile_name, options=opts, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    if wechat is not None:
        result = upload_prepared_result(result, wechat)
    _warn(result.warnings, result.input)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        _print_prepared(result)


@main.command("profiles")
@click.option("--json", "as_json", is_flag=True, help="Print the profiles as JSON.")
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


register_send_commands(main)

from .batch import batch_cmd  # noqa: E402 - the batch command lives in its own module

main.add_command(batch_cmd)

if __name__ == "__main__":  # pragma: no cover
    main()
