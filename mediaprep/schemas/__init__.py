"""JSON Schema (draft 2020-12) files for every JSON document mediaprep prints.

Each document carries ``"schema": "mediaprep/<name>/1"``; the file describing it is
``<name>.schema.json`` in this folder (shipped with the package), with the ``$id``
``urn:mediaprep:<name>:1``. Parts shared by several documents (an output, an
attachment block, a violation) live in ``defs.schema.json`` and are referenced by
that URN, so a validator needs all the files: ``validator(name)`` builds one (it
needs the ``jsonschema`` package, which mediaprep itself does not depend on).

A version changes only when a document changes incompatibly (a field removed,
renamed or retyped); new optional fields keep it.
"""
from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from ..errors import MissingDependency

NAMES = ("check", "prepare", "batch", "profiles", "upload", "send", "send-media", "error")
VERSION = 1


def schema_id(name: str) -> str:
    """The value of a document's "schema" field, e.g. "mediaprep/check/1"."""
    if name not in NAMES:
        raise ValueError(f"no schema named {name!r}")
    return f"mediaprep/{name}/{VERSION}"


@cache
def load(name: str) -> dict[str, Any]:
    """The JSON Schema of document ``name`` (or "defs", the shared parts)."""
    text = resources.files(__name__).joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def validator(name: str) -> Any:
    """A jsonschema validator for document ``name``, with the shared parts resolvable."""
    try:
        import jsonschema
        from referencing import Registry, Resource
    except ImportError as exc:
        raise MissingDependency("validating mediaprep's JSON needs the jsonschema package",
                                hint="pip install jsonschema") from exc
    registry: Any = Registry()
    for other in (*NAMES, "defs"):
        schema = load(other)
        registry = registry.with_resource(schema["$id"], Resource.from_contents(schema))
    return jsonschema.Draft202012Validator(load(name), registry=registry)
