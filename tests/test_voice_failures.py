"""ffmpeg misbehaving: a fake ffmpeg (a small shell script set in MEDIAPREP_FFMPEG)
answers -version/-encoders/-filters like the real one, hands the decode to the real
binary, then crashes, hangs or writes garbage on the encode. Every case must end
in the right exit code with nothing left in the output folder."""
from __future__ import annotations

import os
import shlex
import stat
import time
from pathlib import Path

import numpy as np
import pytest
from audio_helpers import ffmpeg_exe, write_wav
from click.testing import CliRunner

from mediaprep.cli.main import main
from mediaprep.errors import ExitCode
from mediaprep.tools.ffmpeg import get_ffmpeg

ENCODERS = """Encoders:
 V....D libx264              libx264 H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10 (codec h264)
 A....D aac                  AAC (Advanced Audio Coding)
 A....D libopencore_amrnb    OpenCORE AMR-NB (Adaptive Multi-Rate Narrow-Band) (codec amr_nb)
"""
FILTERS = """Filters:
 ... volume            A->A       Change input volume.
 ... alimiter          A->A       Audio lookahead limiter.
 ... asplit            A->N       Pass on the audio input to N audio outputs.
 ... atrim             A->A       Pick one continuous section from the input, drop the rest.
"""

# What the fake does on the encode (the run that names libopencore_amrnb).
ON_ENCODE = {
    # Write a little, then die the way a crashing encoder does.
    "crash": 'for a in "$@"; do case "$a" in file:*.part) printf "#!AMR\\n\\074" > "${a#file:}";; '
             'esac; done; echo "Segmentation fault" >&2; exit 139',
    "hang": "sleep 60",
    "garbage": 'for a in "$@"; do case "$a" in file:*.part) printf "<html>oops</html>" > "${a#file:}";; '
               'esac; done; exit 0',
    "truncated": 'for a in "$@"; do case "$a" in file:*.part) printf "#!AMR\\n" > "${a#file:}";; '
                 'esac; done; exit 0',
}


