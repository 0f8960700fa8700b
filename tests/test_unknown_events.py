"""Canvas event types and fields no schema knows: converted with a warning, rejected with --strict;
validate and convert give every record the same verdict and rule; Caliper defects of first use."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from corpus import CALIPER_SPEC, canvas_examples
from support import cli, conforming
from hypothesis import given, settings
from hypothesis import strategies as st

import translator
from translator.batch import convert_stream, input_reason
from translator.known_fields import unknown_field_problems
from translator.validation import conforms

GENERIC_EVENT_NAME = "/extensions/com.instructure.canvas/metadata/event_name"


def renamed(event: dict[str, Any], name: str) -> dict[str, Any]:
    event = copy.deepcopy(event)
    event["metadata"]["event_name"] = name
    return event


def rules(problems: list[translator.Problem], severity: str) -> list[tuple[str, str]]:
    return [(p.path, p.rule) for p in problems if p.severity == severity]


# -- an unknown event type converts ---------------------------------------------------------------


def test_an_unknown_event_type_converts_through_the_generic_form_and_back() -> None:
    event = renamed(conforming("logged_in"), "blueprint_teleported")
    envelope = translator.translate(event, to="caliper")
    [caliper] = envelope["data"]
    assert (caliper["type"], caliper["action"], caliper["object"]["type"]) == ("Event", "Modified", "Entity")
    assert caliper["extensions"]["com.instructure.canvas"]["metadata"] == event["metadata"]
    assert translator.translate(envelope, to="canvas") == event


def test_the_converted_record_carries_the_unknown_event_warning() -> None:
    event = renamed(conforming("logged_in"), "blueprint_teleported")
    [result] = convert_stream([event])
    assert result.ok and result.event_type == "blueprint_teleported"
    # Said of the input, and of the output: our generic form of a type that has no schema.
    assert rules(result.problems, "warning") == [
        ("/metadata/event_name", "unknown-event"),
        ("/data/0" + GENERIC_EVENT_NAME, "unknown-event"),
    ]


def test_an_unknown_event_type_still_has_its_metadata_checked_and_a_body_that_is_an_object() -> None:
    bad_time = renamed(conforming("logged_in"), "blueprint_teleported")
    bad_time["metadata"]["event_time"] = "yesterday"
    no_body = renamed(conforming("logged_in"), "blueprint_teleported")
    no_body["body"] = ["not", "an", "object"]
    results = list(convert_stream([bad_time, no_body]))
    assert [(r.reason, rules(r.problems, "error")) for r in results] == [
        ("invalid-input", [("/metadata/event_time", "pattern")]),
        ("invalid-input", [("/body", "type")]),
    ]


def test_without_the_generic_form_an_unknown_event_type_is_unsupported() -> None:
    event = renamed(conforming("logged_in"), "blueprint_teleported")
    [result] = convert_stream([event], generic=False)
    assert result.reason == "unsupported-event"


# -- --strict -------------------------------------------------------------------------------------


def test_strict_rejects_an_unknown_event_type() -> None:
    event = renamed(conforming("logged_in"), "blueprint_teleported")
    with pytest.raises(translator.ValidationError) as raised:
        translator.Translator(strict=True).translate(event, to="caliper")
    assert rules(raised.value.problems, "error") == [("/metadata/event_name", "unknown-event")]
    [result] = convert_stream([event], strict=True)
    assert (result.reason, rules(result.problems, "error")) == ("unknown-event", [("/metadata/event_name", "unknown-event")])


def test_strict_rejects_an_unknown_field_the_default_converts_it_with_a_warning() -> None:
    event = conforming("grade_change")
    event["body"]["brand_new_field"] = 1
    [lenient] = convert_stream([event])
    assert lenient.ok
    [strict] = convert_stream([event], strict=True)
    assert (strict.reason, rules(strict.problems, "error")) == ("unknown-field", [("/body/brand_new_field", "unknown-field")])
    with pytest.raises(translator.ValidationError, match="unknown field 'brand_new_field'"):
        translator.Translator(strict=True).translate(event, to="caliper")


def test_strict_is_given_once() -> None:
    with pytest.raises(translator.TranslatorError, match="strict"):
        list(convert_stream([conforming("logged_in")], translator=translator.Translator(), strict=True))


def _records() -> list[dict[str, Any]]:
    """Every conforming documented Canvas example, and each changed in the ways real traffic changes."""
    records = []
    for example in canvas_examples():
        event = example.payload
        if not conforms(translator.validate(event)):
            continue
        records.append(copy.deepcopy(event))
        records.append(renamed(event, "quizzes_next_teleported"))
        extra = copy.deepcopy(event)
        extra["body"]["new_body_field"] = {"nested": [1, 2]}
        extra["metadata"]["new_metadata_field"] = "x"
        records.append(extra)
        both = renamed(extra, "outcome_teleported")
        records.append(both)
        typed = copy.deepcopy(event)
        typed["metadata"]["user_id"] = ["not", "an", "id"]
        records.append(typed)
    return records


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_validate_and_convert_give_every_record_the_same_verdict_and_rule(strict: bool) -> None:
    records = _records()
    assert len(records) > 300
    results = list(convert_stream(records, strict=strict))
    for record, result in zip(records, results, strict=True):
        problems = translator.validate(record, strict=strict)
        assert conforms(problems) == (result.ok or result.reason not in ("unknown-event", "unknown-field", "invalid-input")), record
        if not conforms(problems):
            assert result.reason == input_reason(problems)
            assert sorted(rules(result.problems, "error")) == sorted(rules(problems, "error"))
        elif not result.ok:  # a conforming input the engine cannot convert: the host precondition (issue 16)
            assert result.reason == "mapping-failed"


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_the_two_commands_agree_on_which_records_conform(strict: bool, tmp_path: Path) -> None:
    records = _records()
    file = tmp_path / "events.jsonl"
    file.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    flags = ["--strict"] if strict else []
    _, out, _ = cli("validate", "--json", *flags, str(file))
    failing = {json.loads(line)["source"] for line in out.splitlines() if json.loads(line)["severity"] == "error"}
    rejects = tmp_path / "rejects.jsonl"
    cli("convert", "--to", "caliper", *flags, "-o", str(tmp_path / "out.jsonl"), "--rejects", str(rejects), str(file))
    rejected = {json.loads(line)["source"]: json.loads(line)["reason"] for line in rejects.read_text().splitlines()}
    rejected = {source: reason for source, reason in rejected.items() if reason != "mapping-failed"}  # the host (issue 16)
    assert failing == set(rejected)
    assert set(rejected.values()) == ({"unknown-event", "unknown-field", "invalid-input"} if strict else {"invalid-input"})


def test_event_types_a_user_mapping_defines_are_known_to_validate_and_drift(tmp_path: Path) -> None:
    mappings = Path(__file__).resolve().parents[1] / "examples" / "mappings"
    lecture = Path(__file__).resolve().parents[1] / "examples" / "events" / "lecture-capture-caliper.json"
    canvas = tmp_path / "canvas.jsonl"
    assert cli("convert", "--to", "canvas", "--mappings", str(mappings), "-o", str(canvas), str(lecture))[0] == 0
    code, out, _ = cli("validate", str(canvas))
    assert code == 0 and "[unknown-event]" in out and "drift: 1 unknown event type" in out
    code, out, _ = cli("validate", "--strict", "--mappings", str(mappings), str(canvas))
    assert (code, out.splitlines()[-1].startswith("1 record: 1 conform")) == (0, True)
    code, out, _ = cli("drift", "--mappings", str(mappings), str(canvas))
    assert out.splitlines()[-1] == "drift: 0 unknown event types (0 events), 0 unknown fields (0 times), 0 type failures (0 values)"


# -- Caliper -> Canvas: our own generic form of an unknown type comes back ---------------------------


def test_a_generic_caliper_event_of_an_unknown_type_converts_back_with_the_warning() -> None:
    event = renamed(conforming("logged_in"), "blueprint_teleported")
    envelope = translator.translate(event, to="caliper")
    assert rules(translator.validate(envelope), "warning")[-1] == ("/data/0" + GENERIC_EVENT_NAME, "unknown-event")
    assert rules(translator.validate(envelope["data"][0]), "warning")[-1] == (GENERIC_EVENT_NAME, "unknown-event")
    [result] = convert_stream([envelope], to="canvas")
    assert result.ok and result.output == event
    assert ("/data/0" + GENERIC_EVENT_NAME, "unknown-event") in rules(result.problems, "warning")
    assert ("/metadata/event_name", "unknown-event") in rules(result.problems, "warning")
    [strict] = convert_stream([envelope], to="canvas", strict=True)
    assert (strict.reason, rules(strict.problems, "error")) == ("unknown-event", [("/data/0" + GENERIC_EVENT_NAME, "unknown-event")])


def test_a_generic_caliper_event_carrying_an_unknown_field_is_rejected_when_strict() -> None:
    event = renamed(conforming("logged_in"), "blueprint_teleported")
    event["metadata"]["new_metadata_field"] = 1
    envelope = translator.translate(event, to="caliper")
    path = "/data/0/extensions/com.instructure.canvas/metadata/new_metadata_field"
    assert (path, "unknown-field") in rules(translator.validate(envelope, strict=True), "error")
    [strict] = convert_stream([envelope], to="canvas", strict=True)
    assert strict.reason == "unknown-event" and (path, "unknown-field") in rules(strict.problems, "error")


# -- the walk finds exactly the fields the schema warnings name -------------------------------------


def _with_invented_fields(event: dict[str, Any]) -> dict[str, Any]:
    event = copy.deepcopy(event)
    event["top_level_extra"] = 1
    event["metadata"]["invented_metadata"] = None
    event["body"]["invented_body"] = {"deep": True}
    for value in list(event["body"].values()):
        if isinstance(value, dict):
            value["invented_nested"] = "x"
        if isinstance(value, list) and value and isinstance(value[0], dict):
            value[0]["invented_in_array"] = 2
    return event


@pytest.mark.parametrize("example", canvas_examples(), ids=lambda e: e.label)
def test_the_known_fields_walk_agrees_with_the_schema_warnings(example: Any) -> None:
    for event in (example.payload, _with_invented_fields(example.payload)):
        if not isinstance(event.get("metadata"), dict):
            continue
        name = event["metadata"].get("event_name")
        known = name if name in translator.formats.canvas.canvas_event_names() else None
        warned = {p for p in translator.validate(event, format="canvas") if p.rule == "unknown-field"}
        assert set(unknown_field_problems(event, known)) == warned


def _objects(value: Any) -> list[dict[str, Any]]:
    found = [value] if isinstance(value, dict) else []
    for child in value.values() if isinstance(value, dict) else value if isinstance(value, list) else ():
        found.extend(_objects(child))
    return found


@settings(max_examples=150, deadline=None)
@given(
    example=st.sampled_from(canvas_examples()),
    name=st.one_of(st.none(), st.sampled_from(["logged_in", "grade_change", "assignment_created", "no_such_event"])),
    inserts=st.lists(st.tuples(st.integers(min_value=0), st.text(min_size=1, max_size=12), st.integers()), max_size=6),
)
def test_the_walk_and_the_warnings_agree_on_any_invented_keys(example: Any, name: Any, inserts: list[tuple[int, str, int]]) -> None:
    event = copy.deepcopy(example.payload)
    if not isinstance(event.get("metadata"), dict):
        return
    if name is not None:
        event["metadata"]["event_name"] = name
    objects = _objects(event)
    for where, key, value in inserts:
        objects[where % len(objects)][key] = value
    current = event["metadata"].get("event_name")
    known = current if current in translator.formats.canvas.canvas_event_names() else None
    warned = {p for p in translator.validate(event, format="canvas") if p.rule == "unknown-field"}
    assert set(unknown_field_problems(event, known)) == warned


# -- first-use defects (issue 13, item 6) -----------------------------------------------------------


def _session_logged_in() -> dict[str, Any]:
    return json.loads((CALIPER_SPEC / "caliperEventSessionLoggedIn.json").read_text(encoding="utf-8"))


def test_a_bare_event_with_a_stray_send_time_is_an_event_with_one_unknown_property(tmp_path: Path) -> None:
    event = _session_logged_in()
    event["sendTime"] = "2016-11-15T11:05:01.000Z"
    problems = translator.validate(event)
    assert [(p.path, p.rule, p.severity) for p in problems] == [("/sendTime", "additionalProperties", "error")]
    file = tmp_path / "stray.json"
    file.write_text(json.dumps(event), encoding="utf-8")
    code, out, _ = cli("validate", str(file))
    assert (code, out.splitlines()) == (
        1,
        [
            f"{file}: SessionEvent/LoggedIn: /sendTime: error: property 'sendTime' is not allowed here [additionalProperties]",
            "1 record: 0 conform, 1 do not (1 errors, 0 warnings)",
        ],
    )


def test_a_broken_envelope_is_still_diagnosed_as_an_envelope() -> None:
    event = _session_logged_in()
    assert rules(translator.validate({"sendTime": "2016-11-15T11:05:01.000Z", "data": [event]}), "error") == [
        ("", "required"),
        ("", "required"),
    ]
    assert ("", "required") in rules(translator.validate({"sensor": "https://example.edu/s", "sendTime": "x"}), "error")


def test_validate_says_where_in_the_envelope_and_the_envelope_problem_once(tmp_path: Path) -> None:
    event = _session_logged_in()
    envelope = {
        "sensor": 5,
        "sendTime": "2016-11-15T11:05:01.000Z",
        "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p1",
        "data": [event, {**event, "type": "Bogus"}, {**event, "action": "Bogus"}],
    }
    file = tmp_path / "envelope.json"
    file.write_text(json.dumps(envelope), encoding="utf-8")
    code, out, _ = cli("validate", str(file))
    assert code == 1
    assert out.splitlines() == [
        f"{file}/data/0: SessionEvent/LoggedIn: /sensor: error: must be string, not an integer [type]",
        f"{file}/data/1: Bogus/LoggedIn: /data/1/type: error: unknown Caliper 1.1 type 'Bogus'; expected an event or "
        "entity type term [unknown-type]",
        f"{file}/data/2: SessionEvent/Bogus: /data/2/action: error: \"Bogus\" is not one of [\"LoggedIn\", \"LoggedOut\", "
        "\"TimedOut\"] [enum]",
        "3 records: 0 conform, 3 do not (3 errors, 0 warnings)",
    ]
    # The library, given the whole envelope, was right all along.
    assert rules(translator.validate(envelope), "error") == [("/sensor", "type"), ("/data/1/type", "unknown-type"), ("/data/2/action", "enum")]
