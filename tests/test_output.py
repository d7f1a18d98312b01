"""mediaprep/output.py on a real filesystem: output folders (created, or refused with
exit 7 when they are a file or read-only), ASCII-safe names, output paths that never
name the input, and atomic writes (a temporary file beside the target, fsynced, then
renamed; nothing left behind, under either name, when anything fails).

Read-only and full filesystems are real tmpfs mounts (the tests run as root, which
ignores permission bits); where ``mount`` is not allowed those tests are skipped.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaprep import output
from mediaprep.errors import ExitCode, OutputError
from mediaprep.output import atomic_path, output_path, resolve_out_dir, safe_stem, write_bytes


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


def _mount_tmpfs(where: Path, options: str) -> None:
    if shutil.which("mount") is None:
        pytest.skip("no mount command: cannot make a read-only or full filesystem")
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                          capture_output=True, text=True, timeout=20)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode}); "
                    "root ignores permission bits, so there is no other read-only folder")


def _umount(where: Path) -> None:
    subprocess.run(["umount", str(where)], capture_output=True, timeout=20, check=False)
    if os.path.ismount(where):  # something still holds it: detach it lazily
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=20, check=False)


@pytest.fixture
def readonly_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder on a read-only filesystem (holding one file, ``existing.jpg``)."""
    where = tmp_path / "ro"
    _mount_tmpfs(where, "size=256k,mode=0755")
    try:
        (where / "existing.jpg").write_bytes(b"old")
        remount = subprocess.run(["mount", "-o", "remount,ro", str(where)], capture_output=True,
                                 text=True, timeout=20)
        if remount.returncode != 0:
            pytest.skip(f"cannot remount read-only: {remount.stderr.strip()}")
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


# --- resolve_out_dir ----------------------------------------------------------------------


def test_out_dir_defaults_to_the_inputs_folder(tmp_path, monkeypatch):
    (tmp_path / "photo.jpg").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    got = resolve_out_dir(Path("photo.jpg"), None)
    assert got == tmp_path and got.is_absolute()


def test_out_dir_is_created_with_its_parents(tmp_path):
    target = tmp_path / "a" / "b" / "c"
    assert resolve_out_dir(tmp_path / "in.jpg", target) == target
    assert target.is_dir()


def test_existing_out_dir_is_used_as_is(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("keep")
    assert resolve_out_dir(tmp_path / "in.jpg", tmp_path / "out") == tmp_path / "out"
    assert (tmp_path / "out" / "keep.txt").read_text() == "keep"


def test_out_dir_through_a_symlink_to_a_folder(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert resolve_out_dir(tmp_path / "in.jpg", tmp_path / "link") == tmp_path / "link"


@pytest.mark.parametrize("make, reason", [
    ("file", "File exists"), ("below_a_file", "Not a directory"), ("dangling_symlink", "File exists")])
def test_out_dir_that_cannot_be_a_folder_is_refused(tmp_path, make, reason):
    (tmp_path / "file.jpg").write_bytes(b"not a folder")
    target = {
        "file": tmp_path / "file.jpg",
        "below_a_file": tmp_path / "file.jpg" / "out",
        "dangling_symlink": tmp_path / "dangling",
    }[make]
    if make == "dangling_symlink":
        target.symlink_to(tmp_path / "nowhere")
    with pytest.raises(OutputError) as info:
        resolve_out_dir(tmp_path / "in.jpg", target)
    err = info.value
    assert err.exit_code == ExitCode.CANNOT_WRITE == 7
    assert err.path == target
    # Today a plain file says "cannot create output folder: File exists": Path.mkdir raises
    # before the clearer "output path is not a folder" branch (output.py:181) is reached.
    assert err.message == f"cannot create output folder: {reason}"
    assert "-o" in (err.hint or "")
    assert (tmp_path / "file.jpg").read_bytes() == b"not a folder"


def test_read_only_out_dir_is_refused(readonly_dir, tmp_path):
    with pytest.raises(OutputError) as info:
        resolve_out_dir(tmp_path / "in.jpg", readonly_dir)
    err = info.value
    assert err.exit_code == ExitCode.CANNOT_WRITE
    assert err.message == "output folder is not writable" and err.path == readonly_dir
    assert "writable folder" in (err.hint or "")


def test_new_folder_on_a_read_only_filesystem_is_refused(readonly_dir, tmp_path):
    with pytest.raises(OutputError) as info:
        resolve_out_dir(tmp_path / "in.jpg", readonly_dir / "new" / "deeper")
    assert info.value.exit_code == ExitCode.CANNOT_WRITE
    assert "cannot create output folder" in info.value.message
    assert "Read-only" in info.value.message
    assert _listing(readonly_dir) == ["existing.jpg"]


def test_input_in_a_read_only_folder_with_default_out_dir(readonly_dir):
    with pytest.raises(OutputError, match="not writable"):
        resolve_out_dir(readonly_dir / "existing.jpg", None)


# --- atomic_path ----------------------------------------------------------------------------


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077, 0o000])
def test_atomic_path_renames_into_place_with_plain_permissions(tmp_path, mask):
    final = tmp_path / "photo.jpg"
    with _umask(mask), atomic_path(final) as tmp:
        assert tmp.parent == final.parent  # beside the target: the rename stays on one filesystem
        assert tmp.name.startswith(".photo.jpg.") and tmp.name.endswith(".part")
        assert tmp.exists() and not final.exists()  # nothing under the final name yet
        tmp.write_bytes(b"JPEG DATA")
        assert not final.exists()
    assert final.read_bytes() == b"JPEG DATA"
    assert _mode(final) == 0o666 & ~mask  # what open() would give, not mkstemp's 0600
    assert _listing(tmp_path) == ["photo.jpg"]


