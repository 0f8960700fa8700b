"""The load-time proof of output conformance (mapping/proof.py) and the fused path it serves.

With the proof (the default) and without it (`full_output_check=True`, the whole output always
checked) every input must get the same verdict, the same problems and byte for byte the same
output: over the whole corpus, the property suite's variants, and inputs mutated to values the
input schemas accept but a careless proof could let through. The converters' promises the proof
relies on are property-tested here too.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import translator
from corpus import canvas_examples, leaves
from support import satisfies, variants
from translator.errors import TranslatorError
from translator.io.jsontext import compact
from translator.formats.canvas import _about_event_name, canvas_event_names, input_schemas
from translator.mapping.converters import Scope, converter
from translator.mapping.proof import Facts, converter_facts, prove_forward
from translator.schema_store import schema_store

PROVEN = translator.Translator()
PARANOID = translator.Translator(full_output_check=True)


def outcome(t: translator.Translator, payload: Any) -> tuple[str, Any]:
    """What `translate` does with `payload`: the output's bytes, or the error and its problems."""
    try:
        return "ok", compact(t.translate(payload, "caliper", send_time="2024-05-01T10:00:00.000Z"))
    except TranslatorError as exc:
        return type(exc).__name__, [(p.path, p.rule, p.message, p.severity) for p in getattr(exc, "problems", [])] or str(exc)


def assert_same(payload: Any) -> tuple[str, Any]:
    proven, paranoid = outcome(PROVEN, payload), outcome(PARANOID, payload)
    assert proven == paranoid
    return proven


def proofs() -> dict[str, Any]:
    store = schema_store()
    found = {}
    for name in sorted(canvas_event_names()):
        mapping = PROVEN.mapping_for(name)
        assert mapping is not None
        found[name] = prove_forward(mapping.template, mapping.vars, input_schemas(name), store)[0]
    return found


def test_every_shipped_event_type_is_proven_and_asset_accessed_needs_no_check_at_run_time() -> None:
    found = proofs()
    assert [name for name, proof in found.items() if not proof.proven] == []
    assert found["asset_accessed"].checks == {}


@pytest.mark.parametrize(
    ("condition", "decided"),
    [
        ({"required": ["event_name"], "properties": {"event_name": {"enum": ["logged_in"]}}}, True),
        ({"properties": {"event_name": {"const": "x"}}, "description": "d"}, True),
        ({"required": ["job_id"]}, False),  # decided by the event, not its type: neither branch always applies
        ({"properties": {"event_name": {"const": "x"}, "user_id": {"type": "null"}}}, False),
        ({"not": {"required": ["event_name"]}}, False),
        (None, False),
    ],
)
def test_only_metadata_rules_on_the_event_name_alone_are_taken_as_the_types(condition: Any, decided: bool) -> None:
    assert _about_event_name(condition) is decided


def test_a_session_event_is_proven_by_the_metadata_rule_that_requires_its_user() -> None:
    # A Canvas SessionEvent needs a Person: logged_in without a user would give a Canvas actor,
    # which the schema refuses. The metadata schema requires user_id of session events (an
    # if/then rule); without that rule the proof must not hold (such an event is rejected, see below).
    mapping = PROVEN.mapping_for("logged_in")
    inputs = input_schemas("logged_in")
    assert len(inputs["metadata"]) == 2 and inputs["metadata"][1].endswith("/then")
    assert prove_forward(mapping.template, mapping.vars, inputs, schema_store())[0].proven
    without = {**inputs, "metadata": inputs["metadata"][:1]}
    proof = prove_forward(mapping.template, mapping.vars, without, schema_store())[0]
    assert not proof.proven and "SoftwareApplication" in proof.reason


@pytest.mark.parametrize("example", canvas_examples(), ids=lambda e: e.label)
def test_every_corpus_example_gets_the_same_outcome_in_both_modes(example: Any) -> None:
    assert_same(example.payload)


def test_the_batch_path_gives_the_same_results_in_both_modes() -> None:
    payloads = [example.payload for example in canvas_examples()]
    proven = list(translator.convert_stream(payloads, "caliper"))
    paranoid = list(translator.convert_stream(payloads, "caliper", full_output_check=True))
    assert [(r.ok, r.reason, r.problems, r.output) for r in proven] == [(r.ok, r.reason, r.problems, r.output) for r in paranoid]
    assert sum(r.ok for r in proven) > 100


