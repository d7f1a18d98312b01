"""Outputs you can trust, through the real command: names kept, nothing overwritten,
nothing left behind when a run is stopped or the disk is full."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from mediaprep.output import STAGING_PREFIX
from mediaprep.tools.ffmpeg import run_args

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "testdata" / "images"


def _cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
         timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mediaprep", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout, stdin=subprocess.DEVNULL)


def _jpeg(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        im.load()
        assert im.format == "JPEG"
        return im.size


NAMES = [
    "照片.png",  # CJK
    "微信图片_20240101.png",  # WeChat's own export name
    "holiday 😀 beach.png",  # emoji and spaces
    "שלום.png",  # right-to-left script (kept: letters, not controls)
    "é" * 120 + ".png",  # 240 bytes of stem: cut on a character boundary to fit 255
]


@pytest.mark.parametrize("name", NAMES, ids=["cjk", "wechat", "emoji", "rtl", "long"])
def test_names_are_kept(tmp_path: Path, name: str) -> None:
    src = tmp_path / name
    shutil.copyfile(IMAGES / "ladybird.png", src)
    res = _cli("prepare", str(src), "-o", str(tmp_path / "out"), "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    out = Path(doc["outputs"][0]["path"])
    assert out.parent == tmp_path / "out"
    stem = name.rsplit(".", 1)[0]
    assert out.suffix == ".jpg" and len(os.fsencode(out.name)) <= 255
    assert stem.startswith(out.stem) and len(out.stem) >= min(len(stem), 100)
    _jpeg(out)
    assert src.read_bytes() == (IMAGES / "ladybird.png").read_bytes()  # input untouched


def test_bidi_controls_in_a_name_are_replaced_and_escaped(tmp_path: Path) -> None:
    src = tmp_path / "invoice\u202egpj.png"  # shows as "invoicepng.jpg" on a terminal
    shutil.copyfile(IMAGES / "ladybird.png", src)
    res = _cli("prepare", str(src), "-o", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    (out,) = (tmp_path / "out").iterdir()
    assert out.name == "invoice_gpj.jpg"
    assert "\u202e" not in res.stdout + res.stderr and "\\u202e" in res.stdout


def test_colliding_inputs_get_distinct_names_in_one_run(tmp_path: Path) -> None:
    shutil.copyfile(IMAGES / "ladybird.png", tmp_path / "照片.png")
    shutil.copyfile(IMAGES / "compliant.jpg", tmp_path / "照片.jpg")
    out = tmp_path / "out"
    res = _cli("prepare", str(tmp_path / "照片.png"), str(tmp_path / "照片.jpg"), "-o", str(out), "--json")
    assert res.returncode == 0, res.stderr
    docs = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(docs) == 2  # one JSON object per input, one per line
    assert sorted(p.name for p in out.iterdir()) == ["照片.jpg", "照片_png.jpg"]
    # The JPEG kept the plain name (it already is the output format) and passed through.
    assert (out / "照片.jpg").read_bytes() == (tmp_path / "照片.jpg").read_bytes()
    with Image.open(IMAGES / "ladybird.png") as png:
        assert _jpeg(out / "照片_png.jpg") == png.size  # the PNG's picture, re-encoded at its size
    # The same run again makes the same names (and the same bytes: not an overwrite).
    again = _cli("prepare", str(tmp_path / "照片.png"), str(tmp_path / "照片.jpg"), "-o", str(out))
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in out.iterdir()) == ["照片.jpg", "照片_png.jpg"]


def test_an_existing_file_is_never_replaced_without_overwrite(tmp_path: Path) -> None:
    src = tmp_path / "photo.png"
    shutil.copyfile(IMAGES / "ladybird.png", src)
    out = tmp_path / "out"
    out.mkdir()
    mine = out / "photo.jpg"
    mine.write_bytes(b"the user's own file")
    res = _cli("prepare", str(src), "-o", str(out))
    assert res.returncode == 7
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "photo.jpg exists already" in lines[0] and "--overwrite" in lines[0]
    assert mine.read_bytes() == b"the user's own file"
    assert sorted(p.name for p in out.iterdir()) == ["photo.jpg"]  # no staging left
    res = _cli("prepare", str(src), "-o", str(out), "--overwrite")
    assert res.returncode == 0, res.stderr
    _jpeg(mine)


def test_several_inputs_exit_with_the_worst_and_do_the_rest(tmp_path: Path) -> None:
    good = tmp_path / "good.png"
    shutil.copyfile(IMAGES / "ladybird.png", good)
    bad = tmp_path / "bad.jpg"
    bad.write_text("not a picture")
    res = _cli("prepare", str(bad), str(good), "-o", str(tmp_path / "out"), "--json")
    assert res.returncode == 4, res.stderr
    docs = [json.loads(line) for line in res.stdout.splitlines()]
    assert docs[0]["exit_code"] == 4 and "bad.jpg" in docs[0]["input"]
    _jpeg(Path(docs[1]["outputs"][0]["path"]))


def _clip(path: Path, seconds: int) -> Path:
    """A clip that takes a few seconds to encode on this machine (noise does not compress)."""
    run_args(["-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=30:duration={seconds}",
              "-f", "lavfi", "-i", f"anoisesrc=d={seconds}:a=0.3", "-vf", "noise=alls=60:allf=t",
              "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-c:a", "aac", "-shortest",
              f"file:{path}"], timeout=300)
    return path


def _children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,pgid=,ppid=,comm="], capture_output=True, text=True).stdout
    found = []
    for line in out.splitlines():
        p, _pgid, ppid, comm = line.split(None, 3)
        if "ffmpeg" in comm and int(ppid) == pid:
            found.append(int(p))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_stopped_video_prepare_leaves_nothing(tmp_path: Path, sig: signal.Signals) -> None:
    src = _clip(tmp_path / "clip.mp4", 12)
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.Popen([sys.executable, "-m", "mediaprep", "prepare", str(src), "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    ffmpegs: list[int] = []
    while time.monotonic() < deadline and not ffmpegs:
        ffmpegs = _children_of(proc.pid)
        time.sleep(0.05)
    assert ffmpegs, "ffmpeg never started"
    time.sleep(0.5)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 128 + sig, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and f"stopped by {sig.name}" in lines[0] and "nothing partial" in lines[0]
    time.sleep(0.3)
    for pid in ffmpegs:  # the encoder went with us
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split(")")[-1][:3]
    assert not out.exists() or list(out.iterdir()) == []  # no output, no staging folder
    assert list(tmp.iterdir()) == []  # nothing in the system temp folder either


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def test_a_full_disk_is_exit_7_with_nothing_partial(tmp_path: Path) -> None:
    disk = tmp_path / "small"
    if not _mount_tmpfs(disk, "64k"):
        pytest.skip("cannot mount a tmpfs here (needs root and mount)")
    try:
        src = tmp_path / "photo.png"
        shutil.copyfile(IMAGES / "ladybird.png", src)
        (disk / "filler").write_bytes(b"\0" * 40_000)  # what is left cannot hold the JPEG
        res = _cli("prepare", str(src), "-o", str(disk))
        assert res.returncode == 7, res.stderr
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and str(disk) in lines[0] and "no space" in lines[0].lower()
        assert sorted(p.name for p in disk.iterdir()) == ["filler"]
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_a_stale_staging_folder_of_a_dead_run_is_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    import socket

    host = "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:40]
    stale = out / f"{STAGING_PREFIX}{host}-{dead.pid}-deadbeef"
    stale.mkdir()
    (stale / "half.mp4").write_bytes(b"\0" * 1000)
    src = tmp_path / "photo.png"
    shutil.copyfile(IMAGES / "ladybird.png", src)
    res = _cli("prepare", str(src), "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in out.iterdir()) == ["photo.jpg"]
