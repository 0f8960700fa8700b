"""JSON Pointers (RFC 6901), built in one place so every path a `Problem` names is escaped alike:
``~`` becomes ``~0`` and ``/`` becomes ``~1`` in each reference token."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def token(part: Any) -> str:
    """One reference token, escaped."""
    return str(part).replace("~", "~0").replace("/", "~1")


def pointer(parts: Iterable[Any]) -> str:
    """The JSON Pointer of a path given as its parts (``""`` for the document itself)."""
    return "".join("/" + token(p) for p in parts)
