"""Bounded work in check and prepare (issue 12), on real files through real code:
the wall clock and the memory estimate of in-process decodes, animation facts
from the container, bounded reads, Pillow's globals left alone, option values and
names checked and escaped where they enter."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

import mediaprep
from mediaprep.errors import ExitCode, LimitExceeded, UsageError
from mediaprep.guard import bounded, check_memory
from mediaprep.model import PrepareOptions

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "testdata"))
import make_hostile  # noqa: E402

EXE = str(Path(sys.executable).parent / "mediaprep")


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def _profile(tmp_path: Path, **safety: object) -> Path:
    lines = "\n".join(f"{k} = {v!r}" for k, v in safety.items())
    path = tmp_path / "tight.toml"
    path.write_text(f'name = "tight"\nbase = "wechat"\n[safety]\n{lines}\n')
    return path


# ------------------------------------------------------------------ the guard

def test_a_runaway_block_is_stopped_at_its_deadline_in_any_thread():
    def spin() -> None:
        with bounded("spinning", 0.2):
            while True:
                pass

    errors: list[BaseException] = []

    def in_thread() -> None:
        try:
            spin()
        except LimitExceeded as exc:
            errors.append(exc)

    started = time.monotonic()
    with pytest.raises(LimitExceeded, match="spinning took longer than 0.2 s"):
        spin()
    worker = threading.Thread(target=in_thread)
    worker.start()
    worker.join(5)
    assert len(errors) == 1 and time.monotonic() - started < 2


def test_a_deadline_that_races_the_end_of_the_block_never_escapes_it():
    # With a 1 ms deadline the stop lands anywhere: in the block, in the guard's own
    # start or cleanup, or after the block finished (then it is withdrawn). Inside,
    # it is the guard's LimitExceeded; it must never land after the guard returned.
    stopped = 0
    for _ in range(300):
        try:
            with bounded("quick", 0.001):
                sum(range(500))
        except LimitExceeded:
            stopped += 1
    time.sleep(0.1)  # a stray stop would land in this sleep
    assert 0 <= stopped <= 300


def test_memory_estimates_over_the_limit_are_refused_before_work():
    with pytest.raises(LimitExceeded, match=r"would need about 2,048 MB of memory \(limit 1,024 MB\)"):
        check_memory("decoding", 2048 << 20, 1024)
    check_memory("decoding", 2048 << 20, 0)  # 0: no limit


def test_a_decode_past_the_profiles_wall_clock_is_exit_4(tmp_path):
    big = tmp_path / "big.png"
    Image.effect_noise((4000, 3000), 80).convert("RGB").save(big, compress_level=1)
    res = _cli("prepare", str(big), "-o", "out", "--profile", str(_profile(tmp_path, decode_seconds=0.05)),
               cwd=tmp_path)
    assert res.returncode == ExitCode.BAD_INPUT, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "decoding the PNG image took longer than 0.05 s" in lines[0]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_decode_over_the_profiles_memory_is_refused_before_decoding(tmp_path):
    big = tmp_path / "big.png"
    Image.new("RGB", (6000, 5000), (9, 99, 199)).save(big)
    profile = _profile(tmp_path, memory_mb=64)
    res = _cli("prepare", str(big), "-o", "out", "--profile", str(profile), cwd=tmp_path)
    assert res.returncode == ExitCode.BAD_INPUT, res.stderr
    assert "would need about" in res.stderr and "limit 64 MB" in res.stderr
    # check decodes nothing: the size alone is reported (a PNG is not a JPEG: exit 5).
    assert _cli("check", str(big), "--profile", str(profile), cwd=tmp_path).returncode == 5


# ------------------------------------------------------------------ animations

@pytest.mark.parametrize(("name", "data"), [
    ("canvas.gif", make_hostile.canvas_gif(5000, 5000, 2000)),
    ("canvas.png", make_hostile.canvas_apng(5000, 5000, 2000)),
    ("canvas.webp", make_hostile.canvas_webp(5000, 5000, 2000)),
])
def test_animation_facts_come_from_the_container_in_no_time(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    started = time.monotonic()
    report = mediaprep.check(path, "wechat-oa")
    assert time.monotonic() - started < 2
    facts = dict(report.facts)
    assert (facts["width"], facts["height"], facts["frames"]) == (5000, 5000, 2000)
    assert facts["duration"] == pytest.approx(2000 * (0.01 if name != "canvas.png" else 0.01))


def test_frames_are_counted_up_to_the_profiles_cap(tmp_path):
    path = tmp_path / "many.gif"
    path.write_bytes(make_hostile.canvas_gif(8, 8, 300))
    report = mediaprep.check(path, mediaprep.profiles.load_profile_file(
        _profile(tmp_path, max_frames_probe=100)))
    assert dict(report.facts)["frames"] == 100


def test_a_gif_with_appended_script_is_never_passed_through(tmp_path):
    # wechat-oa takes GIFs as they are; one carrying a payload after its trailer is rebuilt.
    buf = io.BytesIO()
    Image.new("P", (16, 16), 1).save(buf, "GIF")
    path = tmp_path / "poly.gif"
    path.write_bytes(buf.getvalue() + b"*/=1;alert(document.cookie);/*")
    res = mediaprep.prepare(path, tmp_path / "out", "wechat-oa")
    (out,) = res.outputs
    assert not out.passed_through and b"alert(" not in out.path.read_bytes()


def test_scans_are_counted_by_the_marker_walk_not_by_searching_bytes(tmp_path):
    path = tmp_path / "comment.jpg"
    path.write_bytes(make_hostile.ffda_in_comment())
    report = mediaprep.check(path)
    assert report.complies, report.violations


# ------------------------------------------------------------------ bounded reads

def test_a_jpeg_with_a_huge_sparse_tail_is_handled_in_little_memory(tmp_path):
    path = tmp_path / "tail.jpg"
    buf = io.BytesIO()
    Image.linear_gradient("L").resize((640, 480)).convert("RGB").save(buf, "JPEG", quality=85)
    make_hostile.with_sparse_tail(path, buf.getvalue())
    # VmHWM: the peak of this process's own memory (getrusage would also count the
    # peak of the pytest process it was started from).
    code = (
        "import mediaprep\n"
        f"r = mediaprep.prepare({str(path)!r}, {str(tmp_path / 'out')!r})\n"
        "hwm = next(l for l in open('/proc/self/status') if l.startswith('VmHWM:')).split()[1]\n"
        "print(r.outputs[0].bytes, hwm)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    size, rss_kb = map(int, res.stdout.split())
    assert size == len(buf.getvalue()) and rss_kb < 200_000


# ------------------------------------------------------------------ globals, options, names

def test_mediaprep_leaves_pillows_globals_alone():
    code = (
        "from PIL import Image, ImageFile\n"
        "before = (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)\n"
        "import mediaprep, mediaprep.preflight.probe, mediaprep.fit.image\n"
        "import tempfile, pathlib\n"
        "d = pathlib.Path(tempfile.mkdtemp())\n"
        "Image.new('RGB', (300, 200), 'red').save(d / 'a.png')\n"
        "mediaprep.check(d / 'a.png'); mediaprep.prepare(d / 'a.png', d / 'out')\n"
        "print(before == (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.stdout.strip() == "True", res.stderr


def test_a_hosts_own_pillow_limit_is_respected(tmp_path):
    path = tmp_path / "a.png"
    Image.new("RGB", (3000, 2000), "red").save(path)
    code = (
        "from PIL import Image\nimport mediaprep\nImage.MAX_IMAGE_PIXELS = 1_000_000\n"
        f"try:\n    mediaprep.check({str(path)!r})\n"
        "except mediaprep.MediaprepError as exc:\n    print(exc.exit_code, exc.message)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.stdout.startswith("4 image dimensions exceed Pillow's limit"), res.stderr


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0])
def test_option_values_are_checked_where_options_are_made(value):
    with pytest.raises(UsageError, match="--trim must be a number of seconds >= 0"):
        PrepareOptions(trim=value)


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_trim_nan_and_inf_are_usage_errors_on_the_command_line(tmp_path, value):
    res = _cli("prepare", str(Path(__file__).parent.parent / "testdata/audio/speech_75s.ogg"),
               "-o", "out", "--trim", value, cwd=tmp_path)
    assert res.returncode == ExitCode.USAGE
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "--trim must be a number of seconds" in lines[0]


BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]


def test_bidi_controls_in_names_are_escaped_everywhere(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    names = [f"x{ch}gpj{i}.png" for i, ch in enumerate(BIDI)]
    for name in names:
        Image.new("RGB", (30, 20), "blue").save(src / name)
    (src / "broken\u202egpj.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    outputs = [
        _cli("check", str(src), cwd=tmp_path),
        _cli("prepare", *[str(src / n) for n in names], "-o", "out", cwd=tmp_path),
        _cli("batch", str(src), str(tmp_path / "dst"), cwd=tmp_path),
    ]
    for res in outputs:
        text = res.stdout + res.stderr
        assert not any(ch in text for ch in BIDI), text
    printed = outputs[0].stdout + outputs[0].stderr
    for ch in BIDI:
        assert f"\\u{ord(ch):04x}" in printed
    assert "broken\\u202egpj.jpg" in outputs[2].stderr
    assert json.loads(_cli("check", str(src / names[4]), "--json", cwd=tmp_path).stdout)
