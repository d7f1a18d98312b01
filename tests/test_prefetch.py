"""The picture a `prepare` command names, decoded while the command starts
(mediaprep/prefetch.py): used only when it is the very picture the fit would decode,
and then the outputs are the same bytes."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

import mediaprep
from mediaprep import prefetch
from mediaprep.fit.sizes import DECODE_SIDE
from mediaprep.preflight.sniff import sniff
from mediaprep.profiles import WECHAT

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "testdata"))
import make_hostile  # noqa: E402

EXE = str(Path(sys.executable).parent / "mediaprep")


@pytest.fixture(autouse=True)
def _no_early_left() -> Iterator[None]:
    yield
    prefetch.discard()


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each of the fit's asks got the early picture (the real take, watched)."""
    seen: list[bool] = []
    real = prefetch.take

    def watch(*args: object) -> Image.Image | None:
        got = real(*args)  # type: ignore[arg-type]
        seen.append(got is not None)
        return got

    monkeypatch.setattr(prefetch, "take", watch)
    return seen


def _big_jpeg(path: Path, testdata: Path, portrait: bool = False) -> Path:
    """A 2800 px JPEG (the ladybird photo enlarged): decoded DCT-scaled by half. A
    portrait one (1752x2800) is made 1080 px wide, so decoded whole."""
    with Image.open(testdata / "images" / "ladybird.png") as im:
        big = im.convert("RGB").resize((2800, 1752), Image.Resampling.LANCZOS)
        (big.transpose(Image.Transpose.ROTATE_90) if portrait else big).save(path, quality=92)
    return path


def _wait() -> None:
    early = prefetch._early
    assert early is not None
    assert early.done.wait(30)


def _prepared(src: Path, out: Path) -> bytes:
    result = mediaprep.prepare(src, out)
    return result.outputs[0].path.read_bytes()


@pytest.mark.parametrize(("argv", "expected"), [
    (["prepare", "a.jpg"], ["a.jpg"]),
    (["-q", "--debug", "prepare", "-o", "out", "--profile", "p.toml", "a.jpg", "b.png"],
     ["out", "p.toml", "a.jpg", "b.png"]),
    (["prepare", "--", "-photo.jpg", "--"], ["-photo.jpg", "--"]),
    (["prepare", "-", "--name", "x.jpg"], ["x.jpg"]),
    (["prepare"], []),
    (["check", "a.jpg"], []),
    (["--version"], []),
    ([], []),
])
def test_inputs_are_the_words_after_prepare_that_are_not_options(argv: list[str], expected: list[str]) -> None:
    assert prefetch.inputs(argv) == expected


@pytest.mark.parametrize("name", ["big.jpg", "portrait.jpg", "photo_rotated_gps.jpg", "transparent.png",
                                  "ladybird.png", "cmyk.jpg"])
def test_the_early_picture_is_taken_and_the_output_is_the_same(name: str, copy_of, testdata: Path,
                                                                tmp_path: Path, taken: list[bool]) -> None:
    """JPEG DCT-scaled, EXIF-rotated, CMYK with a profile, RGBA and RGB PNG: the fit
    takes the early decode, and writes the very bytes it writes without one."""
    src = _big_jpeg(tmp_path / name, testdata, name == "portrait.jpg") if name in ("big.jpg", "portrait.jpg") \
        else copy_of(f"images/{name}")
    alone = _prepared(src, tmp_path / "alone")
    assert taken == [False]
    taken.clear()
    prefetch.start(["prepare", "-o", str(tmp_path / "early"), str(src)])
    _wait()
    assert _prepared(src, tmp_path / "early") == alone
    assert taken == [True]
    assert prefetch._early is None  # handed out once


