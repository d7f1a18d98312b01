"""The picture a ``mediaprep prepare`` command names, decoded while the command starts.

Starting the command is ~80 ms of Python (click, Pillow, our modules) on one core
while the other waits, and decoding a picture is C that runs without the GIL: 17 ms
for a 2560x1600 JPEG, 100-200 ms for a 4K or 5K PNG. So the script
(mediaprep/script.py), before it imports the command line, looks for the first
file a ``prepare`` command names (words that name no file, and folders such as the
-o one, are passed over; a ``--profile`` file named first ends the search) and, when
it is a JPEG or a PNG, imports Pillow and has it decode the file on a thread of its
own, as the fit's decode would: the same plugin, the same DCT-scaled size for a
JPEG. For any other input nothing happens (a voice note never imports Pillow).

Nothing of it is used before the fit's own checks have passed: the fit sniffs and
probes the file as always (type from its bytes, structure, sizes, limits) and, where
it would open and decode the picture, asks for the early one (``take``). It gets it
only when nothing differs: the same file (device, inode, size, modification time),
the format the sniff found, the size and decode scale the fit asks for, one frame.
The fit's memory check then runs on it as on its own. Otherwise the early work is
dropped unseen and the fit decodes as it always does: the pixels are the same either
way, and an error on the early path is never reported (the fit meets it itself).

The early thread is careful on its own too, since it reads before any sniff: only a
regular file that is not a symlink, opened without following one or blocking (no
FIFO, no device), the same file after opening; only JPEG and PNG signatures, opened
by that one plugin; one frame of 8-bit samples, at most EARLY_PIXELS pixels, and a
JPEG's scans counted first, as the fit's probe counts them (the default profile's
limit).

A baseline JPEG is often decoded before the command asks for it; the thread then
also makes the fit's first picture, resized to the display side (``resized``).

Only the command's own process does any of this (``start`` is called by the
script): a program that calls ``mediaprep.prepare`` never starts a thread here.
"""
from __future__ import annotations

import io
import math
import os
import stat
import sys
import threading
import warnings
from typing import TYPE_CHECKING

from . import openflags

if TYPE_CHECKING:
    from collections.abc import Callable

    from PIL import Image, ImageFile

    from .preflight.sniff import Sniffed
    from .profiles import SafetyLimits

