"""The mapping language: load-time errors name file and line; run-time behaviour is explicit."""

from __future__ import annotations

import copy
import inspect
import json
import uuid
from pathlib import Path

import pytest

import translator
from corpus import canvas_examples
from translator.engine import EVENT_ID_NAMESPACE, event_id

EXAMPLES = {example.label: example.payload for example in canvas_examples()}


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "text, line, reason",
    [
        ("canvas_event: x\nevent:\n  type: [unclosed\n", 4, "not valid YAML"),
        ("canvas_event: x\nevent:\n  type: Event\n  type: Event\n", 4, "duplicate key"),
        ("canvas_event: x\nevent:\n  $bogus: 1\n", 3, "$bogus"),
        ("canvas_event: x\nevent:\n  $include: no_such_part\n", 3, "unknown part 'no_such_part'"),
        ("canvas_event: x\nevent:\n  id: $body.x | urn\n", 3, "unknown converter"),
        ("canvas_event: x\nevent:\n  name: $body.x | telepathy\n", 3, "unknown converter 'telepathy'"),
        ("canvas_event: x\nevent:\n  name: '= body.x +'\n", 3, "does not compile"),
        ("canvas_event: Not A Name\nevent: {}\n", 1, "Not A Name"),
        ("event:\n  type: Event\n", 1, "canvas_event"),
    ],
)
def test_a_bad_mapping_fails_at_load_naming_file_and_line(tmp_path: Path, text: str, line: int, reason: str) -> None:
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(translator.MappingError) as caught:
        translator.Translator(mapping_dirs=[tmp_path])
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}:"), message
    assert reason in message


def test_a_missing_mapping_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(translator.MappingError, match="does not exist"):
        translator.Translator(mapping_dirs=[tmp_path / "nope"])


def test_indistinguishable_mappings_are_refused_at_load(tmp_path: Path) -> None:
    body = "event:\n  type: Event\n  action: Created\n  object:\n    id: $body.x_id | urn:thing\n    type: Entity\n"
    write(tmp_path, "a.yaml", "canvas_event: thing_created\n" + body)
    write(tmp_path, "b.yaml", "canvas_event: thing_made\n" + body)
    with pytest.raises(translator.MappingError, match="cannot be told apart"):
        translator.Translator(mapping_dirs=[tmp_path])


def test_a_match_pointer_tells_mappings_apart(tmp_path: Path) -> None:
    body = "event:\n  type: Event\n  action: Created\n  object:\n    id: $body.x_id | urn:thing\n    type: Entity\n"
    write(tmp_path, "a.yaml", "canvas_event: thing_created\n" + body)
    write(tmp_path, "b.yaml", "canvas_event: thing_made\nmatch: [/object/name]\n" + body + "    name: $body.name\n")
    catalog = translator.Translator(mapping_dirs=[tmp_path]).catalog
    event = {"type": "Event", "action": "Created", "object": {"id": "urn:instructure:canvas:thing:1", "type": "Entity"}}
    assert catalog.reverse(event).canvas_event == "thing_created"
    assert catalog.reverse({**event, "object": {**event["object"], "name": "n"}}).canvas_event == "thing_made"


def test_an_undefined_input_in_an_expression_is_an_error_naming_the_rule(tmp_path: Path) -> None:
    path = write(tmp_path, "logged_in.yaml", "canvas_event: logged_in\nevent:\n  $include: event\n  type: SessionEvent\n  action: LoggedIn\n  object:\n    id: '= body.no_such_field'\n")
    custom = translator.Translator(mapping_dirs=[tmp_path])
    with pytest.raises(translator.ValidationError) as caught:
        custom.translate(EXAMPLES["logged_in[0]"], validate=False)
    (problem,) = caught.value.problems
    assert problem.rule == "mapping"
    assert problem.path == "/object/id"
    assert f"{path}:7" in problem.message and "no_such_field" in problem.message


def test_a_missing_optional_input_leaves_the_key_out() -> None:
    payload = copy.deepcopy(EXAMPLES["logged_in[0]"])
    del payload["body"]["redirect_url"]
    del payload["metadata"]["referrer"]
    event = translator.translate(payload, send_time="2020-01-01T00:00:00.000Z")["data"][0]
    assert "referrer" not in event
    assert "extensions" not in event["object"]
    assert None not in event.values()


def test_same_input_same_event_id_and_different_input_different_id() -> None:
    payload = EXAMPLES["grade_change[0]"]
    first = translator.translate(payload)["data"][0]["id"]
    assert translator.translate(copy.deepcopy(payload))["data"][0]["id"] == first == event_id(payload)
    changed = copy.deepcopy(payload)
    changed["body"]["score"] = 4
    assert translator.translate(changed)["data"][0]["id"] != first
    assert first.startswith("urn:uuid:") and first[9 + 14] == "5"  # a version-5 UUID
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert first == f"urn:uuid:{uuid.uuid5(EVENT_ID_NAMESPACE, canonical)}"  # exactly RFC 4122's UUIDv5


def test_send_time_is_the_event_time_unless_given_as_in_the_cli() -> None:
    """translate() and `translator convert` share one default (issue 16): the same input, the same bytes."""
    envelope = translator.translate(EXAMPLES["logged_in[0]"])
    assert envelope["sendTime"] == envelope["data"][0]["eventTime"] == EXAMPLES["logged_in[0]"]["metadata"]["event_time"]
    assert translator.translate(EXAMPLES["logged_in[0]"]) == envelope
    assert translator.translate(EXAMPLES["logged_in[0]"], send_time="now")["sendTime"] > "2026-"
    assert translator.translate(EXAMPLES["logged_in[0]"], send_time="2020-01-01T00:00:00Z")["sendTime"] == "2020-01-01T00:00:00.000Z"
    with pytest.raises(translator.TranslatorError, match="send_time"):
        translator.translate(EXAMPLES["logged_in[0]"], send_time="later")
    from translator.cli import build_parser
    from translator.options import ConvertOptions

    default = build_parser().parse_args(["convert", "--to", "caliper", "x"]).send_time
    assert default == ConvertOptions().send_time == inspect.signature(translator.Translator.translate).parameters["send_time"].default


def test_generic_forms_can_be_switched_off() -> None:
    payload = EXAMPLES["module_created[0]"]
    assert translator.translate(payload)["data"][0]["type"] == "Event"
    with pytest.raises(translator.UnsupportedEventError, match="module_created"):
        translator.Translator(generic=False).translate(payload)


def test_invalid_input_raises_validation_error_with_problems() -> None:
    payload = copy.deepcopy(EXAMPLES["grade_change[0]"])
    payload["body"]["submission_id"] = 7
    with pytest.raises(translator.ValidationError) as caught:
        translator.translate(payload)
    assert [(p.path, p.rule) for p in caught.value.problems if p.severity == "error"] == [("/body/submission_id", "type")]


def test_a_user_mapping_replaces_the_shipped_one(tmp_path: Path) -> None:
    write(tmp_path, "logged_in.yaml", "canvas_event: logged_in\norigin: custom\nevent:\n  $include: event\n  type: SessionEvent\n  action: LoggedIn\n  object:\n    $include: ed_app\n")
    custom = translator.Translator(mapping_dirs=[tmp_path])
    assert custom.mapping_for("logged_in").origin == "custom"
    event = custom.translate(EXAMPLES["logged_in[0]"])["data"][0]
    assert "extensions" not in event["object"]
