"""Everything that knows about ffmpeg: where it is, what it can do, how to run it.

Resolution order (once per process, cached): ``$MEDIAPREP_FFMPEG``; an ``ffmpeg``
on PATH that has the encoders we need; the static binary bundled by the
``imageio-ffmpeg`` wheel (which has libopencore_amrnb and libx264; Debian's
ffmpeg 5.1 lacks the AMR-NB encoder).

Inputs are always given as ``file:/absolute/path`` with the demuxer forced and
``-protocol_whitelist file``: a name like ``-i.mp4``, ``http:x.mp4`` or
``pipe:0.mp4`` can never be read as an option or protocol, and a playlist or
concat script disguised as media can never be parsed as one (forcing the demuxer
is what stops it; the protocol whitelist alone does not stop a local read).
Those defensive input flags are defined once, in ``SafeInput``, and rendered two
ways:

- ``SafeInput.node()``: an ffmpeg-python input node, for the voice fit, whose
  graph (gain, limiter, one ``asplit``/``atrim`` branch and one output per part)
  is composed step by step and compiled by ``compile_args``;
- ``SafeInput.args()``: argv, for the video fit's hand-built commands, run by
  ``run_args``. Those stay plain typed lists because ffmpeg-python would take
  control of what they depend on: it sorts every input's and output's options by
  name and numbers inputs and filter pads in its own graph order, while x264's
  two passes rely on the pass-1 x264 output being output stream 0 (the stats
  file is named after it), and the filter chains are built once as strings and
  used both in ``-filter_complex`` and ``-vf``; ffmpeg-python also has no type
  hints, so nothing built with it is checked by mypy.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import json
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import MissingDependency, ToolFailed, ToolTimeout
from . import env, ffprogress, proc
from .ffmpeg_errors import explain, input_path

ENV_VAR = "MEDIAPREP_FFMPEG"
NEEDED_ENCODERS = ("libopencore_amrnb", "libx264", "aac")
PROBE_TIMEOUT = 20.0

# Prepended to every run, right after the binary.
GLOBAL_ARGS = ("-nostdin", "-hide_banner", "-nostats", "-loglevel", "error", "-y")

# Threads per ffmpeg run: MEDIAPREP_THREADS, parsed in tools/env.py.
THREADS_ENV = env.THREADS_ENV


def threads() -> int | None:
    """Threads per ffmpeg run, or None for ffmpeg's own choice (all cores)."""
    return env.threads()


def thread_args() -> list[str]:
    """``-threads N`` for one decoder or encoder, when a thread count is set."""
    n = threads()
    return ["-threads", str(n)] if n else []


def _global_args() -> list[str]:
    n = threads()
    extra = ["-filter_threads", str(n), "-filter_complex_threads", str(n)] if n else []
    return [*GLOBAL_ARGS, *extra]

_ENCODER_LINE = re.compile(r"^\s*[VAS][F.][S.][X.][B.][D.]\s+(\S+)", re.M)
_FILTER_LINE = re.compile(r"^\s*[T.][S.][C.]?\s+(\S+)\s+\S+->\S+", re.M)


@dataclass(frozen=True)
class FFmpeg:
    """The ffmpeg binary in use: where it is and what it can encode and filter."""
    path: str
    version: str
    source: str  # "env" | "path" | "bundled"
    encoders: frozenset[str]
    filters: frozenset[str]

    def has_encoder(self, name: str) -> bool:
        return name in self.encoders

    def require(self, *encoders: str) -> None:
        missing = [e for e in encoders if e not in self.encoders]
        if missing:
            raise MissingDependency(
                f"ffmpeg at {self.path} ({self.version}) lacks the encoder(s) {', '.join(missing)}",
                hint=f"unset {ENV_VAR} or point it at an ffmpeg with them; the imageio-ffmpeg "
                "wheel (pip install imageio-ffmpeg) bundles one that has them",
            )

    def describe(self) -> str:
        wanted = [e for e in NEEDED_ENCODERS if e in self.encoders]
        return f"ffmpeg {self.version} ({self.source}: {self.path}); encoders: {', '.join(wanted)}"


# What an ffmpeg binary can do does not change while the file does not: the result of
# the three inspection runs is kept in the user's cache folder, keyed by the binary's
# real path, size and mtime, so a command's start does not pay ~0.1-0.3 s for them.
CACHE_ENV = "MEDIAPREP_CACHE_DIR"
_CACHE_VERSION = 1


def _cache_dir() -> Path:
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mediaprep"


def _cache_file(path: str) -> tuple[Path, str] | None:
    try:
        real = os.path.realpath(path)
        st = os.stat(real)
    except OSError:
        return None
    key = f"{_CACHE_VERSION}\0{real}\0{st.st_size}\0{st.st_mtime_ns}"
    digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return _cache_dir() / f"ffmpeg-{digest}.json", key


