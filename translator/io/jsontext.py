"""JSON text of values, written the same way wherever the package writes it."""

from __future__ import annotations

import json
from typing import Any

import orjson


def compact(value: Any) -> bytes:
    """Compact UTF-8 JSON: orjson, or for what it refuses (a lone surrogate, an integer beyond 64
    bits) the standard library, a lone surrogate written as its ``\\udc80`` escape."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "backslashreplace")


def readable(value: Any) -> str:
    """The text a record keeps of a value it did not read as text (an array item, a parsed payload)."""
    return json.dumps(value, ensure_ascii=False)
