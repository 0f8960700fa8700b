"""Conformance of Canvas-format events: `{"metadata": {...}, "body": {...}}`."""

from __future__ import annotations

from dataclasses import replace
from collections.abc import Callable
from functools import cache
from typing import Any, Literal

from ..errors import Problem
from ..known_fields import unknown_field_problems
from ..schema_store import Compiled, brief, schema_id, schema_store

METADATA_ID = schema_id("canvas/metadata.json")


def body_schema_id(event_name: str) -> str:
    return schema_id(f"canvas/events/{event_name}.json")


@cache
def canvas_event_names() -> frozenset[str]:
    """Every Canvas event type that has a body schema."""
    store = schema_store()
    prefix = schema_id("canvas/events/")
    return frozenset(uri[len(prefix) : -len(".json")] for uri in store.ids if uri.startswith(prefix))


def event_schema(event_name: str | None) -> dict[str, Any]:
    """The schema of a whole Canvas event of `event_name` (`None`: a type without a body schema,
    whose body need only be an object). One schema for the whole payload, so one pass reports
    every problem."""
    body: dict[str, Any] = {"$ref": body_schema_id(event_name)} if event_name else {"type": "object"}
    return {
        "type": "object",
        "required": ["metadata", "body"],
        "x-warnUnknownProperties": True,
        "properties": {"metadata": {"$ref": METADATA_ID}, "body": body},
    }


@cache
def _event_schema(event_name: str | None) -> Compiled:
    return schema_store().compiled(f"canvas-event:{event_name}", event_schema(event_name))


@cache
def conforming(event_name: str | None) -> Callable[[Any], bool] | None:
    """The fast verdict of `event_schema(event_name)` as two validators, the metadata's (one for
    every type) and the body's: the same verdict, and a new event type compiles only its body
    schema (the whole event's schema, and the detailed one, only for an event that fails).
    None without jsonschema-rs."""
    store = schema_store()
    metadata = store.fast(METADATA_ID)
    body = store.fast(body_schema_id(event_name)) if event_name else store.fast("canvas-body:any", {"type": "object"})
    if metadata is None or body is None:
        return None
    metadata_valid, body_valid = metadata.is_valid, body.is_valid
    return lambda payload: (
        isinstance(payload, dict) and "metadata" in payload and "body" in payload
        and metadata_valid(payload["metadata"]) and body_valid(payload["body"])
    )  # fmt: skip


def event_problems(payload: Any, event_name: str | None, *, quick: bool = False) -> list[Problem]:
    """The problems of the whole event against `event_schema(event_name)`; with `quick`, none at
    once (warnings unsaid) when it conforms."""
    if quick and (verdict := conforming(event_name)) is not None and verdict(payload):
        return []
    return _event_schema(event_name).problems(payload)


def validate_canvas(
    payload: Any, custom_events: frozenset[str] = frozenset(), *, quick: bool = False, strict: bool = False
) -> list[Problem]:
    """Problems in a Canvas event; `custom_events` are event names a user mapping defines (their
    body has no shipped schema, so only its metadata is checked). `quick`: see `Compiled.problems`.

    An event type no schema knows is checked the same way (metadata, and a body that is an
    object) and carries an `unknown-event` warning: it converts through the generic lossless form.
    `strict` makes `unknown-event` and `unknown-field` errors.
    """
    if not isinstance(payload, dict):
        return [Problem("", f"a Canvas event must be a JSON object, not {type(payload).__name__}", "not-an-object", value=brief(payload))]
    metadata = payload.get("metadata")
    event_name = metadata.get("event_name") if isinstance(metadata, dict) else None
    known = event_name if isinstance(event_name, str) and event_name in canvas_event_names() else None
    problems = event_problems(payload, known, quick=quick)
    if (
        known is None
        and isinstance(event_name, str)
        and event_name not in custom_events
        and not any(p.path == "/metadata/event_name" for p in problems)
    ):
        problems.append(unknown_event_problem("/metadata/event_name", event_name))
    if strict:
        if quick and not any(p.is_error for p in problems):  # the fast verdict says nothing of unknown fields
            problems = [p for p in problems if p.rule != "unknown-field"] + unknown_field_problems(payload, known)
        problems = strictly(problems)
    return problems


