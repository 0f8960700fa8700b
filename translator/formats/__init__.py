"""The two wire formats and how to tell them apart."""

from __future__ import annotations

from typing import Any, Literal

from ..errors import FormatError

FormatName = Literal["canvas", "caliper"]
FORMATS: tuple[FormatName, ...] = ("canvas", "caliper")

_ENVELOPE_KEYS = frozenset({"sensor", "sendTime", "dataVersion", "data"})
_EVENT_KEYS = frozenset({"@context", "actor", "action", "eventTime"})


def detect_format(payload: Any) -> FormatName:
    """Say whether `payload` is a Canvas event or Caliper (an Envelope or a bare event)."""
    if not isinstance(payload, dict):
        raise FormatError(f"cannot detect the format of {type(payload).__name__!s}: expected a JSON object")
    if "metadata" in payload and "body" in payload:
        return "canvas"
    if payload.keys() & _ENVELOPE_KEYS or len(payload.keys() & _EVENT_KEYS) >= 2:
        return "caliper"
    if "metadata" in payload or "body" in payload:
        return "canvas"
    keys = ", ".join(sorted(payload)[:6]) or "none"
    raise FormatError(
        "neither a Canvas event ({metadata, body}) nor a Caliper envelope or event "
        f"(sensor/sendTime/dataVersion/data or @context/actor/action/eventTime); keys: {keys}"
    )
