"""mediaprep/output.py on real files and real folders.

Names: an output keeps its input's name (Unicode, CJK, emoji, spaces), with only what
a file system or a shell would misread replaced, cut on a character boundary to fit;
the ASCII form is for WeChat's upload only. Output sets: every output of an input is
staged in a private folder inside the output folder and lands by link/rename, all of
them or none; an existing file is never replaced unless asked to, the input never.
Stale staging folders of dead processes are removed by the next run. Single files
(manifests, journals) are written to a temporary name beside the target and renamed.

Full and read-only file systems are real tmpfs mounts (the tests run as root, which
ignores permission bits); where ``mount`` is not allowed those tests are skipped.
"""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediaprep import output
from mediaprep.errors import ExitCode, OutputError
from mediaprep.model import OutputFile
from mediaprep.names import (
    NAME_MAX,
    ascii_stem,
    fit_name,
    output_stem,
    split_name,
)
from mediaprep.output import (
    STAGING_PREFIX,
    STALE_AFTER,
    OutputSet,
    atomic_path,
    clean_stale_staging,
    output_path,
    resolve_out_dir,
    write_bytes,
    write_failure,
)

STEM_MAX = NAME_MAX - 32  # output_stem leaves room for suffixes like .part12.thumb.jpg


# --- helpers ---------------------------------------------------------------------------------


@contextlib.contextmanager
def _umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _staging(folder: Path) -> list[str]:
    return [name for name in _listing(folder) if name.startswith(STAGING_PREFIX)]


def _nbytes(name: str) -> int:
    return len(os.fsencode(name))


def _stage(outs: OutputSet, name: str, data: bytes, slot: str = "media") -> OutputFile:
    """An output as a fit leaves it: a real file in the staging folder."""
    path = outs.dir / name
    write_bytes(path, data)
    return OutputFile(path=path, slot=slot, role="image" if slot == "media" else "thumb",  # type: ignore[arg-type]
                      bytes=len(data), format="jpeg")


def _mount_tmpfs(where: Path, options: str) -> None:
    if shutil.which("mount") is None:
        pytest.skip("no mount command: cannot make a read-only or full filesystem")
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                          capture_output=True, text=True, timeout=20)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode}); "
                    "root ignores permission bits, so there is no other read-only or full folder")


def _umount(where: Path) -> None:
    subprocess.run(["umount", str(where)], capture_output=True, timeout=20, check=False)
    if os.path.ismount(where):  # something still holds it: detach it lazily
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=20, check=False)


def _remount(where: Path, mode: str) -> None:
    done = subprocess.run(["mount", "-o", f"remount,{mode}", str(where)], capture_output=True,
                          text=True, timeout=20)
    if done.returncode != 0:
        pytest.skip(f"cannot remount {mode}: {done.stderr.strip()}")


@pytest.fixture
def readonly_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder on a read-only filesystem (holding one file, ``existing.jpg``)."""
    where = tmp_path / "ro"
    _mount_tmpfs(where, "size=256k,mode=0755")
    try:
        (where / "existing.jpg").write_bytes(b"old")
        _remount(where, "ro")
        yield where
    finally:
        _umount(where)


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A writable folder on a 64 KiB filesystem."""
    where = tmp_path / "small"
    _mount_tmpfs(where, "size=64k,mode=0755")
    try:
        yield where
    finally:
        _umount(where)


@pytest.fixture
def full_fs(small_fs: Path) -> Path:
    """A 64 KiB filesystem with every block taken by ``filler``."""
    with pytest.raises(OSError) as info, open(small_fs / "filler", "wb") as fh:
        while True:
            fh.write(bytes(4096))
            fh.flush()
    assert info.value.errno == errno.ENOSPC
    return small_fs


@pytest.fixture
def no_inodes_fs(tmp_path: Path) -> Iterator[Path]:
    """A filesystem with blocks to spare but no inode left (nothing new can be created)."""
    where = tmp_path / "inodes"
    _mount_tmpfs(where, "size=256k,nr_inodes=8,mode=0755")
    try:
        with pytest.raises(OSError) as info:
            for i in range(100):
                (where / f"f{i}").touch()
        assert info.value.errno == errno.ENOSPC
        yield where
    finally:
        _umount(where)