def test_atomic_path_replaces_an_existing_file_by_rename(tmp_path):
    final = tmp_path / "photo.jpg"
    final.write_bytes(b"old")
    before = final.stat().st_ino
    with atomic_path(final) as tmp:
        tmp.write_bytes(b"new")
        assert final.read_bytes() == b"old"
    assert final.read_bytes() == b"new"
    assert final.stat().st_ino != before  # a new file renamed over it, not rewritten in place
    assert _listing(tmp_path) == ["photo.jpg"]


def test_atomic_path_replaces_a_symlink_not_its_target(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    final = tmp_path / "photo.jpg"
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


class Boom(Exception):
    pass


@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt, OSError])
def test_failure_inside_the_block_leaves_nothing(tmp_path, error):
    final = tmp_path / "voice.amr"
    with pytest.raises(error), atomic_path(final) as tmp:
        tmp.write_bytes(b"half of it")
        raise error("stopped halfway")
    assert not final.exists()
    assert _listing(tmp_path) == []  # no temporary file either


def test_failure_keeps_the_previous_file_intact(tmp_path):
    final = tmp_path / "voice.amr"
    final.write_bytes(b"the previous output")
    with pytest.raises(Boom), atomic_path(final) as tmp:
        tmp.write_bytes(b"partial")
        raise Boom
    assert final.read_bytes() == b"the previous output"
    assert _listing(tmp_path) == ["voice.amr"]


def test_the_exception_comes_out_unchanged(tmp_path):
    raised = Boom("original")
    with pytest.raises(Boom) as info, atomic_path(tmp_path / "a.jpg"):
        raise raised
    assert info.value is raised


def test_writer_that_removes_the_temp_file_itself(tmp_path):
    final = tmp_path / "a.mp4"
    with pytest.raises(FileNotFoundError), atomic_path(final) as tmp:
        tmp.unlink()  # a tool that failed and cleaned up after itself
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
    assert "Read-only" in info.value.message
    assert _listing(readonly_dir) == ["existing.jpg"]


def test_atomic_path_onto_a_folder_leaves_no_temp_file(tmp_path):
    (tmp_path / "clip.mp4").mkdir()
    with pytest.raises(OSError), atomic_path(tmp_path / "clip.mp4") as tmp:
        tmp.write_bytes(b"data")
    assert _listing(tmp_path) == ["clip.mp4"]
    assert (tmp_path / "clip.mp4").is_dir()


@pytest.mark.xfail(strict=True, reason="atomic_path (output.py:214-223) turns only mkstemp's OSError "
                   "into OutputError: os.replace onto a folder raises a bare IsADirectoryError, so "
                   "'mediaprep prepare clip.mp4 -o out' with a folder out/clip.mp4 exits 1 "
                   "('internal error') where an image exits 7 (write_bytes wraps it)")
def test_atomic_path_onto_a_folder_is_an_output_error(tmp_path):
    (tmp_path / "clip.mp4").mkdir()
    with pytest.raises(OutputError), atomic_path(tmp_path / "clip.mp4") as tmp:
        tmp.write_bytes(b"data")


