"""The verdict form of a schema (translator/schema_verdict.py) accepts and rejects exactly what the
schema does: the rewrites one by one, then the shipped schemas in both forms, side by side in
jsonschema-rs, on the corpus and on drawn and mutated events."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import translator
from corpus import caliper_examples, canvas_examples
from schema_strategies import canvas_event
from translator.formats.caliper import ENTITY_TYPES, EVENT_TYPES
from translator.pointer import pointer
from translator.resources import data_dir
from translator.schema_store import schema_id, schema_store
from translator.schema_verdict import verdict_form

CASES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ENUM = {"type": "object", "required": ["type"], "properties": {"type": {"description": "the type", "enum": ["A", "B"]}}}


def test_no_shipped_schema_uses_unevaluated_keywords() -> None:
    """The verdict form leaves out property schemas that only annotate: `unevaluatedProperties`
    would read them from anywhere below, so a schema using it needs that rewrite reconsidered."""
    for path in sorted(data_dir("schemas").rglob("*.json")):
        text = path.read_text(encoding="utf-8")
        assert "unevaluatedProperties" not in text and "unevaluatedItems" not in text, path


def test_an_if_the_schema_itself_decides_is_replaced_by_its_then() -> None:
    schema = {**ENUM, "if": {"required": ["type"], "properties": {"type": {"enum": ["A", "B", "C"]}}}, "then": {"$ref": "#/$defs/x"}}
    assert verdict_form(schema) == {**ENUM, "$ref": "#/$defs/x"}
    beside_a_ref = {**schema, "$ref": "#/$defs/y"}
    assert verdict_form(beside_a_ref) == {**ENUM, "$ref": "#/$defs/y", "allOf": [{"$ref": "#/$defs/x"}]}


@pytest.mark.parametrize(
    "condition",
    [
        {"required": ["type"], "properties": {"type": {"enum": ["A"]}}},  # narrower than the schema's own enum
        {"required": ["type", "id"], "properties": {"type": {"enum": ["A", "B"]}}},  # a key the schema does not require
        {"type": "array"},
        {"properties": {"type": {"enum": ["A", "B"], "maxLength": 1}}},  # asks more than the values
        {"properties": {"type": {"enum": ["A", "B"]}}, "minProperties": 2},
        {"properties": {"kind": {"const": "A"}}},  # a property the schema says nothing of
    ],
)
def test_an_if_the_schema_does_not_decide_stays(condition: dict[str, Any]) -> None:
    schema = {**ENUM, "if": condition, "then": {"$ref": "#/$defs/x"}}
    assert verdict_form(schema) == schema
    with_else = {**ENUM, "if": {"required": ["type"]}, "then": {"const": 1}, "else": {"const": 2}}
    assert verdict_form(with_else) == with_else


def test_property_schemas_that_only_annotate_are_left_out_unless_the_declared_keys_are_read() -> None:
    schema = {"properties": {"a": {"description": "any"}, "b": True, "description": {"type": "string"}, "c": {"x-source": "s"}}}
    assert verdict_form(schema) == {"properties": {"description": {"type": "string"}}}
    assert verdict_form({"properties": {"a": {"description": "any"}}}) == {}
    for reader in ({"additionalProperties": False}, {"patternProperties": {"^x": {"type": "string"}}}):
        kept = {"properties": {"a": {"description": "any"}}, **reader}
        assert verdict_form(kept) == kept


def test_the_rewrites_apply_below_every_keyword_that_holds_schemas_and_nowhere_else() -> None:
    annotating = {"properties": {"a": {"description": "any"}}}
    schema = {
        "$defs": {"d": annotating},
        "allOf": [annotating],
        "items": annotating,
        "not": annotating,
        "enum": [annotating],  # data, not a schema
        "const": annotating,
    }
    assert verdict_form(schema) == {"$defs": {"d": {}}, "allOf": [{}], "items": {}, "not": {}, "enum": [annotating], "const": annotating}
    assert schema["$defs"]["d"] == annotating  # the input is left as it is


# A dispatch on `type` (as entities.json's), and references to it narrowed by their own enum.
DISPATCH = {
    "if": {"type": "object", "required": ["type"], "properties": {"type": {"enum": ["A", "B", "C"]}}},
    "then": {
        "if": {"properties": {"type": {"enum": ["A", "B"]}}},
        "then": {"if": {"properties": {"type": {"const": "A"}}}, "then": {"$ref": "#/$defs/A"}, "else": {"$ref": "#/$defs/B"}},
        "else": {"$ref": "#/$defs/C"},
    },
}
DEFS = {"A": {"required": ["a"]}, "B": {"required": ["b"]}, "C": {"required": ["c"]}, "dispatch": DISPATCH, "own": {"$id": "own.json", **DISPATCH}}


def _reference(*types: str, **beside: Any) -> dict[str, Any]:
    return {"type": "object", "required": ["type"], "properties": {"type": {"enum": list(types)}}, "$ref": "#/$defs/dispatch", **beside}


def test_a_reference_to_a_dispatch_goes_as_far_as_its_own_enum_decides() -> None:
    one = verdict_form({"$defs": DEFS, "properties": {"x": _reference("B")}})["properties"]["x"]
    assert one == {"type": "object", "required": ["type"], "properties": {"type": {"enum": ["B"]}}, "$ref": "#/$defs/B"}
    two = verdict_form({"$defs": DEFS, "properties": {"x": _reference("A", "C")}})["properties"]["x"]
    assert "$ref" not in two and two["allOf"] == [{**DISPATCH["then"], "then": {"$ref": "#/$defs/A"}}]


@pytest.mark.parametrize(
    "reference",
    [
        _reference("A", required=["type", "kind"]) | {"required": ["kind"]},  # the enum's property is not required
        {**_reference("A"), "type": ["object", "null"]},  # not only objects
        {**_reference("A"), "properties": {"type": {"enum": ["A", 1]}}},  # values JSON compares differently
        {**_reference("A"), "$ref": "#/$defs/A"},  # not a dispatch
        {**_reference("A"), "$ref": "other.json#/$defs/dispatch"},  # another document
        {**_reference("A"), "$ref": "#/$defs/own"},  # a resource of its own, whose references mean another place
    ],
)
def test_a_reference_the_rewrite_cannot_decide_stays(reference: dict[str, Any]) -> None:
    schema = {"$defs": DEFS, "properties": {"x": reference}}
    assert verdict_form(schema)["properties"]["x"] == reference


@given(instance=st.fixed_dictionaries({"type": st.sampled_from(["A", "B", "C", "D", 1])}, optional={"a": st.just(1), "b": st.just(1), "c": st.just(1)}))
def test_a_followed_dispatch_gives_the_verdicts_of_the_reference(instance: dict[str, Any]) -> None:
    for types in (("A",), ("B",), ("A", "C"), ("A", "B", "C")):
        schema = {"$defs": DEFS, "$ref": "#/$defs/x", "properties": {}}
        schema["$defs"] = {**DEFS, "x": _reference(*types)}
        written, verdict = jsonschema_rs.validator_for(schema), jsonschema_rs.validator_for(verdict_form(schema))
        assert written.is_valid(instance) == verdict.is_valid(instance)


@cache
def _validators(route: str) -> tuple[Any, Any]:
    """jsonschema-rs validators of the shipped schema `route` (a path below schemas/), from the
    schemas as written and from their verdict forms."""
    store = schema_store()
    documents = [(uri, store.registry.contents(uri)) for uri in sorted(store.ids)]
    as_written = jsonschema_rs.Registry(documents)
    verdict = jsonschema_rs.Registry([(uri, verdict_form(document)) for uri, document in documents])
    root = {"$ref": schema_id(route)}
    return jsonschema_rs.validator_for(root, registry=as_written), jsonschema_rs.validator_for(verdict_form(root), registry=verdict)


def _caliper_route(payload: dict[str, Any], profile: str) -> str:
    item = payload["data"][0] if "data" in payload else payload
    kind = item.get("type") if item.get("type") in EVENT_TYPES else "Event"
    return f"caliper/{profile}/events/{kind}.json"


def _same_verdicts(route: str, instance: Any) -> bool:
    written, verdict = _validators(route)
    return bool(written.is_valid(instance) == verdict.is_valid(instance))


def test_the_shipped_schemas_and_their_verdict_forms_agree_on_the_corpus() -> None:
    checked = 0
    for example in canvas_examples():
        name = example.payload["metadata"]["event_name"]
        if (data_dir("schemas") / "canvas" / "events" / f"{name}.json").exists():
            assert _same_verdicts(f"canvas/events/{name}.json", example.payload["body"]), example.label
            checked += 1
    for example in caliper_examples():
        for item in example.payload.get("data", [example.payload]):
            for profile in ("canvas", "ims"):
                assert _same_verdicts(_caliper_route(item, profile), item), example.label
                checked += 1
    assert checked > 250


# Wrong values an entity or a field can take, to draw mutations from.
JUNK = st.sampled_from([None, 7, "", "not an iri", "urn:instructure:canvas:course:x", [], {}, {"type": "Entity"}])
SLOTS = ("actor", "object", "edApp", "group", "membership", "session", "generated", "target", "referrer")


@st.composite
def mutated_caliper(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A Caliper event converted from a drawn Canvas event, then an entity's type swapped for
    another (or junk), a key dropped, or a value replaced: what the entity rewrites decide."""
    name = draw(st.sampled_from(sorted(p.stem for p in (data_dir("schemas") / "canvas" / "events").glob("*.json"))))
    payload = draw(canvas_event(name))
    try:
        item = translator.translate(payload, "caliper", validate=False)["data"][0]
    except translator.TranslatorError:
        item = {"type": "Event", "actor": payload["metadata"].get("user_id")}
    item = copy.deepcopy(item)
    for _ in range(draw(st.integers(1, 3))):
        slot = draw(st.sampled_from(SLOTS))
        entity = item.get(slot)
        what = draw(st.sampled_from(["type", "drop", "junk", "key"]))
        if what == "type" and isinstance(entity, dict):
            entity["type"] = draw(st.sampled_from(sorted(ENTITY_TYPES)) | st.just("NotAType"))
        elif what == "drop" and isinstance(entity, dict) and entity:
            del entity[draw(st.sampled_from(sorted(entity)))]
        elif what == "junk":
            item[slot] = draw(JUNK)
        elif what == "key" and isinstance(entity, dict):
            entity[draw(st.sampled_from(["name", "extensions", "dateCreated", "isPartOf", "unknownKey"]))] = draw(JUNK)
    return draw(st.sampled_from(["canvas", "ims"])), item


