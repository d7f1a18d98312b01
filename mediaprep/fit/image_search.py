"""The quality search at one picture size, for the image fit (fit/image.py).

JPEG bytes grow with quality, so the highest quality that fits a budget is found by
bracketing: a first guess, steps of the typical growth per quality step until the
answer is bracketed, then interpolation on log(bytes), bisecting when that stalls.
Every encode is remembered, at every size tried, so none is done twice. With a
thread pool the neighbour of each guess is encoded beside it (``also``).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import Executor, Future

from PIL import Image

from .. import prefetch
from .image_decode import flatten
from .resize import to_side

# The quality search starts at GUESS_QUALITY (typical at 1080 px for both budgets) and,
# until the answer is bracketed, steps assuming the bytes grow this much per quality
# step (about the median above q88 going up, below it going down; tuned on the sweep).
GUESS_QUALITY = 88
STEP_UP = 1.10
STEP_DOWN = 1.04


class QualitySearch:
    """Remembers every encode so no (size, quality) pair is encoded twice.

    With a thread pool, the search also encodes a second quality beside the one it
    needs (``also``): the neighbour that would close the bracket if the guess turns
    out one step off. jpegli runs without the GIL, so the pair costs one encode's
    time; the answer is the same as without the pool (the highest quality that
    fits), found in fewer rounds."""

    def __init__(self, src: Image.Image, budget: int, encode: Callable[[Image.Image, int], bytes],
                 dct_reduced: bool = False, pool: Executor | None = None):
        self.src = src
        self.dct_reduced = dct_reduced  # src is a DCT-scaled decode (a 2x step or more)
        self.budget = budget
        self.encode = encode
        self.pool = pool
        self.resized: dict[int, Image.Image] = {}
        self.cache: dict[tuple[int, int], bytes] = {}
        self.pending: dict[tuple[int, int], Future[bytes]] = {}
        self.encodes = 0

    def image(self, side: int) -> Image.Image:
        if side not in self.resized:
            # The command may have resized this very picture while it started.
            early = prefetch.resized(self.src, side)
            self.resized[side] = early if early is not None else flatten(to_side(self.src, side, self.pool))
        return self.resized[side]

    def size_at(self, side: int, q: int) -> int:
        return len(self.bytes_at(side, q))

    def fits(self, side: int, q: int) -> bool:
        return self.size_at(side, q) <= self.budget

    def bytes_at(self, side: int, q: int) -> bytes:
        key = (side, q)
        if key not in self.cache:
            ahead = self.pending.pop(key, None)
            if ahead is not None and not ahead.cancel():  # started: its result is near
                self.cache[key] = ahead.result()
            else:  # not asked for, or still queued behind other work: encode it here
                self.cache[key] = self.encode(self.image(side), q)
            self.encodes += 1
        return self.cache[key]

    def also(self, side: int, q: int, lo: int, hi: int) -> None:
        """Start encoding quality q on the pool (when there is one, q is in [lo, hi]
        and not known yet), for bytes_at to pick up."""
        key = (side, q)
        if self.pool is None or not lo <= q <= hi or key in self.cache or key in self.pending:
            return
        self.pending[key] = self.pool.submit(self.encode, self.image(side), q)

    def drop_pending(self) -> None:
        """Cancel the encodes still queued (those running finish unread)."""
        for ahead in self.pending.values():
            ahead.cancel()
        self.pending.clear()

    def _settle(self, side: int, good: int, bad: int) -> tuple[int, int]:
        """The bracket narrowed by what the pool has encoded at this side (an encode
        still queued or running is not waited for). Encodes still queued for
        qualities the bracket has passed are cancelled: they would only hold up the
        pool's other work (the fit's sharpening)."""
        for (s, q), ahead in list(self.pending.items()):
            if s == side and good < q < bad and ahead.done():
                if self.fits(side, q):
                    good = q
                else:
                    bad = q
        for (s, q), ahead in list(self.pending.items()):
            if s == side and not good < q < bad and ahead.cancel():
                del self.pending[(s, q)]
        return good, bad

    def best_quality(self, side: int, lo: int, hi: int, start: int = GUESS_QUALITY) -> int | None:
        """Highest quality in [lo, hi] that fits, or None. Sizes grow with quality.

        Starts at GUESS_QUALITY; while only one side of the answer is known, steps by
        the typical growth of jpegli's bytes per quality step; once bracketed,
        interpolates on log(bytes), bisecting whenever a step fails to halve the
        interval (bytes grow ~2% a step at q70 but ~20% at q97, so pure interpolation
        stalls). 3.4 encodes on average on the sweep's pictures, where bisection over
        [30, 100] took 6.3, for the same answers.
        """
        good, bad = lo - 1, hi + 1  # highest known to fit, lowest known to miss
        if (side, lo) in self.cache:  # _shrink has tried it already
            if not self.fits(side, lo):
                return None
            good = lo
            if good == hi:
                return hi
        q = min(max(start, good + 1), hi)
        misses: list[int] = []  # qualities that missed, before anything fitted
        halve = False
        while True:
            width = bad - good
            # The neighbour that decides the answer if q is one step off: below q
            # when q is the highest quality possible or above one that fitted, above
            # q when only misses are known (none on a first guess in the middle).
            if q == hi or good >= lo:
                self.also(side, q - 1, good + 1, bad - 1)
            elif bad <= hi:
                self.also(side, q + 1, good + 1, bad - 1)
            if self.fits(side, q):
                good = q
            else:
                bad = q
                misses.append(q)
            good, bad = self._settle(side, good, bad)
            if bad - good <= 1:
                break
            if good >= lo and bad <= hi:
                if halve:
                    q = (good + bad) // 2
                else:
                    a, b = math.log(self.size_at(side, good)), math.log(self.size_at(side, bad))
                    t = (math.log(self.budget) - a) / (b - a) if b > a else 0.5
                    q = min(max(good + round(t * (bad - good)), good + 1), bad - 1)
                # Bisect next when this step kept more than half the interval.
                halve = (bad - good) * 2 > width and not halve
            elif good >= lo:
                room = math.log(self.budget / self.size_at(side, good))
                q = min(hi, good + max(1, math.ceil(room / math.log(STEP_UP))))
            else:
                over = math.log(self.size_at(side, bad) / self.budget)
                step = math.log(STEP_DOWN)
                if len(misses) >= 2 and misses[-2] != bad:
                    # Low qualities gain few bytes a step: measure the slope, and aim past
                    # the budget so the next try brackets the answer.
                    step = math.log(self.size_at(side, misses[-2]) / self.size_at(side, bad))
                    step = max(step / (misses[-2] - bad), 1e-4) / 1.5
                q = max(lo, bad - max(1, math.ceil(over / step)))
        return good if good >= lo else None