def test_a_final_name_too_long_for_the_temp_name(tmp_path):
    """A 250-byte final name is legal, but '.<name>.<random>.part' is not: refused with
    exit 7 (not a crash), although the final file itself could have been written."""
    final = tmp_path / ("a" * 246 + ".jpg")
    with pytest.raises(OutputError) as info, atomic_path(final):
        pytest.fail("the block must not run")
    assert "too long" in info.value.message
    assert _listing(tmp_path) == []


# --- write_bytes ------------------------------------------------------------------------------


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
    assert "cannot write output" in info.value.message
    assert _listing(tmp_path) == ([] if make == "missing_parent" else ["out.jpg"])


def test_write_bytes_on_a_full_disk_leaves_nothing(small_fs):
    (small_fs / "video.mp4").write_bytes(b"previous")
    with pytest.raises(OutputError) as info:
        write_bytes(small_fs / "video.mp4", os.urandom(512 * 1024))
    assert info.value.exit_code == ExitCode.CANNOT_WRITE
    assert "No space left" in info.value.message
    assert _listing(small_fs) == ["video.mp4"]
    assert (small_fs / "video.mp4").read_bytes() == b"previous"
    with pytest.raises(OutputError):
        write_bytes(small_fs / "new.mp4", os.urandom(512 * 1024))
    assert _listing(small_fs) == ["video.mp4"]


def test_write_bytes_on_a_read_only_filesystem(readonly_dir):
    with pytest.raises(OutputError):
        write_bytes(readonly_dir / "existing.jpg", b"new")
    assert (readonly_dir / "existing.jpg").read_bytes() == b"old"


# --- output_path ------------------------------------------------------------------------------