@CASES
@given(mutated_caliper())
def test_the_shipped_schemas_and_their_verdict_forms_agree_on_mutated_events(drawn: tuple[str, dict[str, Any]]) -> None:
    profile, item = drawn
    assert _same_verdicts(_caliper_route(item, profile), item), json.dumps(item)[:500]


@cache
def _with_verdict_pattern() -> list[tuple[str, Any, Any]]:
    """Every shipped schema that gives an `x-verdictPattern`: its URI, and jsonschema-rs
    validators of the schema as written and of the pattern."""
    found = []

    def walk(node: Any, uri: str, at: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            if isinstance(pattern := node.get("x-verdictPattern"), str):
                written = jsonschema_rs.validator_for({"$ref": f"{uri}#{pointer(at)}"}, registry=as_written)
                found.append((f"{uri}#{pointer(at)}", written, jsonschema_rs.validator_for({"type": "string", "pattern": pattern})))
            for key, value in node.items():
                walk(value, uri, (*at, key))

    store = schema_store()
    as_written = jsonschema_rs.Registry([(uri, store.registry.contents(uri)) for uri in sorted(store.ids)])
    for uri in sorted(store.ids):
        walk(store.registry.contents(uri), uri, ())
    return found


CANVAS_DEFS = schema_store().registry.contents(schema_id("caliper/canvas/defs.json"))["$defs"]
IMS_DEFS = schema_store().registry.contents(schema_id("caliper/ims/defs.json"))["$defs"]
# Strings near the edges of an IRI and of a Canvas URN: both patterns' own strings, and pieces of
# Canvas's namespace, cut anywhere and joined with separators, spaces and other schemes.
PIECES = st.sampled_from(["urn", ":", "instructure", "canvas", "urn:instructure:canvas:", "course", "lti/tool_proxy", "1", "x", "_",
                          "/", " ", "\n", "\t", "U", "https", "//", "_:", "-", ".", "+", "é"])  # fmt: skip
IDS = st.one_of(
    st.from_regex(CANVAS_DEFS["canvasUrn"]["pattern"], fullmatch=True),
    st.from_regex(IMS_DEFS["entityId"]["pattern"], fullmatch=True),
    st.lists(PIECES, max_size=8).map("".join),
    st.builds(lambda cut, tail: "urn:instructure:canvas:"[:cut] + tail, st.integers(0, 23), st.text(max_size=12)),
    st.text(max_size=30),
    st.none() | st.integers() | st.lists(st.text(max_size=3), max_size=2),
)


def test_some_shipped_schemas_give_a_verdict_pattern() -> None:
    assert {uri.rsplit("/", 1)[-1] for uri, _, _ in _with_verdict_pattern()} == {"entityId"}


@CASES
@given(IDS)
def test_a_verdict_pattern_accepts_what_its_schema_accepts(value: Any) -> None:
    """jsonschema-rs on the schema as written and on its `x-verdictPattern`, side by side."""
    for uri, written, pattern in _with_verdict_pattern():
        assert written.is_valid(value) == pattern.is_valid(value), (uri, value)
