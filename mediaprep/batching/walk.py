"""Walking SRC: every entry of the source tree, and what its name promises.

Only the parent process walks. Nothing here opens a file: an entry that could
block or lead elsewhere (a FIFO, a device, a symlink out of the tree) is reported
with ``skip`` set and is never read, and the extension tables below are used only
to order the work and to judge a file that turns out not to be media. Each file
carries its (device, inode) as walked: the worker reads it only if the name still
leads, without following a link, to that same file (see worker.open_as_walked).
"""
from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

# What a name promises is sniff's (the prepare command needs it without the walk).
from ..preflight.sniff import MEDIA_EXTENSIONS as MEDIA_EXTENSIONS
from ..preflight.sniff import kind_from_name as kind_from_name


@dataclass(frozen=True)
class Found:
    """One entry of the source tree: a file to read, or why it was not read."""

    path: Path  # under the root as given (a symlink keeps its own name)
    rel: Path  # relative to the root
    size: int = 0
    mtime_ns: int = 0  # with size: how a rerun tells an unchanged file without reading it
    skip: str | None = None  # set: reported and never opened
    error: str | None = None  # set: could not be listed (counts as a failure)
    # The file to read and its identity as the walk saw it: the worker opens it
    # without following links and reads it only if it is still that file.
    target: Path | None = None  # a symlink's resolved target (inside root); None: path itself
    dev: int = 0
    ino: int = 0


def _not_regular(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


def walk(root: Path | str, exclude: Path | str | None = None,
         ignore: Callable[[Path, bool], str | None] | None = None) -> Iterator[Found]:
    """Every entry under root, sorted, depth first. Only regular files are offered
    for reading: FIFOs, devices and sockets (which could block or never end), and
    symlinks that lead outside root or to a folder, are yielded with ``skip`` set
    and are never opened. A symlink to a regular file inside root is read under its
    own name. ``exclude`` (the output folder, when it lies inside root) is left out.
    ``ignore(rel, is_folder)`` may give a reason to skip an entry (a folder it names
    is not walked): see rules.WalkRules."""
    root = Path(root)
    root_real = root.resolve()
    exclude_real = Path(exclude).resolve() if exclude is not None else None
    stack: list[tuple[Path, Path]] = [(root, Path())]
    while stack:
        folder, rel_folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: os.fsencode(e.name))
        except OSError as exc:
            yield Found(folder, rel_folder, error=f"cannot list folder: {exc.strerror}")
            continue
        subfolders: list[tuple[Path, Path]] = []
        for entry in entries:
            path, rel = Path(entry.path), rel_folder / entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                yield Found(path, rel, error=f"cannot stat: {exc.strerror}")
                continue
            why = ignore(rel, stat.S_ISDIR(st.st_mode)) if ignore is not None else None
            if why is not None:
                yield Found(path, rel, skip=why)
                continue
            if stat.S_ISLNK(st.st_mode):
                try:
                    target = path.resolve(strict=True)
                    st = os.stat(path)
                except (OSError, RuntimeError):
                    yield Found(path, rel, skip="broken symlink")
                    continue
                if not target.is_relative_to(root_real) or (
                        exclude_real is not None and target.is_relative_to(exclude_real)):
                    yield Found(path, rel, skip="symlink pointing outside the source folder "
                                "(not followed)")
                elif stat.S_ISDIR(st.st_mode):
                    yield Found(path, rel, skip="symlink to a folder (not followed)")
                elif not stat.S_ISREG(st.st_mode):
                    yield Found(path, rel, skip=f"symlink to a {_not_regular(st.st_mode)} "
                                "(never opened)")
                else:
                    yield Found(path, rel, size=st.st_size, mtime_ns=st.st_mtime_ns, target=target,
                                dev=st.st_dev, ino=st.st_ino)
            elif stat.S_ISDIR(st.st_mode):
                if exclude_real is not None and path.resolve() == exclude_real:
                    continue
                subfolders.append((path, rel))
            elif stat.S_ISREG(st.st_mode):
                yield Found(path, rel, size=st.st_size, mtime_ns=st.st_mtime_ns, dev=st.st_dev,
                            ino=st.st_ino)
            else:
                yield Found(path, rel, skip=f"{_not_regular(st.st_mode)} (never opened)")
        stack.extend(reversed(subfolders))
