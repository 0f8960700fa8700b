"""Canvas-format conformance: the documented examples, the documentation's own mistakes, and a
hand-written negative suite, each rejected at the expected path with the expected rule."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import translator
from jsonschema import Draft202012Validator
from translator.resources import data_dir
from corpus import canvas_examples
from negatives import CANVAS_NEGATIVE, LONG_TEXT, broken_canvas_event, canvas_example
from support import BROKEN_EXAMPLES

# Archived events from before Canvas added milliseconds: they conform, with a warning.
PRE_MILLISECOND_EXAMPLES = {"enrollment_created[0]", "learning_outcome_result_created[0]", "learning_outcome_result_updated[0]"}
# Examples that conform with a documented remark: label -> {(path, rule)}.
EXPECTED_WARNINGS = {
    label: {("/metadata/event_time", "event-time-precision")} for label in PRE_MILLISECOND_EXAMPLES
} | {
    # "http:/oxana..." (one slash): a URL we cannot follow, but not a reason to reject the event.
    "course_progress[0]": {("/body/progress/next_requirement_url", "malformed-url")},
}

EXAMPLES = {example.label: example for example in canvas_examples()}


def errors(problems: list[translator.Problem]) -> list[translator.Problem]:
    return [p for p in problems if p.severity == "error"]


@pytest.mark.parametrize("label", sorted(set(EXAMPLES) - set(BROKEN_EXAMPLES)))
def test_documented_example_conforms(label: str) -> None:
    problems = translator.validate(EXAMPLES[label].payload, format="canvas")
    assert errors(problems) == []
    assert {(p.path, p.rule) for p in problems} == EXPECTED_WARNINGS.get(label, set())


@pytest.mark.parametrize("label", sorted(BROKEN_EXAMPLES))
def test_broken_documentation_example_is_rejected(label: str) -> None:
    path, rule, _why = BROKEN_EXAMPLES[label]
    found = {(p.path, p.rule) for p in errors(translator.validate(EXAMPLES[label].payload, format="canvas"))}
    assert (path, rule) in found


def test_every_example_names_its_own_event_type_but_grade_override() -> None:
    mismatched = {
        label
        for label, example in EXAMPLES.items()
        if example.payload["metadata"]["event_name"].replace(".", "_") != example.event_type
    }
    assert mismatched == {"grade_override[0]"}


def test_every_shipped_schema_is_a_valid_draft_2020_12_schema() -> None:
    """The meta-schema check the schema store does not do at every start."""
    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
    files = sorted(data_dir("schemas").rglob("*.json"))
    errors = {str(file): [e.message for e in meta.iter_errors(json.loads(file.read_text(encoding="utf-8")))] for file in files}
    assert len(errors) > 100
    assert {file: found for file, found in errors.items() if found} == {}


def test_every_documented_event_type_has_a_schema() -> None:
    from translator.formats.canvas import canvas_event_names

    documented = {example.payload["metadata"]["event_name"] for example in EXAMPLES.values()} | {"grade_override"}
    assert documented <= canvas_event_names()
    assert len(documented) == 82  # the other types of the catalogue: tests/test_catalogue.py


# --- the negative suite --------------------------------------------------------------------
@pytest.mark.parametrize("name, base, pointer, value, path, rule", CANVAS_NEGATIVE, ids=[case[0] for case in CANVAS_NEGATIVE])
def test_negative_case_is_rejected_where_it_was_broken(name: str, base: str, pointer: str, value: Any, path: str, rule: str) -> None:
    payload = broken_canvas_event(base, pointer, value)
    found = errors(translator.validate(payload, format="canvas"))
    assert (path, rule) in {(p.path, p.rule) for p in found}, [str(p) for p in found]


def test_negative_suite_is_large_enough() -> None:
    assert len(CANVAS_NEGATIVE) >= 40


def test_unknown_fields_are_warnings_not_errors() -> None:
    payload = canvas_example("grade_change[0]")
    payload["body"]["brand_new_field"] = 1
    payload["metadata"]["brand_new_metadata"] = "x"
    problems = translator.validate(payload, format="canvas")
    assert {(p.path, p.rule, p.severity) for p in problems} == {
        ("/body/brand_new_field", "unknown-field", "warning"),
        ("/metadata/brand_new_metadata", "unknown-field", "warning"),
    }


def test_truncated_text_of_exactly_8192_characters_conforms() -> None:
    payload = canvas_example("submission_created[0]")
    payload["body"]["body"] = "x" * 8192
    assert errors(translator.validate(payload, format="canvas")) == []


def test_messages_are_short_even_for_huge_values() -> None:
    payload = canvas_example("submission_created[0]")
    payload["body"]["body"] = 9 * LONG_TEXT
    (problem,) = errors(translator.validate(payload, format="canvas"))
    assert problem.message == "is 73737 characters long; at most 8192 allowed"


@pytest.mark.parametrize("payload", [None, 3, "text", [], [{"metadata": {}}]])
def test_a_payload_that_is_not_an_object_is_a_problem_not_an_exception(payload: Any) -> None:
    (problem,) = translator.validate(payload)
    assert (problem.path, problem.rule, problem.severity) == ("", "not-an-object", "error")
    assert translator.validate(payload, format="canvas")[0].rule == "not-an-object"


def test_an_unknown_event_type_is_a_warning_and_an_error_when_strict() -> None:
    payload = canvas_example("logged_in[0]")
    payload["metadata"]["event_name"] = "teleported"
    unknown = [(p.path, p.rule, p.severity) for p in translator.validate(payload) if p.rule == "unknown-event"]
    assert unknown == [("/metadata/event_name", "unknown-event", "warning")]
    assert errors(translator.validate(payload)) == []
    assert [(p.path, p.rule) for p in errors(translator.validate(payload, strict=True))] == [("/metadata/event_name", "unknown-event")]


def test_detect_format() -> None:
    assert translator.detect_format(canvas_example("logged_in[0]")) == "canvas"
    assert translator.detect_format({"sensor": "x", "sendTime": "t", "dataVersion": "v", "data": []}) == "caliper"
    assert translator.detect_format({"@context": "c", "actor": "a", "action": "Viewed", "eventTime": "t"}) == "caliper"
    for payload in ({"hello": 1}, [], "x"):
        with pytest.raises(translator.FormatError):
            translator.detect_format(payload)
    assert issubclass(translator.FormatError, translator.TranslatorError)
    assert issubclass(translator.TranslatorError, ValueError)


def test_unknown_format_name_raises() -> None:
    with pytest.raises(translator.TranslatorError, match="unknown format"):
        translator.validate({}, format="xapi")


def test_problem_paths_are_json_pointers_with_escaping() -> None:
    payload = canvas_example("logged_in[0]")
    payload["body"]["a/b~c"] = 1
    (warning,) = translator.validate(payload)
    assert warning.path == "/body/a~1b~0c"


# --- property tests: mutated ids are rejected at the mutated field ------------------------
ID_LEAVES = [
    (label, section, key)
    for label, example in sorted(EXAMPLES.items())
    if label not in BROKEN_EXAMPLES
    for section in ("metadata", "body")
    for key, value in example.payload[section].items()
    if (key.endswith("_id") or key == "id") and isinstance(value, str) and re.fullmatch(r"[0-9]+", value)
    and not re.search(r"sis|lti|uuid|guid|integration", key)  # SIS, LTI and integration ids are free strings
]


@settings(max_examples=300, deadline=None)
@given(
    leaf=st.sampled_from(ID_LEAVES),
    replacement=st.one_of(
        st.integers(min_value=0, max_value=2**63),
        st.from_regex(r"\A[0-9]*[a-zA-Z .:-][0-9a-zA-Z]*\Z"),
        st.booleans(),
        st.lists(st.integers(), max_size=2),
    ),
)
def test_a_mutated_id_is_rejected_at_its_path(leaf: tuple[str, str, str], replacement: Any) -> None:
    label, section, key = leaf
    payload = canvas_example(label)
    payload[section][key] = replacement
    paths = {p.path for p in errors(translator.validate(payload, format="canvas"))}
    assert f"/{section}/{key}" in paths


def test_problems_serialise_as_json() -> None:
    payload = canvas_example("grade_change[0]")
    payload["body"]["score"] = "5"
    (problem,) = errors(translator.validate(payload))
    assert json.loads(json.dumps(problem.as_dict())) == {
        "path": "/body/score",
        "rule": "type",
        "severity": "error",
        "message": "must be number or null, not a string",
        "value": '"5"',
    }


@pytest.mark.parametrize("value", ["yesterday", "2019-11-05 07:38:00 -0800", "2019-11-05T07:38:00+01:00", "2019-13-05T07:38:00Z", "2019-11-05T07:38Z"])
def test_a_malformed_event_time_is_one_error_naming_the_format(value: str) -> None:
    """Not also the warning that a well-formed time without milliseconds gets (issue 16)."""
    event = copy.deepcopy(EXAMPLES["logged_in[0]"].payload)
    event["metadata"]["event_time"] = value
    [problem] = translator.validate(event)
    assert (problem.path, problem.rule, problem.severity) == ("/metadata/event_time", "pattern", "error")
    assert "yyyy-MM-ddTHH:mm:ss.SSSZ" in problem.message
    envelope = translator.translate(EXAMPLES["logged_in[0]"].payload)
    envelope["data"][0]["eventTime"] = envelope["sendTime"] = value
    found = {(p.path, p.rule) for p in translator.validate(envelope) if p.path.endswith("Time")}
    assert found == {("/sendTime", "pattern"), ("/data/0/eventTime", "pattern")}
    assert all("YYYY-MM-DDTHH:mm:ss.SSSZ" in p.message for p in translator.validate(envelope) if p.path.endswith("Time"))
