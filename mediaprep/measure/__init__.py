"""Quality scores: what the byte budget cost, output by output (``--measure``).

- ``bands.py``: the ``Score`` each output carries and the plain bands
  (excellent, good, visible loss, poor), with their documented thresholds;
- ``image.py``: SSIMULACRA2 at the phone's 1080 px view (pictures);
- ``video.py``: VMAF through the bundled ffmpeg's libvmaf (video);
- ``voice.py``: active speech level, peak and share of speech kept (voice);
- ``outputs.py``: which score each output of a prepare gets, and the check that
  the ``measure`` extra is installed.

Only ``bands`` is imported with the package (a ``Score`` is read back from a batch's
manifest); the metrics load when a run measures.
"""
from __future__ import annotations

from .bands import BANDS, Band, Score

__all__ = ["BANDS", "Band", "Score"]
