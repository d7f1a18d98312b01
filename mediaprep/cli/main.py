"""The `mediaprep` command group: the one place where exceptions become exit codes
and one-line messages, and where the commands are put together."""
from __future__ import annotations

import contextlib
import signal
import traceback
from collections.abc import Iterator
from types import FrameType
from typing import Any

import click

from ..errors import ExitCode, MediaprepError, Stopped
from ..tools import env
from . import send
from .batch import batch_cmd
from .messages import error, say
from .prepare import check_cmd, prepare_cmd, profiles_cmd


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
            with _stop_on_signals():
                env.check_all()  # a bad MEDIAPREP_* value is exit 2 before any work
                return super().invoke(ctx)
        except MediaprepError as exc:
            if debug:
                traceback.print_exc()
                if exc.detail:
                    click.echo(exc.detail, err=True)
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
            if debug:
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
@click.option("--debug", is_flag=True, help="Show tracebacks and external tools' full output.")
@click.version_option(package_name="mediaprep")
def main(debug: bool) -> None:
    """Make photos, voice notes and videos ready to send over WeChat via IMIconnect.

    \b
    Exit codes: 0 ok, 1 internal error, 2 usage, 3 missing dependency,
    4 unreadable or unsupported input, 5 does not comply / cannot be made to comply,
    6 external tool failed, 7 cannot write output, 8 batch had failures,
    130 interrupted (Ctrl-C), 143 stopped by SIGTERM, 129 by SIGHUP.
    """


for _command in (check_cmd, prepare_cmd, profiles_cmd, batch_cmd):
    main.add_command(_command)
send.register(main)

if __name__ == "__main__":  # pragma: no cover
    main()