# Words of the command line looked at, at most (an option's value may come first:
# the -o folder, or a word that names no file, is passed over).
_MAX_CANDIDATES = 4
# Pixels the early thread decodes at most (after a JPEG's DCT scaling): an 8K PNG
# is 33 MP; anything larger waits for the fit's own checks.
EARLY_PIXELS = 40_000_000
# The 8-bit modes decoded early.
_MODES = frozenset({"RGB", "RGBA", "L", "LA", "P", "CMYK"})
# Bytes of a file the early thread reads (into memory, whole) at most.
_EARLY_BYTES = 64 << 20
_ORIENTATION = 0x0112  # the EXIF tag
# How often the GIL changes hands while the early thread runs (the default is 5 ms).
_SWITCH_INTERVAL = 0.0005
_SIGNATURES = {b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG"}


class _Early:
    """The early decode of one input: what it read and what it made of it. (A plain
    class, and paths as strings: dataclasses and pathlib would be imported before the
    thread starts, and every millisecond there delays the decode.)"""

    def __init__(self) -> None:
        self.thread: threading.Thread | None = None
        self.ready = threading.Event()  # max_scans and display_side are set
        self.decoded_side = 0  # a JPEG's: the long side its DCT scale was chosen for
        self.max_scans = 0
        self.done = threading.Event()
        self.path = ""
        self.identity: tuple[int, ...] | None = None
        self.plugin = ""
        self.picture: Image.Image | None = None
        # The picture resized for the fit (see ``resized``): "waiting" for the decode,
        # "running", "done", or "dropped" (the fit did it itself, or nothing to do).
        self.lock = threading.Lock()
        self.resize_state = "waiting"
        self.display_side = 0  # the fit's DISPLAY_SIDE
        self.resized_side = 0  # the long side of ``resized``
        self.resized: Image.Image | None = None
        self.resize_done = threading.Event()


_early: _Early | None = None
_taken: _Early | None = None  # the early decode the fit took: its resize may follow
_interval: float | None = None  # the interpreter's switch interval, to give back


def inputs(argv: list[str]) -> list[str]:
    """The paths a ``prepare`` command line may name as inputs, in order: the words
    after the command's name that are not options (all words after ``--``). None for
    another command, and never stdin (``-``)."""
    words = iter(argv)
    for word in words:  # global flags (--debug, -q, -v) before the command's name
        if not word.startswith("-"):
            if word != "prepare":
                return []
            break
    else:
        return []
    found: list[str] = []
    only_paths = False
    for word in words:
        if word == "--" and not only_paths:
            only_paths = True
        elif word and word != "-" and (only_paths or not word.startswith("-")):
            found.append(word)
            if len(found) == _MAX_CANDIDATES:
                break
    return found


def start(argv: list[str]) -> None:
    """Begin decoding the first JPEG or PNG that ``argv`` (a ``mediaprep`` command
    line, without the program's name) names as a ``prepare`` input, on a thread of
    its own: a JPEG DCT-scaled as the fit decodes it (fit/sizes.decode_long_side)."""
    global _early, _interval
    first = _first_picture(inputs(argv))
    if first is None or _early is not None:
        return  # (a voice note or a video never imports Pillow for this)
    # Only Pillow's one plugin before the thread starts (a 4K PNG waits for every
    # millisecond here; Image.open would import five plugins for a file object); the
    # thread imports nothing of ours (no two threads in one import cycle).
    if first[2] == "JPEG":
        from PIL import JpegImagePlugin  # noqa: F401
    else:
        from PIL import PngImagePlugin  # noqa: F401
    early = _Early()
    early.thread = threading.Thread(target=_decode_first, args=(early, *first), daemon=True,
                                    name="mediaprep-early-decode")
    _early = early
    # The decode takes the GIL between the chunks it reads (a PNG's IDAT chunks, 8-512
    # KB each); at the default interval it would wait up to 5 ms each time for the
    # imports of the main thread (a 5K PNG has 80 chunks).
    _interval = sys.getswitchinterval()
    sys.setswitchinterval(min(_interval, _SWITCH_INTERVAL))
    early.thread.start()
    try:  # what a JPEG needs before its decode (the thread waits for it; a PNG does not)
        from .fit import resize  # noqa: F401
        from .fit.sizes import DISPLAY_SIDE
        from .formats import jpeg, source  # noqa: F401
        from .profiles import WECHAT

        early.max_scans = WECHAT.safety.max_jpeg_scans
        early.display_side = DISPLAY_SIDE
    finally:
        early.ready.set()


def _identity(st: os.stat_result) -> tuple[int, ...]:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _first_picture(candidates: list[str]) -> tuple[str, os.stat_result, str] | None:
    """The first candidate that is a file, if it is a JPEG or PNG: its path, its
    lstat and Pillow's plugin for it. Folders (the -o folder) and words that are no
    file (an option's value) are passed over; a symlink, FIFO or device, an empty or
    huge file, or another type ends the search (that input is left to the fit)."""
    for path in candidates:
        try:
            before = os.lstat(path)
        except (OSError, ValueError):
            continue
        if stat.S_ISDIR(before.st_mode):
            continue
        if not stat.S_ISREG(before.st_mode) or not 0 < before.st_size <= _EARLY_BYTES:
            return None
        try:
            fd = os.open(path, openflags.READ_NOFOLLOW)  # the lstat saw a regular file, not a link
        except OSError:
            return None
        with open(fd, "rb") as fh:
            if _identity(os.fstat(fd)) != _identity(before):
                return None
            head = fh.read(8)
        plugin = next((name for sig, name in _SIGNATURES.items() if head.startswith(sig)), None)
        return (path, before, plugin) if plugin is not None else None
    return None


def _decode_first(early: _Early, path: str, before: os.stat_result, plugin: str) -> None:
    """The early thread: the picture decoded, then (maybe) resized."""
    try:
        _decode(early, path, before, plugin)
    except Exception:  # noqa: BLE001 - the fit meets any error again, and reports it
        early.picture = None
    finally:
        early.done.set()
    _resize(early)


def _resize(early: _Early) -> None:
    """After the decode, while the command still starts (a baseline 2560x1600 JPEG
    decodes in ~20 ms, and the command asks for it ~95 ms into the run): the fit's
    first step, the picture at the display side, for ``resized`` to hand over. Only
    when the decode ended before the fit asked for it (else the fit, waiting, resizes
    faster on two threads), and only for a picture the fit takes as it is: an RGB
    JPEG with no EXIF turn (a colour profile that is not sRGB gives the fit another
    picture, and this one is then not asked for)."""
    im = early.picture
    with early.lock:
        fit_as_is = im is not None and early.plugin == "JPEG" and im.mode == "RGB" \
            and early.display_side > 0 and im.getexif().get(_ORIENTATION, 1) == 1
        if early.resize_state != "waiting" or not fit_as_is:
            early.resize_state = "dropped"
            early.resize_done.set()
            return
        early.resize_state = "running"
    try:
        from .fit.resize import to_side  # (imported by start)

        assert im is not None
        from .fit.sizes import display_long_side  # (imported by start)

        early.resized_side = display_long_side(*im.size, early.display_side)  # (upright: no EXIF turn)
        early.resized = to_side(im, early.resized_side)
    except Exception:  # noqa: BLE001 - the fit resizes itself
        early.resized = None
    finally:
        with early.lock:
            early.resize_state = "done"
        early.resize_done.set()


def _decode(early: _Early, path: str, before: os.stat_result, plugin: str) -> None:
    # The plugin's own factory, as Image.open(path, formats=[plugin]) calls it (the
    # one plugin start imported; the other is never imported here).
    factory: Callable[[io.BytesIO], ImageFile.ImageFile]
    if plugin == "JPEG":
        from PIL.JpegImagePlugin import jpeg_factory as factory
    else:
        from PIL.PngImagePlugin import PngImageFile as factory

    fd = os.open(path, openflags.READ_NOFOLLOW)  # the lstat saw a regular file, not a link
    with open(fd, "rb") as fh:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode) or _identity(opened) != _identity(before):
            return
        # The whole file in one read: every read of the file lets go of the GIL, and
        # taking it back means waiting for the main thread's imports (a marker walk
        # over a progressive JPEG read in windows took 15 ms so, 1 ms in memory).
        data = fh.read(opened.st_size + 1)
    if not any(data.startswith(sig) for sig, name in _SIGNATURES.items() if name == plugin) \
            or len(data) != opened.st_size:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # as the fit's decode: never printed raw
        im = factory(io.BytesIO(data))  # the headers only
        if getattr(im, "n_frames", 1) != 1 or im.mode not in _MODES:
            return  # an animation, or 16-bit samples
        if plugin == "JPEG":
            # Its scans counted as the fit's probe counts them before any is decoded:
            # each is a pass over the whole picture, and a CPU bomb has thousands.
            early.ready.wait()
            from .fit.sizes import decode_long_side, draft_size  # (imported by start)
            from .formats import jpeg

            if not early.max_scans or jpeg.walk(data).scans > early.max_scans:
                return
            # The side the fit decodes this picture at, as an image (a portrait one is
            # made the phone's width wide, so needs more): its EXIF turn from the header.
            w, h = im.size
            early.decoded_side = decode_long_side(*((h, w) if im.getexif().get(_ORIENTATION, 1) in range(5, 9)
                                                    else (w, h)))
            if (scaled := draft_size(*im.size, early.decoded_side)) is not None:
                im.draft(im.mode, scaled)
        if im.width * im.height > EARLY_PIXELS:
            return
        im.decodermaxblock = len(data)  # one GIL-free decode call (a JPEG's; a PNG's per chunk)
        im.load()
    early.path, early.identity, early.plugin, early.picture = path, _identity(opened), plugin, im


