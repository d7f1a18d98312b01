"""The command line as a user (or a CI script) sees it: exit codes, one-line errors, JSON."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from PIL import Image

from mediaprep.cli.main import main

EXE = str(Path(sys.executable).parent / "mediaprep")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=120)


def test_check_exit_codes(copy_of, tmp_path):
    ok = copy_of("images/compliant.jpg")
    bad = copy_of("images/ladybird.png")
    text = tmp_path / "notes.jpg"
    text.write_text("just some text\n")
    assert run("check", str(ok)).returncode == 0
    res = run("check", str(ok), str(bad))
    assert res.returncode == 5
    assert "bytes: 407,204 bytes (limit: 128,000 bytes)" in res.stdout
    res = run("check", str(text))
    assert res.returncode == 4
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert "text/plain" in res.stderr


def test_check_json_folder(copy_of, tmp_path):
    copy_of("images/compliant.jpg")
    copy_of("images/ladybird.png")
    res = run("check", str(tmp_path), "--json")
    assert res.returncode == 5
    doc = json.loads(res.stdout)
    assert doc["profile"] == "wechat" and doc["complies"] is False
    by_name = {Path(f["path"]).name: f for f in doc["files"]}
    assert by_name["compliant.jpg"]["complies"] is True
    assert by_name["ladybird.png"]["violations"][0]["rule"] in ("bytes", "format")


def test_prepare_json_is_exactly_one_object(copy_of, tmp_path):
    src = copy_of("images/photo_rotated_gps.jpg")
    res = run("prepare", str(src), "-o", str(tmp_path / "out"), "--json", "--media-id", "123")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)  # the whole stdout is one JSON document
    assert set(doc) == {"schema", "input", "input_bytes", "profile", "role", "outputs", "attachments",
                        "warnings", "notices"}
    (out,) = doc["outputs"]
    assert out["slot"] == "media" and out["bytes"] <= 128_000
    assert Path(out["path"]).stat().st_size == out["bytes"]
    with Image.open(out["path"]) as im:
        assert (im.width, im.height) == (out["width"], out["height"])
    assert doc["attachments"] == [{"type": "image", "media_id": "123"}]
    assert "GPS location removed" in res.stderr


def test_media_style_attachment_only_behind_option(copy_of, tmp_path):
    src = copy_of("images/compliant.jpg")
    res = run("prepare", str(src), "-o", str(tmp_path), "--json", "--media-id", "9",
              "--attachment-style", "media")
    assert json.loads(res.stdout)["attachments"] == [{"type": "media", "media": {"id": "9"}}]


def test_dash_named_input_keeps_its_name_without_the_dash(copy_of, tmp_path):
    src = copy_of("images/ladybird.png", "-i ñandú.png")
    # A relative name that starts with "-": after "--" it is a file, never an option.
    res = subprocess.run([EXE, "prepare", "-o", "out", "--", "-i ñandú.png"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    (out,) = list((tmp_path / "out").iterdir())
    assert out.name == "_i ñandú.jpg"  # the name kept; only the leading '-' replaced
    with Image.open(out) as im:
        assert im.format == "JPEG"
    assert src.exists()


def test_unwritable_output_is_exit_7_and_one_line(copy_of, tmp_path):
    src = copy_of("images/ladybird.png")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = run("prepare", str(src), "-o", str(blocker / "sub"))
    assert res.returncode == 7
    assert res.stderr.strip().count("\n") == 0 and "Traceback" not in res.stderr


def test_debug_shows_traceback(tmp_path):
    missing = tmp_path / "nope.jpg"
    res = run("--debug", "check", str(missing))
    assert res.returncode == 4
    assert "Traceback" in res.stderr
    res = run("check", str(missing))
    assert "Traceback" not in res.stderr and "no such file" in res.stderr


def test_usage_errors_exit_2():
    runner = CliRunner()
    assert runner.invoke(main, ["prepare"]).exit_code == 2
    assert runner.invoke(main, ["check", "x", "--profile", "nonesuch"]).exit_code == 2
    res = runner.invoke(main, ["profiles", "--json"])
    assert json.loads(res.output)["profiles"]["wechat"]["roles"]["image"]["max_bytes"] == 128_000


def test_bare_trim_before_the_path_is_not_taken_as_its_value(tmp_path):
    src = Path(__file__).resolve().parent.parent / "testdata/audio/speech_75s.ogg"
    res = run("prepare", "--trim", str(src), "-o", str(tmp_path), "--json")
    assert res.returncode == 0, res.stderr
    (out,) = json.loads(res.stdout)["outputs"]
    assert out["format"] == "amr" and out["duration_seconds"] <= 60.0
    res = run("prepare", str(src), "--trim", "20", "-o", str(tmp_path / "b"), "--json")
    (out,) = json.loads(res.stdout)["outputs"]
    assert out["duration_seconds"] <= 20.0


def test_check_names_a_videos_codecs_then_its_sound(copy_of):
    """A clip's line reads "h264, aac 48000 Hz 2 ch": the sample rate right after the
    audio codec it belongs to (it read "aac, h264 48000 Hz 2 ch")."""
    res = CliRunner().invoke(main, ["check", str(copy_of("video/bikes_short.mp4"))])
    assert res.exit_code == 5 and ", h264, aac 48000 Hz 2 ch" in res.stdout, res.output
