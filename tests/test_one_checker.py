"""`validate` and `convert` give every record the same verdict and the same label (issue 16).

The same records (documented Canvas and Caliper examples, the example events, random JSON, and
each of them mutated) go to the check `translator validate` makes and to `convert_stream`, in both
directions, with and without a user mapping directory. A record `validate` fails is rejected by
`convert` with the reason that names its rules; a record it passes converts, unless the direction
itself has no form for it (`unsupported-event`: another tool's Caliper without a user mapping).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from corpus import CALIPER_SPEC, caliper_examples, canvas_examples, paths
from support import cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import translator
from translator.batch import ConvertResult, convert_stream, input_reason
from translator.cli import _checked
from translator.io.unwrap import Item, unwrap
from translator.validation import conforms

ROOT = Path(__file__).resolve().parents[1]
MAPPINGS = ROOT / "examples" / "mappings"
LECTURE = ROOT / "examples" / "events" / "lecture-capture-caliper.json"

# Rejected before or regardless of the input check, for a reason of the direction, not the record.
DIRECTION_REASONS = {"unsupported-event"}


@cache
def engine(mappings: bool, strict: bool) -> translator.Translator:
    return translator.Translator([MAPPINGS] if mappings else [], strict=strict)


@cache
def seeds() -> tuple[Any, ...]:
    documented = [e.payload for e in canvas_examples()] + [e.payload for e in caliper_examples()]
    ours = [translator.translate(e.payload, to="caliper") for e in canvas_examples() if conforms(translator.validate(e.payload))][:40]
    fixtures = [json.loads(f.read_text(encoding="utf-8")) for f in sorted(CALIPER_SPEC.glob("caliperEvent*.json"))]
    return (*documented, *ours, *fixtures, json.loads(LECTURE.read_text(encoding="utf-8")))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
KEYS = st.sampled_from(["metadata", "body", "user_id", "hostname", "event_name", "event_time", "data", "actor", "type", "action", "object", "id", "eventTime"])


@st.composite
def records(draw: st.DrawFn) -> Any:
    """A seed or random JSON, then up to three mutations: a value replaced, a key dropped or added."""
    if draw(st.integers(0, 9)) == 0:
        return draw(JSON)
    record = copy.deepcopy(draw(st.sampled_from(seeds())))
    for _ in range(draw(st.integers(0, 3))):
        places = paths(record)
        place = draw(st.sampled_from(places))
        if not place:
            continue
        *parent_path, last = place
        parent = record
        for key in parent_path:
            parent = parent[key]
        how = draw(st.sampled_from(["replace", "drop", "add"]))
        if how == "replace":
            parent[last] = draw(JSON)
        elif how == "drop" and isinstance(parent, dict):
            del parent[last]
        elif how == "add" and isinstance(parent, dict):
            parent[draw(KEYS)] = draw(JSON)
    return record


def verdicts(record: Any, to: str, mappings: bool, strict: bool) -> list[str]:
    """The outcome both commands agree on, per event the record holds (an Envelope of several is
    one record per event in both): ``converted``, the reject reason, or the direction's."""
    t = engine(mappings, strict)
    items = list(unwrap(record, None))
    results = list(convert_stream([record], to, translator=t, strict=strict))
    assert [item.suffix for item in items] == [result.source[2:] for result in results]  # sources "#0..."
    return [_verdict(item, result, t) for item, result in zip(items, results, strict=True)]


def _verdict(item: Item, result: ConvertResult, t: translator.Translator) -> str:
    _, problems = _checked(item, None, None, t)  # what `translator validate` checks
    errors = sorted((p.path, p.rule) for p in problems if p.is_error)
    if result.reason in DIRECTION_REASONS:
        return result.reason
    if errors:
        assert not result.ok, (item.payload, errors)
        assert result.reason == (errors[0][1] if errors[0][1] in ("not-an-object", "unknown-format") else input_reason(problems))
        assert sorted((p.path, p.rule) for p in result.problems if p.is_error) == errors
        return result.reason
    assert result.ok, (item.payload, result.reason, [str(p) for p in result.problems])
    return "converted"


@pytest.mark.parametrize("mappings", [False, True], ids=["shipped", "user-mappings"])
@pytest.mark.parametrize("to", ["caliper", "canvas"])
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(record=records(), strict=st.booleans())
def test_validate_and_convert_agree_on_every_record(to: str, mappings: bool, record: Any, strict: bool) -> None:
    verdicts(record, to, mappings, strict)


@pytest.mark.parametrize("mappings", [False, True], ids=["shipped", "user-mappings"])
@pytest.mark.parametrize("to", ["caliper", "canvas"])
def test_validate_and_convert_agree_on_every_seed(to: str, mappings: bool) -> None:
    outcomes = {outcome for record in seeds() for outcome in verdicts(record, to, mappings, strict=False)}
    assert {"converted", "invalid-input"} <= outcomes  # the seeds include documented examples that do not conform
    assert ("unsupported-event" in outcomes) == (to == "canvas")  # the 1.1 fixtures are another tool's events


@pytest.mark.parametrize("record", [[1, 2, 3], "text", 42, None, {"hello": "world"}], ids=repr)
def test_a_record_that_is_no_event_has_one_label_in_both_commands(record: Any) -> None:
    [problem] = translator.validate(record)
    [result] = convert_stream([record])
    assert result.reason == problem.rule == ("unknown-format" if isinstance(record, dict) else "not-an-object")
    assert result.problems == [problem] and problem.value == json.dumps(record)


