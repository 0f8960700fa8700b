"""A batch takes its common record whole by the translator's fused paths (`Phases._fused`,
`Translator.convert_fused`), and every other record by the three phases. Both ways, every record
of both directions must get the same result (output byte for byte, reason, problems, event type)
and add the same drift: over the whole corpus, the negative suites, Canvas's own Caliper, our
Caliper forms of the corpus, and those forms and events mutated at their leaves."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import translator
from corpus import caliper_examples, canvas_examples, leaves
from negatives import CANVAS_NEGATIVE, NEGATIVE_CANVAS, broken_canvas_event, caliper_base, mutate
from support import AWKWARD, REMOVED, caliper_forms, set_at
from translator.batch.phases import Phases
from translator.io.jsontext import compact
from translator.mapping.loading import CompiledMapping
from translator.options import ConvertOptions
from translator.validation import conforms

T = translator.Translator()


@contextmanager
def phased_only() -> Iterator[None]:
    """Every record through the three phases, as before the fused path."""
    fused = Phases._fused
    Phases._fused = lambda self, record, item, drift: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        Phases._fused = fused  # type: ignore[method-assign]


def results(payloads: list[Any], to: str, **options: Any) -> tuple[list[tuple[Any, ...]], dict[str, Any], int]:
    """Each record's result, the drift of them all, and how many records the fused path took."""
    phases = Phases(ConvertOptions(to=to, **options), None if options else T)  # type: ignore[arg-type]
    taken = [0]
    fused = phases._fused

    def counting(record: Any, item: Any, drift: Any) -> Any:
        found = fused(record, item, drift)
        taken[0] += found is not None
        return found

    phases._fused = counting  # type: ignore[method-assign]
    block = phases.block(translator.batch.units.as_units(copy.deepcopy(payloads)))
    every = list(phases.results(translator.batch.units.as_units(copy.deepcopy(payloads))))
    done = [(r.source, r.reason, r.event_type, [(p.path, p.rule, p.message, p.severity) for p in r.problems], compact(r.output) if r.output else None) for r in every]
    return done, {"encoded": block.encoded, "converted": dict(block.converted), "drift": block.drift.as_dict()}, taken[0]


def assert_same(payloads: list[Any], to: str, **options: Any) -> int:
    fused, fused_block, taken = results(payloads, to, **options)
    with phased_only():
        phased, phased_block, none = results(payloads, to, **options)
    assert none == 0
    assert fused == phased
    assert fused_block == phased_block
    return taken


def canvas_payloads() -> list[Any]:
    found = [example.payload for example in canvas_examples()]
    found += [broken_canvas_event(base, pointer, value) for _name, base, pointer, value, _path, _rule in CANVAS_NEGATIVE]
    return found


def _generic_forms() -> list[Any]:
    """The generic Caliper of Canvas events of types no schema knows (a warning on the way back)."""
    found = []
    for n, example in enumerate(canvas_examples()[:20]):
        unknown = copy.deepcopy(example.payload)
        unknown["metadata"]["event_name"] = f"not_documented_{n}"
        found.append(T.translate(unknown, "caliper"))
    return found


def caliper_payloads() -> list[Any]:
    found = [*caliper_forms(), *_generic_forms(), *(example.payload for example in caliper_examples())]
    found += [mutate(caliper_base(base), *ops) for _id, base, ops, _path, _rule in NEGATIVE_CANVAS]
    return found


def test_canvas_events_get_the_same_results_and_drift_both_ways() -> None:
    assert assert_same(canvas_payloads(), "caliper") > 100


def test_caliper_gets_the_same_results_and_drift_both_ways() -> None:
    assert assert_same(caliper_payloads(), "canvas") > 100


@pytest.mark.parametrize("options", [{"send_time": "2024-05-01T10:00:00.000Z"}, {"ids": "global"}, {"full_output_check": True}, {"strict": True}])
def test_options_get_the_same_results_both_ways(options: dict[str, Any]) -> None:
    assert_same(canvas_payloads()[:150], "caliper", **options)
    assert_same(caliper_payloads()[:150], "canvas", **options)


def test_records_each_side_leaves_alone_pass_through_both_ways() -> None:
    """Caliper asked for as Caliper and Canvas as Canvas: no conversion, the same results."""
    assert assert_same(canvas_payloads()[:50], "canvas") == 0
    assert assert_same(caliper_payloads()[:50], "caliper") == 0


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), value=st.one_of(st.sampled_from([*AWKWARD, REMOVED]), st.text(max_size=20), st.integers()))
def test_events_mutated_at_a_leaf_get_the_same_results_both_ways(data: st.DataObject, value: Any) -> None:
    to = data.draw(st.sampled_from(["caliper", "canvas"]))
    payload = data.draw(st.sampled_from(canvas_payloads()[:300] if to == "caliper" else caliper_forms()))
    changed = set_at(payload, data.draw(st.sampled_from(sorted(leaves(payload)))), value)
    assert_same([payload, changed], to)


FAILING = """canvas_event: logged_in
origin: documented
description: logged_in, with a field no event has, so its mapping fails both ways.
event:
  $include: event
  type: SessionEvent
  action: LoggedIn
  object:
    $include: ed_app
    extensions:
      com.instructure.canvas:
        missing: "= body.no_such_field.deeper"
  $reverse:
    body.missing: "= event.no_such_field.deeper"
"""


def test_a_mapping_that_fails_gets_the_same_reject_both_ways_and_runs_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's mapping of a shipped type (its events take the fused paths) that fails at run
    time: the conversion's reject, the same both ways, the mapping run once a record (a slow one
    spends its budget once)."""
    (tmp_path / "logged_in.yaml").write_text(FAILING, encoding="utf-8")
    canvas = [e.payload for e in canvas_examples() if e.event_type == "logged_in"]
    caliper = [T.translate(p, "caliper") for p in canvas if conforms(translator.validate(p))]
    runs = [0]
    for method in ("build", "restore"):
        original = getattr(CompiledMapping, method)

        def counted(self: CompiledMapping, *args: Any, _original: Any = original) -> Any:
            runs[0] += 1
            return _original(self, *args)

        monkeypatch.setattr(CompiledMapping, method, counted)
    for payloads, to in ((canvas, "caliper"), (caliper, "canvas")):
        assert payloads
        runs[0] = 0
        fused, _, _ = results(payloads, to, mapping_dirs=(str(tmp_path),))
        assert runs[0] == 2 * len(payloads)  # `results` converts each record twice: a block, then a stream
        assert {reason for _, reason, *_ in fused} == {"mapping-failed"}
        assert_same(payloads, to, mapping_dirs=(str(tmp_path),))
    runs[0] = 0
    custom = translator.Translator(mapping_dirs=[tmp_path])
    with pytest.raises(translator.ValidationError) as fused_error:
        custom.translate(caliper[0], "canvas")
    monkeypatch.setattr(translator.engine, "accepted", lambda *args, **kwargs: None)  # the full path alone
    with pytest.raises(translator.ValidationError) as full_error:
        custom.translate(caliper[0], "canvas")
    assert (str(fused_error.value), fused_error.value.problems) == (str(full_error.value), full_error.value.problems)
    assert runs[0] == 2  # translate's fused path ran the mapping once, the full path once
