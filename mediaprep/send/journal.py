"""journal: what earlier `send` runs did with each request body, so that a message
goes out once however often the command is run.

Entries are keyed by the body's digest and hold a state:

- ``pending``: written before the first byte of the request leaves, and left so
  unless a definite outcome comes back. Definite means an answer read whole and
  parsed. A request whose bytes may have left without one (a timeout after sending,
  a cut-off, oversize or unparsable answer, a dropped connection) stays pending,
  and is not sent again without ``--resend-unknown``.
- ``queued``: the API answered 1001 (for every recipient or some): never resent.
- ``failed``: the API answered and did not queue it (a refusal, or 5xx/7006 on the
  last try): a rerun sends it again.

A request that certainly never left (no connection, refused before sending) has its
entry removed. The journal holds no secrets (digests, codes, transids; written
through the redaction step anyway) and is replaced atomically on each change. While
a run uses it, it is locked: a second `send` on the same file stops with exit 2.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..output import write_bytes
from .redact import redact

PENDING = "pending"
QUEUED = "queued"
FAILED = "failed"
VERSION = 1


class JournalLocked(UsageError):
    """Another run is using this journal."""


def default_journal_path(request_file: Path) -> Path:
    return request_file.with_name(request_file.name + ".sent.json")


def lock_path_for(journal: Path) -> Path:
    return journal.with_name(journal.name + ".lock")


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class Journal:
    """The journal at ``path``, locked for this object's life (``close`` or ``with``).

    The lock is an OS lock on ``path.lock``, so it goes away with the process that
    held it, however that process ended; the file itself stays (removing it while
    another run waits on it would let a third one in).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.lock_path = lock_path_for(self.path)
        self.entries: dict[str, dict[str, Any]] = {}
        self._fd: int | None = None
        self._lock()
        try:
            self._load()
        except BaseException:
            self.close()
            raise

    # -- lock ---------------------------------------------------------------------
    def _lock(self) -> None:
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise UsageError(f"cannot create the journal's lock file: {exc.strerror}", path=self.lock_path,
                             hint="use --journal to put the journal in a writable folder") from exc
        if not _try_lock(fd):
            holder = ""
            with contextlib.suppress(OSError, ValueError):
                pid = int(os.read(fd, 32).decode("ascii").strip() or "0")
                holder = f" (pid {pid})" if pid else ""
            os.close(fd)
            raise JournalLocked(f"another mediaprep send{holder} is using this journal: {self.lock_path} "
                                "is locked", path=self.path,
                                hint="wait for it to finish; two runs at once would send every message twice")
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self._fd = fd

    def close(self) -> None:
        """Release the lock (closing the descriptor releases it)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:
            self.close()

    # -- entries ------------------------------------------------------------------
    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self.entries = {str(k): dict(v) for k, v in data.get("requests", {}).items()}
        except (OSError, ValueError, AttributeError, TypeError) as exc:
            raise UsageError(f"cannot read the send journal: {exc}", path=self.path,
                             hint="delete it only if you know nothing from that file was queued") from exc

    def get(self, digest: str) -> dict[str, Any] | None:
        return self.entries.get(digest)

    def state(self, digest: str) -> str | None:
        entry = self.entries.get(digest)
        return str(entry.get("state")) if entry else None

    def record(self, digest: str, state: str, index: int, answers: Sequence[Any] = (),
               http_status: int | None = None) -> None:
        entry: dict[str, Any] = {"state": state, "request": index,
                                 "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                 "response": [a.to_dict() for a in answers]}
        if http_status is not None:
            entry["http_status"] = http_status
        self.entries[digest] = entry
        self._save()

    def forget(self, digest: str) -> None:
        if self.entries.pop(digest, None) is not None:
            self._save()

    def _save(self) -> None:
        if self._fd is None:
            raise UsageError("the send journal was closed before the run ended", path=self.path)
        text = json.dumps({"version": VERSION, "requests": self.entries}, indent=2, ensure_ascii=False)
        write_bytes(self.path, redact(text).encode("utf-8"))