def _dead_pid() -> int:
    """The pid of a process of this host that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=30)
    return child.pid


class Boom(Exception):
    pass


# --- resolve_out_dir -------------------------------------------------------------------------


def test_out_dir_defaults_to_the_inputs_folder(tmp_path, monkeypatch):
    (tmp_path / "photo.jpg").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    got = resolve_out_dir(Path("photo.jpg"), None)
    assert got == tmp_path and got.is_absolute()


def test_out_dir_is_created_with_its_parents(tmp_path):
    target = tmp_path / "a" / "b" / "照片"
    assert resolve_out_dir(tmp_path / "in.jpg", target) == target
    assert target.is_dir()


def test_existing_out_dir_is_used_as_is(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("keep")
    assert resolve_out_dir(tmp_path / "in.jpg", tmp_path / "out") == tmp_path / "out"
    assert (tmp_path / "out" / "keep.txt").read_text() == "keep"


def test_out_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file.jpg").write_bytes(b"not a folder")
    with pytest.raises(OutputError) as info:
        resolve_out_dir(tmp_path / "in.jpg", tmp_path / "file.jpg")
    err = info.value
    assert err.exit_code == ExitCode.CANNOT_WRITE == 7
    assert (err.message, err.path) == ("the output path is a file, not a folder", tmp_path / "file.jpg")
    assert "-o" in (err.hint or "")
    assert (tmp_path / "file.jpg").read_bytes() == b"not a folder"


@pytest.mark.parametrize("make, reason", [("below_a_file", "Not a directory"), ("dangling_symlink", "File exists")])
def test_out_dir_that_cannot_be_created_is_refused(tmp_path, make, reason):
    (tmp_path / "file.jpg").write_bytes(b"not a folder")
    target = tmp_path / "file.jpg" / "out" if make == "below_a_file" else tmp_path / "dangling"
    if make == "dangling_symlink":
        target.symlink_to(tmp_path / "nowhere")
    with pytest.raises(OutputError) as info:
        resolve_out_dir(tmp_path / "in.jpg", target)
    err = info.value
    assert err.exit_code == ExitCode.CANNOT_WRITE and err.path == target
    assert err.message == f"cannot create the output folder: {reason}"
    assert "-o" in (err.hint or "")


def test_read_only_out_dir_is_refused(readonly_dir, tmp_path):
    with pytest.raises(OutputError) as info:
        resolve_out_dir(tmp_path / "in.jpg", readonly_dir)
    err = info.value
    assert err.exit_code == ExitCode.CANNOT_WRITE
    assert (err.message, err.path) == ("the output folder is not writable", readonly_dir)
    assert "writable folder" in (err.hint or "")


def test_new_folder_on_a_read_only_filesystem_is_refused(readonly_dir, tmp_path):
    with pytest.raises(OutputError) as info:
        resolve_out_dir(tmp_path / "in.jpg", readonly_dir / "new" / "deeper")
    assert info.value.exit_code == ExitCode.CANNOT_WRITE
    assert info.value.message == "cannot create the output folder: Read-only file system"
    assert _listing(readonly_dir) == ["existing.jpg"]


# --- split_name and fit_name ---------------------------------------------------------------------


@pytest.mark.parametrize("name, parts", [
    ("photo.jpg", ("photo", ".jpg")),
    ("archive.tar.gz", ("archive.tar", ".gz")),
    ("noext", ("noext", "")),
    (".bashrc", (".bashrc", "")),  # a leading dot is not an extension
    ("..jpg", ("..jpg", "")),
    (".hidden.jpg", (".hidden", ".jpg")),
    ("照片.JPG", ("照片", ".JPG")),
    ("", ("", "")),
])
def test_split_name(name, parts):
    assert split_name(name) == parts


@pytest.mark.parametrize("stem, suffix, limit, expected", [
    ("photo", ".jpg", 255, "photo.jpg"),
    ("a" * 300, ".jpg", 255, "a" * 251 + ".jpg"),
    ("é" * 200, ".jpg", 255, "é" * 125 + ".jpg"),  # 2 bytes each: 250 + 4
    ("照" * 100, ".thumb.jpg", 255, "照" * 81 + ".thumb.jpg"),  # 3 bytes each: 243 + 10
    ("😀" * 70, ".jpg", 255, "😀" * 62 + ".jpg"),  # 4 bytes each, never split: 248 + 4
    ("a😀😀", "", 6, "a😀"),
    ("caf\udce9" * 100, ".jpg", 20, "caf\udce9" * 4 + ".jpg"),  # an undecodable byte is one byte
    ("abc", ".jpg", 4, ".jpg"),
])
def test_fit_name(stem, suffix, limit, expected):
    got = fit_name(stem, suffix, limit)
    assert got == expected
    assert _nbytes(got) <= limit


@settings(max_examples=200, deadline=None)
@given(stem=st.text(max_size=200), suffix=st.sampled_from(["", ".jpg", ".part12.thumb.jpg", ".照片"]),
       limit=st.integers(min_value=20, max_value=NAME_MAX))
def test_fit_name_keeps_the_longest_prefix_that_fits(stem, suffix, limit):
    got = fit_name(stem, suffix, limit)
    assert got.endswith(suffix)
    kept = got[:len(got) - len(suffix)]
    assert stem.startswith(kept)
    assert _nbytes(got) <= limit
    if len(kept) < len(stem):  # one more character would not have fitted
        assert _nbytes(kept + stem[len(kept)] + suffix) > limit


# --- output_stem: the input's own name ------------------------------------------------------------


@pytest.mark.parametrize("name, stem", [
    ("photo.jpg", "photo"),
    ("IMG_0001.JPG", "IMG_0001"),
    ("my photo (1).jpeg", "my photo (1)"),  # spaces and brackets stay
    ("archive.tar.gz", "archive.tar"),  # one extension off, inner dots kept
    ("noext", "noext"),
    ("照片.jpg", "照片"),
    ("微信图片_20240101.jpg", "微信图片_20240101"),
    ("音声メモ 2.m4a", "音声メモ 2"),
    ("😀 birthday 🎂.mp4", "😀 birthday 🎂"),
    ("👨\u200d👩\u200d👧.jpg", "👨\u200d👩\u200d👧"),  # a zero-width joiner is not a control
    ("ñandú.png", "ñandú"),
    ("Crème brûlée.jpg", "Crème brûlée"),
    ("Cre\u0300me.jpg", "Crème"),  # decomposed (as macOS writes it) becomes composed
    ("Ærøskøbing.jpg", "Ærøskøbing"),
    ("http:x.mp4", "http:x"),
    ("x..y.jpg", "x..y"),
    # What a file system or a shell would misread:
    ("-i ñandú.png", "_i ñandú"),
    ("--help.mp4", "_-help"),
    ("-", "_"),
    (".hidden.jpg", "_hidden"),
    (".bashrc", "_bashrc"),
    ("...", "_.."),
    ("a\\b.jpg", "a_b"),
    ("a b\nc\td.jpg", "a b_c_d"),
    ("a\x1b[31mred.jpg", "a_[31mred"),
    ("x\x00y.jpg", "x_y"),
    ("\x7fdel.jpg", "_del"),
    ("c1\x85.jpg", "c1_"),
    ("photo\u202egpj.exe", "photo_gpj"),  # would display as photoexe.jpg
    ("\u2066iso\u2069.jpg", "_iso_"),
    ("\u200fmark.jpg", "_mark"),
    ("  spaced  .jpg", "spaced"),
    (" -x.jpg", "_x"),  # the space goes first, then the dash is seen
    ("   .jpg", "media"),
    ("", "media"),
    # Undecodable bytes of a real non-UTF-8 name are kept: they are that file's name.
    ("caf\udce9.jpg", "caf\udce9"),
    ("\udcff\udcfe.jpg", "\udcff\udcfe"),
    # Any other lone surrogate (from JSON or a library caller) can be no file's name.
    ("\ud800photo.jpg", "_photo"),
    ("x\udfff.jpg", "x_"),
])
def test_output_stem(name, stem):
    assert output_stem(Path(name)) == stem
    assert output_stem(name) == stem  # a str as well as a Path


def test_output_stem_uses_the_name_only(tmp_path):
    assert output_stem(tmp_path / ".hidden" / "-x" / "photo.jpg") == "photo"


@pytest.mark.parametrize("stem, count", [
    ("a" * 300, STEM_MAX),
    ("照" * 100, STEM_MAX // 3),  # 74 characters, 222 bytes
    ("😀" * 60, STEM_MAX // 4),  # 55 emoji, 220 bytes: a 4-byte character is never split
    ("a" + "😀" * 60, 1 + (STEM_MAX - 1) // 4),
    ("é" * 150, STEM_MAX // 2),
])
def test_long_names_are_cut_on_a_character_boundary(tmp_path, stem, count):
    got = output_stem(stem + ".jpg")
    assert got == stem[:count]
    assert _nbytes(got) <= STEM_MAX < _nbytes(stem[:count + 1])
    # Every suffix mediaprep adds still makes a name the file system takes.
    (tmp_path / (got + ".part12.thumb.jpg")).write_bytes(b"x")


def test_a_cut_never_leaves_a_trailing_space():
    stem = "a" * (STEM_MAX - 1) + " b"
    assert output_stem(stem + ".jpg") == "a" * (STEM_MAX - 1)


def test_undecodable_name_round_trips_to_its_bytes(tmp_path):
    """A Latin-1 name on a UTF-8 system: the output carries the same bytes."""
    raw = bytes(tmp_path) + b"/caf\xe9 \xff.jpg"
    with open(raw, "wb") as fh:
        fh.write(b"input")
    src = Path(os.fsdecode(raw))
    out = tmp_path / "out"
    out.mkdir()
    final = output_path(src, out, ".thumb.jpg")
    final.write_bytes(b"output")
    assert os.listdir(os.fsencode(out)) == [b"caf\xe9 \xff.thumb.jpg"]


# Any text at all: lone surrogates, controls, bidi marks, separators and NUL included,
# with the characters names go wrong on drawn far more often than chance would.
_AWKWARD = "/\\\x00\n\t\x1b\x7f\x85\u202e\u2066\u200f -._😀照é\u0301\udcff\udce9\ud800\udfff"
_ANY_TEXT = st.text(alphabet=st.one_of(st.characters(codec=None, exclude_categories=()), st.sampled_from(_AWKWARD)),
                    max_size=300)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_ANY_TEXT)
def test_output_stem_of_any_text(tmp_path, text):
    stem = output_stem(text)
    assert stem, "never empty"
    assert "/" not in stem and "\x00" not in stem and "\\" not in stem
    assert not stem.startswith(("-", ".", " ")) and not stem.endswith(" ")
    assert not re.search("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]", stem)
    assert _nbytes(stem) <= STEM_MAX  # encodable: no lone surrogate outside the escapes
    assert output_stem(stem + ".jpg") == stem  # a rerun on an output names alike
    # A real file under the longest output name mediaprep makes from it.
    name = stem + ".part12.thumb.jpg"
    (tmp_path / name).write_bytes(b"x")
    (tmp_path / name).unlink()


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.characters(categories=["L", "N", "So"]), min_size=1, max_size=40))
def test_output_stem_keeps_letters_digits_and_symbols(text):
    expected = unicodedata.normalize("NFC", text)
    if _nbytes(expected) <= STEM_MAX and not expected.startswith(("-", ".")):
        assert output_stem(f"{text}.jpg") == expected


# --- ascii_stem: the upload's name -------------------------------------------------------------


@pytest.mark.parametrize("name, stem", [
    ("photo.jpg", "photo"),
    ("照片.jpg", "ZhaoPian"),
    ("照片 2024.jpg", "ZhaoPian_2024"),
    ("ñandú.png", "nandu"),
    ("-i ñandú.png", "i_nandu"),
    ("Crème brûlée.jpg", "Creme_brulee"),
    ("Straße.jpg", "Strasse"),
    ("Ærøskøbing.jpg", "Aeroskobing"),
    ("Łódź.mp4", "Lodz"),
    ("😀.jpg", "grinning"),
    ("my photo (1).jpeg", "my_photo_1"),
    ("archive.tar.gz", "archive.tar"),
    ("--help.mp4", "help"),
    (".hidden.jpg", "hidden"),
    ("caf\udce9.jpg", "caf"),  # the undecodable byte goes
    ("\ud800x.jpg", "x"),
    ("a" * 300 + ".jpg", "a" * 120),
    ("a" * 119 + ".b.jpg", "a" * 119),  # never cut to end in a dot or dash
    ("a" * 119 + "-b.jpg", "a" * 119),
])
def test_ascii_stem(name, stem):
    assert ascii_stem(Path(name)) == stem
    assert ascii_stem(name) == stem  # the earlier name, same function


@pytest.mark.parametrize("name", ["...", "-", "\udcff\udcfe.jpg", "\u202e.jpg", "___.jpg", "", "\ud800.jpg",
                                  "-_-.mp4"])
def test_ascii_stem_falls_back_to_a_hash(name):
    got = ascii_stem(name)
    assert re.fullmatch(r"media-[0-9a-f]{8}", got)
    assert got == ascii_stem(name)  # stable across calls (and runs: no salt)
    stem, _ = split_name(name)
    if "\ud800" not in stem:
        assert got == "media-" + hashlib.sha256(os.fsencode(stem)).hexdigest()[:8]


def test_ascii_stem_hash_tells_names_apart():
    names = ["\udcff.jpg", "\udcfe.jpg", "\udcff\udcff.jpg", "...", "....", "-", "--"]
    stems = [ascii_stem(n) for n in names]
    assert len(set(stems)) == len(names)
    assert ascii_stem("\udcff.png") == ascii_stem("\udcff.jpg")  # the stem decides, not the extension


_ASCII = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


@settings(max_examples=300, deadline=None)
@given(text=_ANY_TEXT)
def test_ascii_stem_of_any_text(text):
    stem = ascii_stem(text)
    assert stem, "never empty"
    assert stem.isascii() and set(stem) <= _ASCII
    assert not stem.startswith(("-", ".", "_")) and not stem.endswith(("-", ".", "_"))
    assert len(stem) <= 120
    assert any(c.isalnum() for c in stem)
    assert stem == ascii_stem(text)


@settings(max_examples=100, deadline=None)
@given(word=st.text(alphabet=st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=100))
def test_ascii_stem_keeps_plain_ascii(word):
    assert ascii_stem(f"{word}.jpg") == word


# --- output_path ---------------------------------------------------------------------------------


def test_output_path_is_the_inputs_stem_plus_suffix(tmp_path):
    out = tmp_path / "out"
    assert output_path(tmp_path / "-i ñandú.png", out, ".jpg") == out / "_i ñandú.jpg"
    assert output_path(tmp_path / "clip.mov", out, ".thumb.jpg") == out / "clip.thumb.jpg"
    assert output_path(tmp_path / "通话.m4a", out, ".part2.amr") == out / "通话.part2.amr"
    long = output_path(tmp_path / ("😀" * 100 + ".mov"), out, ".part12.thumb.jpg")
    assert _nbytes(long.name) <= NAME_MAX and long.name.endswith(".part12.thumb.jpg")


# --- OutputSet: commit ---------------------------------------------------------------------------


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077, 0o000])
def test_commit_places_every_output_with_plain_permissions(tmp_path, mask):
    with _umask(mask), OutputSet(tmp_path) as outs:
        assert outs.dir.parent == tmp_path and outs.dir.name.startswith(STAGING_PREFIX)
        assert _mode(outs.dir) == 0o700  # private while it is being written
        staged = (_stage(outs, "照片.jpg", b"JPEG"), _stage(outs, "照片.thumb.jpg", b"THUMB", "thumb"))
        assert not (tmp_path / "照片.jpg").exists()  # nothing lands before the commit
        got = outs.commit(staged)
    assert [o.path for o in got] == [tmp_path / "照片.jpg", tmp_path / "照片.thumb.jpg"]
    assert [o.path.read_bytes() for o in got] == [b"JPEG", b"THUMB"]
    for placed in got:
        assert _mode(placed.path) == 0o666 & ~mask  # what a plain open() makes, not 0600
    # Everything but the path is what the fit said.
    assert [dataclasses.replace(o, path=s.path) for o, s in zip(got, staged, strict=True)] == list(staged)
    assert _listing(tmp_path) == ["照片.jpg", "照片.thumb.jpg"]  # the staging folder is gone


def test_commit_of_output_path_names(tmp_path):
    src = tmp_path / "in" / "😀 party.mov"
    src.parent.mkdir()
    src.write_bytes(b"input")
    out = tmp_path / "out"
    out.mkdir()
    with OutputSet(out, protect=src) as outs:
        staged = outs.dir / output_path(src, outs.dir, ".mp4").name
        staged.write_bytes(b"video")
        got = outs.commit((OutputFile(path=staged, slot="media", role="video", bytes=5, format="mp4"),))
    assert got[0].path == out / "😀 party.mp4"
    assert _listing(out) == ["😀 party.mp4"]


def test_an_existing_different_file_is_never_replaced(tmp_path):
    (tmp_path / "photo.thumb.jpg").write_bytes(b"someone else's")
    before = (tmp_path / "photo.thumb.jpg").stat().st_ino
    with pytest.raises(OutputError) as info, OutputSet(tmp_path) as outs:
        staged = (_stage(outs, "photo.jpg", b"new"), _stage(outs, "photo.thumb.jpg", b"new thumb", "thumb"))
        outs.commit(staged)
    err = info.value
    assert err.exit_code == ExitCode.CANNOT_WRITE == 7
    assert err.message == "photo.thumb.jpg exists already and was not replaced"
    assert err.path == tmp_path
    assert "--overwrite" in (err.hint or "") and "-o" in (err.hint or "")
    # Nothing placed (not even the output whose name was free), the staging folder gone.
    assert _listing(tmp_path) == ["photo.thumb.jpg"]
    assert (tmp_path / "photo.thumb.jpg").read_bytes() == b"someone else's"
    assert (tmp_path / "photo.thumb.jpg").stat().st_ino == before


@pytest.mark.parametrize("make", ["folder", "symlink", "dangling_symlink", "fifo"])
def test_anything_under_the_name_is_never_replaced(tmp_path, make):
    final = tmp_path / "photo.jpg"
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "keep").write_bytes(b"keep")
    if make == "folder":
        final.mkdir()
    elif make == "symlink":
        (target / "same.jpg").write_bytes(b"new")  # even a link to the very same bytes
        final.symlink_to(target / "same.jpg")
    elif make == "dangling_symlink":
        final.symlink_to(tmp_path / "nowhere")
    else:
        os.mkfifo(final)
    with pytest.raises(OutputError, match="exists already"), OutputSet(tmp_path) as outs:
        outs.commit((_stage(outs, "photo.jpg", b"new"),))
    assert os.path.lexists(final) and not _staging(tmp_path)
    assert (target / "keep").read_bytes() == b"keep"


def test_identical_bytes_from_a_rerun_are_accepted(tmp_path):
    with OutputSet(tmp_path) as outs:
        outs.commit((_stage(outs, "voice.amr", b"#!AMR\nsame"),))
    before = os.stat(tmp_path / "voice.amr")
    with OutputSet(tmp_path) as outs:
        got = outs.commit((_stage(outs, "voice.amr", b"#!AMR\nsame"), _stage(outs, "voice.part2.amr", b"new")))
    assert [o.path for o in got] == [tmp_path / "voice.amr", tmp_path / "voice.part2.amr"]
    after = os.stat(tmp_path / "voice.amr")
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # left alone
    assert _listing(tmp_path) == ["voice.amr", "voice.part2.amr"]


def test_same_size_different_bytes_is_not_identical(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"x" * 5000 + b"1")
    with pytest.raises(OutputError, match="exists already"), OutputSet(tmp_path) as outs:
        outs.commit((_stage(outs, "a.jpg", b"x" * 5000 + b"2"),))


def test_overwrite_replaces(tmp_path):
    (tmp_path / "photo.jpg").write_bytes(b"old")
    (tmp_path / "photo.thumb.jpg").mkdir()  # a folder is still not replaced by a file
    with OutputSet(tmp_path, overwrite=True) as outs:
        got = outs.commit((_stage(outs, "photo.jpg", b"new"),))
    assert got[0].path.read_bytes() == b"new"
    assert _listing(tmp_path) == ["photo.jpg", "photo.thumb.jpg"]


def test_overwrite_replaces_a_symlink_not_its_target(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    (tmp_path / "photo.jpg").symlink_to(victim)
    with OutputSet(tmp_path, overwrite=True) as outs:
        outs.commit((_stage(outs, "photo.jpg", b"new"),))
    assert victim.read_bytes() == b"precious"
    assert not (tmp_path / "photo.jpg").is_symlink() and (tmp_path / "photo.jpg").read_bytes() == b"new"


@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("how", ["itself", "hard_link", "symlink"])
def test_the_input_is_never_replaced(tmp_path, overwrite, how):
    src = tmp_path / "in" / "photo.jpg"
    src.parent.mkdir()
    src.write_bytes(b"the original")
    out = src.parent if how == "itself" else tmp_path / "out"
    out.mkdir(exist_ok=True)
    if how == "hard_link":
        os.link(src, out / "photo.jpg")
    elif how == "symlink":
        (out / "photo.jpg").symlink_to(src)
    with OutputSet(out, protect=src, overwrite=overwrite) as outs:
        got = outs.commit((_stage(outs, "photo.jpg", b"prepared"), _stage(outs, "photo.thumb.jpg", b"t", "thumb")))
    assert [o.path.name for o in got] == ["photo.prepared.jpg", "photo.thumb.jpg"]
    assert src.read_bytes() == b"the original"
    assert (out / "photo.jpg").read_bytes() == b"the original"
    assert (out / "photo.prepared.jpg").read_bytes() == b"prepared"


def test_the_input_is_protected_under_another_spelling_of_the_folder(tmp_path, monkeypatch):
    src = tmp_path / "photo.jpg"
    src.write_bytes(b"the original")
    (tmp_path / "same").symlink_to(tmp_path)
    monkeypatch.chdir(tmp_path)
    with OutputSet(Path("same"), protect=Path("photo.jpg"), overwrite=True) as outs:
        got = outs.commit((_stage(outs, "photo.jpg", b"prepared"),))
    assert got[0].path.name == "photo.prepared.jpg"
    assert src.read_bytes() == b"the original"


def test_a_long_input_name_still_gets_prepared(tmp_path):
    src = tmp_path / ("照" * 83 + ".jpg")  # 253 bytes: ".prepared" does not fit beside it
    src.write_bytes(b"the original")
    with OutputSet(tmp_path, protect=src) as outs:
        got = outs.commit((_stage(outs, src.name, b"prepared"),))
    assert got[0].path.name.endswith(".prepared.jpg") and _nbytes(got[0].path.name) <= NAME_MAX
    assert src.read_bytes() == b"the original" and got[0].path.read_bytes() == b"prepared"


def test_rename_callback_chooses_the_final_names(tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"another input's output")
    seen: list[str] = []

    def rename(name: str) -> str:
        seen.append(name)
        return name.replace("clip", "clip_mov", 1)

    with OutputSet(tmp_path) as outs:
        staged = (_stage(outs, "clip.mp4", b"video"), _stage(outs, "clip.thumb.jpg", b"thumb", "thumb"))
        got = outs.commit(staged, rename)
    assert seen == ["clip.mp4", "clip.thumb.jpg"]  # staged names in, final names out
    assert [o.path.name for o in got] == ["clip_mov.mp4", "clip_mov.thumb.jpg"]
    assert (tmp_path / "clip.mp4").read_bytes() == b"another input's output"


def test_two_outputs_with_one_final_name_are_refused(tmp_path):
    with pytest.raises(OutputError) as info, OutputSet(tmp_path) as outs:
        outs.commit((_stage(outs, "a.jpg", b"1"), _stage(outs, "b.jpg", b"2")), lambda name: "same.jpg")
    assert info.value.exit_code == ExitCode.CANNOT_WRITE
    assert "same name" in info.value.message
    assert _listing(tmp_path) == []


# --- OutputSet: failures leave nothing ---------------------------------------------------------


@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt, OSError])
def test_an_exception_inside_the_block_leaves_nothing(tmp_path, error):
    with pytest.raises(error), OutputSet(tmp_path) as outs:
        _stage(outs, "voice.amr", b"half of it")
        (outs.scratch("pass1") / "ffmpeg2pass-0.log").write_bytes(b"log")
        raise error("stopped halfway")
    assert _listing(tmp_path) == []


def test_leaving_the_block_without_a_commit_leaves_nothing(tmp_path):
    with OutputSet(tmp_path) as outs:
        _stage(outs, "voice.amr", b"unused")
    assert _listing(tmp_path) == []


def test_scratch_goes_with_the_commit(tmp_path):
    with OutputSet(tmp_path) as outs:
        scratch = outs.scratch("frames")
        assert scratch.parent == outs.dir and _mode(scratch) == 0o700
        (scratch / "0001.raw").write_bytes(b"frame")
        assert outs.scratch("frames") == scratch  # asking again is fine
        outs.commit((_stage(outs, "clip.mp4", b"video"),))
    assert _listing(tmp_path) == ["clip.mp4"]


def test_commit_without_a_with_block_still_removes_staging(tmp_path):
    (tmp_path / "b.jpg").write_bytes(b"taken")
    outs = OutputSet(tmp_path)
    outs.commit((_stage(outs, "a.jpg", b"1"),))
    assert _listing(tmp_path) == ["a.jpg", "b.jpg"]
    outs = OutputSet(tmp_path)
    with pytest.raises(OutputError):
        outs.commit((_stage(outs, "b.jpg", b"2"),))  # refused before anything moved
    assert _listing(tmp_path) == ["a.jpg", "b.jpg"]


def _too_long(name: str) -> str:
    """A final name the file system refuses (ENAMETOOLONG) for the second output."""
    return "x" * 300 + ".jpg" if "thumb" in name else name


def test_a_failure_in_the_middle_of_a_commit_takes_back_what_was_placed(tmp_path):
    with pytest.raises(OutputError) as info, OutputSet(tmp_path) as outs:
        outs.commit((_stage(outs, "clip.mp4", b"video"), _stage(outs, "clip.thumb.jpg", b"t", "thumb")),
                    _too_long)
    err = info.value
    assert err.exit_code == ExitCode.CANNOT_WRITE
    assert err.message == "cannot write here: file name too long" and err.path == tmp_path
    assert isinstance(err.__cause__, OSError) and err.__cause__.errno == errno.ENAMETOOLONG
    assert _listing(tmp_path) == []  # clip.mp4 had landed, and was taken back


def test_a_rollback_keeps_an_identical_file_it_did_not_place(tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"video")  # a previous run's, identical
    with pytest.raises(OutputError), OutputSet(tmp_path) as outs:
        outs.commit((_stage(outs, "clip.mp4", b"video"), _stage(outs, "clip.thumb.jpg", b"t", "thumb")),
                    _too_long)
    assert _listing(tmp_path) == ["clip.mp4"]
    assert (tmp_path / "clip.mp4").read_bytes() == b"video"


def test_a_failed_overwrite_puts_the_previous_files_back(tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"previous video")
    (tmp_path / "clip.part2.mp4").write_bytes(b"previous part 2")
    inodes = {n: os.stat(tmp_path / n).st_ino for n in _listing(tmp_path)}
    with pytest.raises(OutputError, match="file name too long"), OutputSet(tmp_path, overwrite=True) as outs:
        outs.commit((_stage(outs, "clip.mp4", b"new video"), _stage(outs, "clip.part2.mp4", b"new part 2"),
                     _stage(outs, "clip.thumb.jpg", b"t", "thumb")), _too_long)
    assert _listing(tmp_path) == ["clip.mp4", "clip.part2.mp4"]
    assert (tmp_path / "clip.mp4").read_bytes() == b"previous video"
    assert (tmp_path / "clip.part2.mp4").read_bytes() == b"previous part 2"
    assert {n: os.stat(tmp_path / n).st_ino for n in _listing(tmp_path)} == inodes  # the very same files


def test_a_file_that_appears_during_the_commit_is_not_replaced(tmp_path, monkeypatch):
    """Another writer creates b.jpg between the check and the link: the real link()
    then fails with EEXIST, and a.jpg, already placed, is taken back."""
    real_link = os.link

    def link_racing(src: str | Path, dst: str | Path, **kwargs: object) -> None:
        if Path(dst).name == "b.jpg":
            Path(dst).write_bytes(b"the other writer's")
        real_link(src, dst, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(output.os, "link", link_racing)
    with pytest.raises(OutputError) as info, OutputSet(tmp_path) as outs:
        outs.commit((_stage(outs, "a.jpg", b"1"), _stage(outs, "b.jpg", b"2")))
    assert info.value.exit_code == ExitCode.CANNOT_WRITE
    assert info.value.message == "b.jpg appeared while writing and was not replaced"
    assert isinstance(info.value.__cause__, FileExistsError)
    assert _listing(tmp_path) == ["b.jpg"]
    assert (tmp_path / "b.jpg").read_bytes() == b"the other writer's"


def test_a_staged_output_that_vanished_fails_the_whole_set(tmp_path):
    with pytest.raises(OutputError, match="no such file"), OutputSet(tmp_path) as outs:
        first, second = _stage(outs, "a.jpg", b"1"), _stage(outs, "b.jpg", b"2")
        second.path.unlink()  # a tool that reported an output it did not leave
        outs.commit((first, second))
    assert _listing(tmp_path) == []


# --- clean_stale_staging --------------------------------------------------------------------------


def _staging_name(host: str, pid: int | str) -> str:
    return f"{STAGING_PREFIX}{host}-{pid}-0badf00d"


def _make_staging(folder: Path, name: str, age: float = 0.0) -> Path:
    path = folder / name
    (path / ".scratch-x").mkdir(parents=True)
    (path / "half.mp4").write_bytes(b"partial")
    if age:
        then = time.time() - age
        os.utime(path, (then, then))
    return path


def test_a_dead_processs_staging_folder_is_removed(tmp_path):
    dead = _make_staging(tmp_path, _staging_name(output._host(), _dead_pid()))
    assert clean_stale_staging(tmp_path) == 1
    assert not dead.exists()


def test_a_live_processs_staging_folder_is_kept(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        mine = _make_staging(tmp_path, _staging_name(output._host(), os.getpid()))
        other = _make_staging(tmp_path, _staging_name(output._host(), sleeper.pid))
        assert clean_stale_staging(tmp_path) == 0
        assert (mine / "half.mp4").exists() and (other / "half.mp4").exists()
    finally:
        sleeper.kill()
        sleeper.wait(timeout=30)
    assert clean_stale_staging(tmp_path) == 1  # once it is gone, so is its folder
    assert mine.exists() and not other.exists()


@pytest.mark.parametrize("age, removed", [(0.0, False), (STALE_AFTER - 600, False), (STALE_AFTER + 600, True)])
def test_another_hosts_staging_folder_goes_only_when_old(tmp_path, age, removed):
    # Its pid means nothing here (1 is alive on every host): only the age decides.
    path = _make_staging(tmp_path, _staging_name("otherhost", 1), age)
    assert clean_stale_staging(tmp_path) == int(removed)
    assert path.exists() is not removed


@pytest.mark.parametrize("name", ["abcd1234-3", "junk", "host-notapid-0badf00d"])
def test_an_unknown_staging_name_is_left_to_the_age_rule(tmp_path, name):
    fresh = _make_staging(tmp_path, STAGING_PREFIX + name)
    assert clean_stale_staging(tmp_path) == 0 and fresh.exists()
    os.utime(fresh, (time.time() - STALE_AFTER - 60,) * 2)
    assert clean_stale_staging(tmp_path) == 1 and not fresh.exists()


def test_only_staging_folders_are_touched(tmp_path):
    dead_name = _staging_name(output._host(), _dead_pid())
    target = tmp_path / "target"
    target.mkdir()
    (target / "keep").write_bytes(b"keep")
    (tmp_path / "a.mediaprep-staging-x").mkdir()
    (tmp_path / (dead_name + "-file")).write_bytes(b"a file, not a folder")
    (tmp_path / dead_name).symlink_to(target)  # a symlink is not followed, not removed
    assert clean_stale_staging(tmp_path) == 0
    assert sorted(_listing(tmp_path)) == sorted(["a.mediaprep-staging-x", dead_name, dead_name + "-file", "target"])
    assert (target / "keep").read_bytes() == b"keep"


def test_clean_stale_staging_of_a_missing_folder(tmp_path):
    assert clean_stale_staging(tmp_path / "nope") == 0


def test_a_new_output_set_cleans_up_after_a_killed_run(tmp_path):
    """A run killed outright (SIGKILL: no cleanup) leaves its staging folder; the next
    run writing to the same folder removes it."""
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from mediaprep.output import OutputSet\n"
        "outs = OutputSet(Path(sys.argv[1]))\n"
        "(outs.dir / 'half.mp4').write_bytes(b'partial')\n"
        "os.kill(os.getpid(), 9)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], timeout=60, capture_output=True)
    assert done.returncode == -9
    assert len(_staging(tmp_path)) == 1
    with OutputSet(tmp_path) as outs:
        assert _staging(tmp_path) == [outs.dir.name]
        outs.commit((_stage(outs, "clip.mp4", b"video"),))
    assert _listing(tmp_path) == ["clip.mp4"]


# --- full and read-only file systems ----------------------------------------------------------------


def test_a_full_folder_is_an_output_error_naming_the_folder(full_fs):
    with pytest.raises(OutputError) as info, OutputSet(full_fs) as outs:
        write_bytes(outs.dir / "clip.mp4", os.urandom(256 * 1024))
        pytest.fail("the write must not succeed")
    err = info.value
    assert err.exit_code == ExitCode.CANNOT_WRITE == 7
    assert err.message == "cannot write here: no space left on device"
    assert err.path == full_fs  # the folder the user chose, not the staging folder inside it
    assert "nothing was written" in (err.hint or "") and "-o" in (err.hint or "")
    assert _listing(full_fs) == ["filler"]


def test_a_folder_without_inodes_refuses_the_output_set(no_inodes_fs):
    before = _listing(no_inodes_fs)
    with pytest.raises(OutputError) as info:
        OutputSet(no_inodes_fs)
    err = info.value
    assert err.exit_code == ExitCode.CANNOT_WRITE
    assert (err.message, err.path) == ("cannot write here: no space left on device", no_inodes_fs)
    assert _listing(no_inodes_fs) == before


def test_a_read_only_folder_refuses_the_output_set(readonly_dir):
    with pytest.raises(OutputError) as info:
        OutputSet(readonly_dir)
    err = info.value
    assert err.exit_code == ExitCode.CANNOT_WRITE
    assert (err.message, err.path) == ("cannot write here: read-only file system", readonly_dir)
    assert _listing(readonly_dir) == ["existing.jpg"]


def test_a_folder_turned_read_only_before_the_commit(small_fs):
    (small_fs / "existing.jpg").write_bytes(b"old")
    try:
        with pytest.raises(OutputError) as info, OutputSet(small_fs, overwrite=True) as outs:
            staged = (_stage(outs, "new.jpg", b"new"), _stage(outs, "existing.jpg", b"replacement"))
            _remount(small_fs, "ro")
            outs.commit(staged)
        assert info.value.exit_code == ExitCode.CANNOT_WRITE
        assert info.value.message == "cannot write here: read-only file system"
        assert not (small_fs / "new.jpg").exists()
        assert (small_fs / "existing.jpg").read_bytes() == b"old"
    finally:
        _remount(small_fs, "rw")


def test_write_failure_names_the_folder_outside_staging(tmp_path):
    exc = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    staging = tmp_path / f"{STAGING_PREFIX}h-1-0badf00d"
    assert write_failure(exc, staging / ".scratch-x").path == tmp_path
    assert write_failure(exc, staging).path == tmp_path
    batch = tmp_path / f"{STAGING_PREFIX}abcd1234-3"  # a batch stages inside its own staging folder
    assert write_failure(exc, batch / staging.name).path == tmp_path
    assert write_failure(exc, tmp_path / "out").path == tmp_path / "out"


# --- atomic_path ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077, 0o000])
def test_atomic_path_renames_into_place_with_plain_permissions(tmp_path, mask):
    final = tmp_path / "manifest.json"
    with _umask(mask), atomic_path(final) as tmp:
        assert tmp.parent == final.parent  # beside the target: the rename stays on one filesystem
        assert re.fullmatch(r"\.manifest\.json\.[0-9a-f]{8}\.part", tmp.name)
        assert tmp.exists() and not final.exists()  # nothing under the final name yet
        tmp.write_bytes(b"{}")
    assert final.read_bytes() == b"{}"
    assert _mode(final) == 0o666 & ~mask  # what open() would give, not mkstemp's 0600
    assert _listing(tmp_path) == ["manifest.json"]


def test_atomic_path_replaces_an_existing_file_by_rename(tmp_path):
    final = tmp_path / "journal.jsonl"
    final.write_bytes(b"old")
    before = final.stat().st_ino
    with atomic_path(final) as tmp:
        tmp.write_bytes(b"new")
        assert final.read_bytes() == b"old"
    assert final.read_bytes() == b"new"
    assert final.stat().st_ino != before  # a new file renamed over it, not rewritten in place
    assert _listing(tmp_path) == ["journal.jsonl"]


def test_atomic_path_replaces_a_symlink_not_its_target(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    final = tmp_path / "manifest.json"
    final.symlink_to(victim)
    with atomic_path(final) as tmp:
        tmp.write_bytes(b"new")
    assert victim.read_bytes() == b"precious"
    assert not final.is_symlink() and final.read_bytes() == b"new"


def test_atomic_path_fsyncs_before_the_rename(tmp_path, monkeypatch):
    """The real fsync and rename run; they are only watched, to see their order."""
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append(f"fsync {os.readlink(f'/proc/self/fd/{fd}')}")
        real_fsync(fd)

    def replace(src: str | Path, dst: str | Path) -> None:
        calls.append(f"replace {src} -> {dst}")
        real_replace(src, dst)

    monkeypatch.setattr(output.os, "fsync", fsync)
    monkeypatch.setattr(output.os, "replace", replace)
    final = tmp_path / "clip.mp4"
    with atomic_path(final) as tmp:
        tmp.write_bytes(b"data")
    assert calls == [f"fsync {tmp}", f"replace {tmp} -> {final}"]


@pytest.mark.parametrize("name", ["a" * 251 + ".jpg", "照" * 83 + ".jpg", "😀" * 62 + ".json",
                                  "a" * 255, "é" * 127 + "x"])
def test_atomic_path_takes_a_final_name_up_to_the_limit(tmp_path, name):
    assert _nbytes(name) <= NAME_MAX
    final = tmp_path / name
    with atomic_path(final) as tmp:
        assert _nbytes(tmp.name) <= NAME_MAX
        assert tmp.name.startswith(".") and tmp.name.endswith(".part")
        tmp.name.encode("utf-8")  # cut on a character boundary
        tmp.write_bytes(b"data")
    assert final.read_bytes() == b"data"
    assert _listing(tmp_path) == [name]


def test_temp_names_of_two_writers_differ(tmp_path):
    with atomic_path(tmp_path / "a.json") as one, atomic_path(tmp_path / "a.json") as two:
        assert one != two
        one.write_bytes(b"1")
        two.write_bytes(b"2")
    assert (tmp_path / "a.json").read_bytes() == b"1"  # the last to finish wins, whole
    assert _listing(tmp_path) == ["a.json"]


@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt, OSError])
def test_failure_inside_the_block_comes_out_unchanged_and_leaves_nothing(tmp_path, error):
    raised = error("stopped halfway")
    final = tmp_path / "voice.amr"
    with pytest.raises(error) as info, atomic_path(final) as tmp:
        tmp.write_bytes(b"half of it")
        raise raised
    assert info.value is raised  # the writer's own error is not re-labelled
    assert _listing(tmp_path) == []  # no temporary file either


def test_failure_keeps_the_previous_file_intact(tmp_path):
    final = tmp_path / "voice.amr"
    final.write_bytes(b"the previous output")
    with pytest.raises(Boom), atomic_path(final) as tmp:
        tmp.write_bytes(b"partial")
        raise Boom
    assert final.read_bytes() == b"the previous output"
    assert _listing(tmp_path) == ["voice.amr"]


def test_a_folder_under_the_final_name_is_an_output_error(tmp_path):
    """os.replace onto a folder raises IsADirectoryError after the block: exit 7, not 1."""
    (tmp_path / "clip.mp4").mkdir()
    with pytest.raises(OutputError) as info, atomic_path(tmp_path / "clip.mp4") as tmp:
        tmp.write_bytes(b"data")
    err = info.value
    assert err.exit_code == ExitCode.CANNOT_WRITE
    assert (err.message, err.path) == ("cannot write here: is a directory", tmp_path)
    assert isinstance(err.__cause__, IsADirectoryError)
    assert _listing(tmp_path) == ["clip.mp4"] and (tmp_path / "clip.mp4").is_dir()


def test_a_writer_that_removes_the_temp_file_is_an_output_error(tmp_path):
    with pytest.raises(OutputError) as info, atomic_path(tmp_path / "a.mp4") as tmp:
        tmp.unlink()  # a tool that failed and cleaned up after itself, without saying so
    assert info.value.exit_code == ExitCode.CANNOT_WRITE
    assert isinstance(info.value.__cause__, FileNotFoundError)
    assert _listing(tmp_path) == []


def test_atomic_path_into_a_missing_folder(tmp_path):
    with pytest.raises(OutputError) as info, atomic_path(tmp_path / "nope" / "a.jpg"):
        pytest.fail("the block must not run")
    assert info.value.exit_code == ExitCode.CANNOT_WRITE
    assert info.value.path == tmp_path / "nope"


def test_atomic_path_on_a_read_only_filesystem(readonly_dir):
    with pytest.raises(OutputError) as info, atomic_path(readonly_dir / "new.jpg"):
        pytest.fail("the block must not run")
    assert info.value.exit_code == ExitCode.CANNOT_WRITE
    assert info.value.message == "cannot write here: read-only file system"
    assert _listing(readonly_dir) == ["existing.jpg"]


def test_atomic_path_on_a_full_filesystem(full_fs):
    with pytest.raises(OSError) as info, atomic_path(full_fs / "big.json") as tmp:
        tmp.write_bytes(os.urandom(128 * 1024))  # the writer's own OSError, unchanged
    assert info.value.errno == errno.ENOSPC
    assert _listing(full_fs) == ["filler"]


# --- write_bytes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\x00", b"#!AMR\n" + bytes(range(256)) * 100])
def test_write_bytes(tmp_path, data):
    final = tmp_path / "out.amr"
    with _umask(0o022):
        write_bytes(final, data)
    assert final.read_bytes() == data
    assert _mode(final) == 0o644
    assert _listing(tmp_path) == ["out.amr"]


@pytest.mark.parametrize("make", ["missing_parent", "folder_in_the_way"])
def test_write_bytes_failures_are_output_errors(tmp_path, make):
    final = tmp_path / "nope" / "out.jpg" if make == "missing_parent" else tmp_path / "out.jpg"
    if make == "folder_in_the_way":
        final.mkdir()
    with pytest.raises(OutputError) as info:
        write_bytes(final, b"data")
    assert info.value.exit_code == ExitCode.CANNOT_WRITE
    assert info.value.message.startswith("cannot write here: ")
    assert info.value.path == final.parent
    assert _listing(tmp_path) == ([] if make == "missing_parent" else ["out.jpg"])


def test_write_bytes_on_a_full_disk_leaves_the_previous_file(small_fs):
    (small_fs / "manifest.json").write_bytes(b"previous")
    with pytest.raises(OutputError) as info:
        write_bytes(small_fs / "manifest.json", os.urandom(512 * 1024))
    assert info.value.exit_code == ExitCode.CANNOT_WRITE
    assert (info.value.message, info.value.path) == ("cannot write here: no space left on device", small_fs)
    assert _listing(small_fs) == ["manifest.json"]
    assert (small_fs / "manifest.json").read_bytes() == b"previous"


def test_write_bytes_on_a_read_only_filesystem(readonly_dir):
    with pytest.raises(OutputError, match="read-only file system"):
        write_bytes(readonly_dir / "existing.jpg", b"new")
    assert (readonly_dir / "existing.jpg").read_bytes() == b"old"
