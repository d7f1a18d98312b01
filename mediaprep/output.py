"""Where outputs go, what they are called, and how they land: all of an input's, or none.

Every input's outputs are made inside a private staging folder in the output folder
(``.mediaprep-staging-<host>-<pid>-<random>``): the fit writes its files and its
scratch (pass logs, raw frame caches, decoded PCM) there, never in the system temp
folder. :meth:`OutputSet.commit` then moves each output to its final name by rename,
refusing to replace a file that is already there (unless asked to, or it holds the
very bytes this run made: a rerun is not an overwrite), and removes the
staging folder with whatever scratch is left. If anything fails, or the process is
stopped, the staging folder goes and no final name was written. A staging folder
left by a process that was killed outright is removed by the next run that writes
to the same folder (:func:`clean_stale_staging`).

Output names come from names.py (the input's own name, kept).

Permissions are never set by changing the process umask (racy with threads): a new
file is created with mode 0666 and the kernel applies the umask, as for any plain
``open()``; the staging folder is created 0700.
"""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import platform
import re
import shutil
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

from .errors import OutputError
from .model import OutputFile
from .names import NAME_MAX, fit_name, output_stem, split_name
from .staging import STAGING_PREFIX as STAGING_PREFIX

# A staging folder of another host (a shared folder) is only removed once it is this
# old: its process may still be running there.
STALE_AFTER = 24 * 3600.0

# Errors that mean "this folder cannot take the file", not "mediaprep has a bug".
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
                          errno.EFBIG, errno.ENAMETOOLONG, errno.EIO})

def output_path(input_path: Path, out_dir: Path, suffix: str) -> Path:
    """``out_dir/<the input's stem><suffix>``: where a fit writes an output (in staging)."""
    return out_dir / fit_name(output_stem(input_path), suffix)


# ---------------------------------------------------------------- folders

def resolve_out_dir(input_path: Path, out_dir: Path | None) -> Path:
    target = Path(out_dir) if out_dir is not None else input_path.absolute().parent
    if target.exists() and not target.is_dir():
        raise OutputError("the output path is a file, not a folder", path=target,
                          hint="name a folder with -o (it is created if missing)")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder: {exc.strerror}", path=target,
                          hint="choose another folder with -o") from exc
    if not os.access(target, os.W_OK | os.X_OK):
        raise OutputError("the output folder is not writable", path=target,
                          hint="choose a writable folder with -o")
    return target


def write_failure(exc: OSError, folder: Path) -> OutputError:
    """One line for a write that the folder refused (full disk, quota, read-only, ...).
    A staging folder is gone by the time the user reads this: the folder they chose,
    which holds it, is named instead."""
    folder = Path(folder)
    for part in reversed((folder, *folder.parents)):  # the outermost: a batch stages inside its own
        if part.name.startswith(STAGING_PREFIX):
            folder = part.parent
            break
    reason = exc.strerror or os.strerror(exc.errno or 0) or type(exc).__name__
    return OutputError(f"cannot write here: {reason.lower()}", path=folder,
                       hint="nothing was written; free some space or choose another folder with -o")


def _owner_alive(name: str) -> bool:
    """Whether the process that made staging folder ``name`` may still be running."""
    rest = name[len(STAGING_PREFIX):]
    host, _, tail = rest.rpartition("-")  # <host>-<pid>-<random>: split twice from the right
    host, _, pid_text = host.rpartition("-")
    if host != _host() or not pid_text.isdigit():
        return True  # another machine's (or an unknown form): leave it to the age rule
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(int(pid_text))