def make_fake(folder: Path, on_encode: str, *, encoders: str = ENCODERS,
              on_decode: str | None = None, log: Path | None = None) -> Path:
    real = shlex.quote(ffmpeg_exe())
    script = folder / "fake-ffmpeg"
    logline = f'printf "%s\\n" "$*" >> {shlex.quote(str(log))}\n' if log else ""
    script.write_text(f"""#!/bin/sh
{logline}case "$*" in
  *-version*) echo "ffmpeg version 9.9-fake Copyright (c) the fakers"; exit 0;;
  *-encoders*) cat <<'EOF'
{encoders}EOF
  exit 0;;
  *-filters*) cat <<'EOF'
{FILTERS}EOF
  exit 0;;
  *libopencore_amrnb*) {on_encode};;
  *) {on_decode or f'exec {real} "$@"'};;
esac
""")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.fixture
def fake_env(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def _use(script: Path) -> None:
        monkeypatch.setenv("MEDIAPREP_FFMPEG", str(script))
        get_ffmpeg.cache_clear()

    yield _use
    get_ffmpeg.cache_clear()  # the next test resolves the real ffmpeg again


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """1.5 s of a warbling tone: short, so a timeout floor of 1 s gives a 3 s timeout."""
    t = np.arange(12_000) / 8000
    x = 0.3 * np.sin(2 * np.pi * (300 + 50 * np.sin(2 * np.pi * 3 * t)) * t)
    return write_wav(tmp_path / "clip.wav", (x * 32767).astype(np.int16), 8000)


def run_prepare(src: Path, out: Path, *extra: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, ["prepare", str(src), "-o", str(out), *extra])
    return r.exit_code, r.stderr


@pytest.mark.parametrize("mode", ["crash", "garbage", "truncated"])
def test_encode_failure_is_tool_failed_and_leaves_nothing(tmp_path, fake_env, clip, mode):
    fake_env(make_fake(tmp_path, ON_ENCODE[mode]))
    out = tmp_path / "out"
    code, err = run_prepare(clip, out)
    assert code == ExitCode.TOOL_FAILED, err
    assert len(err.strip().splitlines()) == 1  # one line, no traceback
    expected = {"crash": "Segmentation fault", "garbage": "unusable AMR file",
                "truncated": "AMR frames where"}[mode]
    assert expected in err
    assert os.listdir(out) == []  # no part, no hidden temporary file


@pytest.mark.parametrize("mode", ["crash", "garbage"])
def test_a_failure_in_one_lane_of_several_leaves_nothing(tmp_path, fake_env, monkeypatch, mode):
    """75 s: two parts, encoded in two ffmpeg runs side by side. The run of the second
    part fails while the real ffmpeg encodes the first: that one failure is the
    command's, and no part of either lane is left, not even the one that was done."""
    t = np.arange(75 * 8000) / 8000
    x = 0.3 * np.sin(2 * np.pi * (300 + 50 * np.sin(2 * np.pi * 3 * t)) * t)
    long_clip = write_wav(tmp_path / "long.wav", (x * 32767).astype(np.int16), 8000)
    monkeypatch.setenv("MEDIAPREP_THREADS", "2")  # two lanes, whatever the machine
    log = tmp_path / "calls.log"
    second_lane_only = (f'case "$*" in *.part2.amr.*) {ON_ENCODE[mode]};; '
                        f'*) exec {shlex.quote(ffmpeg_exe())} "$@";; esac')
    fake_env(make_fake(tmp_path, second_lane_only, log=log))
    out = tmp_path / "out"
    code, err = run_prepare(long_clip, out)
    assert code == ExitCode.TOOL_FAILED, err
    assert len(err.strip().splitlines()) == 1
    encodes = [line for line in log.read_text().splitlines() if "libopencore_amrnb" in line]
    assert len(encodes) == 2 and any(".part1.amr." in line for line in encodes)
    assert os.listdir(out) == []


def test_hang_past_the_timeout_is_stopped(tmp_path, fake_env, clip):
    fake_env(make_fake(tmp_path, ON_ENCODE["hang"]))
    prof = tmp_path / "impatient.toml"
    prof.write_text('name = "impatient"\n[safety]\ntimeout_floor = 1.0\n')
    out = tmp_path / "out"
    t0 = time.monotonic()
    code, err = run_prepare(clip, out, "--profile", str(prof))
    assert time.monotonic() - t0 < 20
    assert code == ExitCode.TOOL_FAILED
    assert "did not finish within 3 s" in err
    assert os.listdir(out) == []


def test_decode_crash_is_tool_failed(tmp_path, fake_env, clip):
    fake_env(make_fake(tmp_path, "exit 0", on_decode='echo "decoder exploded" >&2; exit 1'))
    code, err = run_prepare(clip, tmp_path / "out")
    assert code == ExitCode.TOOL_FAILED and "decoder exploded" in err
    assert os.listdir(tmp_path / "out") == []


def test_decode_returning_half_a_sample_is_tool_failed(tmp_path, fake_env, clip):
    fake_env(make_fake(tmp_path, "exit 0", on_decode="printf abc; exit 0"))
    code, err = run_prepare(clip, tmp_path / "out")
    assert code == ExitCode.TOOL_FAILED and "partial sample" in err


def test_ffmpeg_without_amr_nb_is_a_missing_dependency_with_a_fix(tmp_path, fake_env, clip):
    no_amr = "\n".join(line for line in ENCODERS.splitlines() if "amrnb" not in line) + "\n"
    fake_env(make_fake(tmp_path, "exit 0", encoders=no_amr))
    code, err = run_prepare(clip, tmp_path / "out")
    assert code == ExitCode.MISSING_DEPENDENCY
    assert "libopencore_amrnb" in err and "imageio-ffmpeg" in err


def test_not_an_ffmpeg_is_a_missing_dependency(tmp_path, fake_env, clip):
    script = tmp_path / "not-ffmpeg"
    script.write_text("#!/bin/sh\necho hello\n")
    script.chmod(0o755)
    fake_env(script)
    code, err = run_prepare(clip, tmp_path / "out")
    assert code == ExitCode.MISSING_DEPENDENCY and "MEDIAPREP_FFMPEG" in err


def test_every_ffmpeg_run_is_defensive(tmp_path, fake_env, clip):
    """A logging fake that runs the real ffmpeg: every command has -nostdin, reads
    the input as a file: URL with its demuxer forced and only the file protocol."""
    log = tmp_path / "argv.log"
    real = shlex.quote(ffmpeg_exe())
    fake_env(make_fake(tmp_path, f'exec {real} "$@"', log=log))
    code, err = run_prepare(clip, tmp_path / "out")
    assert code == 0, err
    runs = [line for line in log.read_text().splitlines()
            if not any(x in line for x in ("-version", "-encoders", "-filters"))]
    assert len(runs) == 2  # decode once, encode every part once
    decode_run, encode_run = runs
    for line in runs:
        assert line.startswith("-nostdin ")
    assert f"-f wav -protocol_whitelist file -i file:{clip}" in decode_run
    assert "-f s16le" in encode_run and "-protocol_whitelist pipe -i pipe:0" in encode_run
    assert "-f amr" in encode_run and "-acodec libopencore_amrnb" in encode_run
    assert "-b:a 12.2k" in encode_run
