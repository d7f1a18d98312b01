"""What a folder walk leaves out before any file is opened: mediaprep's own files,
hidden files and folders, and what the user excluded. Used by `mediaprep check` on
folders (walk's ``ignore``), so that a folder mediaprep wrote to, a git checkout
or a Mac-copied folder passes when its media do.

A hidden or excluded folder is not walked at all (a ``.git`` can hold thousands of
files): it is reported once, as one skipped entry.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..staging import STAGING_PREFIX

# Names mediaprep itself writes into folders: the batch manifest and its lock, and
# the staging folders outputs are made in (also the manifest's own temporary file,
# which starts with a dot). Kept here as names, not imported from the modules that
# write them, so that checking a folder does not import the batch machinery (and
# its POSIX-only modules).
MANIFEST_NAME = "manifest.jsonl"
LOCK_NAME = ".mediaprep-batch.lock"
_OWN_PREFIXES = (STAGING_PREFIX, ".manifest.jsonl.")

# Why an entry was left out; also the keys of the counts a summary shows.
HIDDEN = "hidden"
OWN = "mediaprep's own file"
EXCLUDED = "excluded by --exclude"
REASONS = (OWN, HIDDEN, EXCLUDED)


def is_own(name: str) -> bool:
    return name in (MANIFEST_NAME, LOCK_NAME) or name.startswith(_OWN_PREFIXES)


@dataclass(frozen=True)
class WalkRules:
    """``rules(rel, is_folder)``: the reason to leave an entry out, or None.

    ``exclude`` holds glob patterns (``*.tmp``, ``drafts``, ``raw/*.png``), each
    matched against the path relative to the folder walked (with ``/``) and against
    the entry's name alone; a trailing ``/`` matches folders only."""

    exclude: tuple[str, ...] = ()
    include_hidden: bool = False

    def __call__(self, rel: Path, is_folder: bool) -> str | None:
        name = rel.name
        if is_own(name):
            return OWN
        if not self.include_hidden and name.startswith("."):
            return HIDDEN
        posix = PurePosixPath(*rel.parts).as_posix()
        for pattern in self.exclude:
            folders_only = pattern.endswith("/")
            pat = pattern.rstrip("/")
            if folders_only and not is_folder:
                continue
            if fnmatch.fnmatchcase(posix, pat) or fnmatch.fnmatchcase(name, pat):
                return EXCLUDED
        return None
