"""The picture sizes the image fit aims at: its own module, so that the command can
start decoding a picture at the fit's size (mediaprep/prefetch.py) before the fit's
modules are imported."""
from __future__ import annotations

import math

# Measured (bench/image_sweep.py on mate-backgrounds, SSIMULACRA2 at the phone's 1080 px):
# the best long side at 128,000 and 64,000 bytes is 1080 for nearly every photo and
# picture; a fixed 1080 scored 89.4 / 83.8 against 89.6 / 84.0 for the best of 11 sides
# per image, while a fixed 1280 scored 88.5 / 82.2 and 1600 less. Pixels beyond what the
# phone shows cost bytes the quality needs; fewer pixels get upscaled on the phone.
DISPLAY_SIDE = 1080
# JPEGs are decoded at a reduced DCT scale (1/2, 1/4, 1/8) when that still leaves this
# many pixels on the long side: a 2560 px photo decodes at 1280 in a third of the time,
# and then needs only a short Lanczos to 1080. Scores as Pillow's box reduction does
# (REDUCING_GAP): 89.8 vs 89.7 at 128,000 B on the sweep's 2560 px JPEGs.
DECODE_SIDE = DISPLAY_SIDE


def draft_size(width: int, height: int, max_side: int) -> tuple[int, int] | None:
    """The size a JPEG of ``width`` x ``height`` is asked to decode at (Pillow's
    ``draft``, which picks the smallest DCT scale that still gives it), for at least
    ``max_side`` on the long side; None when the picture is no larger. The fit's
    decode and the command's early decode (mediaprep/prefetch.py) both ask this, so
    both get the same pixels."""
    long_side = max(width, height)
    if long_side <= max_side:
        return None
    scale = max_side / long_side
    return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))
