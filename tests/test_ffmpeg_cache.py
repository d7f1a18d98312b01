"""The ffmpeg inspection (version, encoders, filters: three runs) is cached per binary,
keyed by its path, size and mtime, so a command's start does not repeat it."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from mediaprep.tools import ffmpeg as ff
from mediaprep.tools import proc


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    """An empty cache folder, the finder's per-process memo cleared, and a record of
    every process the finder starts (the real runs still happen)."""
    monkeypatch.setenv(ff.CACHE_ENV, str(tmp_path / "cache"))
    runs: list[list[str]] = []
    real_run = proc.run

    def counting(args: list[str], **kw: object) -> proc.ProcResult:
        runs.append(list(args))
        return real_run(args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(proc, "run", counting)
    ff.get_ffmpeg.cache_clear()
    yield runs
    ff.get_ffmpeg.cache_clear()


def test_second_start_runs_nothing(fresh: list[list[str]], tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    binary = tmp_path / "ffmpeg"
    shutil.copy2(ff._bundled() or ff.get_ffmpeg().path, binary)
    monkeypatch.setenv(ff.ENV_VAR, str(binary))
    first = ff.get_ffmpeg()
    assert len(fresh) == 3 and first.has_encoder("libx264")
    assert len(list((tmp_path / "cache").glob("ffmpeg-*.json"))) == 1
    ff.get_ffmpeg.cache_clear()
    again = ff.get_ffmpeg()
    assert len(fresh) == 3  # answered from the cache: no process started
    assert (again.version, again.encoders, again.filters) == (first.version, first.encoders, first.filters)
    # A changed binary (here: a new mtime) is inspected again.
    st = binary.stat()
    os.utime(binary, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    ff.get_ffmpeg.cache_clear()
    ff.get_ffmpeg()
    assert len(fresh) == 6


def test_a_damaged_cache_file_is_inspected_again(fresh: list[list[str]], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    binary = tmp_path / "ffmpeg"
    shutil.copy2(ff._bundled() or ff.get_ffmpeg().path, binary)
    monkeypatch.setenv(ff.ENV_VAR, str(binary))
    ff.get_ffmpeg()
    (cache,) = (tmp_path / "cache").glob("ffmpeg-*.json")
    cache.write_text("{not json")
    ff.get_ffmpeg.cache_clear()
    assert ff.get_ffmpeg().has_encoder("libopencore_amrnb")
    assert len(fresh) == 6


def test_a_warm_start_with_the_bundled_ffmpeg_starts_no_process(fresh: list[list[str]],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Not even imageio-ffmpeg's own check (``ffmpeg -version``), which its finder runs
    once per process: the inspection, cached or not, already checks the binary."""
    import subprocess

    import imageio_ffmpeg

    monkeypatch.delenv(ff.ENV_VAR, raising=False)
    monkeypatch.delenv("IMAGEIO_FFMPEG_EXE", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")  # no ffmpeg on PATH: the bundled one it is
    assert ff.get_ffmpeg().source == "bundled"  # inspected, and cached
    assert ff.get_ffmpeg().path == imageio_ffmpeg.get_ffmpeg_exe()
    ff.get_ffmpeg.cache_clear()
    imageio_ffmpeg._utils._get_ffmpeg_exe.cache_clear()  # its memo of the check, per process
    started: list[object] = []
    real_popen = subprocess.Popen

    def counting(*args: object, **kw: object) -> object:
        started.append(args)
        return real_popen(*args, **kw)  # type: ignore[call-overload]

    monkeypatch.setattr(subprocess, "Popen", counting)
    assert ff.get_ffmpeg().has_encoder("libopencore_amrnb")
    assert started == []
