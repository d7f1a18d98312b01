"""`mediaprep batch SRC DST`: a whole folder, with a progress bar and a summary table."""
from __future__ import annotations

import sys

import click

from ..attachment import AttachmentStyle
from ..batching.results import BatchResult, Status
from ..errors import escape_name
from ..model import ROLES, PrepareOptions, Role
from ..script import startup_over
from .messages import print_json, verbosity
from .options import (
    as_option,
    attachment_style_option,
    fitting_options,
    json_option,
    measure_option,
    profile_option,
)
from .progress import ProgressReporter
from .report import write_report
from .tools import require_tools

# Rows of the summary table, in the order a reader looks for them.
_ROWS: tuple[Status, ...] = ("ok", "passed", "skipped", "failed")


def summary(result: BatchResult) -> list[str]:
    """The end-of-run table: counts per status and role, bytes, time."""
    counts = result.counts()
    order: list[str] = list(ROLES)
    roles = sorted({r for row in counts.values() for r in row},
                   key=lambda r: order.index(r) if r in order else len(order))
    lines = [f"{'':8}" + "".join(f"{r:>8}" for r in roles) + f"{'total':>8}"]
    for status in _ROWS:
        row = counts.get(status, {})
        lines.append(f"{status:8}" + "".join(f"{row.get(r, 0):>8}" for r in roles)
                     + f"{sum(row.values()):>8}")
    before = sum(f.input_bytes for f in result.made)
    after = sum(f.output_bytes for f in result.made)
    ratio = f" ({after / before:.1%})" if before else ""
    # "prepared": files this run made outputs for; failures have their own row above.
    prepared = sum(1 for f in result.files if f.status in ("ok", "passed"))
    lines.append(f"bytes: {before:,} -> {after:,}{ratio}; {prepared} prepared, "
                 f"{result.elapsed:.1f} s with {result.jobs} job{'s' if result.jobs > 1 else ''}")
    stale = sum(len(f.stale) for f in result.files)
    pruned = sum(len(f.pruned) for f in result.files)
    if stale:
        lines.append(f"stale: {stale} earlier output{'s' if stale > 1 else ''} no input makes now "
                     "(listed in the manifest; rerun with --prune to remove them)")
    if pruned:
        lines.append(f"pruned: {pruned} earlier output{'s' if pruned > 1 else ''} removed")
    lines.append(f"manifest: {escape_name(result.manifest)}")
    return lines


@click.command("batch")
@click.argument("src", type=click.Path(path_type=str))
@click.argument("dst", type=click.Path(path_type=str))
@profile_option
@as_option("Prepare every file as this role: image, thumb, voice or video (default: from the content).")
@fitting_options
@attachment_style_option
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Files prepared at once (default: the number of cores).")
@click.option("--force", is_flag=True, help="Redo files an earlier run already prepared.")
@click.option("--prune", is_flag=True,
              help="Remove outputs of earlier runs that no input makes now (listed as stale "
                   "in the manifest); never a file the manifest did not list.")
@click.option("--timeout", "time_limit", type=click.FloatRange(min=0.1), default=None,
              help="Seconds one file may take before its worker is killed "
                   "(default: 5 min plus 10 s per second of media).")
@click.option("--scheduler", metavar="ADDRESS",
              help="Run on an existing Dask distributed cluster (tcp://host:8786) instead of "
                   "local workers (--jobs is then ignored); its workers must see SRC and DST "
                   "at the same paths.")
@measure_option
@click.option("--report", "make_report", is_flag=True,
              help="Also write DST/report.html: a summary and a row per input with before/after "
                   "pictures and scores, to open in a browser (rebuild it with 'mediaprep report DST').")
@json_option("Print one JSON object (summary and every file) on stdout.")
def batch_cmd(src: str, dst: str, profile_name: str, as_: Role | None, trim: float | None,
              split: bool | None, max_parts: int | None, attachment_style: AttachmentStyle,
              jobs: int | None, force: bool, prune: bool, time_limit: float | None,
              scheduler: str | None, measure: bool, make_report: bool, as_json: bool) -> None:
    """Prepare every media file under SRC into DST, keeping the folder structure.

    Writes DST/manifest.jsonl (one line per input). Rerunning skips files that are
    unchanged and already prepared (a change of the fitting flags redoes them).
    Exit 0 when every file is ok, passed through or
    skipped; 8 when any failed.
    """
    # Checked (PrepareOptions validates) before any folder is touched.
    opts = PrepareOptions(as_=as_, trim=trim, split=split, max_parts=max_parts,
                          attachment_style=attachment_style)
    from ..posix import require_posix

    require_posix("mediaprep batch")
    from ..batching.run import batch  # after the check: it imports POSIX-only modules
    # Once, before any file: without them every file would fail alike.
    require_tools((), as_, all_kinds=True)
    startup_over()  # a long run begins
    reporter = ProgressReporter(sys.stderr, quiet=verbosity().quiet)
    try:
        result = batch(src, dst, profile_name, jobs=jobs, force=force, prune=prune, options=opts,
                       time_limit=time_limit, scheduler=scheduler, progress=reporter,
                       measure=measure)
    finally:
        reporter.close()
    if not verbosity().quiet:
        for line in summary(result):
            click.echo(line, err=True)
    if make_report:
        write_report(dst, src, result.jobs, result.elapsed)
    if as_json:
        print_json(result.to_dict(), indent=2)
    sys.exit(int(result.exit_code))
