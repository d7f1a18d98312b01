"""Where outputs go and how they are written: ASCII-safe names, atomic writes.

WeChat's upload rejects files whose name lacks the right extension and mangles
non-ASCII names, so every output name is plain ASCII with the right extension.
Outputs are written as a hidden ``.name.<pid>.part`` in the destination folder,
fsynced and renamed into place; on any failure the partial file is removed, so a
crash never leaves a half-written file under the final name.
"""
from __future__ import annotations

import contextlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputError

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _file_mode() -> int:
    """0666 less the umask: what a plain open() would give (mkstemp gives 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def safe_stem(path: Path) -> str:
    """An ASCII file stem: accents folded, anything else replaced, no leading dash or dot."""
    stem = path.name
    # Strip one extension (the last) to get the stem; keep inner dots.
    if "." in stem.lstrip("."):
        stem = stem[: stem.rfind(".")]
    text = unicodedata.normalize("NFKD", stem.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
    text = text.encode("ascii", "ignore").decode("ascii")
    text = _UNSAFE.sub("_", text).strip("._-")
    return text[:120] or "media"


def resolve_out_dir(input_path: Path, out_dir: Path | None) -> Path:
    target = Path(out_dir) if out_dir is not None else input_path.absolute().parent
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output folder: {exc.strerror}", path=target,
                          hint="choose another folder with -o") from exc
    if not target.is_dir():
        raise OutputError("output path is not a folder", path=target, hint="choose a folder with -o")
    if not os.access(target, os.W_OK | os.X_OK):
        raise OutputError("output folder is not writable", path=target,
                          hint="choose a writable folder with -o")
    return target


def output_path(input_path: Path, out_dir: Path, suffix: str) -> Path:
    """``out_dir/<safe stem><suffix>``, never the input itself."""
    candidate = out_dir / f"{safe_stem(input_path)}{suffix}"
    try:
        same = candidate.exists() and os.path.samefile(candidate, input_path)
    except OSError:
        same = False
    if same:
        candidate = out_dir / f"{safe_stem(input_path)}.prepared{suffix}"
    return candidate


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; on success fsync and rename it into
    place, on failure remove it. Whoever writes must name the format explicitly
    (the temporary name ends in ``.part``)."""
    final = Path(final)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
    except OSError as exc:
        raise OutputError(f"cannot write output: {exc.strerror}", path=final.parent,
                          hint="choose a writable folder with -o") from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, _file_mode())
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_bytes(final: Path, data: bytes) -> None:
    try:
        with atomic_path(final) as tmp:
            tmp.write_bytes(data)
    except OSError as exc:
        raise OutputError(f"cannot write output: {exc.strerror}", path=final) from exc
