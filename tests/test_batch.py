"""`mediaprep batch` on real folders: mixed media, bad files, hostile names,
resume, and recovery after the process is killed mid-run."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import mediaprep
from mediaprep.batching.manifest import MANIFEST, read_manifest
from mediaprep.batching.naming import choose_stems
from mediaprep.output import STAGING_PREFIX
from mediaprep.tools.ffmpeg import run_args

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "testdata" / "images"
HAS_VOICE = importlib.util.find_spec("mediaprep.fit.voice") is not None
HAS_VIDEO = importlib.util.find_spec("mediaprep.fit.video") is not None
needs_voice = pytest.mark.skipif(not HAS_VOICE, reason="mediaprep.fit.voice not on this branch yet")
needs_video = pytest.mark.skipif(not HAS_VIDEO, reason="mediaprep.fit.video not on this branch yet")

NEWLINE_NAME = "new\nline.jpg"
BAD_BYTES_NAME = os.fsdecode(b"bad\xffname.jpg")


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "mediaprep", *args], capture_output=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def _wav(path: Path, seconds: float = 2.0) -> Path:
    run_args(["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-ac", "1",
              "-ar", "22050", "-f", "wav", f"file:{path}"], timeout=60)
    return path


def _mp4(path: Path) -> Path:
    run_args(["-f", "lavfi", "-i", "testsrc=size=160x120:rate=15:duration=1",
              "-f", "lavfi", "-i", "sine=frequency=330:duration=1",
              "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
              "-shortest", "-f", "mp4", f"file:{path}"], timeout=60)
    return path


def _tree_hashes(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = Path(dirpath) / name
            if p.is_symlink() or not p.is_file():
                continue
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _all_files(root: Path) -> list[Path]:
    return [Path(d) / f for d, _ds, fs in os.walk(root) for f in fs]


def _copy(name: str, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(IMAGES / name, dest)
    return dest


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """Images, audio, video, bad files, nested folders, colliding names, links, a FIFO,
    hostile names."""
    src = tmp_path / "src"
    _copy("photo_rotated_gps.jpg", src / "a" / "b" / "holiday.jpg")
    _copy("ladybird.png", src / "ladybird.png")
    _copy("compliant.jpg", src / "compliant.jpg")
    _copy("transparent.png", src / "a" / "transparent.png")
    # Three inputs that all want the output name photo.jpg (one differs in case only).
    _copy("ladybird.png", src / "sub" / "photo.png")
    _copy("grey.jpg", src / "sub" / "photo.jpg")
    _copy("animated.gif", src / "sub" / "PHOTO.gif")
    # Names that break naive tools.
    _copy("palette.png", src / "-dash.png")
    _copy("grey.jpg", src / "quote's \"x\" y.jpg")
    _copy("cmyk.jpg", src / NEWLINE_NAME)
    _copy("grey16.png", src / BAD_BYTES_NAME)
    # Audio and video, made here with the bundled ffmpeg.
    (src / "voice").mkdir()
    _wav(src / "voice" / "note one.wav")
    (src / "video").mkdir()
    _mp4(src / "video" / "clip.mp4")
    # Bad files: truncated, text pretending to be a picture, empty.
    (src / "bad").mkdir()
    (src / "bad" / "truncated.jpg").write_bytes((IMAGES / "photo_rotated_gps.jpg").read_bytes()[:3000])
    (src / "bad" / "fake.png").write_text("not a picture\n")
    (src / "bad" / "empty.jpg").write_bytes(b"")
    (src / "notes.txt").write_text("a note, not media\n")
    (src / "docs").mkdir()
    (src / "docs" / "readme.md").write_text("# only a sidecar here\n")
    # A symlink leading out, one staying in, and a FIFO that would block if opened.
    outside = _copy("grey.jpg", tmp_path / "outside" / "secret.jpg")
    (src / "link_out.jpg").symlink_to(outside)
    (src / "link_in.jpg").symlink_to(src / "compliant.jpg")
    os.mkfifo(src / "pipe.jpg")
    return src


EXPECTED_STATUS = {
    "a/b/holiday.jpg": "ok", "ladybird.png": "ok", "compliant.jpg": "passed",
    "a/transparent.png": "ok", "sub/photo.png": "ok", "sub/photo.jpg": "passed",
    "sub/PHOTO.gif": "ok", "-dash.png": "ok", "quote's \"x\" y.jpg": "passed",
    NEWLINE_NAME: "ok", BAD_BYTES_NAME: "ok", "link_in.jpg": "passed",
    "bad/truncated.jpg": "failed", "bad/fake.png": "failed", "bad/empty.jpg": "failed",
    "notes.txt": "skipped", "docs/readme.md": "skipped", "link_out.jpg": "skipped", "pipe.jpg": "skipped",
    "voice/note one.wav": "ok", "video/clip.mp4": "ok",
}


def test_mixed_folder(mixed: Path, tmp_path: Path) -> None:
    dst = tmp_path / "dst"
    before_src = _tree_hashes(mixed)
    before_outside = _tree_hashes(tmp_path / "outside")
    proc = _cli("batch", str(mixed), str(dst), "--jobs", "2", "--json")
    stderr = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 8, stderr  # three bad files

    # Inputs untouched; nothing written beside SRC or DST.
    assert _tree_hashes(mixed) == before_src
    assert _tree_hashes(tmp_path / "outside") == before_outside
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dst", "outside", "src"]

    report = json.loads(proc.stdout)
    lines = (dst / MANIFEST).read_bytes().splitlines()
    entries = [json.loads(line) for line in lines]
    assert report["files"] == entries  # --json and the manifest agree
    by_input = {e["input"]: e for e in entries}
    assert len(by_input) == len(entries) == len(EXPECTED_STATUS)  # one line per input
    for name, want in EXPECTED_STATUS.items():
        if name.startswith("voice/") and not HAS_VOICE or name.startswith("video/") and not HAS_VIDEO:
            continue
        got = by_input[name]
        if name == "video/clip.mp4":  # already compliant H.264/AAC: may be passed through
            assert got["status"] in ("ok", "passed"), got
        else:
            assert got["status"] == want, got

    # Every prepared image is a real JPEG within budget, in the same relative folder.
    for name, entry in by_input.items():
        for out in entry["outputs"]:
            path = dst / out["path"]
            assert path.parent.relative_to(dst) == Path(name).parent
            assert path.stat().st_size == out["bytes"]
            if entry["role"] == "image":
                with Image.open(path) as im:
                    im.load()
                    assert im.format == "JPEG" and out["bytes"] <= 128_000
                    assert (im.width, im.height) == (out["width"], out["height"])
                assert entry["attachments"] == [
                    {"type": "image", "media_id": f"<image_media_id of {path.name}>"}]
            assert entry["sha256"] and entry["settings"]

    # Colliding names got distinct outputs, each holding its own picture.
    sub = {e["input"]: e["outputs"][0] for e in entries if e["input"].startswith("sub/")}
    assert len({o["path"].lower() for o in sub.values()}) == 3
    assert sub["sub/photo.jpg"]["path"] == "sub/photo.jpg"  # first in order keeps the plain name
    assert (sub["sub/photo.png"]["width"], sub["sub/photo.png"]["height"]) == (700, 438)
    assert (dst / sub["sub/photo.jpg"]["path"]).read_bytes() == (mixed / "sub/photo.jpg").read_bytes()
    with Image.open(dst / sub["sub/PHOTO.gif"]["path"]) as im, Image.open(IMAGES / "animated.gif") as gif:
        assert im.size == gif.size

    # Failures carry the one-line error and the exit code prepare would have used.
    assert by_input["bad/truncated.jpg"]["exit_code"] == 4
    assert by_input["bad/fake.png"]["error"].startswith("bad/fake.png: content is text/plain")
    assert "outside" in by_input["link_out.jpg"]["reason"]
    assert "FIFO" in by_input["pipe.jpg"]["reason"]
    assert "not a media file" in by_input["notes.txt"]["reason"]
    assert by_input["notes.txt"]["sha256"] == hashlib.sha256(b"a note, not media\n").hexdigest()
    assert by_input["bad/fake.png"]["bytes"] == len("not a picture\n")

    # Names are printed escaped: no raw newline or undecodable byte on stderr.
    assert "FAIL  bad/fake.png: content is text/plain" in stderr
    assert "SKIP  pipe.jpg: FIFO" in stderr
    assert not any(line.startswith("line.jpg") for line in stderr.splitlines())
    assert "\ufffd" not in stderr
    assert "ok  " in stderr and "failed" in stderr and "manifest:" in stderr  # the summary
    # Hostile names keep what is safe: control characters and a leading "-" replaced.
    outs = {e["input"]: e["outputs"] for e in entries}
    assert outs[NEWLINE_NAME][0]["path"] == "new_line.jpg"
    assert outs[BAD_BYTES_NAME][0]["path"] == BAD_BYTES_NAME  # the name kept, byte for byte
    assert outs["-dash.png"][0]["path"] == "_dash.jpg"  # a leading "-" replaced, the rest kept

    assert not (dst / "docs").exists()  # no empty mirror of a folder without media
    # No partial files or staging folders anywhere.
    assert not [p for p in _all_files(dst) if p.name.endswith(".part")]
    assert not [p for p in dst.rglob(f"{STAGING_PREFIX}*")]

    if HAS_VOICE:
        (voice,) = by_input["voice/note one.wav"]["outputs"]
        data = (dst / voice["path"]).read_bytes()
        assert data.startswith(b"#!AMR\n") and voice["path"].endswith(".amr")
        assert 1.8 < voice["duration_seconds"] < 2.2
    if HAS_VIDEO:
        roles = sorted(o["slot"] for o in by_input["video/clip.mp4"]["outputs"])
        assert roles == ["media", "thumb"]
        assert by_input["video/clip.mp4"]["attachments"][0]["type"] == "video"


def _good_folder(root: Path) -> Path:
    _copy("photo_rotated_gps.jpg", root / "trip" / "day1.jpg")
    _copy("ladybird.png", root / "trip" / "bug.png")
    _copy("compliant.jpg", root / "ok.jpg")
    _copy("transparent.png", root / "logo.png")
    if HAS_VOICE:
        _wav(root / "note.wav")
    if HAS_VIDEO:
        _mp4(root / "clip.mp4")
    return root


def _stats(dst: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(dst)): (p.stat().st_mtime_ns, p.stat().st_ino)
            for p in _all_files(dst) if p.name not in (MANIFEST,) and not p.name.startswith(".")}


def test_rerun_does_no_work_and_redoes_what_changed(tmp_path: Path) -> None:
    src, dst = _good_folder(tmp_path / "src"), tmp_path / "dst"
    seen = []
    first = mediaprep.batch(src, dst, jobs=2, progress=seen.append)
    n = len(first.files)
    assert first.exit_code == 0 and first.dispatched == n
    assert {f.status for f in first.files} <= {"ok", "passed"}
    assert seen[-1].done == seen[-1].total == n and seen[-1].bytes_done == seen[-1].bytes_total
    assert [p.last.input for p in seen if p.last] and len([p for p in seen if p.last]) == n
    stats = _stats(dst)

    second = mediaprep.batch(src, dst, jobs=2)
    assert second.dispatched == 0  # no file reached a worker: no encode at all
    assert [f.status for f in second.files] == ["skipped"] * n
    assert all(f.resumed and f.outputs for f in second.files)
    assert _stats(dst) == stats  # outputs neither rewritten nor replaced
    manifest = [json.loads(x) for x in (dst / MANIFEST).read_bytes().splitlines()]
    assert len(manifest) == n and {e["status"] for e in manifest} == {"skipped"}
    # A skipped entry still says what the outputs are, for whoever sends them.
    day1 = next(e for e in manifest if e["input"] == "trip/day1.jpg")
    assert day1["outputs"][0]["path"] == "trip/day1.jpg" and day1["attachments"]

    # Change one input's content, delete another's output: exactly those two are redone.
    _copy("grey.jpg", src / "ok.jpg")
    (dst / "logo.jpg").unlink()
    third = mediaprep.batch(src, dst, jobs=2)
    redone = sorted(str(f.input) for f in third.files if not f.resumed)
    assert redone == ["logo.png", "ok.jpg"] and third.dispatched == 2
    assert (dst / "ok.jpg").read_bytes() == (src / "ok.jpg").read_bytes()

    # Other settings (another profile) or --force redo everything.
    assert mediaprep.batch(src, dst, "wecom", jobs=2).dispatched == n
    forced = mediaprep.batch(src, dst, "wecom", jobs=2, force=True)
    assert forced.dispatched == n and not any(f.resumed for f in forced.files)


N_KILL = 8


def test_killed_run_leaves_no_partial_output_and_rerun_finishes(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    photo = Image.open(IMAGES / "photo_rotated_gps.jpg")
    for i in range(N_KILL):  # distinct real pictures, each about a second of work
        photo.rotate(i * 7, expand=True).save(src / f"p{i:02d}.jpg", quality=97)
    proc = subprocess.Popen([sys.executable, "-m", "mediaprep", "batch", str(src), str(dst),
                             "--jobs", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    manifest = dst / MANIFEST
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if manifest.exists() and manifest.read_bytes().count(b"\n") >= 2:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    time.sleep(0.5)  # workers die with the batch (PR_SET_PDEATHSIG)

    done_before = read_manifest(manifest)
    assert 2 <= len(done_before) < N_KILL, "kill the run mid-way"
    for line in manifest.read_bytes().splitlines():
        json.loads(line)  # every line complete
    # Whatever carries a final name is a whole, decodable JPEG.
    finals = [p for p in dst.iterdir() if p.is_file() and p.suffix == ".jpg"]
    for p in finals:
        with Image.open(p) as im:
            im.load()
    assert {p.name for p in finals} >= {Path(k).stem + ".jpg" for k in done_before}

    rerun = _cli("batch", str(src), str(dst), "--jobs", "2", "--json")
    assert rerun.returncode == 0, rerun.stderr.decode()
    entries = {e["input"]: e for e in json.loads(rerun.stdout)["files"]}
    assert len(entries) == N_KILL
    resumed = {k for k, e in entries.items() if e.get("resumed")}
    assert resumed == set(done_before)  # finished files were not redone
    assert all(e["status"] == "ok" for k, e in entries.items() if k not in resumed)
    assert len(list(dst.glob("*.jpg"))) == N_KILL
    assert not [p for p in _all_files(dst) if p.name.endswith(".part")]
    assert not list(dst.glob(f"{STAGING_PREFIX}*"))


def test_torn_manifest_line_is_ignored_and_repaired(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    _copy("ladybird.png", src / "a.png")
    _copy("grey.jpg", src / "b.jpg")
    mediaprep.batch(src, dst, jobs=1)
    good = (dst / MANIFEST).read_bytes().splitlines()[0]
    (dst / MANIFEST).write_bytes(good + b'\n{"input": "b.jpg", "status": "o')  # killed mid-write
    res = mediaprep.batch(src, dst, jobs=1)
    assert [(str(f.input), f.resumed) for f in res.files] == [("a.png", True), ("b.jpg", False)]
    lines = (dst / MANIFEST).read_bytes().splitlines()
    assert [json.loads(x)["input"] for x in lines] == ["a.png", "b.jpg"]


def _big_png(path: Path) -> None:
    with Image.open(IMAGES / "photo_rotated_gps.jpg") as im:
        im.convert("RGB").resize((2500, 4000)).save(path, compress_level=1)


def test_time_limit_kills_one_file_not_the_batch(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    _big_png(src / "big.png")
    res = mediaprep.batch(src, dst, jobs=1, time_limit=0.05)
    (f,) = res.files
    assert f.status == "failed" and "did not finish within 0.05 s" in (f.error or "")
    assert f.exit_code == 6 and res.exit_code == 8
    assert sorted(p.name for p in dst.iterdir()) == [MANIFEST]  # the lock file is removed at the end


def test_memory_limit_from_profile(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    _big_png(src / "big.png")  # 10 MP: 30 MB decoded, more while resizing
    _copy("grey.jpg", src / "small.jpg")
    prof = tmp_path / "tight.toml"
    prof.write_text('name = "tight"\n[safety]\nmemory_mb = 90\n')
    res = mediaprep.batch(src, dst, str(prof), jobs=1)
    by = {str(f.input): f for f in res.files}
    assert by["small.jpg"].status == "passed"
    assert by["big.png"].status == "failed", by["big.png"]
    # Either the decoder's MemoryError (caught as "not enough memory") or the worker's
    # own report: both name memory, and the batch goes on.
    assert "memory" in (by["big.png"].error or ""), by["big.png"].error
    assert by["big.png"].exit_code == 4


def test_output_inside_source_is_not_walked_and_source_inside_output_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "photos"
    _copy("grey.jpg", src / "a.jpg")
    res = mediaprep.batch(src, src / "out", jobs=1)
    assert [str(f.input) for f in res.files] == ["a.jpg"]
    assert [str(f.input) for f in mediaprep.batch(src, src / "out", jobs=1).files] == ["a.jpg"]
    with pytest.raises(mediaprep.UsageError):
        mediaprep.batch(src, tmp_path, jobs=1)
    proc = _cli("batch", str(src), str(src))
    assert proc.returncode == 2 and b"must not be the source folder" in proc.stderr


def test_choose_stems_is_stable_and_distinct() -> None:
    names = [Path(n) for n in ("photo.png", "photo.jpg", "Photo.GIF", "photo.thumb.png", "x.jpg")]
    stems = choose_stems(names, taken=["x"])
    assert stems[Path("photo.jpg")] == "photo"
    assert stems[Path("photo.png")] == "photo_png"
    assert stems[Path("Photo.GIF")] == "Photo_gif"
    assert stems[Path("photo.thumb.png")] == "photo_thumb"  # photo.thumb.jpg is the thumb slot
    assert stems[Path("x.jpg")] == "x_jpg"  # a sub-folder "x" exists
    assert choose_stems(list(reversed(names)), taken=["x"]) == stems
    # A sidecar never takes the name from its picture, whatever the byte order.
    assert choose_stems([Path("IMG_1.AAE"), Path("IMG_1.PNG")]) == {
        Path("IMG_1.PNG"): "IMG_1", Path("IMG_1.AAE"): "IMG_1_aae"}


def test_check_accepts_folders_and_never_opens_fifos_or_links_out(mixed: Path) -> None:
    proc = _cli("check", str(mixed), "--json", timeout=60)
    report = json.loads(proc.stdout)
    skipped = {Path(f["path"]).name: f["reason"] for f in report["files"]
               if f["status"] == "skipped" and f["category"] == "not a regular file"}
    assert set(skipped) == {"pipe.jpg", "link_out.jpg"}
    assert proc.returncode == 4  # the bad files
    checked = {Path(f["path"]).name for f in report["files"] if "complies" in f}
    assert {"compliant.jpg", "link_in.jpg", "holiday.jpg"} <= checked
    text = _cli("check", str(mixed / "sub"), timeout=60)
    assert text.returncode == 5 and b"OK    " in text.stdout


def test_dask_scheduler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    distributed = pytest.importorskip("distributed")
    src, dst = tmp_path / "src", tmp_path / "dst"
    _copy("ladybird.png", src / "x" / "bug.png")
    _copy("compliant.jpg", src / "ok.jpg")
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        res = mediaprep.batch(src, dst, scheduler=cluster.scheduler_address)
        by = {str(f.input): f for f in res.files}
        assert by["x/bug.png"].status == "ok" and by["ok.jpg"].status == "passed"
        assert by["broken.jpg"].status == "failed" and res.exit_code == 8
        with Image.open(dst / "x" / "bug.jpg") as im:
            assert im.size == (700, 438)
        assert len(read_manifest(dst / MANIFEST)) == 3
        again = mediaprep.batch(src, dst, scheduler=cluster.scheduler_address)
        assert again.dispatched == 1  # only the broken file is retried
    monkeypatch.setattr(sys.modules["mediaprep.batching.cluster"], "DASK_CONNECT_TIMEOUT", 1.0)
    with pytest.raises(mediaprep.UsageError, match="cannot reach the Dask scheduler"):
        mediaprep.batch(src, dst, scheduler="tcp://127.0.0.1:9")


def test_large_videos_start_first(tmp_path: Path) -> None:
    from mediaprep.batching.run import order
    from mediaprep.batching.worker import Task
    from mediaprep.profiles import WECHAT

    def task(i: int, kind: str, size: int) -> Task:
        return Task(index=i, path=tmp_path / f"{i}", rel=Path(f"{i}"), out_dir=tmp_path, stem=str(i), mtime_ns=0,
                    kind=kind, size=size, profile=WECHAT, options=mediaprep.PrepareOptions(),
                    settings="", time_limit=None)

    tasks = [task(0, "image", 9_000_000), task(1, "video", 2_000_000), task(2, "audio", 500_000),
             task(3, "video", 40_000_000), task(4, "image", 100_000)]
    assert [t.index for t in order(tasks)] == [3, 1, 0, 2, 4]


def test_ctrl_c_stops_cleanly_and_rerun_finishes(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    photo = Image.open(IMAGES / "photo_rotated_gps.jpg")
    for i in range(4):
        photo.rotate(i * 11, expand=True).save(src / f"q{i}.jpg", quality=97)
    proc = subprocess.Popen([sys.executable, "-m", "mediaprep", "batch", str(src), str(dst),
                             "--jobs", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (
            (dst / MANIFEST).exists() and (dst / MANIFEST).read_bytes().count(b"\n") >= 1):
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and b"interrupted" in err
    assert not list(dst.glob(f"{STAGING_PREFIX}*"))  # the running file's work was removed
    assert not [p for p in _all_files(dst) if p.name.endswith(".part")]
    assert 1 <= len(read_manifest(dst / MANIFEST)) < 4
    res = mediaprep.batch(src, dst, jobs=2)
    assert res.exit_code == 0 and len(res.files) == 4 and res.dispatched < 4


def test_progress_bar_on_a_terminal_and_plain_lines_in_a_log(tmp_path: Path) -> None:
    import io

    from mediaprep.cli.progress import ProgressReporter

    src, dst = tmp_path / "src", tmp_path / "dst"
    _copy("grey.jpg", src / "a.jpg")
    (src / "b.jpg").write_text("oops")
    events: list = []
    mediaprep.batch(src, dst, jobs=1, progress=events.append)
    tty, log = io.StringIO(), io.StringIO()
    bar, plain = ProgressReporter(tty, tty=True), ProgressReporter(log, tty=False, interval=0)
    for e in events:
        bar(e)
        plain(e)
    bar.close()
    plain.close()
    assert "\r\x1b[K[" in tty.getvalue() and "2/2 files" in tty.getvalue()
    assert "1 failed" in tty.getvalue() and "FAIL  b.jpg: content is text/plain" in tty.getvalue()
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and "\x1b" not in log.getvalue()
    assert any(x.startswith("mediaprep: 2/2 files") for x in lines)
    assert "FAIL  b.jpg: content is text/plain" in log.getvalue()


def test_never_writes_through_symlinks_in_the_output_folder(tmp_path: Path) -> None:
    src, dst, elsewhere = tmp_path / "src", tmp_path / "dst", tmp_path / "elsewhere"
    _copy("grey.jpg", src / "sub" / "a.jpg")
    _copy("grey.jpg", src / "b.jpg")
    elsewhere.mkdir()
    dst.mkdir()
    (dst / "sub").symlink_to(elsewhere)
    victim = elsewhere / "victim.txt"
    victim.write_text("keep")
    (dst / MANIFEST).symlink_to(victim)
    with pytest.raises(mediaprep.OutputError):
        mediaprep.batch(src, dst, jobs=1)
    (dst / MANIFEST).unlink()
    res = mediaprep.batch(src, dst, jobs=1)
    by = {str(f.input): f for f in res.files}
    assert by["b.jpg"].status == "passed"
    assert by["sub/a.jpg"].status == "failed" and by["sub/a.jpg"].exit_code == 7
    assert sorted(p.name for p in elsewhere.iterdir()) == ["victim.txt"]
    assert victim.read_text() == "keep"


def test_library_call_from_an_unguarded_script(tmp_path: Path) -> None:
    # Workers are fresh interpreters, not multiprocessing children: a script without
    # an `if __name__ == "__main__"` guard runs once, not once more per worker.
    src, dst = tmp_path / "src", tmp_path / "dst"
    _copy("ladybird.png", src / "a.png")
    _copy("grey.jpg", src / "b.jpg")
    script = tmp_path / "script.py"
    counter = tmp_path / "runs.txt"
    script.write_text(
        "import mediaprep\n"
        f"open({str(counter)!r}, 'a').write('run\\n')\n"
        f"res = mediaprep.batch({str(src)!r}, {str(dst)!r}, jobs=2)\n"
        "print(res.exit_code, len(res.files))\n")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.split() == [b"0", b"2"]
    assert counter.read_text() == "run\n"


def _quadratic_stems(names: list[Path], taken: list[str]) -> dict[Path, str]:
    """The rule as first written: every candidate against every used stem."""
    from mediaprep.batching.naming import _NATURAL, _clashes
    from mediaprep.batching.walk import MEDIA_EXTENSIONS
    from mediaprep.names import output_stem

    used, chosen = list(taken), {}

    def rank(p: Path) -> tuple[int, bytes]:
        ext = p.suffix.lower()
        return (0 if ext in _NATURAL else 1 if ext in MEDIA_EXTENSIONS else 2, os.fsencode(p.name))

    for path in sorted(names, key=rank):
        base = output_stem(path)
        flat = base.replace(".", "_")
        ext = "".join(ch for ch in path.suffix.lower() if ch.isascii() and ch.isalnum())
        cands = [base, flat] + ([f"{flat}_{ext}"] if ext else [])
        stem = next((c for c in cands if not any(_clashes(c, u) for u in used)), None)
        n = 2
        while stem is None:
            c = f"{cands[-1]}-{n}"
            stem = None if any(_clashes(c, u) for u in used) else c
            n += 1
        used.append(stem)
        chosen[path] = stem
    return chosen


_NAME_PART = st.sampled_from(["a", "A", ".", "_", "ß", "ss", "\u212a", "k", "-2", "jpg", "png", "照"])


@settings(max_examples=300, deadline=None)
@given(st.sets(st.builds(lambda parts, ext: "".join(parts) + ext,
                         st.lists(_NAME_PART, min_size=1, max_size=5),
                         st.sampled_from(["", ".jpg", ".PNG", ".png", ".gif", ".thumb.jpg", ".xmp"])),
               min_size=1, max_size=10),
       st.lists(st.text("aA._ßk", min_size=1, max_size=4), max_size=3))
def test_choose_stems_matches_the_pairwise_rule(names: set[str], taken: list[str]) -> None:
    paths = [Path(n) for n in names]
    assert choose_stems(paths, taken) == _quadratic_stems(paths, taken)


def test_rerun_trusts_size_and_mtime_and_hashes_when_they_move(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    a, b = _copy("compliant.jpg", src / "a.jpg"), _copy("grey.jpg", src / "b.jpg")
    old = time.time_ns() - 10**10  # older than the racy window: the mtime is recorded
    for p in (a, b):
        os.utime(p, ns=(old, old))
    first = mediaprep.batch(src, dst, jobs=1)
    assert first.exit_code == 0 and not (dst / ".mediaprep-batch.lock").exists()
    entries = read_manifest(dst / MANIFEST)
    assert entries["a.jpg"]["mtime_ns"] == old

    # Same size and mtime, other bytes: judged by the stat alone, so never read.
    data = bytearray(a.read_bytes())
    data[-3] ^= 0xFF
    a.write_bytes(bytes(data))
    os.utime(a, ns=(old, old))
    # b only touched: its stat moved, so it is hashed, found unchanged, and resumed.
    os.utime(b, ns=(old + 10**9, old + 10**9))
    second = mediaprep.batch(src, dst, jobs=1)
    assert second.dispatched == 0 and all(f.resumed for f in second.files)
    assert read_manifest(dst / MANIFEST)["b.jpg"]["mtime_ns"] == old + 10**9
    assert not (dst / ".mediaprep-batch.lock").exists()

    # A real change moves the mtime: hashed, differs, redone.
    os.utime(a, ns=(old + 2 * 10**9, old + 2 * 10**9))
    third = mediaprep.batch(src, dst, jobs=1)
    assert [str(f.input) for f in third.files if not f.resumed] == ["a.jpg"]

    # A killed final rewrite's leftover is removed by the next run.
    (dst / f".{MANIFEST}.0badf00d.part").write_bytes(b"{")
    mediaprep.batch(src, dst, jobs=1)
    assert sorted(p.name for p in dst.iterdir()) == ["a.jpg", "b.jpg", MANIFEST]


@needs_voice
def test_fewer_parts_leave_stale_outputs_until_pruned_and_flags_reach_the_files(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    _wav(src / "talk.wav", seconds=150)  # three voice parts under the 60 s limit
    first = mediaprep.batch(src, dst, jobs=1)
    (f,) = first.files
    parts = sorted(str(o.path.relative_to(dst.absolute())) for o in f.outputs)
    assert len(parts) == 3
    (dst / "mine.amr").write_bytes(b"not listed anywhere")  # never touched

    _wav(src / "talk.wav", seconds=2)  # shrinks to one part
    second = mediaprep.batch(src, dst, jobs=1)
    (g,) = second.files
    kept = str(g.outputs[0].path.relative_to(dst.absolute()))
    assert len(g.outputs) == 1 and kept == "talk.amr"  # one part: no .partN
    stale = sorted(p for p, _ in g.stale)
    assert stale == parts
    assert all((dst / p).exists() for p in stale)  # listed, not removed
    entry = read_manifest(dst / MANIFEST)["talk.wav"]
    assert sorted(s["path"] for s in entry["stale"]) == stale
    assert second.to_dict()["stale"] == 3

    # Still listed on a no-op rerun; removed with --prune, and then listed as pruned.
    assert sorted(p for p, _ in mediaprep.batch(src, dst, jobs=1).files[0].stale) == stale
    proc = _cli("batch", str(src), str(dst), "--prune", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["pruned"] == 3 and doc["stale"] == 0
    assert sorted(doc["files"][0]["pruned"]) == stale
    assert not any((dst / p).exists() for p in stale)
    assert (dst / kept).exists() and (dst / "mine.amr").exists()

    # The fitting flags reach the files and are part of the settings: --trim redoes it.
    _wav(src / "talk.wav", seconds=150)
    proc = _cli("batch", str(src), str(dst), "--trim", "5", "--json")
    assert proc.returncode == 0, proc.stderr
    (h,) = json.loads(proc.stdout)["files"]
    assert h["status"] == "ok" and len(h["outputs"]) == 1
    assert h["outputs"][0]["duration_seconds"] <= 5.5
    assert _cli("batch", str(src), str(dst), "--max-parts", "0").returncode == 2


def test_full_disk_while_writing_the_manifest_is_exit_7(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    _copy("compliant.jpg", src / "ok.jpg")
    dst.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(dst)],
                      capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs is not allowed here")
    try:
        (dst / MANIFEST).write_bytes(b'{"input":"x.jpg","status":"ok","outputs":[]}\n')
        with pytest.raises(OSError), open(dst / "fill", "wb", buffering=0) as fh:
            while True:
                fh.write(b"\0" * 4096)
        proc = _cli("batch", str(src), str(dst))
        assert proc.returncode == 7, proc.stderr
        last = proc.stderr.decode().strip().splitlines()[-1]
        assert str(dst) in last and "manifest" in last and "internal error" not in last
        assert sorted(p.name for p in dst.iterdir()) == ["fill", MANIFEST]
    finally:
        subprocess.run(["umount", str(dst)], check=False)
