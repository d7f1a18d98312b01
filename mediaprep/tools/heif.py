"""Everything that knows about pillow-heif (libheif with the libde265 HEVC decoder):
registering its Pillow plugin, and decoding a primary image at full bit depth.

The plugin is registered on first use, never at import: it costs libheif's load,
which a voice note never needs. It is registered without thumbnails (Pillow's
``draft`` would otherwise hand back a 320 px embedded thumbnail in place of the
picture), depth or auxiliary images (never shown, only extra work), and with
libheif's own security limits left on; our own limits are checked before it sees
the file (``preflight/heif.py``). libheif applies the container's rotation and
mirroring (``irot``/``imir``) itself while decoding, and pillow-heif then resets
an EXIF orientation tag to 1, so a HEIC arrives upright and is never turned twice.

Every Pillow open names the plugin (``formats=["HEIF"]``), so registering it
changes nothing for other formats.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BadInput, MissingDependency

if TYPE_CHECKING:
    import numpy as np

PLUGIN = "HEIF"
THREADS_ENV = "MEDIAPREP_THREADS"  # the same setting ffmpeg runs take their thread count from


def _threads() -> int:
    value = os.environ.get(THREADS_ENV, "")
    return int(value) if value.isdigit() and int(value) > 0 else 4


@functools.lru_cache(maxsize=1)
def register() -> None:
    """Make Pillow able to open HEIF stills as format "HEIF" (once per process)."""
    try:
        import pillow_heif
    except ImportError as exc:
        raise MissingDependency(f"pillow-heif cannot be loaded: {exc}",
                                hint="pip install pillow-heif (HEIC photos need it)") from exc
    pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False,
                                     decode_threads=_threads())


def decode_16bit(path: Path) -> np.ndarray:
    """The primary image of a HEIF file as an H x W x C uint16 array (C = 3 or 4),
    libheif's 10- or 12-bit samples scaled to the 16-bit range, upright (irot/imir
    applied). For HDR content, which needs its full precision to be tone mapped."""
    import numpy as np
    import pillow_heif

    register()
    try:
        heif = pillow_heif.open_heif(path, convert_hdr_to_8bit=False, hdr_to_16bit=True)
        image = heif[heif.primary_index]
        channels = 4 if image.has_alpha else 3
        width, height = image.size
        data = image.data  # decodes
        stride = image.stride
    except (OSError, ValueError, RuntimeError, EOFError, SyntaxError) as exc:
        raise BadInput(f"cannot decode the HEIF image: {exc}", path=path,
                       hint="the file is damaged or truncated; export or download it again") from exc
    if image.mode.endswith(";16"):
        rows = np.frombuffer(data, dtype="<u2").reshape(height, stride // 2)
        return rows[:, :width * channels].reshape(height, width, channels)
    # 8-bit after all (libheif decided the content is 8-bit): widen.
    rows8 = np.frombuffer(data, dtype=np.uint8).reshape(height, stride)
    return rows8[:, :width * channels].reshape(height, width, channels).astype(np.uint16) * 257