def _load_cached(path: str, source: str) -> FFmpeg | None:
    where = _cache_file(path)
    if where is None:
        return None
    cache, key = where
    try:
        doc = json.loads(cache.read_text("utf-8"))
        if doc.get("key") != key:
            return None
        return FFmpeg(path=path, version=str(doc["version"]), source=source,
                      encoders=frozenset(map(str, doc["encoders"])),
                      filters=frozenset(map(str, doc["filters"])))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing, damaged or from another version: inspect again


def _store_cached(found: FFmpeg) -> None:
    where = _cache_file(found.path)
    if where is None:
        return
    cache, key = where
    doc = {"key": key, "version": found.version, "encoders": sorted(found.encoders),
           "filters": sorted(found.filters)}
    # Best effort: a read-only home or a full disk only costs the next start the runs.
    with contextlib.suppress(OSError):
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".{cache.name}.{os.getpid()}.part")
        tmp.write_text(json.dumps(doc), "utf-8")
        os.replace(tmp, cache)


def _inspect(path: str, source: str) -> FFmpeg | None:
    """What the candidate is and can do (cached); None when it is not a working ffmpeg."""
    cached = _load_cached(path, source)
    if cached is not None:
        return cached
    try:
        ver = proc.run([path, "-hide_banner", "-version"], timeout=PROBE_TIMEOUT, tool="ffmpeg")
        enc = proc.run([path, "-hide_banner", "-encoders"], timeout=PROBE_TIMEOUT, tool="ffmpeg")
        flt = proc.run([path, "-hide_banner", "-filters"], timeout=PROBE_TIMEOUT, tool="ffmpeg")
    except ToolFailed:
        return None
    first = ver.stdout.decode("utf-8", "replace").splitlines()[:1]
    match = re.match(r"ffmpeg version (\S+)", first[0]) if first else None
    if match is None:
        return None
    found = FFmpeg(
        path=path,
        version=match.group(1),
        source=source,
        encoders=frozenset(_ENCODER_LINE.findall(enc.stdout.decode("utf-8", "replace"))),
        filters=frozenset(_FILTER_LINE.findall(flt.stdout.decode("utf-8", "replace"))),
    )
    _store_cached(found)
    return found


def _bundled() -> str | None:
    """The binary in the imageio-ffmpeg wheel. Found where the wheel keeps it when it is
    there: ``get_ffmpeg_exe()`` runs it (``-version``) to check it works, a process
    started on every command although _inspect checks it anyway (or knows it from
    the cache). Otherwise, or with ``IMAGEIO_FFMPEG_EXE`` set, its own search."""
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    if not os.environ.get("IMAGEIO_FFMPEG_EXE"):
        try:  # its private layout, hence the care: any surprise and we ask it instead
            names = importlib.import_module("imageio_ffmpeg._definitions")
            utils = importlib.import_module("imageio_ffmpeg._utils")
            exe = os.path.join(str(utils._get_bin_dir()),
                               str(names.FNAME_PER_PLATFORM.get(names.get_platform(), "")))
            if os.path.isfile(exe):
                return exe
        except (ImportError, AttributeError, TypeError, OSError):
            pass
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError:
        return None


@functools.lru_cache(maxsize=1)
def get_ffmpeg() -> FFmpeg:
    """The ffmpeg we use, found once per process."""
    override = os.environ.get(ENV_VAR)
    if override:
        found = _inspect(override, "env")
        if found is None:
            raise MissingDependency(f"{ENV_VAR}={override} is not a working ffmpeg",
                                    hint=f"fix or unset {ENV_VAR}")
        return found
    on_path = shutil.which("ffmpeg")
    if on_path:
        found = _inspect(on_path, "path")
        if found is not None and all(e in found.encoders for e in NEEDED_ENCODERS):
            return found
    bundled = _bundled()
    if bundled:
        found = _inspect(bundled, "bundled")
        if found is not None:
            return found
    partial = _inspect(on_path, "path") if on_path else None
    if partial is not None:
        # Debian's ffmpeg without the bundled one: usable for what it has; the
        # caller's require() names the missing encoder and how to get it.
        return partial
    raise MissingDependency(
        "no usable ffmpeg found",
        hint="pip install imageio-ffmpeg (bundles an ffmpeg with AMR-NB and x264), "
        f"or set {ENV_VAR} to an ffmpeg that has {', '.join(NEEDED_ENCODERS)}",
    )


def input_url(path: Path) -> str:
    """``file:`` plus the absolute path: never an option, never another protocol."""
    return "file:" + str(Path(path).absolute())


