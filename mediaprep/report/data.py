"""From manifest lines (and each row's pictures) to what the page shows.

Pure functions: no files are read here, so the rows and the summary are tested
on made-up manifest lines as well as real ones.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..measure.bands import BANDS, Score, worst
from .visuals import Visuals

# Failures and skips first: they need someone to act.
STATUS_ORDER = ("failed", "skipped", "ok", "passed")
KIND_ORDER = ("image", "voice", "video", "thumb", "other")


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _media(entry: dict[str, Any]) -> list[dict[str, Any]]:
    return [o for o in entry.get("outputs") or () if isinstance(o, dict) and o.get("slot", "media") == "media"]


def what_was_done(entry: dict[str, Any], vis: Visuals) -> list[str]:
    """Plain words: passed through, resized, re-encoded, split into N parts, trimmed."""
    status = entry.get("status")
    if status == "failed":
        return ["nothing: failed"]
    media = _media(entry)
    if not media:
        return ["nothing: skipped"]
    done: list[str] = []
    if entry.get("resumed"):
        done.append("kept from an earlier run")
    if all(o.get("passed_through") for o in media):
        return [*done, "passed through unchanged"]
    settings = [o.get("settings") or {} for o in media]
    if all(s.get("encodes") == 0 for s in settings if isinstance(s, dict)) and entry.get("role") == "video":
        done.append("remuxed (picture and sound untouched)")
    elif any(isinstance(s, dict) and s.get("lossless") for s in settings):
        done.append("cut without re-encoding")
    else:
        done.append("re-encoded")
    first = media[0]
    if vis.width and first.get("width") and (first.get("width"), first.get("height")) != (vis.width, vis.height):
        done.append(f"resized {vis.width}x{vis.height} -> {first['width']}x{first['height']}")
    if len(media) > 1:
        done.append(f"split into {len(media)} parts")
    if any(isinstance(w, str) and w.startswith("trimmed") for w in entry.get("warnings") or ()):
        done.append("trimmed")
    return done


def _scores(entry: dict[str, Any]) -> list[Score]:
    found = [Score.from_dict(o.get("score")) for o in _media(entry)]
    return [s for s in found if s is not None]


def row(index: int, entry: dict[str, Any], vis: Visuals) -> dict[str, Any]:
    """One row of the page, as JSON for its script (every text is set with
    textContent there, never parsed as HTML)."""
    media = _media(entry)
    scores = _scores(entry)
    band = worst([s.band for s in scores])
    numbers = [s.value for s in scores if s.value is not None]
    # The worst part speaks for the row: lowest band, then lowest number.
    lowest = min(scores, key=lambda s: (-BANDS.index(s.band), s.value or 0.0)) if scores else None
    after = []
    for o in media:
        score = Score.from_dict(o.get("score"))
        raw = o.get("settings")
        settings: dict[str, Any] = raw if isinstance(raw, dict) else {}
        after.append({"path": str(o.get("path", "")), "bytes": o.get("bytes"), "w": o.get("width"),
                      "h": o.get("height"), "dur": _num(o.get("duration_seconds")), "part": o.get("part"),
                      "start": _num(settings.get("start_seconds")), "end": _num(settings.get("end_seconds")),
                      "score": score.label() if score else None})
    status = str(entry.get("status"))
    message = entry.get("error") or entry.get("reason") or ""
    if entry.get("resumed") and media:
        # Kept from an earlier run: the outputs in DST are what it made then, so the
        # row shows them as made ("kept from an earlier run" says so), not as a skip.
        status = "passed" if all(o.get("passed_through") for o in media) else "ok"
        message = ""
    return {
        "i": index, "name": str(entry.get("input", "")), "status": status,
        "kind": entry.get("role") or "other", "bytesIn": entry.get("bytes") or 0,
        "bytesOut": sum(int(o.get("bytes") or 0) for o in entry.get("outputs") or () if isinstance(o, dict)),
        "w": vis.width, "h": vis.height, "dur": vis.duration, "after": after,
        "done": what_was_done(entry, vis), "band": band,
        "score": min(numbers) if numbers else None,
        "metric": scores[0].metric if scores else None,
        "label": lowest.label() if lowest else None,
        "message": message, "warnings": [w for w in entry.get("warnings") or () if isinstance(w, str)],
        "seconds": _num(entry.get("seconds")) or 0.0,
        "before": vis.before, "thumb": vis.after, "strip": vis.strip,
        "wave": list(vis.wave), "waveSeconds": vis.wave_seconds,
    }


@dataclass(frozen=True)
class Summary:
    """The report's summary: files by status and kind, bytes in and out, time."""
    files: int
    counts: tuple[tuple[str, tuple[tuple[str, int], ...]], ...]  # status -> ((kind, n), ...)
    kinds: tuple[str, ...]
    bytes_in: int
    bytes_out: int
    work_seconds: float  # per-file worker time, added up
    elapsed: float | None  # wall time of the batch, when the report was made by it
    jobs: int | None
    histogram: tuple[tuple[str, tuple[int, ...]], ...]  # metric -> counts per 10-point bin
    bands: tuple[tuple[str, int], ...]


HISTOGRAM_BINS = 10  # 0-10, ..., 90-100 (below 0 counts in the first)


def summarize(rows: Iterable[dict[str, Any]], elapsed: float | None = None,
              jobs: int | None = None) -> Summary:
    counts: dict[str, dict[str, int]] = {s: {} for s in STATUS_ORDER}
    bins: dict[str, list[int]] = {}
    bands: dict[str, int] = {b: 0 for b in BANDS}
    files = bytes_in = bytes_out = 0
    work = 0.0
    for r in rows:
        files += 1
        counts.setdefault(r["status"], {})
        counts[r["status"]][r["kind"]] = counts[r["status"]].get(r["kind"], 0) + 1
        if r["after"]:
            bytes_in += int(r["bytesIn"])
            bytes_out += int(r["bytesOut"])
        work += float(r["seconds"])
        if r["band"]:
            bands[r["band"]] += 1
        if r["score"] is not None and r["metric"]:
            slot = min(HISTOGRAM_BINS - 1, max(0, int(r["score"] // 10)))
            bins.setdefault(r["metric"], [0] * HISTOGRAM_BINS)[slot] += 1
    kinds = tuple(k for k in KIND_ORDER if any(k in c for c in counts.values()))
    return Summary(files=files,
                   counts=tuple((s, tuple((k, c.get(k, 0)) for k in kinds)) for s, c in counts.items()),
                   kinds=kinds, bytes_in=bytes_in, bytes_out=bytes_out, work_seconds=work,
                   elapsed=elapsed, jobs=jobs,
                   histogram=tuple((m, tuple(v)) for m, v in sorted(bins.items())),
                   bands=tuple(bands.items()))