def _zombie(pid: int) -> bool:
    """A killed process nobody has reaped yet (an orphan in a container whose init does
    not reap) still answers kill(pid, 0); its state in /proc says it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat_line = fh.read()
    except OSError:
        return False  # no /proc (not Linux): trust kill()
    state = stat_line[stat_line.rfind(b")") + 2:][:1]
    return state in (b"Z", b"X")


def _host() -> str:
    # platform.node(): gethostname's answer (uname's node name on POSIX), without
    # importing the socket module into every run.
    return re.sub(r"[^A-Za-z0-9]", "_", platform.node())[:40] or "host"


def _token() -> str:
    """Eight random hex digits (secrets.token_hex(4)'s, from the same os.urandom)."""
    return os.urandom(4).hex()


def clean_stale_staging(folder: Path) -> int:
    """Remove staging folders left in ``folder`` by runs that were killed; return how many."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    now = time.time()
    for entry in entries:
        if not entry.name.startswith(STAGING_PREFIX):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER
        except OSError:
            continue
        if old or not _owner_alive(entry.name):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed += 1
    return removed


# ---------------------------------------------------------------- the output set

class OutputSet:
    """The outputs of one input: staged together, committed together or not at all.

    ``with OutputSet(final_dir, protect=input_path) as outs:`` then hand ``outs.dir`` to
    the fit (its outputs and scratch go there) and call ``outs.commit(outputs)``.
    Leaving the block any other way removes the staging folder and everything in it.
    """

    def __init__(self, final_dir: Path, *, protect: Path | None = None, overwrite: bool = False) -> None:
        self.final_dir = Path(final_dir)
        self.protect = protect
        self.overwrite = overwrite
        clean_stale_staging(self.final_dir)
        name = f"{STAGING_PREFIX}{_host()}-{os.getpid()}-{_token()}"
        self.dir = self.final_dir / name
        try:
            self.dir.mkdir(mode=0o700)
        except OSError as exc:
            raise write_failure(exc, self.final_dir) from exc

    def __enter__(self) -> OutputSet:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.discard()

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def scratch(self, name: str) -> Path:
        """A folder for intermediate files, removed with the staging folder."""
        path = self.dir / f".scratch-{name}"
        path.mkdir(mode=0o700, exist_ok=True)
        return path

    def final_name(self, staged: Path, rename: Callable[[str], str] | None) -> Path:
        final = self.final_dir / (rename(staged.name) if rename else staged.name)
        if self.protect is not None and _same_file(final, self.protect):
            stem, suffix = split_name(final.name)
            final = final.with_name(fit_name(stem, ".prepared" + suffix))
        return final

    def commit(self, outputs: tuple[OutputFile, ...],
               rename: Callable[[str], str] | None = None) -> tuple[OutputFile, ...]:
        """Move every output to its final name, or none; return them with final paths.

        ``rename`` maps a staged file name to the final one (batch and several inputs
        in one run choose distinct stems). A final name that exists already is an
        error (exit 7) unless the set was made with ``overwrite=True``; the input
        itself is never replaced."""
        try:
            finals = [self.final_name(out.path, rename) for out in outputs]
            if len(set(finals)) != len(finals):
                raise OutputError("two outputs of one input would get the same name", path=self.final_dir,
                                  hint="give them distinct names; nothing was written")
            if not self.overwrite:
                for out, final in zip(outputs, finals, strict=True):
                    if os.path.lexists(final) and not _same_content(out.path, final):
                        raise OutputError(f"{final.name} exists already and was not replaced",
                                          path=self.final_dir,
                                          hint="use --overwrite to replace it, or choose another folder with -o")
            self._place_all(outputs, finals)
        finally:
            # Committed or not, the staging folder goes now, with whatever scratch is left.
            self.discard()
        return tuple(dataclasses.replace(out, path=final)
                     for out, final in zip(outputs, finals, strict=True))

    def _place_all(self, outputs: tuple[OutputFile, ...], finals: list[Path]) -> None:
        """Place each output; on any failure take back what was placed, so that the
        folder holds exactly what it held before."""
        placed: list[Path] = []
        # With overwrite, the file each final name held before: kept (a second name in
        # staging) until every output is placed, so a failure can put it back.
        previous: list[tuple[Path, Path]] = []
        current = self.final_dir
        try:
            for index, (out, final) in enumerate(zip(outputs, finals, strict=True)):
                current = final
                if not self.overwrite and _same_content(out.path, final):
                    continue  # a rerun made the same bytes: nothing to replace, nothing lost
                _fsync_file(out.path)
                if self.overwrite:
                    kept = self._keep_previous(final, index)
                    if kept is not None:
                        previous.append((final, kept))
                _place(out.path, final, self.overwrite)
                placed.append(final)
            _fsync_dir(self.final_dir)
        except BaseException as exc:
            for final in reversed(placed):
                with contextlib.suppress(OSError):
                    final.unlink()
            for final, kept in previous:
                with contextlib.suppress(OSError):
                    os.replace(kept, final)
            if isinstance(exc, FileExistsError):
                raise OutputError(f"{current.name} appeared while writing and was not replaced",
                                  path=self.final_dir,
                                  hint="use --overwrite, or choose another folder with -o") from exc
            if isinstance(exc, OSError):
                raise write_failure(exc, self.final_dir) from exc
            raise

    def _keep_previous(self, final: Path, index: int) -> Path | None:
        """A second name, inside staging, for the file ``final`` holds now (None if it
        holds none). A folder is not kept: replacing it fails, and nothing is lost."""
        try:
            st = os.lstat(final)
        except FileNotFoundError:
            return None
        if stat.S_ISDIR(st.st_mode):
            return None
        kept = self.dir / f".previous-{index}"  # a fit's outputs never start with a dot
        try:
            os.link(final, kept, follow_symlinks=False)  # a symlink is kept as a symlink
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise
            os.replace(final, kept)  # no hard links here: move it aside (the name is briefly free)
        return kept


def _same_content(staged: Path, final: Path) -> bool:
    """Whether ``final`` is a regular file holding exactly the staged bytes."""
    try:
        st = os.lstat(final)
        if not stat.S_ISREG(st.st_mode) or st.st_size != staged.stat().st_size:
            return False
        with open(staged, "rb") as a, open(final, "rb") as b:
            while True:
                chunk = a.read(1 << 20)
                if chunk != b.read(1 << 20):
                    return False
                if not chunk:
                    return True
    except OSError:
        return False


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


# What link() says on a file system (or for a file) that cannot take another hard link.
_NO_HARD_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV})


def _place(staged: Path, final: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(staged, final)
        return
    try:
        # link() fails with EEXIST if the name exists: no window in which another
        # writer's file could be replaced between a check and the rename.
        os.link(staged, final)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        if os.path.lexists(final):  # a file system without hard links: check, then rename
            raise FileExistsError(errno.EEXIST, "File exists", str(final)) from exc
        os.replace(staged, final)
        return
    with contextlib.suppress(OSError):
        staged.unlink()


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system can fsync a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ---------------------------------------------------------------- single files

@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; on success fsync and rename it into
    place, on failure remove it. For files that are not media outputs (manifests,
    journals); media outputs go through an :class:`OutputSet`.

    An exception raised inside the block comes out unchanged; a folder that refuses
    the file (creating it, or the fsync and rename after the block) is an
    :class:`OutputError` (exit 7)."""
    final = Path(final)
    # ".<name>.<8 hex>.part" must fit NAME_MAX as well: a final name near the limit
    # is legal, so the temporary name carries a cut copy of it.
    tmp = final.with_name("." + fit_name(final.name, f".{_token()}.part", NAME_MAX - 1))
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
    except OSError as exc:
        raise write_failure(exc, final.parent) from exc
    os.close(fd)
    try:
        yield tmp
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    try:
        _fsync_file(tmp)
        os.replace(tmp, final)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise write_failure(exc, final.parent) from exc
        raise


def write_bytes(final: Path, data: bytes) -> None:
    try:
        with atomic_path(final) as tmp:
            tmp.write_bytes(data)
    except OSError as exc:
        raise write_failure(exc, Path(final).parent) from exc