def test_a_session_event_without_a_user_is_invalid_input_in_both_commands() -> None:
    for name in ("logged_in", "logged_out"):
        event = copy.deepcopy(next(e.payload for e in canvas_examples() if e.event_type == name))
        del event["metadata"]["user_id"]
        problems = [(p.path, p.rule) for p in translator.validate(event) if p.is_error]
        [result] = convert_stream([event])
        assert problems == [("/metadata", "required")]
        assert (result.reason, [(p.path, p.rule) for p in result.problems if p.is_error]) == ("invalid-input", problems)


def test_the_readme_user_mapping_round_trip_works_as_written(tmp_path: Path) -> None:
    """Lecture capture Caliper -> Canvas with --mappings, validated with --mappings, back to Caliper."""
    canvas, back = tmp_path / "canvas.jsonl", tmp_path / "back.jsonl"
    assert cli("convert", "--to", "canvas", "--mappings", str(MAPPINGS), "-o", str(canvas), str(LECTURE))[0] == 0
    code, out, _ = cli("validate", "--mappings", str(MAPPINGS), str(canvas))
    assert (code, out.splitlines()[-1]) == (0, "1 record: 1 conform, 0 do not (0 errors, 0 warnings)")
    assert cli("convert", "--to", "caliper", "--mappings", str(MAPPINGS), "-o", str(back), str(canvas))[0] == 0
    original = json.loads(LECTURE.read_text(encoding="utf-8"))
    [envelope] = [json.loads(line) for line in back.read_text(encoding="utf-8").splitlines()]
    first = original["data"][0] if "data" in original else original
    [event] = envelope["data"]
    assert {k: event[k] for k in ("type", "action", "actor", "eventTime")} == {k: first[k] for k in ("type", "action", "actor", "eventTime")}


def _dropped(record: Any, places: Any) -> Any:
    """`record` (an Envelope of one event) without the values at `places` in its event."""
    record = copy.deepcopy(record)
    for at in places:
        parent = record["data"][0]
        for key in at[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if isinstance(parent, dict):
            parent.pop(at[-1], None)
    return record


@cache
def restorable_cases() -> tuple[tuple[str, Any, Any], ...]:
    """(label, Canvas's Caliper event, places dropped) for every shipped mapping and each required
    Canvas field it restores from plain copies: all its places dropped, and each one alone."""
    t = engine(False, False)
    cases = []
    for mapping in t.catalog.by_event.values():
        events = [translator.translate(e.payload, to="caliper") for e in canvas_examples() if e.event_type == mapping.canvas_event and conforms(translator.validate(e.payload))]
        events += [e.payload for e in caliper_examples() if e.event_type == mapping.canvas_event and conforms(translator.validate(e.payload))]
        for event in events[:3]:
            for field, sources in mapping.required_sources:
                label = f"{mapping.canvas_event}:{'.'.join(field)}"
                places = tuple(at for at, _, _ in sources)
                cases.append((label, event, places))
                cases += [(f"{label}:{'/'.join(map(str, at))}", event, (at,)) for at in places if len(places) > 1]
    return tuple(cases)


def test_every_required_canvas_field_is_checked_on_the_way_in() -> None:
    """Canvas's Caliper without what a required Canvas field is restored from: validate and
    convert --to canvas give the same verdict and label, for every shipped mapping."""
    outcomes: dict[str, set[str]] = {}
    for label, event, places in restorable_cases():
        record = _dropped(event, places)
        for to in ("canvas", "caliper"):
            outcomes.setdefault(label, set()).update(verdicts(record, to, mappings=False, strict=False))
    assert outcomes  # every documented mapping restores some required field from a copy
    assert {label for label, seen in outcomes.items() if seen == {"invalid-input"}} >= {"quiz_submitted:body.quiz_id"}


WRONG_VALUES = ("urn:instructure:canvas:course:5", "urn:instructure:canvas:quiz:abc", "http://example.edu/x", "x", 12)


def test_every_required_canvas_field_from_a_value_that_cannot_give_it_back() -> None:
    """The value at a required field's place replaced by one that converts back to nothing valid
    (a URN of another kind or with no id, an IRI that is no Canvas URN): the same verdict and label
    in both commands, and never a conversion that fails after validate passed it."""
    outcomes = set()
    for _label, event, places in restorable_cases():
        if len(places) != 1:
            continue
        [at] = places
        for value in WRONG_VALUES:
            record = copy.deepcopy(event)
            parent = record["data"][0]
            for key in at[:-1]:
                parent = parent[key]
            parent[at[-1]] = value
            outcomes.update(verdicts(record, "canvas", mappings=False, strict=False))
    assert {"invalid-input", "converted"} <= outcomes and outcomes <= {"invalid-input", "converted", "unsupported-event"}


@pytest.mark.parametrize("extensions", [1, [], "text", None], ids=repr)
def test_a_generic_form_whose_object_extensions_are_no_object_is_invalid_input_in_both_commands(extensions: Any) -> None:
    """Found by the property test with another seed: the check of the Canvas event a generic form
    carries read `object.extensions` as an object, and failed with an exception."""
    event = next(e.payload for e in canvas_examples() if e.event_type == "account_created" and conforms(translator.validate(e.payload)))
    envelope = translator.translate(event)
    envelope["data"][0]["object"]["extensions"] = extensions
    assert verdicts(envelope, "canvas", mappings=False, strict=False) == verdicts(envelope, "caliper", mappings=False, strict=False) == ["invalid-input"]
