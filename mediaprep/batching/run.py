"""Folders: ``batch(src, dst)`` walks SRC, plans every output, prepares each file in
an isolated worker, records every result in DST/manifest.jsonl, and resumes from it.

The parent process walks, names outputs, writes the manifest and counts progress;
workers (isolate.run_jobs locally, or a Dask cluster with ``scheduler=``) only
prepare files, each into a private staging folder that is renamed into place when
finished (see worker.py). The parent appends a manifest line only after that
rename, so every ok line describes outputs that exist.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..errors import ExitCode, OutputError, UsageError, escape_name
from ..model import PrepareOptions
from ..output import clean_stale_staging
from ..profiles import Profile, get_profile
from ..tools import env, magic
from .isolate import Outcome, run_jobs
from .manifest import (
    MANIFEST,
    ManifestWriter,
    read_manifest,
    remove_leftover_parts,
    resumed,
    same_stat,
    settings_key,
    settle_stale,
    with_stale,
)
from .naming import choose_stems, ensure_out_dir, output_lock
from .progress import ProgressCallback, ProgressTracker
from .results import BatchResult, FileResult
from .walk import Found, kind_from_name, walk
from .worker import Task, discard_staging, error_line, failed_from_outcome, file_sha256, job_for


def default_jobs() -> int:
    """One worker per core this process may use."""
    return env.cores()


def weight_by_kind(tasks: list[Task]) -> dict[str, float]:
    """The expected work of each kind (image, audio, video), for the ETA."""
    out: dict[str, float] = {}
    for t in tasks:
        out[t.kind] = out.get(t.kind, 0.0) + t.weight
    return out


def order(tasks: list[Task]) -> list[Task]:
    """Longest expected work first (videos, then audio, then pictures, each by size):
    the last file to start is a short one, so all workers finish close together."""
    return sorted(tasks, key=lambda t: (-t.weight, t.index))


def batch(
    src: Path | str,
    dst: Path | str,
    profile: str | Profile = "wechat",
    *,
    jobs: int | None = None,
    force: bool = False,
    prune: bool = False,
    options: PrepareOptions | None = None,
    time_limit: float | None = None,
    scheduler: str | None = None,
    progress: ProgressCallback | None = None,
    measure: bool = False,
) -> BatchResult:
    """Prepare every media file under ``src`` into ``dst`` (same relative folders),
    in parallel, resumably. Returns one FileResult per input; raises only for
    problems with the whole batch (bad folders, another run holding ``dst``).

    ``jobs``: worker processes (default: the number of usable cores).
    ``force``: redo files an earlier run already made.
    ``prune``: remove outputs an earlier run made that no input makes now (listed as
    ``stale`` in the manifest otherwise; nothing the manifest did not list is removed).
    ``time_limit``: seconds per file (default: scaled by media duration).
    ``scheduler``: address of a Dask distributed scheduler to run the files on.
    ``progress``: called with a BatchProgress after each file and on a timer.
    ``measure``: score each output (see mediaprep.measure); an earlier output
    without a score is made again.
    """
    t0 = time.monotonic()
    src, dst = Path(src), Path(dst)
    if not src.exists():
        raise UsageError("does not exist", path=src, hint="check the source folder's path")
    if not src.is_dir():
        raise UsageError("source is not a folder", path=src,
                         hint="use 'mediaprep prepare' for one file")
    magic.require()  # once, before any file: without libmagic every file would fail alike
    src_real, dst_real = src.resolve(), dst.resolve()
    if dst_real == src_real or src_real.is_relative_to(dst_real):
        raise UsageError("the output folder must not be the source folder or contain it",
                         path=dst, hint="choose a separate output folder")
    if jobs is not None and jobs < 1:
        raise UsageError("--jobs must be at least 1")
    jobs = jobs or default_jobs()
    if measure:
        from ..measure.outputs import require

        require()
    prof = get_profile(profile)
    opts = options or PrepareOptions()
    settings = settings_key(prof, opts)
    try:
        dst.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output folder: {exc.strerror}", path=dst) from exc

    with output_lock(dst):
        result = _run(src, dst.absolute(), prof, opts, settings, jobs, force, prune, time_limit,
                      scheduler, progress, t0, measure)
    # Paths as the caller gave them (outputs stay absolute).
    return dataclasses.replace(result, src=src, dst=dst, manifest=dst / MANIFEST)


def _decided(found: Found) -> FileResult | None:
    """The result of an entry that is never opened, or None for a file to prepare.
    (The parent never parses a file's bytes: sniffing happens in the worker too.)"""
    if found.skip is not None:
        return FileResult(input=found.rel, status="skipped", reason=found.skip)
    if found.error is not None:
        return FileResult(input=found.rel, status="failed", exit_code=int(ExitCode.BAD_INPUT),
                          error=f"{escape_name(found.rel)}: {found.error}")
    return None


def _plan(src: Path, dst: Path, prof: Profile, opts: PrepareOptions, settings: str,
          time_limit: float | None, created: list[Path],
          measure: bool = False) -> tuple[list[FileResult], list[Task]]:
    """Results decided without a worker, and a Task for every file to prepare.
    Output folders are made here (appended to ``created``), one folder at a time,
    so the stems of one folder's inputs are chosen together."""
    decided: list[FileResult] = []
    by_folder: dict[Path, list[Found]] = {}
    for found in walk(src, exclude=dst):
        result = _decided(found)
        if result is not None:
            decided.append(result)
        else:
            by_folder.setdefault(found.rel.parent, []).append(found)
    tasks: list[Task] = []
    for rel_dir, items in by_folder.items():
        try:
            out_dir = ensure_out_dir(dst, rel_dir, created)
        except OutputError as exc:
            decided.extend(FileResult(input=f.rel, status="failed", input_bytes=f.size,
                                      error=error_line(f.rel, exc), exit_code=int(exc.exit_code))
                           for f in items)
            continue
        clean_stale_staging(out_dir)
        taken: list[str] = []
        with contextlib.suppress(OSError):  # sub-folder names are taken in the output folder
            taken = [e.name for e in os.scandir(src / rel_dir) if e.is_dir(follow_symlinks=False)]
        stems = choose_stems([f.path for f in items], taken)
        for found in items:
            index = len(tasks)
            tasks.append(Task(index=index, path=(found.target or found.path).absolute(), rel=found.rel,
                              out_dir=out_dir.absolute(), stem=stems[found.path],
                              kind=kind_from_name(found.path), size=found.size,
                              mtime_ns=found.mtime_ns, profile=prof,
                              options=opts, settings=settings, time_limit=time_limit,
                              measure=measure, dev=found.dev, ino=found.ino))
    return decided, tasks


def _resume(tasks: list[Task], previous: dict[str, dict[str, Any]], dst: Path,
            jobs: int) -> tuple[list[FileResult], list[Task]]:
    """Split tasks into results an earlier run already made and tasks still to do.
    An input whose size and mtime match its entry is judged without opening it;
    only those whose stat changed are hashed here (on threads: hashlib releases the
    GIL on large reads), in case only the timestamp moved."""
    done: list[FileResult] = []
    todo: list[Task] = []
    to_hash: list[Task] = []
    for task in tasks:
        entry = previous.get(str(task.rel))
        res = resumed(entry, task, dst) if entry is not None else None
        if res is not None:
            done.append(res)
        elif entry is not None and entry.get("sha256") and not same_stat(entry, task):
            to_hash.append(task)
        else:
            todo.append(task)
    if not to_hash:
        return done, todo

    def check(task: Task) -> FileResult | None:
        try:
            return resumed(previous.get(str(task.rel)), task, dst, file_sha256(task.path))
        except OSError:
            return None

    with ThreadPoolExecutor(max_workers=max(2, jobs)) as pool:
        for task, res in zip(to_hash, pool.map(check, to_hash), strict=True):
            if res is None:
                todo.append(task)
            else:
                done.append(res)
    return done, todo


def _run(src: Path, dst: Path, prof: Profile, opts: PrepareOptions, settings: str, jobs: int,
         force: bool, prune: bool, time_limit: float | None, scheduler: str | None,
         progress: ProgressCallback | None, t0: float, measure: bool = False) -> BatchResult:
    manifest_path = dst / MANIFEST
    remove_leftover_parts(dst)
    # Read even with --force: the earlier outputs are what stale outputs are found from.
    previous = read_manifest(manifest_path)
    created: list[Path] = []  # output folders this run made (removed again if left empty)
    decided, tasks = _plan(src, dst, prof, opts, settings, time_limit, created, measure)
    already, todo = ([], tasks) if force else _resume(tasks, previous, dst, jobs)
    todo = order(todo)

    def stale(res: FileResult) -> FileResult:
        return with_stale(res, previous.get(str(res.input)), dst)

    results: list[FileResult] = []
    state = ProgressTracker(progress, total=len(decided) + len(already) + len(todo),
                            bytes_total=sum(r.input_bytes for r in decided + already)
                            + sum(t.size for t in todo),
                            weight_total=sum(t.weight for t in todo), t0=t0,
                            weight_by_kind=weight_by_kind(todo))
    try:
        with ManifestWriter(manifest_path, dst, src.absolute()) as writer:
            decided = [stale(r) for r in decided]
            # One write for all of them; resumed files keep their earlier line until the
            # final rewrite (appending 10,000 unchanged lines, each fsynced, cost seconds).
            writer.append(*decided)
            for res in [*decided, *(stale(r) for r in already)]:
                results.append(res)
                state.finished(res, weight=0.0)
            by_index = {t.index: t for t in todo}

            def done(task: Task, res: FileResult) -> None:
                res = stale(res)
                writer.append(res)
                results.append(res)
                state.finished(res, weight=task.weight, kind=task.kind)

            def local_done(outcome: Outcome) -> None:
                task = by_index[outcome.key]
                done(task, outcome.value if outcome.ok else failed_from_outcome(task, outcome))

            state.start_work(running=min(jobs, len(todo)))
            if scheduler:
                from .cluster import run_on_dask  # only here: importing it costs ~0.2 s

                run_on_dask(todo, scheduler, done)
            else:
                run_jobs((job_for(t) for t in todo), jobs, local_done,
                         memory_mb=prof.safety.memory_mb, on_tick=state.tick,
                         on_kill=discard_staging)
            results.sort(key=lambda r: os.fsencode(str(r.input)))
            results = settle_stale(results, dst, prune)
            writer.rewrite(results)
    finally:
        for folder in reversed(created):  # e.g. a folder that held only sidecar files
            with contextlib.suppress(OSError):
                folder.rmdir()
    return BatchResult(src=src, dst=dst, files=tuple(results), elapsed=time.monotonic() - t0,
                       jobs=jobs, dispatched=len(todo), manifest=manifest_path)
