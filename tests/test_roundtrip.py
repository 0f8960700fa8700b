"""Caliper -> Canvas and round trips: precision against the documented Canvas examples, carried
fields restored, generic forms restored exactly."""

from __future__ import annotations

import copy
from typing import Any

import pytest

import translator
from agreement import figures
from corpus import canvas_examples, documented_pairs, leaves
from equivalence import global_form, shard_of_event
from support import ACTOR_ONLY_IN_CALIPER, BROKEN_EXAMPLES, REVERSE_EXCEPTIONS, mismatches
from translator.mapping.catalog import Catalog

TRANSLATOR = translator.Translator()
PAIRS = [(canvas, caliper) for canvas, caliper in documented_pairs()]
def _label(pair: tuple[Any, Any]) -> str:
    canvas, caliper = pair
    return f"{canvas.label} {caliper.description}".strip()


@pytest.mark.parametrize("pair", PAIRS, ids=_label)
def test_caliper_example_to_canvas_holds_only_values_of_the_canvas_example(pair: tuple[Any, Any]) -> None:
    canvas, caliper = pair
    restored = TRANSLATOR.translate(caliper.payload, to="canvas", validate=False)
    assert restored["metadata"]["event_name"] == canvas.event_type
    wrong = mismatches(restored, canvas.payload)
    if canvas.label in REVERSE_EXCEPTIONS:
        assert wrong, "listed as contradictory but agrees"
        return
    if canvas.label in ACTOR_ONLY_IN_CALIPER:
        assert set(wrong) == {"/metadata/user_id"}
        return
    assert wrong == {}


def test_agreement_figures() -> None:
    """The figures the README quotes (tests/agreement.py defines each; run it for every miss)."""
    precision, recall, roundtrip = figures(TRANSLATOR)
    for figure in (precision, recall, roundtrip):
        print(figure)
    assert precision.share >= 0.995 and precision.total > 1400
    assert recall.share >= 0.97 and recall.total > 1400
    assert roundtrip.share >= 0.995 and roundtrip.total > 1600


@pytest.mark.parametrize("pair", PAIRS, ids=_label)
def test_canvas_to_caliper_to_canvas_restores_every_carried_field(pair: tuple[Any, Any]) -> None:
    canvas, _ = pair
    if canvas.label in BROKEN_EXAMPLES:
        pytest.skip("the Canvas example itself does not conform")
    envelope = TRANSLATOR.translate(canvas.payload, to="caliper")
    restored = TRANSLATOR.translate(envelope, to="canvas")
    expected = {"/metadata/user_id"} if canvas.label in ACTOR_ONLY_IN_CALIPER else set()
    assert set(mismatches(restored, canvas.payload)) == expected
    assert len(leaves(restored)) >= 5


@pytest.mark.parametrize("pair", PAIRS, ids=_label)
def test_caliper_to_canvas_to_caliper_is_the_same_event(pair: tuple[Any, Any]) -> None:
    _, caliper = pair
    canvas = TRANSLATOR.translate(caliper.payload, to="canvas", validate=False)
    again = TRANSLATOR.translate(canvas, to="caliper", validate=False, send_time=caliper.payload["sendTime"])
    shard = shard_of_event(canvas)
    ours = {p: global_form(v, shard) for p, v in leaves(again).items() if p != "/data/0/id"}
    theirs = {p: global_form(v, shard) for p, v in leaves(caliper.payload).items() if p != "/data/0/id"}
    assert ours == theirs


# The generic form alone, so documented types too can be forced through it.
GENERIC_ONLY = translator.Translator()
GENERIC_ONLY.catalog = Catalog([TRANSLATOR.catalog.generic])


@pytest.mark.parametrize("example", canvas_examples(), ids=lambda e: e.label)
def test_generic_form_restores_every_canvas_event_exactly(example: Any) -> None:
    payload = example.payload
    checked = example.label not in BROKEN_EXAMPLES
    envelope = GENERIC_ONLY.translate(payload, validate=checked)
    assert envelope["data"][0]["object"]["type"] == "Entity"
    assert GENERIC_ONLY.translate(envelope, to="canvas", validate=checked) == payload


def test_local_ids_on_request() -> None:
    canvas, caliper = next((c, k) for c, k in PAIRS if c.event_type == "grade_change")
    restored = TRANSLATOR.translate(caliper.payload, to="canvas", ids="local")
    assert restored["body"]["submission_id"] == "11086"
    assert restored["metadata"]["user_id"] == "987"
    assert TRANSLATOR.translate(caliper.payload, to="canvas")["body"]["submission_id"] == "21070000000011086"


def test_an_envelope_with_several_events_needs_translate_all() -> None:
    (first, second) = [caliper.payload for canvas, caliper in PAIRS if canvas.event_type in ("logged_in", "logged_out")]
    envelope = {**first, "data": [first["data"][0], second["data"][0]]}
    with pytest.raises(translator.TranslatorError, match="translate_all"):
        TRANSLATOR.translate(envelope, to="canvas")
    names = [event["metadata"]["event_name"] for event in TRANSLATOR.translate_all(envelope, to="canvas")]
    assert names == ["logged_in", "logged_out"]


def test_a_bare_caliper_event_translates() -> None:
    _, caliper = next((c, k) for c, k in PAIRS if c.event_type == "logged_out")
    assert TRANSLATOR.translate(caliper.payload["data"][0], to="canvas")["metadata"]["event_name"] == "logged_out"


def test_caliper_from_another_tool_is_unsupported_with_a_way_forward() -> None:
    event = {
        "@context": "http://purl.imsglobal.org/ctx/caliper/v1p1",
        "id": "urn:uuid:3a648e68-f00d-4c08-aa59-8738e1884f2c",
        "type": "MediaEvent",
        "actor": {"id": "https://example.edu/users/554433", "type": "Person"},
        "action": "Paused",
        "object": {"id": "https://example.edu/videos/1225", "type": "VideoObject", "duration": "PT1H12M27S"},
        "eventTime": "2019-11-15T10:15:00.000Z",
    }
    with pytest.raises(translator.UnsupportedEventError) as caught:
        TRANSLATOR.translate(event, to="canvas")
    message = str(caught.value)
    assert "MediaEvent/Paused" in message and "VideoObject" in message and "mapping_dirs" in message and "--mappings" in message


def test_a_payload_already_in_the_target_format_passes_through_checked() -> None:
    canvas, caliper = PAIRS[0]
    assert TRANSLATOR.translate(caliper.payload, to="caliper") is caliper.payload
    broken = copy.deepcopy(caliper.payload)
    broken["data"][0]["eventTime"] = "yesterday"
    with pytest.raises(translator.ValidationError):
        TRANSLATOR.translate(broken, to="caliper")
