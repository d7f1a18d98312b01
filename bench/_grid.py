"""The grid oracle for bench/video.py: the best plain two-pass x264 encode over frame
size x frame rate at a clip's budget, and the clips the planner is fitted and checked on.

Each grid point is what a careful user could do by hand: libx264 two-pass at the
reference preset (medium, x264's defaults otherwise), Main profile, the video bitrate
mediaprep's planner leaves after its own audio and mp4 index at that frame rate
(``video_bits``), so grid and planner split the same bytes. VMAF is computed at 720p
against the source (``_videosrc.metrics``). Results are cached per clip, point and
bitrate in the work folder (``grid.json``), so a rerun only encodes what is new.

To cover many rates without encoding long clips, a clip of S seconds gets the budget
of a 1,000,000-byte clip of L seconds scaled by S / L: the same bits per second, so
the same choice (the planner sees rate, not length, apart from the small mp4 index).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

from _videosrc import build_clip, ffrun, metrics

from mediaprep.fit.video_plan import audio_plan, video_bits

GRID_SUBSAMPLE = 3  # VMAF on every 3rd frame: 15 points per clip and rate on a shared 2-core machine
# ...but not on footage of 25 frames a second (bikes, bbb, made 30 by repeating
# every 6th frame): every 3rd frame lands on those repeats, and a 15 fps encode,
# whose odd frames repeat the even ones, then loses nothing. Bikes as 15 fps against
# the source itself: VMAF 98.6 on every 3rd frame, 75.8 on every frame (the odd
# frames score 32-34). Those clips are scored on every frame.
SIZES = ((1280, 720), (960, 540), (854, 480), (640, 360), (426, 240))
GRID_FPS = (30, 24, 15)
REFERENCE_PRESET = "medium"  # the grid's and the time unit's x264 preset (mediaprep's before issue 16)
ORACLE_BUDGET = 1_000_000


@dataclass(frozen=True)
class GridClip:
    name: str
    seconds: float
    segments: list[tuple[str, int]]
    like: tuple[float, ...]  # lengths of the 1,000,000-byte clips whose rates it is run at
    held_out: bool
    size: tuple[int, int] = (1920, 1080)
    subsample: int = GRID_SUBSAMPLE  # VMAF on every n-th frame (1 for 25 fps footage)

    def budget(self, like: float) -> int:
        return int(ORACLE_BUDGET * self.seconds / like)


# Fitted on: upscaled street footage (low detail; the second half of the same
# footage at a low rate), photo pans (one at two rates, two more),
# animation, a talking head in a car scaled up from 144 lines. Held out:
# other photos (pans the model never saw), a street/photo mix, a 2160p source. 4-6 s
# each: the rate, not the length, decides the choice, and the machine is shared (one
# clip and rate is ~5 minutes of grid there).
GRID_CLIPS = (
    GridClip("f_bikes", 5.0, [("bikes", 0)], (15,), held_out=False, subsample=1),
    GridClip("f_pan1", 5.0, [("photo", 1)], (15, 45), held_out=False),
    GridClip("f_bikes2", 5.0, [("bikes", 2)], (45,), held_out=False, subsample=1),
    GridClip("f_bbb", 5.0, [("bbb", 0)], (30,), held_out=False, subsample=1),
    GridClip("f_car", 4.0, [("carphone", 0)], (30,), held_out=False),
    GridClip("f_pan2", 5.0, [("photo", 2)], (30, 15), held_out=False),
    GridClip("f_pan3", 5.0, [("photo", 10)], (15,), held_out=False),
    GridClip("h_pan4", 5.0, [("photo", 4)], (15,), held_out=True),
    GridClip("h_4k", 4.0, [("photo", 7)], (10,), held_out=True, size=(3840, 2160)),
    # (Only the street footage: its segment is 10 s long, the clip 6 s.)
    GridClip("h_mix", 6.0, [("bikes", 1), ("photo", 5)], (30,), held_out=True, subsample=1),
)


@dataclass(frozen=True)
class Point:
    width: int
    height: int
    fps: int
    video_bps: int
    bytes: int
    vmaf: float

    @property
    def label(self) -> str:
        return f"{self.width}x{self.height}@{self.fps}"


def clip_source(work: Path, clip: GridClip) -> Path:
    return build_clip(work, clip.name, clip.seconds, clip.segments, size=clip.size,
                      photo_seconds=clip.seconds / len(clip.segments))


def grid_video_bps(budget: int, seconds: float, fps: int) -> int:
    """What the planner leaves for video at this rate (source: 48 kHz stereo AAC)."""
    audio = audio_plan(budget * 8 / seconds, 48000, 2)
    return video_bits(budget, seconds, Fraction(fps), audio)


def two_pass(src: Path, out: Path, w: int, h: int, fps: int, vbps: int, work: Path,
             preset: str = REFERENCE_PRESET) -> None:
    vf = f"fps={fps},scale={w}:{h}:flags=lanczos,setsar=1,format=yuv420p"
    log = str(work / "grid-x264")
    common = ["-c:v", "libx264", "-preset", preset, "-profile:v", "main", "-b:v", str(vbps),
              "-g", str(fps * 10), "-passlogfile", log]
    ffrun(["-i", str(src), "-vf", vf, *common, "-pass", "1", "-an", "-f", "null", "-"])
    ffrun(["-i", str(src), "-vf", vf, *common, "-pass", "2", "-an", "-f", "mp4", str(out)])


def rule_035(budget: int, clip: GridClip) -> tuple[int, int, int]:
    """mediaprep's choice before issue 16, for comparison: the largest ladder size at
    the highest frame rate reaching 0.035 video bits per pixel, with 480p the least
    kept at 30 fps and 360p at 24 (else 240p at 15)."""
    for fps, min_short in ((30, 480), (24, 360), (15, 0)):
        vbps = grid_video_bps(budget, clip.seconds, fps)
        for w, h in SIZES:
            if w * h <= clip.size[0] * clip.size[1] and h >= min_short and vbps / (w * h * fps) >= 0.035:
                return w, h, fps
    return SIZES[-1][0], SIZES[-1][1], 15


def run_grid(work: Path, clip: GridClip, like: float, src: Path, sub: int,
             extra: tuple[tuple[int, int, int], ...] = ()) -> list[Point]:
    """Every frame rate, and along the sizes from the largest down until VMAF has
    fallen 1 point below the best size at that rate (VMAF over size has one peak at
    a fixed rate on every clip measured so far: the smaller sizes are not encoded),
    plus the ``extra`` (width, height, fps) points."""
    cache_file = work / "grid.json"
    cache: dict[str, dict[str, float]] = json.loads(cache_file.read_text()) if cache_file.exists() else {}
    budget = clip.budget(like)
    points: list[Point] = []
    todo = [[(w, h) for w, h in SIZES if w * h <= clip.size[0] * clip.size[1]] for _ in GRID_FPS]
    for fps, sizes in zip(GRID_FPS, todo, strict=True):
        vbps = grid_video_bps(budget, clip.seconds, fps)
        top = 0.0
        wanted = [(w, h) for w, h, f in extra if f == fps]
        for w, h in sizes:
            if (w, h) in wanted:
                wanted.remove((w, h))
            key = f"{clip.name}/{w}x{h}@{fps}/{vbps}/{REFERENCE_PRESET}" + (
                f"/s{sub}" if sub != GRID_SUBSAMPLE else "")
            if key not in cache:
                out = work / "grid-point.mp4"
                two_pass(src, out, w, h, fps, vbps, work)
                vmaf, _ = metrics(out, src, 30.0, sub, work)
                cache[key] = {"bytes": out.stat().st_size, "vmaf": vmaf}
                cache_file.write_text(json.dumps(cache, indent=1))
            c = cache[key]
            points.append(Point(w, h, fps, vbps, int(c["bytes"]), float(c["vmaf"])))
            top = max(top, float(c["vmaf"]))
            if float(c["vmaf"]) < top - 1.0 and not wanted:
                break
    return points


def best(points: list[Point]) -> Point:
    return max(points, key=lambda p: p.vmaf)


def as_json(points: list[Point]) -> list[dict[str, float]]:
    return [asdict(p) for p in points]
