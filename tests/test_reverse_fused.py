"""The fused Caliper -> Canvas path (translator/reverse.py) against the full one.

With the fused path (the default) and without it (`accepted` answering None, so every event
takes the full check, dispatch and output check) every Caliper payload must get the same
verdict, the same problems, the same warnings and byte for byte the same output, from
`translate`, from the accept-path check (`Translator.problems`, with its dispatch) and from the
stream: over the Caliper form of the whole corpus, Canvas's own Caliper examples, the Caliper
negative suites, and Caliper mutated at its leaves (awkward values, NaN, removed keys).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import translator
import translator.engine as engine
from corpus import CALIPER_SPEC, caliper_examples, canvas_examples, leaves
from negatives import CANVAS_NEGATIVE, NEGATIVE_CANVAS, NEGATIVE_IMS, broken_canvas_event, caliper_base, mutate
from support import AWKWARD, REMOVED, SEND_TIME, caliper_forms, set_at, variants
from translator.errors import TranslatorError
from translator.io.jsontext import compact, non_finite, surely_finite
from translator.reverse import accepted, output_conforms
from translator.validation import conforms

T = translator.Translator()


@contextmanager
def full_path() -> Iterator[None]:
    """Every check, dispatch and conversion the full way, as before the fused path."""
    fused = engine.accepted
    engine.accepted = lambda *args, **kwargs: None
    try:
        yield
    finally:
        engine.accepted = fused


def outcome(payload: Any, ids: str = "canvas") -> tuple[Any, ...]:
    """What `translate` to Canvas does with `payload` (output bytes, or the error and its
    problems, and every warning), and what the accept-path check says of it and dispatches."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            done: Any = ("ok", compact(T.translate(copy.deepcopy(payload), "canvas", ids=ids)))  # type: ignore[arg-type]
        except TranslatorError as exc:
            done = (type(exc).__name__, str(exc), [(p.path, p.rule, p.message, p.severity) for p in getattr(exc, "problems", [])])
    dispatched: dict[str, Any] = {}
    try:
        checked: Any = T.problems(copy.deepcopy(payload), "caliper", dispatched=dispatched)
    except Exception as exc:  # noqa: BLE001 - whatever it is, both paths must raise it
        checked = (type(exc).__name__, str(exc))
    return done, [(str(w.message), w.filename, w.lineno) for w in caught], checked, {k: m.canvas_event for k, m in dispatched.items()}


def assert_same(payload: Any, ids: str = "canvas") -> tuple[Any, ...]:
    fused = outcome(payload, ids)
    with full_path():
        full = outcome(payload, ids)
    assert fused == full
    return fused


CALIPER_FORMS = caliper_forms()


def caliper_payloads() -> Iterator[Any]:
    """Our Caliper forms of the corpus, Canvas's own Caliper examples, the spec's, and both negative suites."""
    yield from CALIPER_FORMS
    for example in caliper_examples():
        yield example.payload
    for path in sorted(CALIPER_SPEC.glob("*.json")):
        yield translator.io.jsontext.loads(path.read_text(encoding="utf-8"))
    for table in (NEGATIVE_IMS, NEGATIVE_CANVAS):
        for _id, base, ops, _path, _rule in table:
            yield mutate(caliper_base(base), *ops)


def test_the_caliper_form_of_every_conforming_corpus_event_takes_the_fused_path() -> None:
    taken = [accepted(payload, T.catalog, T.custom_events) is not None for payload in CALIPER_FORMS]
    assert len(taken) > 100 and all(taken)


def test_every_caliper_payload_of_the_corpus_gets_the_same_outcome_both_ways() -> None:
    verdicts = [assert_same(payload)[0][0] for payload in caliper_payloads()]
    assert verdicts.count("ok") > 100 and len(set(verdicts)) > 1


@pytest.mark.parametrize("ids", ["global", "local"])
def test_other_id_styles_get_the_same_outcome_both_ways(ids: str) -> None:
    for payload in CALIPER_FORMS:
        assert assert_same(payload, ids)[0][0] == "ok"