@dataclass(frozen=True)
class SafeInput:
    """One input file, read the only way we read inputs: demuxer forced, file
    protocol only, ``file:`` absolute URL. ``start``/``duration`` (-ss/-t) cap the
    work to what the probe found (a header claiming ten hours cannot make ffmpeg
    decode ten hours); ``max_pixels`` makes the decoder refuse frames larger than
    our limit even if a later frame changes size mid-stream."""

    path: Path
    demuxer: str
    start: float | None = None
    duration: float | None = None
    max_pixels: int | None = None
    decoder: str | None = None  # forced audio decoder (a big-endian WAV's PCM; see formats/wav.py)

    def options(self) -> list[tuple[str, str]]:
        """The input options, in argv order, without the leading dashes."""
        opts: list[tuple[str, str]] = []
        if self.start:
            opts.append(("ss", f"{self.start:.3f}"))
        if self.duration is not None:
            opts.append(("t", f"{self.duration:.3f}"))
        if self.max_pixels:
            opts.append(("max_pixels", str(int(self.max_pixels))))
        n = threads()
        if n:
            opts.append(("threads", str(n)))
        if self.decoder:
            opts.append(("c:a", self.decoder))
        opts += [("f", self.demuxer), ("protocol_whitelist", "file")]
        return opts

    def url(self) -> str:
        return input_url(self.path)

    def args(self) -> list[str]:
        """argv for this input, ending in ``-i file:/...``."""
        out: list[str] = []
        for key, value in self.options():
            out += [f"-{key}", value]
        return [*out, "-i", self.url()]

    def node(self) -> Any:
        """An ffmpeg-python input node with the same options (it orders them by name;
        before ``-i`` their order does not matter to ffmpeg)."""
        import ffmpeg as ffmpeg_python  # ffmpeg-python (the voice fit's graphs): imported for them

        return ffmpeg_python.input(self.url(), **dict(self.options()))


def safe_input(path: Path, demuxer: str, decoder: str | None = None) -> Any:
    """An ffmpeg-python input node for ``path``: ``SafeInput(path, demuxer, decoder=...).node()``."""
    return SafeInput(path, demuxer, decoder=decoder).node()


def compile_args(stream: Any) -> list[str]:
    """argv for an ffmpeg-python graph, with our defensive global flags up front."""
    import ffmpeg as ffmpeg_python

    ff = get_ffmpeg()
    args = ffmpeg_python.compile(stream, cmd=ff.path)
    return [ff.path, *_global_args(), *args[1:]]


def pipe_input(demuxer: str, **kwargs: Any) -> Any:
    """An input node reading our own bytes from stdin (raw PCM we made), demuxer
    forced, no protocol but the pipe."""
    import ffmpeg as ffmpeg_python

    return ffmpeg_python.input("pipe:0", f=demuxer, protocol_whitelist="pipe", **kwargs)


def _run_all(argvs: list[list[str]], timeout: float,
             inputs: list[bytes | None]) -> list[proc.ProcResult]:
    """The one runner, with a failure said as what it means: a damaged input (BadInput)
    or ffmpeg failing (ToolFailed), naming the input once (ffmpeg_errors.py). Several
    runs go side by side, and all stop when one fails (proc.run_all); they read one
    input (the voice lanes all read the decoded samples), which a failure names."""
    try:
        return ffprogress.run_all(argvs, timeout=timeout, inputs=inputs)
    except ToolTimeout as exc:
        raise ToolTimeout(exc.message, path=input_path(argvs[0]), hint=exc.hint,
                          detail=exc.detail) from exc
    except ToolFailed as exc:
        raise explain(exc, argvs[0]) from exc


def _run(argv: list[str], timeout: float, input_bytes: bytes | None) -> proc.ProcResult:
    return _run_all([argv], timeout, [input_bytes])[0]


def run_graph(stream: Any, *, timeout: float, input_bytes: bytes | None = None) -> proc.ProcResult:
    """Build with ffmpeg-python, run through the one runner (reporting progress when
    someone listens: see ffprogress)."""
    return _run(compile_args(stream), timeout, input_bytes)


def run_graphs(streams: Sequence[Any], *, timeout: float,
               inputs: Sequence[bytes | None]) -> list[proc.ProcResult]:
    """Several ffmpeg-python graphs, one ffmpeg each, run side by side (on as many cores)
    with ``inputs`` on their stdin; all stop when one fails, and its error is raised."""
    return _run_all([compile_args(s) for s in streams], timeout, list(inputs))


def run_args(args: list[str], *, timeout: float, input_bytes: bytes | None = None) -> proc.ProcResult:
    """Run ffmpeg with hand-built arguments (the video fit's commands; see the
    module docstring for why they are not ffmpeg-python graphs)."""
    ff = get_ffmpeg()
    return _run([ff.path, *_global_args(), *args], timeout, input_bytes)


def timeout_for(duration: float | None, *, per_second: float = 2.0, floor: float = 60.0) -> float:
    """A timeout scaled to the media's duration: generous, but never unbounded."""
    if duration is None or duration <= 0:
        return floor
    return max(floor, duration * per_second)


def has_filter(name: str) -> bool:
    return name in get_ffmpeg().filters