def test_a_login_without_a_user_is_rejected_as_input_in_both_modes() -> None:
    [example] = [e for e in canvas_examples() if e.event_type == "logged_in"][:1]
    payload = copy.deepcopy(example.payload)
    payload["metadata"].pop("user_id", None)
    verdict, problems = assert_same(payload)
    assert verdict == "ValidationError" and ("/metadata", "required") in [(path, rule) for path, rule, *_ in problems]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=variants())
def test_every_variant_gets_the_same_outcome_in_both_modes(payload: dict[str, Any]) -> None:
    assert assert_same(payload)[0] == "ok"


# Values a field may well take that stress the places where input and output schemas differ:
# digits where letters are expected, colons and slashes in URN segments, whitespace, Unicode
# digits, the edges of lengths, numbers in strings' places, old years.
AWKWARD = [
    "", "a b", "abc1", "x:y/z", "١٢٣", "123456789012345678901", "0999-01-01T00:00:00.000Z",
    "2020-01-01 10:00:00 -0800", "http://a b", "Learner", "a" * 256, -5, 10**25, None,
]  # fmt: skip


def _set(payload: dict[str, Any], pointer: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    target: Any = changed
    for part in parts[:-1]:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        target[int(parts[-1])] = value
    else:
        target[parts[-1]] = value
    return changed


EXAMPLES = {example.label: example for example in canvas_examples()}


@pytest.mark.parametrize("label", sorted(EXAMPLES))
def test_mutated_inputs_get_the_same_outcome_in_both_modes(label: str) -> None:
    """Up to 12 leaves of every example (spread over it), each set to each awkward value in turn."""
    example = EXAMPLES[label]
    pointers = [p for p in leaves(example.payload) if p.startswith(("/metadata", "/body")) and p != "/metadata/event_name"]
    converted = 0
    for pointer in pointers[:: max(1, len(pointers) // 12)]:
        for value in AWKWARD:
            converted += assert_same(_set(example.payload, pointer, value))[0] == "ok"
    assert converted or label in ("course_updated[0]", "user_updated[0]", "grade_override[0]")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    example=st.sampled_from(canvas_examples()),
    data=st.data(),
    value=st.one_of(st.text(max_size=40), st.integers(), st.from_regex(r"\A[0-9A-Za-z:/._ -]{0,30}\Z"), st.none()),
)
def test_random_leaf_values_get_the_same_outcome_in_both_modes(example: Any, data: st.DataObject, value: Any) -> None:
    pointers = [p for p in leaves(example.payload) if p.startswith(("/metadata", "/body")) and p != "/metadata/event_name"]
    assert_same(_set(example.payload, data.draw(st.sampled_from(pointers)), value))


# -- the converters' promises ---------------------------------------------------------------
def _assert_promise(facts: Facts, value: Any) -> None:
    store = schema_store()
    if facts.types is not None:
        assert {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}.get(type(value).__name__) in facts.types
    for location in facts.locations:
        assert store.compiled(location).fast.is_valid(value), (location, value)
    for pattern in facts.patterns:
        assert store.compiled(f"pattern:{pattern}", {"pattern": pattern}).fast.is_valid(value), (pattern, value)
    assert facts.enum is None or value in facts.enum
    assert isinstance(value, str) and value.startswith(facts.prefix)
    assert facts.max_length is None or len(value) <= facts.max_length
    assert len(value) >= facts.min_length


ID_INPUT = Facts(frozenset({"string"}), patterns=frozenset({"^[0-9]{1,20}$"}))
TOKEN_INPUT = Facts(frozenset({"string", "integer"}), patterns=frozenset({"^[0-9A-Za-z-]{1,128}$"}))
canvas_ids = st.from_regex(r"\A[0-9]{1,20}\Z")
shards = st.one_of(st.none(), st.integers(min_value=1, max_value=9_999_999))


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(canvas_ids, st.integers(), st.from_regex(r"\A[0-9A-Za-z-]{1,128}\Z")), shard=shards,
       kind=st.sampled_from(["course", "user", "wikiPage", "lti/tool_proxy", "quizzes:quiz"]))  # fmt: skip
def test_urn_results_are_canvas_urns(value: Any, shard: int | None, kind: str) -> None:
    facts = converter_facts(f"urn:{kind}", TOKEN_INPUT)
    if kind == "quizzes:quiz":  # not a URN kind the proof knows: no promise
        assert facts is None
        return
    assert facts is not None
    _assert_promise(facts, converter(f"urn:{kind}").forward(value, Scope(shard=shard)))


@settings(max_examples=300, deadline=None)
@given(value=canvas_ids, shard=shards)
def test_gid_results_are_canvas_ids(value: str, shard: int | None) -> None:
    facts = converter_facts("gid", ID_INPUT)
    assert facts is not None
    _assert_promise(facts, converter("gid").forward(value, Scope(shard=shard)))


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(
    st.text(max_size=40),
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})? ?(Z|[+-][0-9]{2}:?[0-9]{2})\Z"),
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
))  # fmt: skip
def test_time_results_are_caliper_times_or_the_mapping_fails(value: str) -> None:
    facts = converter_facts("time", Facts())
    assert facts is not None
    try:
        result = converter("time").forward(value, Scope())
    except (ValueError, TypeError, OverflowError):
        return
    _assert_promise(facts, result)