def test_the_stream_gives_the_same_results_both_ways() -> None:
    payloads = list(caliper_payloads())
    fused = list(translator.convert_stream(copy.deepcopy(payloads), "canvas"))
    with full_path():
        full = list(translator.convert_stream(copy.deepcopy(payloads), "canvas"))
    assert [(r.ok, r.reason, r.problems, r.output) for r in fused] == [(r.ok, r.reason, r.problems, r.output) for r in full]
    assert sum(r.ok for r in fused) > 100


@pytest.mark.parametrize("index", range(0, len(CALIPER_FORMS), 5))
def test_mutated_caliper_gets_the_same_outcome_both_ways(index: int) -> None:
    """Up to 6 leaves of every fifth Caliper form (spread over it, starting at a different one
    each), each set to each awkward value, or removed."""
    payload = CALIPER_FORMS[index]
    pointers = list(leaves(payload))
    for pointer in pointers[index % 3 :: max(1, len(pointers) // 6)]:
        for value in [*AWKWARD, REMOVED]:
            assert_same(set_at(payload, pointer, value))


def test_caliper_without_what_a_required_field_is_restored_from_gets_the_same_outcome_both_ways() -> None:
    """Each place a required Canvas field is restored from, removed or given a value that does
    not convert back: the `canvas-required` check, fused and full."""
    rules: set[str] = set()
    for payload in CALIPER_FORMS:
        mapping = T.catalog.reverse(payload["data"][0])
        assert mapping is not None
        for _field, sources in mapping.required_sources:
            for at, _copy, _optional in sources:
                pointer = "/data/0/" + "/".join(map(str, at))
                if pointer in leaves(payload):
                    for value in (REMOVED, "x y", 7):
                        checked = assert_same(set_at(payload, pointer, value))[2]
                        if isinstance(checked, list):
                            rules.update(p.rule for p in checked)
    assert "canvas-required" in rules


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), value=st.one_of(st.text(max_size=30), st.integers(), st.floats(), st.none(), st.sampled_from(AWKWARD)))
def test_random_leaf_values_get_the_same_outcome_both_ways(data: st.DataObject, value: Any) -> None:
    payload = data.draw(st.sampled_from(CALIPER_FORMS))
    assert_same(set_at(payload, data.draw(st.sampled_from(sorted(leaves(payload)))), value))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=variants())
def test_every_variant_gets_the_same_outcome_both_ways(payload: dict[str, Any]) -> None:
    assert assert_same(T.translate(payload, "caliper", send_time=SEND_TIME))[0][0] == "ok"


def test_shapes_the_fused_path_leaves_to_the_full_one_get_the_same_outcome() -> None:
    """Two events in one Envelope, a bare event, an entity given as an IRI (a warning), strict."""
    first, second = CALIPER_FORMS[0], CALIPER_FORMS[1]
    two = {**first, "data": [first["data"][0], second["data"][0]]}
    iri = set_at(first, "/data/0/object", first["data"][0]["object"]["id"])
    for payload in (two, first["data"][0], iri):
        assert accepted(payload, T.catalog, T.custom_events) is None
        assert_same(payload)
    strict = translator.Translator(strict=True)
    unknown = set_at(first, "/data/0/object/extensions/com.instructure.canvas/not_documented", 1)  # an error only when strict
    fused = [strict.problems(payload, "caliper") for payload in (first, unknown)]
    with full_path():
        assert fused == [strict.problems(payload, "caliper") for payload in (first, unknown)]
    assert not conforms(fused[1])


def test_the_fused_output_check_gives_the_full_verdict() -> None:
    """`output_conforms` of a Canvas event is the accept-path verdict of the output check."""
    payloads = [example.payload for example in canvas_examples()]
    payloads += [broken_canvas_event(base, pointer, value) for _name, base, pointer, value, _path, _rule in CANVAS_NEGATIVE]
    checked = [payload for payload in payloads if isinstance(payload, dict)]
    verdicts = [output_conforms(payload) for payload in checked]
    assert verdicts == [conforms(T.problems(payload, "canvas", output=True)) for payload in checked]
    assert any(verdicts) and not all(verdicts)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=4), inner, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(value=json_values)
def test_surely_finite_is_never_wrong(value: Any) -> None:
    if surely_finite(value):
        assert non_finite(value) is None
