"""Input that is not a file yet (issue 15): stdin on the command line, bytes and binary
file objects in the library, spooled into a private temp folder that is always removed,
bounded by the profile's max_input_bytes; and the README's web-upload example, run."""
from __future__ import annotations

import io
import json
import os
import pty
import re
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from PIL import Image

import mediaprep
from mediaprep.spool import spooled

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = ROOT / "testdata"
PHOTO = TESTDATA / "images/photo_rotated_gps.jpg"
EXE = str(Path(sys.executable).parent / "mediaprep")


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp folder of our own, to see that nothing is left in it."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_prepare_from_stdin(tmp_path: Path, private_tmp: Path) -> None:
    with open(PHOTO, "rb") as fh:
        res = subprocess.run([EXE, "prepare", "-", "--name", "照片 1.heic", "-o", str(tmp_path / "out"), "--json"],
                             stdin=fh, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["input"] == "照片 1.heic" and doc["input_bytes"] == PHOTO.stat().st_size
    (out,) = doc["outputs"]
    assert Path(out["path"]) == tmp_path / "out" / "照片 1.jpg"
    assert "照片 1.heic: extension .heic does not match the content" in res.stderr  # the name is checked
    assert list(private_tmp.iterdir()) == []  # the spooled copy is gone
    # Without -o the outputs go to the current folder, never the temp folder.
    with open(PHOTO, "rb") as fh:
        res = subprocess.run([EXE, "prepare", "-", "--name", "p.jpg"], stdin=fh, capture_output=True,
                             text=True, timeout=60, cwd=tmp_path)
    assert res.returncode == 0 and (tmp_path / "p.jpg").exists()


def test_check_from_stdin(tmp_path: Path) -> None:
    with open(PHOTO, "rb") as fh:
        res = subprocess.run([EXE, "check", "-", "--name", "photo.jpg"], stdin=fh, capture_output=True,
                             text=True, timeout=60)
    assert res.returncode == 5 and res.stdout.startswith("FAIL  photo.jpg [image, wechat]: 179,863 bytes")
    with open(PHOTO, "rb") as fh:  # no name: nothing to compare the content with, no warning
        res = subprocess.run([EXE, "check", "-", "-q"], stdin=fh, capture_output=True, text=True, timeout=60)
    assert res.returncode == 5 and res.stderr == "" and "FAIL  stdin" in res.stdout


def test_stdin_usage_errors(tmp_path: Path) -> None:
    with open(PHOTO, "rb") as fh:
        res = subprocess.run([EXE, "prepare", "-", "-o", str(tmp_path)], stdin=fh, capture_output=True,
                             text=True, timeout=60)
    assert res.returncode == 2 and "reading stdin (-) needs --name" in res.stderr
    res = subprocess.run([EXE, "prepare", str(PHOTO), "--name", "x.jpg"], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 2 and "--name names the input read from stdin" in res.stderr
    # stdin a terminal: said at once instead of waiting for input that never comes.
    controller, terminal = pty.openpty()
    try:
        res = subprocess.run([EXE, "check", "-"], stdin=terminal, capture_output=True, text=True, timeout=60)
    finally:
        os.close(controller)
        os.close(terminal)
    assert res.returncode == 2 and "stdin is a terminal" in res.stderr


def test_library_takes_bytes_and_binary_file_objects(tmp_path: Path, private_tmp: Path) -> None:
    data = PHOTO.read_bytes()
    result = mediaprep.prepare(io.BytesIO(data), name="x.jpg", out_dir=tmp_path / "a")
    assert result.input == Path("x.jpg") and result.input_bytes == len(data)
    with Image.open(result.outputs[0].path) as im:
        assert im.size == (1080, 675)
    assert mediaprep.prepare(data, name="y.jpg", out_dir=tmp_path / "a").outputs[0].path.name == "y.jpg"
    with open(PHOTO, "rb") as fh:
        report = mediaprep.check(fh, name="z.jpg")
    assert report.path == Path("z.jpg") and not report.complies
    assert mediaprep.check(memoryview(data)).path == Path("input")
    assert list(private_tmp.iterdir()) == []


def test_library_says_what_is_missing(tmp_path: Path, private_tmp: Path) -> None:
    data = PHOTO.read_bytes()
    with pytest.raises(mediaprep.UsageError, match="needs name="):
        mediaprep.prepare(io.BytesIO(data), out_dir=tmp_path)
    with pytest.raises(mediaprep.UsageError, match="needs out_dir="):
        mediaprep.prepare(io.BytesIO(data), name="x.jpg")
    with open(PHOTO, encoding="latin-1") as text, pytest.raises(mediaprep.UsageError, match="binary mode"):
        mediaprep.check(text, name="x.jpg")  # type: ignore[arg-type]
    # A failure names the input by its name, never by the temp copy, which is gone.
    with pytest.raises(mediaprep.BadInput) as info:
        mediaprep.prepare(b"just text\n", name="notes.jpg", out_dir=tmp_path)
    assert info.value.path == Path("notes.jpg") and "mediaprep-input-" not in str(info.value)
    assert list(private_tmp.iterdir()) == []


def test_stream_size_is_bounded_by_the_profile(tmp_path: Path, private_tmp: Path) -> None:
    profile = tmp_path / "small.toml"
    profile.write_text('name = "small"\nbase = "wechat"\n[safety]\nmax_input_bytes = 100000\n')
    endless = io.BufferedReader(io.BytesIO(PHOTO.read_bytes()))
    with pytest.raises(mediaprep.LimitExceeded, match="larger than our limit of 100,000 bytes"):
        mediaprep.check(endless, mediaprep.load_profile_file(profile), name="big.jpg")
    with open(PHOTO, "rb") as fh:
        res = subprocess.run([EXE, "prepare", "-", "--name", "big.jpg", "--profile", str(profile), "-o",
                              str(tmp_path / "o")], stdin=fh, capture_output=True, text=True, timeout=60,
                             env={**os.environ, "TMPDIR": str(private_tmp)})
    assert res.returncode == 4 and "larger than our limit" in res.stderr
    assert list(private_tmp.iterdir()) == []


def test_the_spool_is_private(private_tmp: Path) -> None:
    with spooled(b"abc", "../../etc/passwd\n.jpg", 10) as path:
        assert path.parent.parent == private_tmp and "/" not in path.name[:-4]
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes() == b"abc"
    assert not path.parent.exists()


def _readme_block(marker: str) -> str:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    return next(b for b in blocks if b.startswith(marker))


def test_the_readme_web_upload_example_runs(tmp_path: Path, private_tmp: Path) -> None:
    namespace: dict[str, object] = {}
    exec(compile(_readme_block("# upload_check.py"), "README:upload_check.py", "exec"), namespace)
    check_upload, prepare_upload = namespace["check_upload"], namespace["prepare_upload"]
    status, body = check_upload((TESTDATA / "images/compliant.jpg").read_bytes(), "ok.jpg")  # type: ignore[operator]
    assert status == 200 and body["ok"] is True and body["role"] == "image"
    status, body = check_upload(io.BytesIO(PHOTO.read_bytes()), "big.jpg")  # type: ignore[operator]
    assert status == 422 and body["violations"][0]["actual_bytes"] == 179863
    status, body = check_upload(b"%PDF-1.4 not a picture", "doc.pdf")  # type: ignore[operator]
    assert status == 415 and "doc.pdf" in body["error"]
    blocks = prepare_upload(PHOTO.read_bytes(), "big.jpg", str(tmp_path / "out"))  # type: ignore[operator]
    assert blocks == [{"type": "image", "media_id": "<image_media_id of big.jpg>"}]
    assert (tmp_path / "out" / "big.jpg").stat().st_size <= 128_000
    assert list(private_tmp.iterdir()) == []
    # The FastAPI route wraps exactly that function.
    route = _readme_block("from fastapi import")
    assert "check_upload(file.file, file.filename" in route and "def media_check" in route
