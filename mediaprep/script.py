"""The `mediaprep` script and ``python -m mediaprep``: the command line in a process of
its own, started without the garbage collector, and with the picture a ``prepare``
names already decoding.

Starting a command makes ~30,000 objects that live as long as the process (the modules
of click, Pillow and mediaprep), and while they are made the collector walks them
again and again, to free nothing: 46 collections, ~7 ms of a 0.17 s ``prepare`` of one
photo. So the script turns the collector off before it imports the command line, and
``startup_over`` (which a command calls once its first input is done, or before a
long run begins) freezes what start-up made, so that later collections skip it, and
turns the collector back on. What the first input left in reference cycles is frozen
with it: one input's worth at most.

Start-up is Python on one core; the other is idle. ``prefetch.start`` gives it the
decode of the first JPEG or PNG a ``prepare`` command names (see prefetch.py).

A host that calls ``mediaprep.cli.main`` itself keeps its own collector and decodes
nothing early: only ``run`` does either.
"""
from __future__ import annotations

import gc
import sys

_paused = False


def run() -> None:
    """The command line, with the collector off until ``startup_over``."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True
    from . import prefetch

    prefetch.start(sys.argv[1:])
    from .cli.main import run as run_command_line

    run_command_line()


def startup_over() -> None:
    """Start-up is over: drop an early decode nobody took, freeze what start-up made
    and collect garbage again (only where ``run`` paused the collector; any later
    call does nothing)."""
    global _paused
    from . import prefetch

    prefetch.discard()
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
