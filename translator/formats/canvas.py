"""Conformance of Canvas-format events: `{"metadata": {...}, "body": {...}}`."""

from __future__ import annotations

from functools import cache
from typing import Any

from ..errors import Problem
from ..schema_store import Compiled, schema_id, schema_store

METADATA_ID = schema_id("canvas/metadata.json")


def body_schema_id(event_name: str) -> str:
    return schema_id(f"canvas/events/{event_name}.json")


@cache
def canvas_event_names() -> frozenset[str]:
    """Every Canvas event type that has a body schema."""
    store = schema_store()
    prefix = schema_id("canvas/events/")
    return frozenset(uri[len(prefix) : -len(".json")] for uri in store.ids if uri.startswith(prefix))


@cache
def _event_schema(event_name: str | None) -> Compiled:
    """One schema per event type for the whole payload, so one pass reports every problem."""
    body: dict[str, Any] = {"$ref": body_schema_id(event_name)} if event_name else {"type": "object"}
    schema = {
        "type": "object",
        "required": ["metadata", "body"],
        "x-warnUnknownProperties": True,
        "properties": {"metadata": {"$ref": METADATA_ID}, "body": body},
    }
    return schema_store().compiled(f"canvas-event:{event_name}", schema)


def validate_canvas(payload: Any, custom_events: frozenset[str] = frozenset(), *, quick: bool = False) -> list[Problem]:
    """Problems in a Canvas event; `custom_events` are event names a user mapping defines (their
    body has no shipped schema, so only its metadata is checked). `quick`: see `Compiled.problems`."""
    if not isinstance(payload, dict):
        return [Problem("", f"a Canvas event must be a JSON object, not {type(payload).__name__}", "not-an-object")]
    metadata = payload.get("metadata")
    event_name = metadata.get("event_name") if isinstance(metadata, dict) else None
    if isinstance(event_name, str) and event_name in canvas_event_names():
        return _event_schema(event_name).problems(payload, quick=quick)
    problems = _event_schema(None).problems(payload, quick=quick)
    if isinstance(event_name, str) and event_name in custom_events:
        return problems
    if isinstance(event_name, str) and not any(p.path == "/metadata/event_name" for p in problems):
        problems.append(
            Problem(
                "/metadata/event_name",
                f"no schema for Canvas event {event_name!r}; known types are those documented by Canvas "
                "(see `translator mappings`)",
                "unknown-event",
            )
        )
    return problems
