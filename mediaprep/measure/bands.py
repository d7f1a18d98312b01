"""What a score is, and the plain band it falls in.

Kept free of heavy imports (no numpy, no metric package): ``model.OutputFile``
carries a ``Score`` and a batch's manifest reads one back, so this module is loaded
by every batch, measured or not (a single unmeasured prepare does not need it).

The thresholds come from each metric's own documentation (stated in the README,
"Quality scores"):

- SSIMULACRA2 (pictures). Its documentation anchors the scale to BT.500 ACR
  opinion scores: 85 "excellent quality" (no difference seen in an in-place
  comparison at 1:1), 70 "high quality" (MOS about 4, 'good': artifacts
  perceptible but not annoying, unnoticed without the original), 50 "medium
  quality" (MOS about 3, 'fair': slightly annoying), 30 "low quality" (MOS about
  2, 'poor'). Bands: >= 85 excellent, >= 70 good, >= 50 visible loss, else poor.
- VMAF (video). Its model documentation maps the ACR scale linearly onto the
  score: 'bad' about 20 and 'excellent' about 100, with 'poor', 'fair' and
  'good' evenly between (40, 60, 80). Each band takes the scores nearer its
  anchor: >= 90 excellent, >= 70 good, >= 50 visible loss (about 'fair'), else
  poor.
- Voice has no standard quality number for "what the cut and the codec did";
  it is described by its level instead (ITU-T P.56 active speech level, sample
  peak) and the share of the input's speech the parts still hold. The band
  judges the level against the range the AMR-NB codec is specified and tested
  over (3GPP: -16, -26 and -36 dBov, nominal -26; taken as dBFS of 16-bit PCM):
  excellent between -26 and -16, good between -36 and -26, poor outside
  (too quiet for the codec, or louder than it is tested at). The peak is
  reported, not banded: the AMR-NB decoder itself overshoots by a fraction of a
  dB, so a correctly limited note can touch full scale on a few samples. Voice
  never gets "visible loss": nothing is seen.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, get_args

Band = Literal["excellent", "good", "visible loss", "poor"]
BANDS: tuple[Band, ...] = get_args(Band)  # best first
Metric = Literal["ssimulacra2", "vmaf", "speech"]
METRICS: tuple[Metric, ...] = get_args(Metric)

# (lowest score of the band, band), best first.
SSIMULACRA2_BANDS: tuple[tuple[float, Band], ...] = (
    (85.0, "excellent"), (70.0, "good"), (50.0, "visible loss"))
VMAF_BANDS: tuple[tuple[float, Band], ...] = (
    (90.0, "excellent"), (70.0, "good"), (50.0, "visible loss"))

# Voice: the AMR-NB codec's tested levels (dBov, taken as dBFS of 16-bit PCM).
VOICE_NOMINAL_DB = -26.0
VOICE_LOUDEST_DB = -16.0
VOICE_QUIETEST_DB = -36.0


def _banded(value: float, table: tuple[tuple[float, Band], ...]) -> Band:
    for lowest, band in table:
        if value >= lowest:
            return band
    return "poor"


def ssimulacra2_band(value: float) -> Band:
    return _banded(value, SSIMULACRA2_BANDS)


def vmaf_band(value: float) -> Band:
    return _banded(value, VMAF_BANDS)


def voice_band(level_db: float) -> Band:
    # 0.05 dB of tolerance: levels are shown to one decimal, and a level shown as
    # -16.0 must not land in another band than its print suggests.
    if not VOICE_QUIETEST_DB - 0.05 <= level_db <= VOICE_LOUDEST_DB + 0.05:
        return "poor"
    return "excellent" if level_db >= VOICE_NOMINAL_DB - 0.05 else "good"


def worst(bands: list[Band]) -> Band | None:
    """The lowest band of several outputs (a row of the report shows its worst part)."""
    return max(bands, key=BANDS.index) if bands else None


@dataclass(frozen=True)
class Score:
    """One output compared with its input as the recipient sees it.

    ``value`` is the metric's number (SSIMULACRA2, VMAF); None for voice, which is
    described by ``facts`` (level, peak, share of speech kept) and banded on them.
    ``facts`` also say how the number was taken (view size, frames sampled).
    ``seconds`` is what measuring this output cost.
    """

    metric: Metric
    value: float | None
    band: Band
    seconds: float = 0.0
    facts: tuple[tuple[str, Any], ...] = ()

    def fact(self, key: str) -> Any:
        return dict(self.facts).get(key)

    def label(self) -> str:
        """One phrase for humans: ``quality 84 (good)``, ``VMAF 93 (excellent)``."""
        if self.metric == "speech":
            kept = self.fact("speech_kept")
            parts = [f"level {self.fact('level_dbfs'):.1f} dBFS", f"peak {self.fact('peak_dbfs'):.1f} dBFS"]
            if isinstance(kept, (int, float)):
                parts.append(f"speech kept {kept:.0%}")
            return f"{', '.join(parts)} ({self.band})"
        name = "VMAF" if self.metric == "vmaf" else "quality"
        if self.value is None or not math.isfinite(self.value):
            return f"{name} - ({self.band})"
        # Rounded down, as the bands are (">= 50"): 49.9 rounded would read
        # "quality 50 (poor)" beside a table that says 50 is visible loss.
        return f"{name} {math.floor(self.value)} ({self.band})"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"metric": self.metric}
        if self.value is not None:
            out["value"] = round(self.value, 2)
        out["band"] = self.band
        out["seconds"] = round(self.seconds, 3)
        out.update(self.facts)
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Score | None:
        """A score read back from a manifest line; None when absent or malformed
        (a resumed file then counts as not measured)."""
        if not isinstance(data, dict):
            return None
        metric, band, value = data.get("metric"), data.get("band"), data.get("value")
        if metric not in METRICS or band not in BANDS:
            return None
        if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value)):
            return None
        seconds = data.get("seconds")
        facts = tuple((k, v) for k, v in data.items()
                      if k not in ("metric", "band", "value", "seconds"))
        return cls(metric=metric, value=None if value is None else float(value), band=band,
                   seconds=float(seconds) if isinstance(seconds, (int, float)) else 0.0,
                   facts=facts)
