"""The batch's tasks on a Dask distributed cluster (``batch(..., scheduler=ADDRESS)``).

Each Dask task still runs its file in an isolated child process on the Dask worker
(``run_isolated``), so the per-file time and memory limits hold there too. The
parent keeps its role: it plans, records results and writes the manifest. Workers
must see SRC and DST at the same paths as the parent.
"""
from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from typing import Any

from ..errors import MissingDependency, UsageError
from ..output import clean_stale_staging
from .isolate import Outcome, run_jobs
from .results import FileResult
from .worker import Task, discard_staging, failed_from_outcome, job_for

DASK_CONNECT_TIMEOUT = 15.0  # seconds to reach a scheduler before giving up


def run_isolated(task: Task) -> FileResult:
    """One file in its own killable, memory-limited process (the Dask task body;
    Dask pickles it by name, so it stays a module-level function)."""
    out: list[FileResult] = []

    def done(outcome: Outcome) -> None:
        out.append(outcome.value if outcome.ok else failed_from_outcome(task, outcome))

    run_jobs([job_for(task)], 1, done, memory_mb=task.profile.safety.memory_mb,
             on_kill=discard_staging)
    return out[0]


def run_on_dask(tasks: list[Task], address: str, done: Callable[[Task, FileResult], None]) -> None:
    """Submit every task (in the given order, as priorities) and call done(task,
    result) in this process as each finishes. A lost Dask worker costs one file."""
    try:
        from distributed import Client, as_completed
    except ImportError as exc:
        raise MissingDependency("--scheduler needs dask.distributed",
                                hint="pip install 'mediaprep[dask]'") from exc
    try:
        # distributed's Client and as_completed carry no annotations.
        client: Any = Client(address, timeout=DASK_CONNECT_TIMEOUT)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}",
                         hint="check the address (tcp://host:8786) and that the scheduler runs"
                         ) from exc
    run = uuid.uuid4().hex[:8]
    futures: dict[Any, Task] = {}
    try:
        futures = {client.submit(run_isolated, task, key=f"mediaprep-{run}-{task.index}",
                                 priority=len(tasks) - i, pure=False): task
                   for i, task in enumerate(tasks)}
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            task = futures[future]
            try:
                res = future.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker costs one file
                res = failed_from_outcome(task, Outcome(task.index, False, reason="crashed",
                                                        error=f"Dask task failed: {exc}"))
                clean_stale_staging(task.out_dir)
            done(task, res)
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel(list(futures))
        raise
    finally:
        client.close()