def unknown_event_problem(path: str, event_name: str) -> Problem:
    return Problem(
        path,
        f"no schema for Canvas event {event_name!r}: its metadata is checked and it converts through the generic "
        "lossless form (known types: `translator mappings`)",
        "unknown-event",
        "warning",
    )


STRICT_RULES = frozenset({"unknown-event", "unknown-field"})


def strictly(problems: list[Problem]) -> list[Problem]:
    """`problems` with unknown event types and unknown fields as errors (`--strict`)."""
    return [replace(p, severity="error") if p.rule in STRICT_RULES else p for p in problems]


@cache
def _metadata_rules(event_name: str) -> tuple[tuple[str, dict[str, Any]], ...]:
    """The metadata schema's `if`/`then`/`else` branches that apply to every `event_name` event,
    as (location, schema): those of a rule whose `if` reads the event name alone (any other `if`
    is decided by the event, not its type)."""
    store = schema_store()
    found = []
    for index, rule in enumerate(store.registry.contents(METADATA_ID).get("allOf", ())):
        if _about_event_name(rule.get("if")):
            holds = not store.compiled(f"{METADATA_ID}#/allOf/{index}/if", rule["if"]).problems({"event_name": event_name})
            branch = "then" if holds else "else"
            if branch in rule:
                found.append((f"{METADATA_ID}#/allOf/{index}/{branch}", rule[branch]))
    return tuple(found)


def _about_event_name(condition: Any) -> bool:
    return (
        isinstance(condition, dict) and set(condition) <= {"required", "properties", "description"}
        and set(condition.get("required", ())) <= {"event_name"} and set(condition.get("properties", {})) <= {"event_name"}
    )  # fmt: skip


def input_schemas(event_name: str) -> dict[str, list[str]]:
    """The schema locations the metadata and the body of a conforming `event_name` event satisfy
    (what the proof reads of its input): the metadata schema with the rules of it that apply to
    this event name (a session event's `user_id`), and the body's schema."""
    metadata = [METADATA_ID + "#", *(location for location, _ in _metadata_rules(event_name))]
    return {"metadata": metadata, "body": [body_schema_id(event_name) + "#"]}


@cache
def required_fields(event_name: str) -> tuple[tuple[str, str], ...]:
    """The fields every Canvas event of `event_name` must have, as (``metadata`` or ``body``, name):
    the metadata schema's `required`, with those its `if`/`then` rules add for this event name,
    and the body schema's (none for a type without a schema)."""
    store = schema_store()
    names = list(store.registry.contents(METADATA_ID).get("required", ()))
    for _, rule in _metadata_rules(event_name):
        names += rule.get("required", ())
    body = store.registry.contents(body_schema_id(event_name)).get("required", ()) if event_name in canvas_event_names() else ()
    return (*(("metadata", name) for name in dict.fromkeys(names)), *(("body", name) for name in body))


def field_problems(event_name: str, field: tuple[str, str], value: Any) -> list[Problem]:
    """The errors of `value` as the Canvas field `field` (``metadata`` or ``body``, name) of an
    event of `event_name`, by that field's own schema (none for a field no schema describes)."""
    schema = _field_schema(event_name, field)
    return [p for p in schema.problems(value, quick=True) if p.is_error] if schema is not None else []


def field_validity(event_name: str, field: tuple[str, str]) -> Callable[[Any], bool] | None | Literal[False]:
    """The fast verdict of `field_problems` (true when it finds none): None when no schema
    describes the field (any value does), False when the schema has no fast validator."""
    schema = _field_schema(event_name, field)
    if schema is None:
        return None
    return schema.fast.is_valid if schema.fast is not None else False


@cache
def _field_schema(event_name: str, field: tuple[str, str]) -> Compiled | None:
    part, name = field
    base = METADATA_ID if part == "metadata" else body_schema_id(event_name)
    store = schema_store()
    if not store.has(base) or name not in store.registry.contents(base).get("properties", {}):
        return None
    return store.compiled(f"{base}#/properties/{name}")
