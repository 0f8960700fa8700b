"""The generated code, the mapping language's one runtime: each node's meaning, written here as
the result it must give, on nodes compiled from mapping text; failures name the rule and where
its output goes; `$reverse` rules run as generated code too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import translator
from support import SHAPED_TIMES, outcome
from translator.mapping.codegen import generate, generate_rules
from translator.mapping.compiler import CompileState, compile_node
from translator.mapping.converters import Scope, converter
from translator.mapping.expressions import ExpressionError, begin_event, compile_expression
from translator.mapping.nodes import OMIT, Expr, MappingRuntimeError
from translator.mapping.yaml_lines import load_yaml

METADATA = {"event_name": "x_created", "user_id": "21070000000000001", "root_account_id": "21070000000000001"}
BODY = {"id": "7", "name": "n", "flag": False, "empty": "", "items": ["a"]}


def run(spec: Any, tmp_path: Path, metadata: dict[str, Any] = METADATA, body: dict[str, Any] = BODY) -> Any:
    """What the node compiled from `spec` (written as in a mapping file) gives on one event."""
    file = tmp_path / "spec.yaml"
    file.write_text(spec, encoding="utf-8")
    node = compile_node(load_yaml(file), CompileState(str(file), {}), 1)
    ctx = {"metadata": metadata, "body": body, "host": "canvas.example.edu", "shard": 2107, "vars": {}}
    return generate(node)(ctx, Scope(shard=2107))


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("text", "text"),  # a constant
        ("{$const: {a: 1}}", {"a": 1}),  # a constant object, not read as a template
        ("$body.name", "n"),  # a copy
        ("$body.missing", OMIT),  # a missing input contributes nothing
        ("{$copy: body.missing, $default: d}", "d"),  # unless it has a default
        ("$body.id | gid", "21070000000000007"),  # a converter: a local id lifted onto the shard
        ("'= body.name ~ \"!\"'", "n!"),  # an expression
        ("'= body.name if body.flag else none'", OMIT),  # an expression giving None gives nothing
        ("{a: $body.name, b: $body.missing}", {"a": "n"}),  # an object keeps what is there
        ("{a: $body.missing}", OMIT),  # and is nothing when nothing is
        ("{$when: $body.flag, a: x}", OMIT),  # a guard that is false,
        ("{$when: $body.empty, a: x}", OMIT),  # empty
        ("{$when: $body.missing, a: x}", OMIT),  # or missing drops the object
        ("{$when: $body.name, a: x}", {"a": "x"}),
        ("[$body.missing, $body.name, x]", ["n", "x"]),  # a list keeps what is there
        ("[$body.missing]", OMIT),
        ("{$first: [$body.missing, $body.name, x]}", "n"),  # the first alternative giving something
        ("{$first: [$body.missing]}", OMIT),
    ],
)
def test_each_node_gives_what_the_language_says(tmp_path: Path, spec: str, expected: Any) -> None:
    assert run(spec, tmp_path) == expected


def test_a_failing_converter_names_its_rule_and_output(tmp_path: Path) -> None:
    with pytest.raises(MappingRuntimeError) as caught:
        run("{object: {at: $body.name | time}}", tmp_path)
    assert caught.value.origin.startswith(str(tmp_path / "spec.yaml") + ":")
    assert (caught.value.output, caught.value.source) == (("object", "at"), "body.name")


def test_a_failing_expression_names_its_rule_and_output(tmp_path: Path) -> None:
    with pytest.raises(MappingRuntimeError, match="body.name - 1") as caught:
        run("{object: {n: '= body.name - 1'}}", tmp_path)
    assert caught.value.output == ("object", "n")


def test_a_reverse_rule_runs_as_generated_code(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(
        "canvas_event: x_created\norigin: custom\nevent:\n  type: Event\n  action: Created\n"
        "  object:\n    id: $body.id\n    type: Entity\n    name: '= body.name | upper'\n"
        "    $reverse:\n      body.name: '= event.object.name | lower'\n",
        encoding="utf-8",
    )  # fmt: skip
    custom = translator.Translator(mapping_dirs=[tmp_path])
    mapping = custom.mapping_for("x_created")
    assert mapping is not None and len(mapping.reverse_rules) == 1
    event = {"type": "Event", "action": "Created", "object": {"id": "7", "type": "Entity", "name": "NAME"}}
    assert mapping.restore(event, Scope())["body"] == {"id": "7", "name": "name"}
    with pytest.raises(MappingRuntimeError, match="event.object.name | lower") as caught:
        mapping.restore({**event, "object": {**event["object"], "name": 5}}, Scope())
    assert caught.value.origin.startswith(str(tmp_path / "m.yaml") + ":")


# -- $reverse rules read the event's lookups once (hoisted), with the same results and errors ---

HOISTED_RULES = [
    "event.object.extensions['com.instructure.canvas'].asset_type",
    "event.object.extensions['com.instructure.canvas'].asset_type if event.object.extensions is defined else 'none'",
    "event.object.id if event.object.id is string else None",
    "event.object.get('id')",
    "event.membership.roles[0] if event.membership is defined and event.membership.roles else None",
    "event.object.get if event.object is defined else None",
    "(event.object.name | upper) ~ '-' ~ (event.object.id | string)",
]
KEYS = ["object", "extensions", "com.instructure.canvas", "asset_type", "id", "name", "membership", "roles", "get", "keys"]
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["", "a", "urn:instructure:canvas:user:5", "x y"]))
EVENTS = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=4), max_leaves=12)


class _Mapping(dict):  # a dict subclass, which the hoisted lookups leave to the expression's own code
    pass


def _outcome(call: Any) -> Any:
    begin_event(None)
    try:
        return ("value", call())
    except (MappingRuntimeError, ExpressionError) as exc:
        return ("error", str(exc))


@settings(max_examples=400, deadline=None)
@given(event=st.dictionaries(st.sampled_from(KEYS), EVENTS, max_size=4), subclass=st.booleans())
def test_hoisted_reverse_rules_give_what_each_expression_gives_alone(event: dict[str, Any], subclass: bool) -> None:
    """The rules in one generated function (each lookup below `event` read once, at the top) give
    what each expression gives evaluated alone: its value at its field, or the first one's error."""
    if subclass and isinstance(event.get("object"), dict):
        event = {**event, "object": _Mapping(event["object"])}
    variables = {"event": event, "ids": "canvas", "shard": None, "vars": {}}
    alone = [_outcome(lambda text=text: compile_expression(text)(variables)) for text in HOISTED_RULES]
    rules = tuple((("body", f"f{n}"), Expr(text, compile_expression(text), f"rule{n}")) for n, text in enumerate(HOISTED_RULES))
    restore = generate_rules(rules, "hoisted", {}, {"_set": None, "_unreadable": lambda *args: None})
    restored: dict[str, Any] = {"metadata": {}, "body": {}}
    together = _outcome(lambda: restore(event, Scope(), restored, (), {}))
    failed = next((outcome for outcome in alone if outcome[0] == "error"), None)
    if failed is None:
        assert together == ("value", None)
        assert restored["body"] == {f"f{n}": value for n, (_, value) in enumerate(alone) if value is not None}
    else:
        assert together[0] == "error" and failed[1] in together[1]


