"""The `mediaprep` command group: the one place where exceptions become exit codes
and one-line messages, and where the commands are put together.

Commands are imported only when they run (``_COMMANDS``), so ``--version`` and
``--help`` of one command do not pay for numpy, PyAV or httpx. The global options
(``--debug``, ``-q``, ``-v``) are accepted before or after the command's name: they
are added to every command as well as to the group (see messages.Verbosity).
"""
from __future__ import annotations

import contextlib
import gc
import importlib
import os
import signal
import traceback
from collections.abc import Iterator
from types import FrameType
from typing import Any

import click

from ..errors import ExitCode, MediaprepError, Stopped
from ..tools import env
from .messages import debug_enabled, error, error_document, json_error_owed, print_json, say, set_verbosity

# name -> "module:attribute" of the click command, imported on first use.
_COMMANDS: dict[str, str] = {
    "check": "mediaprep.cli.check:check_cmd",
    "prepare": "mediaprep.cli.prepare:prepare_cmd",
    "profiles": "mediaprep.cli.check:profiles_cmd",
    "batch": "mediaprep.cli.batch:batch_cmd",
    "report": "mediaprep.cli.report:report_cmd",
    "request": "mediaprep.cli.send:request_cmd",
    "upload": "mediaprep.cli.send:upload_cmd",
    "send": "mediaprep.cli.send:send_cmd",
    "send-media": "mediaprep.cli.send:send_media_cmd",
}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        set_verbosity(ctx, debug=True)


def _set_quiet(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        set_verbosity(ctx, level=-1)


def _set_verbose(ctx: click.Context, _param: click.Parameter, value: int) -> None:
    if value:
        set_verbosity(ctx, level=value)


def global_params() -> list[click.Parameter]:
    """The options every command takes as well as the group (fresh objects each
    call: click keeps per-command state on them)."""
    return [
        click.Option(["--debug"], is_flag=True, expose_value=False, callback=_set_debug,
                     help="Show tracebacks and external tools' full output."),
        click.Option(["-q", "--quiet"], is_flag=True, expose_value=False, callback=_set_quiet,
                     help="Say nothing but results and errors (no notices, warnings or progress)."),
        click.Option(["-v", "--verbose"], count=True, expose_value=False, callback=_set_verbose,
                     help="Say more: the limits and settings each file got, what a folder check skipped."),
    ]


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from .version import version_lines

    for line in version_lines():
        click.echo(line)
    ctx.exit(0)


class MediaprepGroup(click.Group):
    """Runs a command and turns whatever it raises into one line and an exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*_COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _COMMANDS:
            module, _, attr = _COMMANDS[cmd_name].partition(":")
            loaded = getattr(importlib.import_module(module), attr)
            assert isinstance(loaded, click.Command)
            self.add_command(loaded, cmd_name)
        command = self.commands.get(cmd_name)
        if command is not None and not any(p.name == "debug" for p in command.params):
            command.params.extend(global_params())
        return command

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
        try:
            with _stop_on_signals():
                env.check_all()  # a bad MEDIAPREP_* value is exit 2 before any work
                return super().invoke(ctx)
        except MediaprepError as exc:
            if debug_enabled():
                traceback.print_exc()
                if exc.detail:
                    click.echo(exc.detail, err=True)
            if json_error_owed(ctx):
                print_json(error_document(exc))
            error(exc.one_line())
            ctx.exit(int(exc.exit_code))
        except KeyboardInterrupt:
            say("interrupted: stopped what was running; nothing partial was written")
            ctx.exit(int(ExitCode.INTERRUPTED))
        except Stopped as exc:
            name = signal.Signals(exc.signum).name
            say(f"stopped by {name}: stopped what was running; nothing partial was written")
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:  # noqa: BLE001 - the last resort: one line, exit 1
            if debug_enabled():
                traceback.print_exc()
            say(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug and report it)")
            ctx.exit(int(ExitCode.INTERNAL))


def _raise_stopped(signum: int, frame: FrameType | None) -> None:
    raise Stopped(signum)


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP unwind like Ctrl-C: children killed, staging removed."""
    wanted = [s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s]
    previous = {}
    try:
        for sig in wanted:
            previous[sig] = signal.signal(sig, _raise_stopped)
    except ValueError:  # not the main thread (an embedding host): leave its handlers alone
        pass
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@click.group(cls=MediaprepGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, is_eager=True, expose_value=False, callback=_print_version,
              help="Show mediaprep's version and the ffmpeg, JPEG and libmagic versions in use.")
def main() -> None:
    """Make photos, voice notes and videos ready to send over WeChat via IMIconnect.

    \b
    Exit codes: 0 ok, 1 internal error, 2 usage, 3 missing dependency,
    4 unreadable or unsupported input, 5 does not comply / cannot be made to comply,
    6 external tool failed, 7 cannot write output, 8 batch had failures,
    130 interrupted (Ctrl-C), 143 stopped by SIGTERM, 129 by SIGHUP.
    """


main.params.extend(global_params())


def run() -> None:
    """``main`` in a process of its own, which ends when it returns: what the
    `mediaprep` script and ``python -m mediaprep`` run (through mediaprep.script,
    which starts it with the collector paused)."""
    # numpy's OpenBLAS starts a thread per core at import, which then spins for a while
    # waiting for work mediaprep never gives it (no large matrix products): 0.1 s of
    # CPU taken from the ffmpeg run that follows (the voice decode), ~0.04 s of a
    # 3-minute voice note's wall time on two cores. The command is a process of its
    # own, so it may say so for itself, before numpy loads (``main``, which a host
    # calls, leaves the host's settings alone); a value the user set wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        main()
    finally:
        # Python's last collections at exit walk every object the ~200 modules made
        # (15 ms of a 0.2 s `prepare`) to free what the end of the process frees
        # anyway. Frozen objects are skipped; streams are still flushed, files
        # closed and exit handlers run. (Not in ``main``: a host that calls it, as
        # click's test runner does, lives on and needs its collector.)
        gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    run()
