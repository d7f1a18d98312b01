"""What no file can fix is found before any work and said once (issue 15): a missing
libmagic, an ffmpeg without the encoders, missing credentials for --upload."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from mediaprep.batching.manifest import MANIFEST

TESTDATA = Path(__file__).resolve().parent.parent / "testdata"
EXE = str(Path(sys.executable).parent / "mediaprep")
# The command line on a system without libmagic: the dynamic loader does not find it,
# and neither does python-magic's search.
NO_LIBMAGIC = ("import ctypes, sys\n"
               "class NoLibmagic(ctypes.CDLL):\n"
               "    def __init__(self, name, *args, **kwargs):\n"
               "        if 'magic' in str(name):\n"
               "            raise OSError(f'{name}: cannot open shared object file: No such file or directory')\n"
               "        super().__init__(name, *args, **kwargs)\n"
               "ctypes.CDLL = NoLibmagic\n"
               "sys.modules['magic'] = None\n"
               "from mediaprep.cli.main import main\nsys.exit(main())")


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAPREP_")}
    env.update(extra)
    return env


def _folder(tmp_path: Path, n: int = 6) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    for i in range(n):
        shutil.copyfile(TESTDATA / "images/ladybird.png", src / f"p{i}.png")
    return src


@pytest.mark.parametrize("command", ["batch", "check", "prepare"])
def test_missing_libmagic_stops_once_with_exit_3_and_hints(tmp_path: Path, command: str) -> None:
    src = _folder(tmp_path)
    args = {"batch": [str(src), str(tmp_path / "dst")], "check": [str(src)],
            "prepare": [*map(str, sorted(src.iterdir())), "-o", str(tmp_path / "dst")]}[command]
    res = subprocess.run([sys.executable, "-c", NO_LIBMAGIC, command, *args], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 3, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "FAIL" not in res.stderr
    for hint in ("Debian/Ubuntu: apt-get install libmagic1", "Fedora: dnf install file-libs",
                 "Alpine: apk add libmagic", "macOS: brew install libmagic"):
        assert hint in lines[0]
    assert not (tmp_path / "dst").exists()  # nothing was started


def _ffmpeg_without_encoders(tmp_path: Path) -> Path:
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\ncase \"$*\" in *-version*) echo 'ffmpeg version 0.0-fake';; esac\nexit 0\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return fake


def test_missing_encoders_stop_prepare_and_batch_before_any_work(tmp_path: Path) -> None:
    env = _clean_env(MEDIAPREP_FFMPEG=str(_ffmpeg_without_encoders(tmp_path)))
    photo = tmp_path / "photo.png"
    shutil.copyfile(TESTDATA / "images/ladybird.png", photo)
    res = subprocess.run([EXE, "prepare", str(photo), str(TESTDATA / "audio/speech_75s.ogg"), "-o",
                          str(tmp_path / "out")], capture_output=True, text=True, timeout=120, env=env)
    assert res.returncode == 3
    assert res.stderr.count("\n") == 1 and "lacks the encoder(s) libopencore_amrnb" in res.stderr
    assert not (tmp_path / "out").exists()  # not even the photo was started
    # A photo alone needs no ffmpeg.
    res = subprocess.run([EXE, "prepare", str(photo), "-o", str(tmp_path / "out")], capture_output=True,
                         text=True, timeout=120, env=env)
    assert res.returncode == 0, res.stderr
    src = _folder(tmp_path, 2)
    res = subprocess.run([EXE, "batch", str(src), str(tmp_path / "dst")], capture_output=True, text=True,
                         timeout=120, env=env)
    assert res.returncode == 3 and res.stderr.count("\n") == 1 and "lacks the encoder(s)" in res.stderr
    assert not (tmp_path / "dst" / MANIFEST).exists()


def test_upload_without_credentials_fails_before_encoding(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    shutil.copyfile(TESTDATA / "video/bikes_short.mp4", video)
    res = subprocess.run([EXE, "prepare", str(video), "-o", str(tmp_path / "out"), "--upload", "--json"],
                         capture_output=True, text=True, timeout=60, env=_clean_env())
    assert res.returncode == 2
    assert "no WeChat access token" in res.stderr and res.stderr.count("\n") == 1
    assert '"schema": "mediaprep/error/1"' in res.stdout
    assert not (tmp_path / "out").exists()  # nothing was encoded
    # A malformed credential is found as early, and never shown.
    res = subprocess.run([EXE, "prepare", str(video), "-o", str(tmp_path / "out"), "--upload"],
                         capture_output=True, text=True, timeout=60,
                         env=_clean_env(MEDIAPREP_WECHAT_ACCESS_TOKEN="tok\nen-secret-value"))
    assert res.returncode == 2 and "secret-value" not in res.stderr + res.stdout
    assert not (tmp_path / "out").exists()


def test_batch_of_a_missing_folder_says_it_does_not_exist(tmp_path: Path) -> None:
    res = subprocess.run([EXE, "batch", str(tmp_path / "nonexist"), str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    missing = tmp_path / "nonexist"
    assert res.stderr.strip() == f"mediaprep: error: {missing}: does not exist (check the source folder's path)"