# -- converters inline: the generated code gives what the converter gives, value or error --------

INLINED = ["gid", "urn:course", "urn:session", "time", "host_url"]
DIGITS = st.text(alphabet="0123456789", min_size=0, max_size=22)
CONVERTED = st.one_of(
    DIGITS, SHAPED_TIMES, st.integers(min_value=-(10**21), max_value=10**21), st.text(max_size=12),
    st.sampled_from(["canvas.example.edu", "urn:instructure:canvas:account:1", "a b", "\ufeffx", "0", "١٢٣", "0999-01-01T00:00:00Z"]),
    st.none(), st.floats(allow_nan=False), st.lists(st.integers(), max_size=2),
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(name=st.sampled_from(INLINED), value=CONVERTED, shard=st.sampled_from([None, 0, 7, 2107]))
def test_inlined_converters_give_what_the_converter_gives(name: str, value: Any, shard: Any) -> None:
    """`urn:<kind>`, `gid`, `time` and `host_url` run inline in the generated code for their
    common cases (a global id as written, a Caliper DateTime, a host seen before); every value
    gives what the converter itself gives: the same result, or a failure with its message."""
    node = compile_node({"at": f"$body.value | {name}"}, CompileState("spec.yaml", {}), 1)
    build = generate(node)
    ctx = {"metadata": {}, "body": {"value": value}, "host": None, "shard": shard, "vars": {}}
    scope = Scope(shard=shard)

    def built_at() -> Any:
        built = build(ctx, scope)
        return OMIT if built is OMIT else built["at"]

    for _ in range(2):  # the second time, a host is one seen before
        expected = outcome(converter(name).forward, value, scope, errors=(ValueError, TypeError)) if value is not None else ("value", OMIT)
        if expected[0] == "error":
            expected = ("error", f"{name} cannot convert {value!r}: {expected[1]}")
        assert outcome(built_at, errors=MappingRuntimeError) == expected
