"""The name of the folders outputs are staged in (output.OutputSet), on its own: a
folder check recognises them (batching/rules.py) without importing the writer."""
from __future__ import annotations

STAGING_PREFIX = ".mediaprep-staging-"
