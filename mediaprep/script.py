"""The `mediaprep` script and ``python -m mediaprep``: the command line in a process of
its own, started without the garbage collector.

Starting a command makes ~30,000 objects that live as long as the process (the modules
of click, Pillow and mediaprep), and while they are made the collector walks them
again and again, to free nothing: 46 collections, ~7 ms of a 0.17 s ``prepare`` of one
photo. So the script turns the collector off before it imports the command line, and
``resume_collector`` (which a command calls once its first input is done, or before a
long run begins) freezes what start-up made, so that later collections skip it, and
turns the collector back on. What the first input left in reference cycles is frozen
with it: one input's worth at most. A host that calls ``mediaprep.cli.main`` itself
keeps its own collector: only ``run`` pauses it.
"""
from __future__ import annotations

import gc

_paused = False


def run() -> None:
    """The command line, with the collector off until ``resume_collector``."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True
    from .cli.main import run as run_command_line

    run_command_line()


def resume_collector() -> None:
    """Start-up is over: freeze what it made and collect garbage again (only where
    ``run`` paused the collector; any later call does nothing)."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