def test_a_file_changed_after_the_early_decode_is_decoded_again(copy_of, testdata: Path, tmp_path: Path,
                                                               taken: list[bool]) -> None:
    src = copy_of("images/ladybird.png", "photo.png")
    prefetch.start(["prepare", str(src)])
    _wait()
    with Image.open(testdata / "images" / "ladybird.png") as im:
        im.transpose(Image.Transpose.ROTATE_90).save(src)  # the same name, other pixels
    os.utime(src, ns=(1, 1))  # even with an old time stamp: the size or inode differ
    out = mediaprep.prepare(src, tmp_path / "out").outputs[0]
    assert taken == [False]
    assert (out.width, out.height) == (438, 700)  # the new picture's, turned


def test_another_decode_size_gets_nothing(copy_of) -> None:
    """The fit's second decode (the full picture, to grow past the DCT-scaled one)
    asks at another size: not the early picture."""
    src = copy_of("images/photo_rotated_gps.jpg")
    prefetch.start(["prepare", str(src)])
    _wait()
    sniffed = sniff(src)
    assert prefetch.take(sniffed, 1, WECHAT.safety, DECODE_SIDE * 4) is None
    assert prefetch._early is None  # dropped


def test_the_fit_checks_come_first(copy_of, tmp_path: Path, taken: list[bool]) -> None:
    """A profile whose limits refuse the picture refuses it as without the early
    decode: the probe checks before the fit asks for the picture."""
    src = copy_of("images/photo_rotated_gps.jpg")
    small = tmp_path / "small.toml"
    small.write_text('name = "small"\nbase = "wechat"\n[safety]\nmax_pixels = 1000000\n')
    prefetch.start(["prepare", str(src), "--profile", str(small)])
    _wait()
    with pytest.raises(mediaprep.LimitExceeded):
        mediaprep.prepare(src, tmp_path / "out", profile=mediaprep.load_profile_file(small))
    assert taken == []


@pytest.mark.parametrize("kind", ["fifo", "symlink", "bomb", "scans", "voice", "text"])
def test_what_the_early_thread_leaves_to_the_fit(kind: str, copy_of, testdata: Path, tmp_path: Path) -> None:
    """A FIFO is never opened (nothing blocks), a symlink never followed, and a voice
    note or a text file is no picture: no thread starts (nor is Pillow imported for
    it). A header claiming 10 billion pixels or a JPEG of 3,000 scans is never
    decoded: the early thread ends with nothing, promptly. The input after is not
    looked at."""
    if kind == "fifo":
        path = tmp_path / "pipe.jpg"
        os.mkfifo(path)
    elif kind == "symlink":
        path = tmp_path / "link.jpg"
        path.symlink_to(copy_of("images/compliant.jpg"))
    elif kind == "bomb":
        path = copy_of("images/bomb_header.png")
    elif kind == "scans":
        path = tmp_path / "scans.jpg"
        path.write_bytes(make_hostile._many_scans(3000))
    elif kind == "voice":
        path = copy_of("audio/speech_75s.ogg")
    else:
        path = tmp_path / "notes.jpg"
        path.write_text("not a picture\n")
    prefetch.start(["prepare", str(path), str(copy_of("images/compliant.jpg", "next.jpg"))])
    early = prefetch._early
    if kind in ("fifo", "symlink", "voice", "text"):
        assert early is None
    else:
        assert early is not None and early.done.wait(5)
        assert early.picture is None


def test_an_option_value_before_the_input_is_passed_over(copy_of, tmp_path: Path) -> None:
    """`prepare -o FOLDER photo.jpg`: the folder is looked at and passed over."""
    (tmp_path / "out").mkdir()
    src = copy_of("images/compliant.jpg")
    prefetch.start(["prepare", "-o", str(tmp_path / "out"), "--as", "thumb", str(src)])
    _wait()
    early = prefetch._early
    assert early is not None and early.path == str(src) and early.picture is not None


def test_a_library_call_starts_nothing(copy_of, tmp_path: Path) -> None:
    mediaprep.prepare(copy_of("images/ladybird.png"), tmp_path / "out")
    assert prefetch._early is None