@settings(max_examples=300, deadline=None)
@given(host=st.one_of(st.text(max_size=30), st.from_regex(r"\A[a-z0-9.-]{1,30}(:[0-9]{1,5})?\Z")))
@example(host="\ufeff")  # whitespace to JSON Schema (ECMAScript's \s), not to Python's
def test_host_url_results_are_iris_or_the_mapping_fails(host: str) -> None:
    facts = converter_facts("host_url", Facts())
    assert facts is not None
    try:
        result = converter("host_url").forward(host, Scope())
    except ValueError:
        assert not host or any(c.isspace() or c == "\ufeff" for c in host)
        return
    _assert_promise(facts, result)


@pytest.mark.parametrize("role", ["StudentEnrollment", "TeacherEnrollment", "TaEnrollment", "DesignerEnrollment", "ObserverEnrollment", "AccountAdmin"])
def test_role_results_are_among_the_promised_roles(role: str) -> None:
    facts = converter_facts("role", Facts())
    assert facts is not None and facts.enum is not None
    _assert_promise(facts, converter("role").forward(role, Scope()))


def test_a_user_mapping_that_cannot_be_proven_keeps_the_full_check(tmp_path: Any) -> None:
    (tmp_path / "logged_in.yaml").write_text(
        "canvas_event: logged_in\norigin: custom\ndescription: a login whose object is computed\n"
        "event:\n  $include: event\n  type: SessionEvent\n  action: LoggedIn\n"
        "  object: \"= {'id': 'not an iri', 'type': 'SoftwareApplication'}\"\n",
        encoding="utf-8",
    )
    proven, paranoid = translator.Translator([tmp_path]), translator.Translator([tmp_path], full_output_check=True)
    [example] = [e for e in canvas_examples() if e.event_type == "logged_in"][:1]
    plan = proven.plan_of(example.payload)
    assert plan is not None and not plan.proof.proven
    assert outcome(proven, example.payload) == outcome(paranoid, example.payload)
    assert outcome(proven, example.payload)[0] == "ValidationError"


def test_the_plan_is_only_for_documented_event_types() -> None:
    assert PROVEN.plan_of({"metadata": {"event_name": "not_a_canvas_event"}, "body": {}}) is None
    assert PROVEN.plan_of({"metadata": [], "body": {}}) is None
    assert json.dumps(sorted(PROVEN._plans)) == json.dumps(sorted(set(PROVEN._plans) & canvas_event_names()))


def test_narrowing_by_type_and_action_picks_what_trying_every_mapping_picks() -> None:
    from corpus import caliper_examples

    catalog = PROVEN.catalog
    events = [e for example in caliper_examples() for e in (example.payload.get("data") or [example.payload])]
    events += [PROVEN.translate(example.payload, "caliper")["data"][0] for example in canvas_examples() if outcome(PROVEN, example.payload)[0] == "ok"]
    events += [{**events[0], "type": 5}, {**events[0], "action": {"a": 1}}, {"type": "MediaEvent", "action": "Paused"}, {}]
    assert len(events) > 150
    for event in events:
        for canvas in (True, False):
            everything = [m for m in (catalog._reverse if canvas else catalog._reverse_custom) if satisfies(event, m.constraints)]
            narrowed = [m for m in catalog._candidates(event.get("type"), event.get("action"), canvas) if satisfies(event, m.constraints)]
            assert narrowed == everything
