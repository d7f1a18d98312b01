"""Every JSON document mediaprep prints carries "schema": "mediaprep/<name>/1" and
validates against the JSON Schema shipped in the package (issue 15); numbers are
numbers, with their unit in the key, display strings beside them; a --json command
that fails still prints one document."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fake_apis import FAST

from mediaprep.cli.main import main
from mediaprep.schemas import NAMES, load, validator

pytest_plugins = ("conftest_net",)  # fixtures: fake (the servers), _clean_env (autouse)

TESTDATA = Path(__file__).resolve().parent.parent / "testdata"
EXE = str(Path(sys.executable).parent / "mediaprep")
NET_ARGS = ["--timeout", "2", "--attempts", "2", "--backoff", "0.01"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=180)


def valid(name: str, doc: Any) -> Any:
    """Assert ``doc`` is a valid mediaprep/<name>/1 document; return it."""
    assert doc["schema"] == f"mediaprep/{name}/1"
    errors = sorted(validator(name).iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    return doc


def test_the_schemas_ship_in_the_package_and_are_valid_schemas() -> None:
    files = {p.name for p in resources.files("mediaprep.schemas").iterdir() if p.name.endswith(".json")}
    assert files == {f"{n}.schema.json" for n in (*NAMES, "defs")}
    import jsonschema

    for name in (*NAMES, "defs"):
        jsonschema.Draft202012Validator.check_schema(load(name))


def test_check_document_numbers_have_units(copy_of, tmp_path: Path) -> None:
    copy_of("images/photo_rotated_gps.jpg")
    copy_of("images/compliant.jpg")
    (tmp_path / "notes.txt").write_text("hello\n")
    (tmp_path / "broken.jpg").write_text("not a picture\n")
    shutil.copyfile(TESTDATA / "audio/speech_75s.ogg", tmp_path / "speech.ogg")
    res = run("check", str(tmp_path), "--json")
    doc = valid("check", json.loads(res.stdout))
    assert res.returncode == doc["exit_code"] == 4
    by_name = {Path(f["path"]).name: f for f in doc["files"]}
    (big,) = by_name["photo_rotated_gps.jpg"]["violations"]
    assert big == {"rule": "bytes", "actual": "179,863 bytes", "limit": "128,000 bytes",
                   "actual_bytes": 179863, "limit_bytes": 128000, "bound": "max"}
    speech = by_name["speech.ogg"]
    duration = next(v for v in speech["violations"] if v["rule"] == "duration")
    assert duration["limit_seconds"] == 60 and duration["actual_seconds"] == pytest.approx(75, abs=1)
    assert isinstance(speech["facts"]["duration_seconds"], float) and speech["facts"]["sample_rate_hz"] == 48000
    assert by_name["notes.txt"]["status"] == "skipped" and by_name["broken.jpg"]["status"] == "failed"


def test_prepare_documents_success_and_failure(copy_of, tmp_path: Path) -> None:
    src = copy_of("images/photo_rotated_gps.jpg")
    res = run("prepare", str(src), "-o", str(tmp_path / "out"), "--json")
    doc = valid("prepare", json.loads(res.stdout))
    assert doc["input_bytes"] == 179863 and doc["profile"] == "wechat"
    assert "GPS location removed" in doc["notices"]
    voice = run("prepare", str(TESTDATA / "audio/speech_75s.ogg"), "-o", str(tmp_path / "v"), "--json",
                "--profile", "wechat-oa")
    vdoc = valid("prepare", json.loads(voice.stdout))
    assert vdoc["profile"] == "wechat-oa" and all(o["duration_seconds"] <= 60 for o in vdoc["outputs"])
    # One input that fails: one error document on stdout, one line on stderr.
    bad = tmp_path / "broken.jpg"
    bad.write_text("not a picture\n")
    res = run("prepare", str(bad), "-o", str(tmp_path / "out"), "--json")
    assert res.returncode == 4 and res.stderr.count("\n") == 1
    err = valid("prepare", json.loads(res.stdout))
    assert err["input"] == str(bad) and err["exit_code"] == 4 and "text/plain" in err["error"]
    # Several inputs: one document per line, results and errors alike.
    res = run("prepare", str(src), str(bad), "-o", str(tmp_path / "multi"), "--json")
    lines = [valid("prepare", json.loads(line)) for line in res.stdout.splitlines()]
    assert [("error" in d) for d in lines] == [False, True] and res.returncode == 4


def test_a_json_command_failing_before_its_document_prints_an_error_document(copy_of) -> None:
    src = copy_of("images/compliant.jpg")
    for args in (["check", str(src), "--json", "--profile", "nonesuch"],
                 ["prepare", str(src), "--json", "--profile", "nonesuch"],
                 ["batch", "/nonexistent/src", "/tmp/x", "--json"]):
        res = run(*args)
        assert res.returncode == 2, res.stderr
        doc = valid("error", json.loads(res.stdout))
        assert doc["exit_code"] == 2 and doc["error"] in res.stderr
    # Without --json, stdout stays empty.
    assert run("check", str(src), "--profile", "nonesuch").stdout == ""


def test_batch_and_profiles_documents(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copyfile(TESTDATA / "images/ladybird.png", src / "a.png")
    shutil.copyfile(TESTDATA / "images/compliant.jpg", src / "ok.jpg")
    shutil.copyfile(TESTDATA / "images/photo_rotated_gps.jpg", src / "gps.jpg")
    (src / "broken.jpg").write_text("not a picture\n")
    (src / "notes.txt").write_text("hello\n")
    res = run("batch", str(src), str(tmp_path / "dst"), "--json")
    doc = valid("batch", json.loads(res.stdout))
    assert res.returncode == doc["exit_code"] == 8
    made = [f for f in doc["files"] if f["outputs"]]
    assert doc["bytes_in"] == sum(f["bytes"] for f in made)  # the same count as the summary's
    assert f"bytes: {doc['bytes_in']:,} -> {doc['bytes_out']:,}" in res.stderr
    assert "3 prepared" in res.stderr  # the failure is not counted among them
    gps = next(f for f in doc["files"] if f["input"] == "gps.jpg")
    assert "GPS location removed" in gps["notices"] and gps["warnings"] == []
    profiles = valid("profiles", json.loads(run("profiles", "--json").stdout))
    assert profiles["profiles"]["wechat"]["roles"]["voice"]["max_seconds"] == 60


def test_upload_send_and_send_media_documents(fake, copy_of, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MEDIAPREP_WECHAT_APPID", fake.fake.appid)
    monkeypatch.setenv("MEDIAPREP_WECHAT_SECRET", fake.fake.secret)
    monkeypatch.setenv("MEDIAPREP_WECHAT_BASE_URL", fake.base_url)
    monkeypatch.setenv("MEDIAPREP_IMICONNECT_KEY", fake.fake.key)
    monkeypatch.setenv("MEDIAPREP_IMICONNECT_URL", fake.messaging_url)
    assert FAST.timeout > 0
    photo = copy_of("images/compliant.jpg")
    res = CliRunner().invoke(main, ["upload", str(photo), "--type", "image", "--json", *NET_ARGS])
    assert res.exit_code == 0, res.output
    up = valid("upload", json.loads(res.stdout))
    res = CliRunner().invoke(main, ["send-media", str(copy_of("images/ladybird.png")), "--to", "wx_1",
                                    "--text", "hi", "--appid", "APP1", "-o", str(tmp_path / "o"), "--json",
                                    *NET_ARGS])
    assert res.exit_code == 0, res.output
    sm = valid("send-media", json.loads(res.stdout))
    assert sm["prepared"]["schema"] == "mediaprep/prepare/1"
    # The request body is the API's document, not ours: no schema field in it.
    req = CliRunner().invoke(main, ["request", "--appid", "APP1", "--text", "hi", "--to", "wx_1",
                                    "--attachment", json.dumps({"type": "image", "media_id": up["media_id"]})])
    body = json.loads(req.stdout)
    assert "schema" not in body
    (tmp_path / "req.json").write_text(req.stdout)
    res = CliRunner().invoke(main, ["send", str(tmp_path / "req.json"), "--json", *NET_ARGS])
    assert res.exit_code == 0, res.output
    sent = valid("send", json.loads(res.stdout))
    assert sent["complete"] is True and sent["results"][0]["queued"] is True
