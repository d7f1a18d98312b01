"""`mediaprep check` and `mediaprep profiles`: files and folders against a profile,
without changing anything.

Folders are walked with batch's rules (batching/walk.py: regular files only, never
a FIFO, a device or a symlink out of the folder) plus rules for a folder people
keep things in (batching/rules.py): mediaprep's own files, hidden files and
folders and what ``--exclude`` names are left out, and a file that is not media
by its content and does not promise media by its extension (``README.txt``) is
skipped. All of them are counted. So the exit code speaks only of media files:
0 when each complies, 5 when one does not, 4 when one is damaged.
"""
from __future__ import annotations

import sys
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import click

from ..batching.rules import REASONS, WalkRules
from ..batching.walk import MEDIA_EXTENSIONS, Found, walk
from ..errors import BadInput, ExitCode, MediaprepError, MissingDependency, escape_name
from ..model import ROLES, Role
from ..preflight.check import CheckReport, check, check_probed, probe
from ..preflight.sniff import sniff
from ..profiles import BUILTIN, Profile, get_profile
from ..script import startup_over
from ..tools import magic
from .messages import debug_enabled, fail_line, print_json, say, skip_line, verbosity, warn
from .options import STDIN, as_option, json_option, name_option, profile_option, stdin_input

NOT_MEDIA = "not media"
NOT_REGULAR = "not a regular file"


@dataclass(frozen=True)
class Entry:
    """One input of `check`: what was found, and whether a folder walk found it."""
    found: Found
    walked: bool  # found in a folder (False: named on the command line)
    stream: IO[bytes] | None = None  # stdin (the path is then its --name)


def _entries(paths: tuple[str, ...], rules: WalkRules, stdin: IO[bytes] | None, name: str | None) -> list[Entry]:
    out: list[Entry] = []
    for p in paths:
        path = Path(p)
        if p == STDIN and stdin is not None:
            shown = Path(name or "stdin")
            out.append(Entry(Found(shown, shown), False, stdin))
        elif path.is_dir():
            out.extend(Entry(f, True) for f in walk(path, ignore=rules))
        else:
            out.append(Entry(Found(path, path), False))
    return out


@dataclass
class Tally:
    """What the run found, for the exit code, the summary line and the JSON."""

    files: list[dict[str, Any]] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    complies: int = 0
    not_compliant: int = 0
    failed: int = 0
    worst: ExitCode = ExitCode.OK

    def fail(self, code: ExitCode) -> None:
        self.failed += 1
        if self.worst in (ExitCode.OK, ExitCode.NOT_COMPLIANT):
            self.worst = code

    def counts(self) -> dict[str, Any]:
        return {"checked": self.complies + self.not_compliant + self.failed, "complies": self.complies,
                "not_compliant": self.not_compliant, "failed": self.failed,
                "skipped": sum(self.skipped.values()), "skipped_by_reason": dict(sorted(self.skipped.items()))}

    def summary(self) -> str:
        c = self.counts()
        text = (f"{c['checked']} media file{'s' if c['checked'] != 1 else ''} checked: "
                f"{self.complies} compl{'y' if self.complies != 1 else 'ies'}, {self.not_compliant} "
                f"do{'' if self.not_compliant != 1 else 'es'} not, {self.failed} could not be read")
        if self.skipped:
            parts = ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items()))
            text += f"; skipped {c['skipped']} ({parts})"
        return text


def _skip(tally: Tally, entry: Entry, category: str, reason: str, as_json: bool) -> None:
    path = entry.found.path
    tally.skipped[category] += 1
    tally.files.append({"path": str(path), "status": "skipped", "reason": reason, "category": category})
    # Symlinks out of the folder, FIFOs and devices are worth a line; a .git folder or
    # a README is not, unless asked (-v).
    if not as_json and (category == NOT_REGULAR or verbosity().verbose):
        shown = f"{reason} (folder, not walked)" if category in REASONS and path.is_dir() else reason
        click.echo(skip_line(path, shown), err=True)


def _failed(tally: Tally, path: Path, exc: MediaprepError, as_json: bool) -> None:
    if isinstance(exc, MissingDependency):
        raise exc  # no file can fix it: stop now, once (exit 3)
    if debug_enabled():
        traceback.print_exception(exc)
    tally.fail(exc.exit_code)
    tally.files.append({"path": str(path), "status": "failed", "error": exc.one_line(),
                        "exit_code": int(exc.exit_code)})
    if not as_json:
        click.echo(fail_line(exc.one_line()), err=True)


