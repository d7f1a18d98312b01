"""`mediaprep batch SRC DST`: a whole folder (registered in cli.py)."""
from __future__ import annotations

import json
import sys

import click

from ..batching.progress import ProgressReporter, summary
from ..batching.run import batch

PROFILE_HELP = "Profile: wechat (default), wechat-oa, wecom, or a path to a .toml file."


@click.command("batch")
@click.argument("src", type=click.Path(path_type=str))
@click.argument("dst", type=click.Path(path_type=str))
@click.option("--profile", "profile_name", default="wechat", show_default=True, help=PROFILE_HELP)
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Files prepared at once (default: the number of cores).")
@click.option("--force", is_flag=True, help="Redo files an earlier run already prepared.")
@click.option("--timeout", "time_limit", type=click.FloatRange(min=0.1), default=None,
              help="Seconds one file may take before its worker is killed "
                   "(default: 5 min plus 10 s per second of media).")
@click.option("--scheduler", metavar="ADDRESS",
              help="Run on an existing Dask distributed cluster (tcp://host:8786) instead of "
                   "local workers (--jobs is then ignored); its workers must see SRC and DST "
                   "at the same paths.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object (summary and every file) on stdout.")
def batch_cmd(src: str, dst: str, profile_name: str, jobs: int | None, force: bool,
              time_limit: float | None, scheduler: str | None, as_json: bool) -> None:
    """Prepare every media file under SRC into DST, keeping the folder structure.

    Writes DST/manifest.jsonl (one line per input). Rerunning skips files that are
    unchanged and already prepared. Exit 0 when every file is ok, passed through or
    skipped; 8 when any failed.
    """
    reporter = ProgressReporter(sys.stderr)
    try:
        result = batch(src, dst, profile_name, jobs=jobs, force=force, time_limit=time_limit,
                       scheduler=scheduler, progress=reporter)
    finally:
        reporter.close()
    for line in summary(result):
        click.echo(line, err=True)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    sys.exit(int(result.exit_code))
