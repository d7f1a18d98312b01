"""No start-up tax (issue 16): a command imports what its input needs and nothing
more, and a picture's `prepare` or `check` starts no other program.

Each command runs as a user runs it, in a fresh interpreter, on real files; what it
imported is read from ``sys.modules`` afterwards. bench/startup.py measures the
times these guard.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import mediaprep

TESTDATA = Path(__file__).resolve().parent.parent / "testdata"
EXE = str(Path(sys.executable).parent / "mediaprep")
STRACE = shutil.which("strace")

# Runs the command line in this interpreter, then prints every module it imported.
RUN_AND_LIST = """
import sys
from mediaprep.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("MODULES", *sorted(sys.modules))
"""

# What no picture needs: sending (HTTP, TLS), the batch machinery, the terminal's
# progress bar, audio/video (PyAV, numpy, ffmpeg and its progress reader), the other
# formats' parsers, the metrics, the TOML parser (the profile is built in) and
# importlib.metadata. python-magic only searches for libmagic where the loader did
# not find it (Linux: libmagic.so.1 is opened by name).
NOT_FOR_PICTURES = (
    "mediaprep.send", "mediaprep.cli.send", "mediaprep.cli.progress", "mediaprep.batching",
    "mediaprep.tools.av", "mediaprep.tools.ffmpeg", "mediaprep.tools.ffprogress", "mediaprep.tools.proc",
    "mediaprep.formats.heif", "mediaprep.formats.png", "mediaprep.formats.gif", "mediaprep.formats.webp",
    "mediaprep.measure", "mediaprep.tools.heif", "av", "numpy", "httpx", "ssl", "socket", "email",
    "ffmpeg", "imageio_ffmpeg", "pillow_heif", "tomllib", "importlib.metadata",
    *(("magic",) if sys.platform == "linux" else ()),
)
# --upload's options are declared from the APIs' constants alone.
UPLOAD_OPTIONS = ("mediaprep.send", "mediaprep.send.endpoints")
# `check` walks folders with batch's rules: those two modules, and no more of batching.
FOLDER_WALK = ("mediaprep.batching", "mediaprep.batching.walk", "mediaprep.batching.rules")


def imported(*args: str, cwd: Path) -> set[str]:
    res = subprocess.run([sys.executable, "-c", RUN_AND_LIST, *args], capture_output=True, text=True,
                         timeout=120, cwd=cwd)
    assert "Traceback" not in res.stderr, res.stderr
    line = next(ln for ln in res.stdout.splitlines() if ln.startswith("MODULES "))
    return set(line.split()[1:])


def found(modules: set[str], unwanted: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list[str]:
    return sorted(m for m in modules - set(allowed)
                  if any(m == u or m.startswith(u + ".") for u in unwanted))


def test_prepare_of_a_photo_imports_only_what_a_photo_needs(copy_of, tmp_path: Path) -> None:
    src = copy_of("images/photo_rotated_gps.jpg")  # a real fit: rotated, GPS removed, re-encoded
    modules = imported("prepare", str(src), "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert list((tmp_path / "out").iterdir()), "nothing was prepared"
    assert "mediaprep.fit.image" in modules and "mediaprep.formats.jpeg" in modules
    assert found(modules, NOT_FOR_PICTURES, allowed=UPLOAD_OPTIONS) == []


def test_prepare_of_pictures_in_other_formats_imports_their_parser_only(copy_of, tmp_path: Path) -> None:
    src = copy_of("images/ladybird.png")
    modules = imported("prepare", str(src), "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert "mediaprep.formats.png" in modules
    unwanted = tuple(m for m in NOT_FOR_PICTURES if m != "mediaprep.formats.png")
    assert found(modules, unwanted, allowed=UPLOAD_OPTIONS) == []


def test_check_of_a_photo_imports_only_what_a_photo_needs(tmp_path: Path) -> None:
    modules = imported("check", str(TESTDATA / "images/compliant.jpg"), cwd=tmp_path)
    assert "mediaprep.preflight.check" in modules
    assert found(modules, NOT_FOR_PICTURES, allowed=FOLDER_WALK) == []
    assert found(modules, ("mediaprep.fit", "mediaprep.pipeline", "mediaprep.output")) == []


def test_check_of_a_voice_note_does_not_import_pillow_or_sending(tmp_path: Path) -> None:
    modules = imported("check", str(TESTDATA / "audio/speech_75s.ogg"), cwd=tmp_path)
    assert "av" in modules  # probed in-process by PyAV
    unwanted = ("PIL", "mediaprep.send", "mediaprep.cli.send", "httpx", "ssl", "mediaprep.formats.jpeg",
                "mediaprep.formats.heif", "mediaprep.fit", "tomllib", "importlib.metadata")
    assert found(modules, unwanted) == []


def test_prepare_help_and_version_do_not_import_the_work(tmp_path: Path) -> None:
    for args in (["prepare", "--help"], ["--version"]):
        modules = imported(*args, cwd=tmp_path)
        heavy = ("mediaprep.pipeline", "mediaprep.fit", "mediaprep.preflight.probe", "mediaprep.send",
                 "mediaprep.cli.send", "mediaprep.batching", "PIL.ImageFile", "numpy", "av", "httpx", "ssl",
                 "ffmpeg", "importlib.metadata")
        assert found(modules, heavy, allowed=UPLOAD_OPTIONS) == [], args


def test_upload_still_brings_the_sending_code(copy_of, tmp_path: Path) -> None:
    """--upload's options are declared without the HTTP code; given, it is there (here
    it stops at once: no credentials, exit 2, before any work)."""
    src = copy_of("images/compliant.jpg")
    env_free = ("import os\n"
                "for k in [k for k in os.environ if k.startswith('MEDIAPREP_WECHAT_')]:\n"
                "    del os.environ[k]\n")
    res = subprocess.run([sys.executable, "-c", env_free + RUN_AND_LIST, "prepare", str(src), "--upload",
                          "-o", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert "no WeChat access token" in res.stderr
    modules = set(next(ln for ln in res.stdout.splitlines() if ln.startswith("MODULES ")).split()[1:])
    assert {"mediaprep.cli.send", "mediaprep.send.wechat"} <= modules
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(STRACE is None, reason="strace is not installed")
@pytest.mark.parametrize("command", ["prepare", "check"])
def test_a_photo_starts_no_other_program(copy_of, tmp_path: Path, command: str) -> None:
    """No ffmpeg located or run, no ldconfig (a library search): one process, ours."""
    src = copy_of("images/photo_rotated_gps.jpg")
    log = tmp_path / "strace.log"
    argv = [EXE, command, str(src)] + (["-o", str(tmp_path / "out")] if command == "prepare" else [])
    res = subprocess.run([STRACE, "-f", "-qq", "-e", "trace=execve", "-o", str(log), *argv],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode in (0, 5), res.stderr
    started = [line for line in log.read_text().splitlines() if "execve(" in line and "ENOENT" not in line]
    assert len(started) == 1 and EXE in started[0], "\n".join(started)


def test_the_version_attribute_is_the_installed_version() -> None:
    """--version prints mediaprep.__version__ (reading installed metadata costs ~20 ms)."""
    assert mediaprep.__version__ == metadata.version("mediaprep")


def test_the_script_starts_without_the_collector_and_freezes_it(copy_of, tmp_path: Path) -> None:
    """The script (``mediaprep.script.run``, as the console script and ``python -m
    mediaprep`` call it) imports and checks its first file with the collector off,
    then freezes what start-up made and collects again; it ends with the collector
    frozen. ``main``, which a host (click's test runner) calls and lives on after,
    leaves the collector alone: it collects all along, and nothing is frozen. Exit
    codes and output are the command's."""
    src = copy_of("images/photo_rotated_gps.jpg")
    probe = ("import gc, sys\nruns = []\ngc.callbacks.append(lambda phase, info: runs.append(phase))\n"
             "from {module} import {fn}\ntry:\n    {fn}()\n"
             "except SystemExit as exc:\n    print('EXIT', exc.code, 'FROZEN', gc.get_freeze_count(),"
             " 'COLLECTIONS', runs.count('stop'), 'ENABLED', gc.isenabled())\n")
    seen = {}
    for module, fn in (("mediaprep.script", "run"), ("mediaprep.cli.main", "main")):
        res = subprocess.run([sys.executable, "-c", probe.format(module=module, fn=fn), "check", str(src)],
                             capture_output=True, text=True, timeout=120, cwd=tmp_path)
        words = next(ln for ln in res.stdout.splitlines() if ln.startswith("EXIT ")).split()
        assert int(words[1]) == 5, res.stdout + res.stderr  # the photo is over the image limit
        seen[fn] = (int(words[3]), int(words[5]), words[7])
    frozen, collections, enabled = seen["run"]
    assert frozen > 10_000 and enabled == "True" and collections <= 3, seen
    frozen, collections, enabled = seen["main"]
    assert frozen == 0 and enabled == "True" and collections >= 20, seen
    res = subprocess.run([sys.executable, "-m", "mediaprep", "check", str(src)],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 5 and src.name in res.stdout + res.stderr
    res = subprocess.run([EXE, "check", str(tmp_path / "missing.jpg")], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert res.returncode == 4 and "Traceback" not in res.stderr
