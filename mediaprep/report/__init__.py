"""The batch report: DST/report.html, one self-contained page people look at.

- ``visuals.py``: each row's pictures (thumbnails, frame strip, waveform), made in
  killable workers from the files themselves;
- ``data.py``: manifest lines to rows and the summary (pure);
- ``html.py``: the page (inline style and script, data: pictures, no network).

``build_report(dst)`` reads only DST/manifest.jsonl and the files it names, so
``mediaprep report DST`` rebuilds the page at any time after a batch.
"""
from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from ..batching.isolate import Job, Outcome, run_jobs
from ..batching.manifest import MANIFEST, read_manifest
from ..errors import OutputError, UsageError
from ..output import atomic_path
from .data import row, summarize
from .html import render
from .visuals import Visuals, VisualTask, make_visuals

REPORT = "report.html"
VISUAL_TIME_LIMIT = 60.0  # seconds for one row's pictures; past it the row has none
VISUAL_MEMORY_MB = 2048


def _inside(root: Path, rel: str) -> Path | None:
    """``root / rel`` for a manifest path that stays inside ``root``; None otherwise
    (a doctored manifest must not make the report read elsewhere)."""
    parts = PurePosixPath(rel).parts
    if not parts or PurePosixPath(rel).is_absolute() or ".." in parts:
        return None
    return root.joinpath(*parts)


def _regular(path: Path | None, root: Path) -> Path | None:
    """``path`` when it is a regular file whose real location is under ``root`` (a
    symlink the batch followed inside SRC counts; one leading elsewhere, a FIFO or a
    device is never opened)."""
    if path is None:
        return None
    try:
        real = Path(os.path.realpath(path))
        if not real.is_relative_to(Path(os.path.realpath(root))):
            return None
        return path if stat.S_ISREG(os.stat(real).st_mode) else None
    except OSError:
        return None


def _task(index: int, entry: dict[str, Any], src: Path | None, dst: Path) -> VisualTask | None:
    outputs = [o for o in entry.get("outputs") or () if isinstance(o, dict) and isinstance(o.get("path"), str)]
    if not outputs:
        return None  # failed or skipped: the row shows why, no pictures to make
    media = [o for o in outputs if o.get("slot", "media") == "media"]
    media.sort(key=lambda o: o.get("part") or 0)
    thumbs = [o for o in outputs if o.get("slot") == "thumb"]
    media_paths = tuple(p for p in (_regular(_inside(dst, o["path"]), dst) for o in media) if p is not None)
    thumb = _regular(_inside(dst, thumbs[0]["path"]), dst) if thumbs else None
    source = _regular(_inside(src, str(entry.get("input", ""))), src) if src is not None else None
    first = media[0].get("duration_seconds") if media else None
    return VisualTask(index=index, role=entry.get("role"), source=source, media=media_paths,
                      media_seconds=float(first) if isinstance(first, (int, float)) else 0.0,
                      thumb=thumb)


def build_report(dst: Path | str, src: Path | str | None = None, *, jobs: int = 2,
                 elapsed: float | None = None,
                 on_row: Callable[[int, int], None] | None = None) -> Path:
    """Write DST/report.html from DST/manifest.jsonl and return its path.

    ``src``: the source folder (default: the one the manifest records), for the
    "before" pictures. ``elapsed``: the batch's wall time, when it is known.
    ``on_row(done, total)`` is called as each row's pictures are made.
    """
    dst = Path(dst)
    manifest = dst / MANIFEST
    if not manifest.is_file():
        raise UsageError("no manifest.jsonl here: not a batch output folder", path=dst,
                         hint="run 'mediaprep batch SRC DST' first")
    entries = sorted(read_manifest(manifest).values(), key=lambda e: os.fsencode(str(e.get("input"))))
    if src is None:
        recorded = next((e["src"] for e in entries if isinstance(e.get("src"), str)), None)
        src = Path(recorded) if recorded and Path(recorded).is_dir() else None
    src_path = Path(src) if src is not None else None
    visuals: dict[int, Visuals] = {}
    tasks = [t for t in (_task(i, e, src_path, dst.absolute()) for i, e in enumerate(entries))
             if t is not None]

    def done(outcome: Outcome) -> None:
        if outcome.ok and isinstance(outcome.value, Visuals):
            visuals[outcome.key] = outcome.value
        if on_row is not None:
            on_row(len(visuals), len(tasks))

    run_jobs((Job(key=t.index, fn=make_visuals, arg=t, time_limit=VISUAL_TIME_LIMIT) for t in tasks),
             max(1, min(jobs, len(tasks))), done, memory_mb=VISUAL_MEMORY_MB)
    rows = [row(i, e, visuals.get(i, Visuals())) for i, e in enumerate(entries)]
    summary = summarize(rows, elapsed, jobs if elapsed is not None else None)
    page = render(f"mediaprep report: {dst.absolute().name}", summary, rows)
    target = dst / REPORT
    try:
        with atomic_path(target) as tmp:
            tmp.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write the report: {exc.strerror}", path=dst) from exc
    return target
