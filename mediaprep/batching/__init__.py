"""Whole folders (`mediaprep batch`), one module per job:

walk (the source tree), naming (output names, folders, staging, the lock),
worker (one file's work, in a worker process), isolate (killable worker
processes), cluster (the same on Dask), manifest (the record and resuming),
results and progress (what a run reports), run (``batch()``, tying them together).
"""
