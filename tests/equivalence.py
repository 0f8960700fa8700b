"""When two Canvas values say the same thing: equal, the same instant, or the same id in another style."""

from __future__ import annotations

from typing import Any

from translator import ids


def same_value(ours: Any, theirs: Any, shard: int | None) -> bool:
    if ours == theirs and type(ours) is type(theirs):
        return True
    if isinstance(ours, (int, float)) and isinstance(theirs, (int, float)) and not isinstance(ours, bool) and not isinstance(theirs, bool):
        return ours == theirs
    if isinstance(ours, str) and isinstance(theirs, str):
        try:
            return ids.parse_time(ours) == ids.parse_time(theirs)
        except ValueError:
            pass
    if ids.is_canvas_id(ours) and ids.is_canvas_id(theirs):
        return ids.global_id(ours, shard) == ids.global_id(theirs, shard)
    return False


def shard_of_event(canvas: dict[str, Any]) -> int | None:
    metadata = canvas.get("metadata", {})
    return ids.shard_of(metadata.get("root_account_id"), metadata.get("user_id"), metadata.get("context_id"))


def global_form(value: Any, shard: int | None) -> Any:
    """Digit strings and the numeric segments of Canvas URNs lifted onto `shard` (id style aside)."""
    if ids.is_canvas_id(value) and isinstance(value, str):
        return ids.global_id(value, shard)
    if isinstance(value, str) and value.startswith(ids.URN_PREFIX):
        parts = value[len(ids.URN_PREFIX) :].split(":")
        return ids.URN_PREFIX + ":".join(ids.global_id(p, shard) if ids.is_canvas_id(p) else p for p in parts)
    return value