def test_the_command_writes_what_the_library_writes(copy_of, testdata: Path, tmp_path: Path) -> None:
    """The script (which decodes early) and the library call (which does not): the
    same bytes, for a DCT-scaled JPEG and a PNG."""
    for src in (_big_jpeg(tmp_path / "big.jpg", testdata), copy_of("images/ladybird.png")):
        res = subprocess.run([EXE, "prepare", "-q", "-o", str(tmp_path / "cli"), str(src)],
                             capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stderr
        cli = (tmp_path / "cli" / f"{src.stem}.jpg").read_bytes()
        assert cli == _prepared(src, tmp_path / "lib")


@pytest.mark.parametrize("portrait", [False, True])
def test_the_early_resize_is_the_fits_own(testdata: Path, tmp_path: Path, taken: list[bool],
                                           monkeypatch: pytest.MonkeyPatch, portrait: bool) -> None:
    """A JPEG decoded before the fit asks for it is resized at the display side on
    the early thread (a portrait one to 1080 px wide), and the fit takes that
    picture: the same bytes as its own two-thread resize, and the same output."""
    src = _big_jpeg(tmp_path / "big.jpg", testdata, portrait)
    alone = _prepared(src, tmp_path / "alone")
    taken.clear()
    handed: list[bool] = []
    real = prefetch.resized

    def watch(pic: Image.Image, side: int) -> Image.Image | None:
        got = real(pic, side)
        if got is not None:
            from mediaprep.fit.resize import to_side
            from mediaprep.tools import threads

            assert got.tobytes() == to_side(pic, side, threads.pool()).tobytes()
        handed.append(got is not None)
        return got

    monkeypatch.setattr(prefetch, "resized", watch)
    prefetch.start(["prepare", str(src)])
    _wait()
    early = prefetch._early
    assert early is not None and early.resize_done.wait(30)
    assert early.resize_state == "done" and early.resized is not None
    assert _prepared(src, tmp_path / "early") == alone
    assert taken == [True] and handed[0] is True


def test_no_early_resize_when_the_fit_caught_up_or_the_picture_turns(copy_of, testdata: Path,
                                                                     tmp_path: Path) -> None:
    """A picture the fit asked for before its decode ended is resized by the fit
    (faster, on two threads); an EXIF-turned or grey one is not the fit's source as
    it is: neither is resized early."""
    src = _big_jpeg(tmp_path / "big.jpg", testdata)
    prefetch.start(["prepare", str(src)])
    early = prefetch._early
    assert early is not None
    with early.lock:  # as take() does when the decode has not ended
        early.resize_state = "dropped"
    _wait()
    assert early.resize_done.wait(30) and early.resized is None
    prefetch.discard()
    for name in ("photo_rotated_gps.jpg", "grey.jpg"):
        prefetch.start(["prepare", str(copy_of(f"images/{name}"))])
        _wait()
        early = prefetch._early
        assert early is not None and early.picture is not None
        assert early.resize_done.wait(30) and early.resize_state == "dropped"
        prefetch.discard()


def test_the_script_decodes_early_and_the_fit_takes_it(testdata: Path, tmp_path: Path) -> None:
    """The `mediaprep` script itself starts the early decode, and the fit of its
    `prepare` takes that picture (watched in the script's own process)."""
    src = _big_jpeg(tmp_path / "big.jpg", testdata)
    out = tmp_path / "out"
    probe = (
        "import sys\nimport mediaprep.prefetch as p\ngot = []\nreal = p.take\n"
        "def take(*args):\n    pic = real(*args)\n    got.append(pic is not None)\n    return pic\n"
        f"p.take = take\nsys.argv = ['mediaprep', 'prepare', '-q', '-o', {str(out)!r}, {str(src)!r}]\n"
        "from mediaprep.script import run\ntry:\n    run()\nfinally:\n    print('TAKEN', got)\n")
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert "TAKEN [True]" in res.stdout, res.stdout + res.stderr
    with Image.open(out / "big.jpg") as im:
        assert im.format == "JPEG" and im.size == (1080, 676)