def test_output_path_is_the_safe_stem_plus_suffix(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    assert output_path(tmp_path / "-i ñandú.png", out, ".jpg") == out / "i_nandu.jpg"
    assert output_path(tmp_path / "clip.mov", out, ".thumb.jpg") == out / "clip.thumb.jpg"
    assert output_path(tmp_path / "talk.m4a", out, ".part2.amr") == out / "talk.part2.amr"


def test_output_path_never_names_the_input(tmp_path):
    src = tmp_path / "photo.jpg"
    src.write_bytes(b"input")
    got = output_path(src, tmp_path, ".jpg")
    assert got == tmp_path / "photo.prepared.jpg"
    assert got != src


def test_output_path_sees_through_another_spelling_of_the_folder(tmp_path):
    src = tmp_path / "photo.jpg"
    src.write_bytes(b"input")
    (tmp_path / "same").symlink_to(tmp_path)
    got = output_path(src, tmp_path / "same", ".jpg")
    assert got.name == "photo.prepared.jpg"
    relative = output_path(src, Path(os.path.relpath(tmp_path)), ".jpg")
    assert relative.name == "photo.prepared.jpg"


def test_output_path_sees_through_links_to_the_input(tmp_path):
    src = tmp_path / "in" / "photo.jpg"
    src.parent.mkdir()
    src.write_bytes(b"input")
    out = tmp_path / "out"
    out.mkdir()
    (out / "photo.jpg").symlink_to(src)
    assert output_path(src, out, ".jpg") == out / "photo.prepared.jpg"
    (out / "photo.jpg").unlink()
    os.link(src, out / "photo.jpg")
    assert output_path(src, out, ".jpg") == out / "photo.prepared.jpg"


def test_output_path_input_whose_safe_name_is_itself(tmp_path):
    src = tmp_path / "photo.jpg.jpg"  # safe stem "photo.jpg"
    src.write_bytes(b"input")
    assert output_path(src, tmp_path, ".jpg") == tmp_path / "photo.jpg.prepared.jpg"


def test_output_path_takes_an_unrelated_file_of_that_name(tmp_path):
    """Today only the input itself is avoided: another file already under the output
    name is returned (and will be replaced), e.g. a second CJK-named input."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "media.jpg").write_bytes(b"from the first input")
    assert output_path(tmp_path / "照片.jpg", out, ".jpg") == out / "media.jpg"
    assert output_path(tmp_path / "图片.jpg", out, ".jpg") == out / "media.jpg"


_NAME = st.text(min_size=1, max_size=60).filter(
    lambda s: "/" not in s and "\x00" not in s and s not in (".", "..") and len(os.fsencode(s)) <= 200)


@settings(max_examples=100, deadline=None)
@given(name=_NAME, suffix=st.sampled_from([".jpg", ".png", ".amr", ".mp4", ".thumb.jpg", ".part1.amr", ""]))
def test_output_path_is_never_the_input_hypothesis(tmp_path_factory, name, suffix):
    folder = tmp_path_factory.getbasetemp() / "output_path_prop"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    src = folder / name
    src.write_bytes(b"input")
    got = output_path(src, folder, suffix)
    assert got.parent == folder
    assert not (got.exists() and os.path.samefile(got, src))
    assert got.name.isascii()


# --- safe_stem --------------------------------------------------------------------------------


@pytest.mark.parametrize("name, stem", [
    ("photo.jpg", "photo"),
    ("IMG_0001.JPG", "IMG_0001"),
    ("my photo (1).jpeg", "my_photo_1"),
    ("archive.tar.gz", "archive.tar"),  # one extension off, inner dots kept
    ("noext", "noext"),
    ("ñandú.png", "nandu"),
    ("-i ñandú.png", "i_nandu"),  # the README's example
    ("Crème brûlée.jpg", "Creme_brulee"),
    ("ﬁle.jpg", "file"),  # NFKD: ligature
    ("ｆｕｌｌ.jpg", "full"),  # NFKD: full-width
    ("Ⅻ.jpg", "XII"),
    ("照片.jpg", "media"),  # nothing ASCII left: every CJK name becomes "media"
    ("照片 2024.jpg", "2024"),
    ("微信图片_20240101.jpg", "20240101"),
    ("Ærøskøbing.jpg", "rskbing"),  # letters without a decomposition are dropped, not transliterated
    ("Straße.jpg", "Strae"),
    ("Łódź.mp4", "odz"),
    ("-", "media"),
    ("--help.mp4", "help"),
    ("-rf", "rf"),
    (".hidden.jpg", "hidden"),
    (".bashrc", "bashrc"),
    ("..jpg", "jpg"),  # the extension is taken for the stem
    ("...", "media"),
    ("a b\nc\td.jpg", "a_b_c_d"),
    ("a\x1b[31mred.jpg", "a_31mred"),
    ("\udcff\udcfe.jpg", "media"),  # undecodable bytes of a non-UTF-8 name
    ("caf\udce9.jpg", "caf"),
    ("___x___.jpg", "x"),
    ("x..y.jpg", "x..y"),
    ("http:x.mp4", "http_x"),
])
def test_safe_stem_today(name, stem):
    assert safe_stem(Path(name)) == stem


def test_safe_stem_uses_the_name_only(tmp_path):
    assert safe_stem(tmp_path / "über" / "photo.jpg") == "photo"


def test_safe_stem_long_names_are_cut_to_120():
    assert safe_stem(Path("a" * 300 + ".jpg")) == "a" * 120
    assert safe_stem(Path("照" * 300 + ".jpg")) == "media"
    assert safe_stem(Path("é" * 200 + ".jpg")) == "e" * 120
    # Cutting happens after the separators were stripped, so a cut name can end in one:
    # these give output names "aaa...a..jpg" and "aaa...a-.jpg".
    assert safe_stem(Path("a" * 119 + ".b.jpg")) == "a" * 119 + "."
    assert safe_stem(Path("a" * 119 + "-b.jpg")) == "a" * 119 + "-"


@pytest.mark.xfail(strict=True, reason="safe_stem (output.py:168) encodes with 'surrogateescape', which "
                   "only takes U+DC80-U+DCFF: a str with any other lone surrogate (from JSON or a "
                   "library caller) raises UnicodeEncodeError instead of giving a stem")
def test_safe_stem_lone_surrogate():
    assert safe_stem(Path("\ud800photo.jpg")) == "photo"


_SAFE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_safe_stem_of_any_text(text):
    stem = safe_stem(Path(text.replace("\x00", "")))
    assert stem, "never empty"
    assert stem.isascii() and set(stem) <= _SAFE
    assert "/" not in stem
    assert not stem.startswith(("-", "."))
    assert len(stem) <= 120
    assert stem not in (".", "..")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=100))
def test_safe_stem_keeps_plain_ascii(word):
    assert safe_stem(Path(f"{word}.jpg")) == word


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(categories=["Lu", "Ll"]), min_size=1, max_size=30))
def test_safe_stem_folds_accents_like_nfkd(word):
    """Exactly the ASCII left after NFKD, runs of anything else as one '_', trimmed."""
    folded = unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode()
    stem = safe_stem(Path(f"{word}.png"))
    if any(ch.isalnum() for ch in folded):
        assert stem.replace("_", "") == "".join(ch for ch in folded if ch.isalnum())
    else:
        assert stem == "media"