def _report(entry: Entry, profile: Profile, as_: Role | None) -> CheckReport | str:
    """The file's report, or why it was skipped (not media). Raises for a failure."""
    found = entry.found
    if found.error is not None:
        raise BadInput(found.error, path=found.path)
    if entry.stream is not None:
        return check(entry.stream, profile, as_, name=str(found.path))
    try:
        sniffed = sniff(found.path)
    except BadInput as exc:
        # In a folder, a file that is not media and does not claim to be is simply
        # not ours to judge; a .jpg that is not a JPEG is a broken export (exit 4).
        if entry.walked and found.path.suffix.lower() not in MEDIA_EXTENSIONS:
            return f"not a media file: {exc.message}"
        raise
    return check_probed(sniffed, probe(sniffed, profile), profile, as_)


def check_entry(entry: Entry, profile: Profile, as_: Role | None, tally: Tally, as_json: bool) -> None:
    found = entry.found
    if found.skip is not None:
        category = found.skip if found.skip in REASONS else NOT_REGULAR
        _skip(tally, entry, category, found.skip, as_json)
        return
    try:
        report = _report(entry, profile, as_)
    except MediaprepError as exc:
        _failed(tally, found.path, exc, as_json)
        return
    if isinstance(report, str):
        _skip(tally, entry, NOT_MEDIA, report, as_json)
        return
    tally.files.append({**report.to_dict(), "status": "ok" if report.complies else "not_compliant"})
    if report.complies:
        tally.complies += 1
    else:
        tally.not_compliant += 1
        if tally.worst == ExitCode.OK:
            tally.worst = ExitCode.NOT_COMPLIANT
    if not as_json:
        print_report(report)


@click.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@profile_option
@as_option("Check as this role (default: from the content).")
@click.option("--exclude", "excludes", multiple=True, metavar="GLOB",
              help="In folders, leave out entries matching GLOB: the path under the folder "
                   "('raw/*.png') or the name ('*.tmp'); a folder matched is not walked; repeatable.")
@click.option("--include-hidden", is_flag=True,
              help="In folders, also check hidden files and folders (names starting with '.').")
@name_option("The name of the input read from stdin (-): its extension is checked against the content.")
@json_option()
def check_cmd(paths: tuple[str, ...], profile_name: str, as_: Role | None, excludes: tuple[str, ...],
              include_hidden: bool, name: str | None, as_json: bool) -> None:
    """Check files (or folders) against a profile without changing anything.

    In folders, only media files count: mediaprep's own files, hidden files and
    folders, --exclude matches and files that are not media are skipped and
    counted. Exit 0 when every media file complies, 5 when one does not, 4 when one
    is damaged or unreadable (3: a missing dependency, before any file is read).
    """
    stdin = stdin_input(paths, name, "cat photo.jpg | mediaprep check - --name photo.jpg")
    profile = get_profile(profile_name)
    magic.require()
    tally = Tally()
    rules = WalkRules(exclude=excludes, include_hidden=include_hidden)
    for entry in _entries(paths, rules, stdin, name):
        check_entry(entry, profile, as_, tally, as_json)
        startup_over()  # the first file is done: a folder of many goes on collecting
    if as_json:
        print_json({"schema": "mediaprep/check/1", "profile": profile.name,
                    "complies": tally.worst == ExitCode.OK, "exit_code": int(tally.worst),
                    "counts": tally.counts(), "files": tally.files}, indent=2)
    elif not verbosity().quiet and (len(tally.files) > 1 or tally.skipped):
        say(tally.summary())
    sys.exit(int(tally.worst))


def print_report(report: CheckReport) -> None:
    facts = dict(report.facts)
    summary = f"{report.bytes:,} bytes"
    if "width" in facts and facts.get("width"):
        summary += f", {facts['width']}x{facts['height']}"
    if "duration" in facts:
        summary += f", {facts['duration']:.2f} s"
    if facts.get("video_codec"):
        summary += f", {facts['video_codec']}"
    if facts.get("audio_codec"):
        summary += f", {facts['audio_codec']}"
        if "sample_rate" in facts:  # the audio's: right after its codec
            summary += f" {facts['sample_rate']} Hz {facts['channels']} ch"
    status = "OK  " if report.complies else "FAIL"
    click.echo(f"{status}  {escape_name(report.path)} [{report.role}, {report.profile}]: {summary}")
    for v in report.violations:
        click.echo(f"      - {v}")
    warn(report.warnings, report.path)


@click.command("profiles")
@json_option("Print the profiles as JSON.")
def profiles_cmd(as_json: bool) -> None:
    """List the built-in profiles and their limits."""
    if as_json:
        print_json({"schema": "mediaprep/profiles/1", "profiles": {
            name: {"description": p.description,
                   "roles": {role: {"max_bytes": p.limits(role).max_bytes, "min_bytes": p.limits(role).min_bytes,
                                    "max_seconds": p.limits(role).max_duration,
                                    "formats": list(p.limits(role).formats)} for role in ROLES}}
            for name, p in BUILTIN.items()}}, indent=2)
        return
    for name, p in BUILTIN.items():
        click.echo(f"{name}: {p.description}")
        for role in ROLES:
            click.echo(f"  {role:<6} {p.limits(role).describe()}")
