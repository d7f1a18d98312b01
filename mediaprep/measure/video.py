"""VMAF of a video output against its input, through ffmpeg's ``libvmaf`` filter.

The bundled ffmpeg (imageio-ffmpeg) is built with libvmaf and carries its default
model, ``vmaf_v0.6.1``, inside the binary, so no model file is needed. The score is
taken at the output's size and frame rate: the input is brought to those (Lanczos,
ffmpeg's ``fps`` filter picking frames as the fit did), so each frame the recipient
sees is compared with the input's frame at that moment. Both are upright (ffmpeg
applies a display matrix on decode), square-pixel, 8-bit 4:2:0.

Clips longer than ``SAMPLE_AFTER_S`` are sampled: libvmaf scores every 4th frame
(``n_subsample``), and the score says so (``frames_sampled``). VMAF's default model
predicts a 1080p TV seen from three screen heights; on a small output it reads
high (the README says more). Nothing is written: the log goes to ffmpeg's stdout.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from ..errors import ToolFailed
from ..tools import ffmpeg as ff
from .bands import Score, vmaf_band

MODEL = "vmaf_v0.6.1"  # libvmaf's built-in default model
SAMPLE_AFTER_S = 10.0  # longer clips are sampled ...
SUBSAMPLE = 4  # ... every 4th frame


def vmaf_filter_graph(width: int, height: int, fps: float, subsample: int, threads: int) -> str:
    """Input 0 is the output (libvmaf's "main"), input 1 the source (its "reference").
    Both go through the same ``fps`` filter: libvmaf pairs frames by timestamp, and a
    timeline with gaps (a variable-rate phone recording, a spliced file) on one side
    only would pair every later frame with its neighbour. On the output's own
    constant rate the filter changes nothing.

    Both timelines start at the file's time 0, as the fit's does (``start_time=0``):
    a video track that starts after the audio (0.4 s in a camera's file, 25-46 ms in
    old FLV and WMV files) had its first frame repeated up to 0 in the output. Each
    side's own first frame taken as 0 paired every output frame with the source's
    frame that many frames later: VMAF 12-41 for outputs as good as their neighbours'
    97-98."""
    common = "setsar=1,format=yuv420p"
    rate = f"fps={fps:.6g}:start_time=0"
    return (f"[0:v]{rate},{common}[main];"
            f"[1:v]{rate},scale={width}:{height}:flags=lanczos,{common}[ref];"
            f"[main][ref]libvmaf=model=version={MODEL}:n_subsample={subsample}:"
            f"n_threads={threads}:log_fmt=json:log_path=/dev/stdout")


def score_video(source: Path, demuxer: str, output: Path, *, width: int, height: int,
                fps: float, start: float, duration: float, identical: bool = False,
                floor: float = 60.0) -> Score:
    """VMAF of ``output`` against ``source`` from ``start`` for ``duration`` seconds."""
    t0 = time.perf_counter()
    subsample = SUBSAMPLE if duration > SAMPLE_AFTER_S else 1
    facts: list[tuple[str, object]] = [("model", MODEL), ("size", f"{width}x{height}"),
                                       ("frames_sampled", "all" if subsample == 1 else
                                        f"every {subsample}th")]
    if identical:
        # The picture stream was copied untouched (pass-through or lossless remux).
        return Score("vmaf", 100.0, "excellent", time.perf_counter() - t0,
                     (*facts, ("identical", True)))
    args = [*ff.SafeInput(output, "mp4").args(),
            *ff.SafeInput(source, demuxer, start=start or None, duration=duration).args(),
            "-filter_complex", vmaf_filter_graph(width, height, fps, subsample, ff.threads() or 2),
            "-an", "-sn", "-dn", "-f", "null", "-"]
    res = ff.run_args(args, timeout=ff.timeout_for(duration, per_second=6.0, floor=floor))
    try:
        log = json.loads(res.stdout)
        pooled = log["pooled_metrics"]["vmaf"]
        value, low = float(pooled["mean"]), float(pooled["min"])
        frames = len(log.get("frames") or ())
    except (ValueError, KeyError, TypeError) as exc:
        raise ToolFailed("ffmpeg's libvmaf gave no score", path=output,
                         hint="the ffmpeg in use may lack libvmaf; unset MEDIAPREP_FFMPEG to use "
                              "the bundled one, or run without --measure",
                         detail=res.stderr) from exc
    facts += [("frames", frames), ("min", round(low, 2))]
    return Score("vmaf", value, vmaf_band(value), time.perf_counter() - t0, tuple(facts))
