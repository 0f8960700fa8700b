"""The verdict form of a schema: the same accept or reject as the schema, for the jsonschema-rs
validators, with what only the detailed report reads taken out and conditions that always hold
when they are asked dropped. A keyword costs jsonschema-rs some 30 ns on Python objects, and an
Envelope of the Canvas profile meets hundreds: its entity references spent a sixth of the check
on an `if` that their own `required` and `enum` had already decided, and on property schemas
that only describe (they name a key for `x-warnUnknownProperties`, which jsonschema-rs ignores).

Three rewrites, each keeping every verdict (tests/test_schema_verdict.py holds the two forms to
the same verdicts on the corpus and on drawn events):
- a property schema that only annotates (`description`, `x-...`) accepts anything: it is left out
  of `properties` when no `additionalProperties` or `patternProperties` beside it reads the
  list of declared keys. `unevaluatedProperties` would read it from anywhere below: no shipped
  schema uses it, and the test says so should one start to;
- `if: X, then: Y` without `else`, where the schema's own `type`, `required` and property
  `enum`/`const` already demand all X asks: when they hold, X holds, so Y is applied as is;
  when they fail, the schema fails either way;
- a `$ref` within the document to a dispatch on a property (a tree of `if: {properties: {P:
  {enum: S}}}`, `then`, `else`, down to `$ref`s), beside the schema's own `type: object`,
  `required: [P]` and enum E of P: the tree followed as far as E decides it (every `if` whose S
  holds all of E is its `then`, none of E its `else`). An Entity reference of one or two types
  then goes to those types' schemas at once, not through five levels of `if` over 45 names.

And one the schema asks for: a string schema with `x-verdictPattern` is that pattern alone (with
`type: string`). A Canvas-profile entity id, an IRI and in Canvas's namespace a Canvas URN, is
three patterns as written (a reference, an `if` and a `then`) and one here, which costs a third
as much; every event has several. tests/test_schema_verdict.py holds the two to the same verdicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ANNOTATIONS = frozenset({"description", "title", "examples", "$comment", "default", "deprecated", "readOnly", "writeOnly"})
# Keywords whose value is a schema, a list of schemas, or a map of names to schemas.
_ONE = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames", "unevaluatedItems", "unevaluatedProperties")
_LIST = ("allOf", "anyOf", "oneOf", "prefixItems")
_MAP = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_READS_DECLARED = ("additionalProperties", "patternProperties")


def verdict_form(schema: Any, document: Any = None) -> Any:
    """`schema` rewritten as above (a new object; `schema` is left as it is). `document`: the
    resource a `#/...` reference in it points into (`schema` itself at the top, or where a
    schema below has its own `$id`)."""
    if not isinstance(schema, Mapping):
        return schema
    if isinstance(pattern := schema.get("x-verdictPattern"), str):
        return {"type": "string", "pattern": pattern}
    if document is None or "$id" in schema:
        document = schema
    node: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _ONE:
            node[key] = verdict_form(value, document)
        elif key in _LIST and isinstance(value, list):
            node[key] = [verdict_form(item, document) for item in value]
        elif key in _MAP and isinstance(value, Mapping):
            node[key] = {name: verdict_form(item, document) for name, item in value.items()}
        else:
            node[key] = value
    if isinstance(node.get("properties"), dict) and not any(key in node for key in _READS_DECLARED):
        node["properties"] = {name: item for name, item in node["properties"].items() if not _annotates_only(item)}
        if not node["properties"]:
            del node["properties"]
    if "if" in node and "then" in node and "else" not in node and _implied(node["if"], node):
        then = node.pop("then")
        del node["if"]
        if isinstance(then, Mapping) and set(then) == {"$ref"} and "$ref" not in node:
            node["$ref"] = then["$ref"]
        else:
            node["allOf"] = [*node.get("allOf", []), then]
    if isinstance(ref := node.get("$ref"), str) and ref.startswith("#/"):
        _follow_dispatch(node, ref, document)
    return node


def _follow_dispatch(node: dict[str, Any], ref: str, document: Any) -> None:
    """Replace `node`'s `$ref` to a dispatch on a property by the part of it `node`'s own
    `type`, `required` and enum of that property leave (the third rewrite above)."""
    if node.get("type") != "object" or not isinstance(given := node.get("properties"), Mapping):
        return
    target = _resolve(document, ref)
    for name in node.get("required", []):
        if isinstance(given.get(name), Mapping) and (values := _strings(given[name])) is not None:
            followed = _followed(target, name, frozenset(values))
            if followed is None:
                continue
            del node["$ref"]
            if isinstance(followed, Mapping) and set(followed) == {"$ref"}:
                node["$ref"] = followed["$ref"]
            elif followed is not True:
                node["allOf"] = [*node.get("allOf", []), verdict_form(followed, document)]
            return


def _followed(tree: Any, name: str, values: frozenset[str]) -> Any:
    """`tree` (a dispatch on property `name`: `if`/`then`/`else` down to `$ref`s or true) as far
    as `values`, all the values the property can have, decide it; None when `tree` is not such
    a dispatch."""
    if tree is True or (isinstance(tree, Mapping) and set(tree) == {"$ref"}):
        return tree
    if not (isinstance(tree, Mapping) and "if" in tree and set(tree) <= {"if", "then", "else"} | ANNOTATIONS):
        return None
    asked = _asked_values(tree["if"], name)
    if asked is None:
        return None
    then, otherwise = tree.get("then", True), tree.get("else", True)
    if values <= asked:
        return _followed(then, name, values)
    if not values & asked:
        return _followed(otherwise, name, values)
    kept = _followed(then, name, values & asked), _followed(otherwise, name, values - asked)
    return None if None in kept else {"if": tree["if"], "then": kept[0], "else": kept[1]}


def _asked_values(condition: Any, name: str) -> frozenset[str] | None:
    """The values S when `condition` asks only that property `name` be one of S (and, beside
    it, what the referring schema already demands: an object with `name` present)."""
    if not isinstance(condition, Mapping) or not set(condition) <= {"type", "required", "properties"} | ANNOTATIONS:
        return None
    if condition.get("type", "object") != "object" or condition.get("required", [name]) != [name]:
        return None
    asked = condition.get("properties")
    if not (isinstance(asked, Mapping) and set(asked) == {name} and isinstance(rule := asked[name], Mapping)):
        return None
    values = _strings(rule)
    return frozenset(values) if values is not None and set(rule) <= {"enum", "const"} | ANNOTATIONS else None


def _resolve(document: Any, ref: str) -> Any:
    """The schema at the JSON Pointer `ref` (`#/...`) in `document`, or None (also for one in a
    resource of its own below, an `$id` on the way, where its references would mean another place)."""
    value = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
        if isinstance(value, Mapping) and "$id" in value:
            return None
    return value


def _annotates_only(schema: Any) -> bool:
    return schema is True or (isinstance(schema, Mapping) and all(key in ANNOTATIONS or key.startswith("x-") for key in schema))


def _implied(condition: Any, schema: dict[str, Any]) -> bool:
    """Whether every instance `schema`'s own `type`, `required` and `properties` accept is
    accepted by `condition`, told from the keywords alone (anything else: False)."""
    if not isinstance(condition, Mapping) or not set(condition) <= {"type", "required", "properties"} | ANNOTATIONS:
        return False
    if "type" in condition and condition["type"] != schema.get("type"):
        return False
    required = condition.get("required", [])
    if not (isinstance(required, list) and set(required) <= set(schema.get("required", []))):
        return False
    asked = condition.get("properties", {})
    given = schema.get("properties", {})
    if not (isinstance(asked, Mapping) and isinstance(given, Mapping)):
        return False
    return all(_values_within(given.get(name), rule) for name, rule in asked.items())


def _values_within(given: Any, asked: Any) -> bool:
    """Whether the string values `given` allows (its `enum` or `const`) are all among those
    `asked` allows; `asked` may say nothing else."""
    if not (isinstance(asked, Mapping) and isinstance(given, Mapping)):
        return False
    allowed = _strings(asked)
    return allowed is not None and set(asked) <= {"enum", "const"} | ANNOTATIONS and (values := _strings(given)) is not None and values <= allowed


def _strings(schema: Mapping[str, Any]) -> set[str] | None:
    """The values `schema`'s `enum` or `const` allows, when they are all strings (JSON equality
    is then Python's); None otherwise."""
    values = schema["enum"] if "enum" in schema else [schema["const"]] if "const" in schema else None
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        return None
    if "enum" in schema and "const" in schema:
        return None
    return set(values)
