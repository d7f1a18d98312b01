"""`mediaprep report DST`: build DST/report.html again from the batch's manifest."""
from __future__ import annotations

import click

from ..errors import escape_name
from ..script import startup_over


def write_report(dst: str, src: str | None, jobs: int | None, elapsed: float | None = None) -> None:
    """Build the report and say where it is (stderr, like the batch summary)."""
    startup_over()  # a long run begins (10,000 rows)
    from ..batching.run import default_jobs  # here, not at import: batching needs POSIX
    from ..report import build_report

    path = build_report(dst, src, jobs=jobs or default_jobs(), elapsed=elapsed)
    click.echo(f"report: {escape_name(path)}", err=True)


@click.command("report")
@click.argument("dst", type=click.Path(path_type=str))
@click.option("--src", type=click.Path(path_type=str),
              help="The source folder, for the 'before' pictures (default: the one the "
                   "manifest records).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Files read at once for the pictures (default: the number of cores).")
def report_cmd(dst: str, src: str | None, jobs: int | None) -> None:
    """Write DST/report.html from DST/manifest.jsonl: one self-contained page with a
    summary, a row per input (before/after pictures, bytes, sizes, what was done,
    score, warnings), failures first; sort and filter in the page, no server.
    """
    write_report(dst, src, jobs)
