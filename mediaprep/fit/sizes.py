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


# Phones are held upright, and a picture is shown fitted to the screen's width: a
# landscape picture's long side, but a portrait one's short side. So a picture is
# made DISPLAY_SIDE px *wide* (or its own width): a 3:4 phone photo 1080x1440, not
# 810x1080 upscaled 1.33x on the screen. Measured on four 2560 px photos turned
# upright, at 128,000 B: at the width-fitted view SSIMULACRA2 84.5 mean against 80.0
# for 1080 on the long side (+2.2 to +6.8 each), and 89.7 against 89.7 even at the
# long-side view. A long picture (a chat screenshot made to be scrolled) is shown
# the same way: a 1080x4500 one went out 259x1080, its text unreadable. Thumbs (a
# video's cover, shown small) keep DISPLAY_SIDE on their long side.

# The longest side a picture is made at (~21 MP at 1080 px wide): taller ones are
# scaled to it (a JPEG may not exceed 65,535 px; each of the fit's encodes of that
# many pixels takes a few tenths of a second).
MAX_LONG_SIDE = 20_000


def display_long_side(width: int, height: int, side: int = DISPLAY_SIDE, *, by_width: bool = True) -> int:
    """The long side a picture of ``width`` x ``height`` (upright) is made at: the
    one at which it is ``side`` px wide (or its own size, when smaller); with
    ``by_width`` False (a thumb), ``side`` on its long side."""
    long_side = max(width, height)
    if by_width and height > width:
        return min(long_side, MAX_LONG_SIDE, round(height * side / width))
    return min(side, long_side)


def decode_long_side(width: int, height: int, *, by_width: bool = True) -> int:
    """The long side a picture of ``width`` x ``height`` (upright) is decoded at, at
    least (a larger JPEG is DCT-scaled towards it, see draft_size): DECODE_SIDE, or
    more for a portrait picture made DISPLAY_SIDE wide. The fit's decode and the
    command's early decode both ask this, so both choose the same DCT scale."""
    return max(DECODE_SIDE, display_long_side(width, height, DECODE_SIDE, by_width=by_width))


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
