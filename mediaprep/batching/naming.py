"""Where outputs go in DST and under which names: output stems that cannot clash,
output folders that never lead outside DST, the workers' staging folders, and the
lock that keeps two batches from writing to one DST."""
from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import OutputError, UsageError
from ..names import output_stem
from .walk import MEDIA_EXTENSIONS

LOCK = ".mediaprep-batch.lock"

# Inputs whose extension is already an output format keep the plain name first.
_NATURAL = (".jpg", ".jpeg", ".mp4", ".amr")


def _clashes(a: str, b: str) -> bool:
    """The clash rule itself, pairwise (the reference _Taken must agree with).
    Outputs are "<stem><suffix>" with suffixes like .jpg, .thumb.jpg, .part2.amr,
    so stems clash when equal or when one is the other plus a dot-suffix.
    Compared case-folded: DST may be on a case-insensitive filesystem."""
    a, b = a.casefold(), b.casefold()
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


class _Taken:
    """The stems used so far, checked against a candidate in O(length of the name)
    instead of against every stem (10,000 inputs in one folder took ~40 s that way).

    Casefolding maps each character on its own, so the casefold of a prefix is a
    prefix of the casefold: ``c`` clashes with a used ``u`` exactly when ``c == u``,
    when ``c`` is ``u`` up to one of u's dots (``prefixes``), or when ``u`` is ``c``
    up to one of c's dots."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.prefixes: set[str] = set()

    def add(self, stem: str) -> None:
        folded = stem.casefold()
        self.names.add(folded)
        self.prefixes.update(folded[:i] for i, ch in enumerate(folded) if ch == ".")

    def clashes(self, stem: str) -> bool:
        folded = stem.casefold()
        if folded in self.names or folded in self.prefixes:
            return True
        return any(ch == "." and folded[:i] in self.names for i, ch in enumerate(folded))


def choose_stems(names: list[Path], taken: Iterable[str] = ()) -> dict[Path, str]:
    """Distinct output stems for the inputs of one folder, the same every run for the
    same folder. An input whose extension is already an output format (photo.jpg)
    is served first, then the rest in byte order; on a clash the input's extension
    is added (photo.png -> photo_png), then a counter. ``taken``: names already used
    in the output folder (sub-folders)."""
    used = _Taken()
    for name in taken:
        used.add(name)
    chosen: dict[Path, str] = {}

    def rank(p: Path) -> tuple[int, bytes]:
        ext = p.suffix.lower()
        # Sidecars (photo.xmp, IMG_1.AAE) come last: they will not be media anyway.
        return (0 if ext in _NATURAL else 1 if ext in MEDIA_EXTENSIONS else 2, os.fsencode(p.name))

    for path in sorted(names, key=rank):
        base = output_stem(path)
        flat = base.replace(".", "_")  # a dotless stem cannot clash by prefix
        ext = "".join(ch for ch in path.suffix.lower() if ch.isascii() and ch.isalnum())
        candidates = [base, flat] + ([f"{flat}_{ext}"] if ext else [])
        stem = next((c for c in candidates if not used.clashes(c)), None)
        n = 2
        while stem is None:  # ends: only finitely many names are taken
            c = f"{candidates[-1]}-{n}"
            stem = None if used.clashes(c) else c
            n += 1
        used.add(stem)
        chosen[path] = stem
    return chosen


def ensure_out_dir(dst: Path, rel_dir: Path, created: list[Path]) -> Path:
    """DST/rel_dir, created (each new folder is appended to ``created``); refuses a
    symlink or non-folder on the way, so nothing is ever written outside DST."""
    cur = dst
    for part in rel_dir.parts:
        cur = cur / part
        try:
            st = os.lstat(cur)
        except FileNotFoundError:
            try:
                cur.mkdir()
            except OSError as exc:
                raise OutputError(f"cannot create output folder: {exc.strerror}",
                                  path=cur) from exc
            created.append(cur)
            continue
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
            raise OutputError("output folder is a symlink or not a folder; refusing to write "
                              "through it", path=cur, hint="remove it from the output folder")
    return cur


@contextlib.contextmanager
def output_lock(dst: Path) -> Iterator[None]:
    """Held while a batch writes to ``dst``; a second batch on the same folder is
    refused at once rather than waiting (flock: released by the kernel if we die).
    The lock file is removed at the end, while still locked; a batch that opened it
    just before that holds a lock on a removed file, so after locking each batch
    checks that its file is still the one at the path, and starts over if not."""
    from ..posix import require_posix

    require_posix("locking a batch's output folder")
    import fcntl  # here, not at the top: `import mediaprep` must work where it is missing

    path = dst / LOCK
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            raise OutputError(f"cannot write to the output folder: {exc.strerror}",
                              path=dst) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise UsageError("another mediaprep batch is writing to this output folder",
                                 path=dst, hint="wait for it to finish") from exc
            raise
        try:
            st = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:
            st = None
        mine = os.fstat(fd)
        if st is not None and (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino):
            break
        os.close(fd)  # removed by the batch that just finished: lock a fresh one
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)