def take(sniffed: Sniffed, frames: int, safety: SafetyLimits, max_side: int) -> Image.Image | None:
    """The early decode of this very file, loaded, or None (there is none, it is of
    another file or was asked at another size, or the file changed since). Handed
    out once: later calls get None. The fit's probe has checked the file against its
    own profile's limits (sizes, scans) before it asks; ``safety`` bounds the wait."""
    global _taken
    early = _early
    if early is None or threading.current_thread() is early.thread:
        return None
    discard()
    if frames != 1 or sniffed.pillow not in ("JPEG", "PNG"):
        return None
    with early.lock:
        if not early.done.is_set():
            # The fit has caught up with the decode: it resizes faster itself, on two
            # threads, than the early thread would on one.
            early.resize_state = "dropped"
    wait = safety.decode_seconds if math.isfinite(safety.decode_seconds) and safety.decode_seconds > 0 \
        else None
    if not early.done.wait(wait) or early.picture is None:
        return None
    try:
        now = _identity(os.stat(sniffed.path))
    except OSError:
        return None
    if early.path != os.fspath(sniffed.path) or early.plugin != sniffed.pillow or now != early.identity \
            or sniffed.size != now[2]:
        return None
    if early.plugin == "JPEG" and early.decoded_side != max_side:
        return None  # DCT-scaled for another size (a PNG is decoded whole either way)
    _taken = early
    return early.picture


def resized(src: Image.Image, side: int) -> Image.Image | None:
    """The taken early picture at ``side`` on its long side, resized while the
    command started (fit/resize.to_side: the same bytes on one thread as on two),
    when ``src`` is that very picture (so nothing turned or converted it since) and
    the resize has begun; None otherwise (then the fit resizes, and an early resize
    not yet begun never will be). Handed out once."""
    global _taken
    early = _taken
    if early is None or src is not early.picture or side != early.resized_side:
        return None
    _taken = None
    with early.lock:
        if early.resize_state == "waiting":
            early.resize_state = "dropped"
            return None
    early.resize_done.wait()
    return early.resized


def discard() -> None:
    """Drop the early decode and its resize (done or not: a running one ends on its
    own), and give the interpreter its switch interval back."""
    global _early, _interval, _taken
    _early = _taken = None
    if _interval is not None:
        sys.setswitchinterval(_interval)
        _interval = None
