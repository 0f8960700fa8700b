"""`translator drift`, and the drift counts that end the summaries of `convert` and `validate`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support import cli, conforming
from hypothesis import given, settings
from hypothesis import strategies as st

import translator
from translator.drift import Drift
from translator.known_fields import known_paths, known_tree
from translator.schema_store import pointer, schema_store

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "events"


def invented() -> list[dict[str, Any]]:
    """Events as a changed Canvas might send them: invented fields, types, and changed field types."""
    events = []
    for band in "ABC":  # 3 grade changes with a new body field
        event = conforming("grade_change")
        event["body"]["score_band"] = band
        events.append(event)
    for _ in range(2):  # 2 logins with a new metadata field
        event = conforming("logged_in")
        event["metadata"]["region"] = "eu-west-1"
        events.append(event)
    for index in range(2):  # a new key in the items of an array, in one of 2 events
        event = conforming("outcome_proficiency_created")
        if index:
            event["body"]["outcome_proficiency_ratings"][0]["emoji"] = ":)"
        events.append(event)
    for _ in range(2):  # user_id sent as a number: a type failure, twice
        event = conforming("logged_out")
        event["metadata"]["user_id"] = 42
        events.append(event)
    for _ in range(4):  # a new event type, with a new field in its metadata once
        event = conforming("logged_in")
        event["metadata"]["event_name"] = "blueprint_migration_teleported"
        events.append(event)
    events[-1]["metadata"]["region"] = "eu-west-1"
    event = conforming("course_created")
    event["metadata"]["event_name"] = "quizzes.item_teleported"
    events.append(event)
    return events


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    file = tmp_path / "invented.jsonl"
    file.write_text("".join(json.dumps(e) + "\n" for e in invented()), encoding="utf-8")
    return file


def drift_json(*paths: Path, flags: tuple[str, ...] = ()) -> dict[str, Any]:
    code, out, err = cli("drift", "--json", *flags, *map(str, paths))
    assert code == 0, err
    return json.loads(out)


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    return {
        name: (
            entry["count"],
            entry["known"],
            {path: found["count"] for path, found in entry["unknown_fields"].items()},
            {path: (found["count"], found["rule"]) for path, found in entry["type_failures"].items()},
        )
        for name, entry in report["event_types"].items()
    }


INVENTED = {
    "grade_change": (3, True, {"/body/score_band": 3}, {}),
    "logged_in": (2, True, {"/metadata/region": 2}, {}),
    "logged_out": (2, True, {}, {"/metadata/user_id": (2, "type")}),
    "outcome_proficiency_created": (2, True, {"/body/outcome_proficiency_ratings/*/emoji": 1}, {}),
    "blueprint_migration_teleported": (4, False, {"/metadata/region": 1}, {}),
    "quizzes.item_teleported": (1, False, {}, {}),
}


def test_drift_reports_each_invented_field_and_type_with_its_count(inputs: Path) -> None:
    report = drift_json(inputs)
    assert _summary(report) == INVENTED
    unknown = {name: found["count"] for name, found in report["unknown_event_types"].items()}
    assert unknown == {"blueprint_migration_teleported": 4, "quizzes.item_teleported": 1}
    assert report["counts"] == {
        "unknown_event_types": {"distinct": 2, "occurrences": 5},
        "unknown_fields": {"distinct": 4, "occurrences": 7},
        "type_failures": {"distinct": 1, "occurrences": 2},
    }
    types = report["event_types"]
    first = types["grade_change"]["unknown_fields"]["/body/score_band"]
    assert (first["first_source"], first["example"]) == (f"{inputs}:1", '"A"')
    assert types["logged_out"]["type_failures"]["/metadata/user_id"]["first_source"] == f"{inputs}:8"
    assert report["unknown_event_types"]["blueprint_migration_teleported"]["first_source"] == f"{inputs}:10"


def test_drift_on_the_examples_and_the_invented_events_adds_both_up(inputs: Path) -> None:
    examples = drift_json(EXAMPLES)
    assert {name: found["count"] for name, found in examples["unknown_event_types"].items()} == {"teleported": 1}
    assert examples["unknown_event_types"]["teleported"]["first_source"] == f"{EXAMPLES / 'bad-records.jsonl'}:2"
    assert sum(entry["count"] for entry in examples["event_types"].values()) == 14  # the Canvas events in examples/events
    alone = _summary(examples)
    both = _summary(drift_json(EXAMPLES, inputs))
    assert set(both) == set(alone) | set(INVENTED)
    for name, (count, known, fields, failures) in both.items():
        a_count, _, a_fields, a_failures = alone.get(name, (0, known, {}, {}))
        i_count, _, i_fields, i_failures = INVENTED.get(name, (0, known, {}, {}))
        assert count == a_count + i_count
        assert fields == {path: a_fields.get(path, 0) + i_fields.get(path, 0) for path in a_fields.keys() | i_fields.keys()}
        assert failures == {
            path: (a_failures.get(path, (0, ""))[0] + i_failures.get(path, (0, ""))[0], (a_failures.get(path) or i_failures[path])[1])
            for path in a_failures.keys() | i_failures.keys()
        }


def test_the_report_for_a_person_says_the_same(inputs: Path) -> None:
    code, out, _ = cli("drift", str(inputs))
    assert code == 0
    lines = out.splitlines()
    assert "grade_change: 3 events" in lines
    assert f"  unknown field /body/score_band: 3x, first at {inputs}:1, e.g. \"A\"" in lines
    assert f"  type failure /metadata/user_id [type]: 2x, first at {inputs}:8, e.g. 42" in lines
    assert "blueprint_migration_teleported: 4 events (no schema: unknown event type)" in lines
    assert lines[-1] == "drift: 2 unknown event types (5 events), 4 unknown fields (7 times), 1 type failure (2 values)"


def test_strict_drift_exits_1_when_there_is_drift(inputs: Path, tmp_path: Path) -> None:
    assert cli("drift", "--strict", str(inputs))[0] == 1
    clean = tmp_path / "clean.jsonl"
    clean.write_text(json.dumps(conforming("logged_in")) + "\n", encoding="utf-8")
    assert cli("drift", "--strict", str(clean))[0] == 0


def test_convert_and_validate_end_with_the_same_counts(inputs: Path, tmp_path: Path) -> None:
    line = "drift: 2 unknown event types (5 events), 4 unknown fields (7 times), 1 type failure (2 values); details: translator drift"
    _, out, _ = cli("validate", str(inputs))
    assert out.splitlines()[-1] == line
    for workers in ("1", "2"):
        _, _, err = cli("convert", "--to", "caliper", "--workers", workers, "-o", str(tmp_path / "out.jsonl"), str(inputs))
        assert err.splitlines()[-1] == f"translator convert: {line}"


def test_caliper_records_count_as_the_canvas_event_they_convert_back_to(inputs: Path, tmp_path: Path) -> None:
    caliper = tmp_path / "caliper.jsonl"
    assert cli("convert", "--to", "caliper", "-o", str(caliper), str(inputs))[0] == 1  # the type failures are rejected
    report = drift_json(caliper)
    # The generic form carries every field; a documented form (grade_change, logged_in) only what it maps.
    assert {name: entry["unknown_fields"] and {p: f["count"] for p, f in entry["unknown_fields"].items()} for name, entry in report["event_types"].items()} == {
        "grade_change": {},
        "logged_in": {},
        "outcome_proficiency_created": {"/body/outcome_proficiency_ratings/*/emoji": 1},
        "blueprint_migration_teleported": {"/metadata/region": 1},
        "quizzes.item_teleported": {},
    }
    assert {name: found["count"] for name, found in report["unknown_event_types"].items()} == {
        "blueprint_migration_teleported": 4,
        "quizzes.item_teleported": 1,
    }
    _, _, err = cli("convert", "--to", "canvas", "-o", str(tmp_path / "back.jsonl"), str(caliper))
    assert err.splitlines()[-1].startswith("translator convert: drift: 2 unknown event types (5 events), 2 unknown fields (2 times), 0")


def test_fields_never_seen_come_from_the_schema() -> None:
    drift = Drift(track_seen=True)
    event = conforming("logged_in")
    event["body"] = {}
    drift.add(event, "x")
    body = schema_store().registry.contents(translator.formats.canvas.body_schema_id("logged_in"))["properties"]
    assert drift.never_seen("logged_in") == sorted(f"/body/{key}" for key in body)
    assert drift.never_seen("blueprint_migration_teleported") == []
    metadata = schema_store().registry.contents(translator.formats.canvas.METADATA_ID)["properties"]
    assert drift.metadata_never_seen() == sorted(f"/metadata/{key}" for key in metadata if key not in event["metadata"])


def test_the_known_fields_are_the_schema_properties() -> None:
    schema = schema_store().registry.contents(translator.formats.canvas.body_schema_id("outcome_proficiency_created"))
    body = {pointer(p) for p in known_paths(known_tree("outcome_proficiency_created")) if p[0] == "body"}
    ratings = schema["properties"]["outcome_proficiency_ratings"]["items"]["properties"]
    assert body == (
        {"/body"}
        | {f"/body/{key}" for key in schema["properties"]}
        | {f"/body/outcome_proficiency_ratings/*/{key}" for key in ratings}
    )


def test_drift_of_blocks_adds_up() -> None:
    first, second = Drift(), Drift()
    event = conforming("grade_change")
    event["body"]["score_band"] = "A"
    first.add(event, "a:1")
    second.add(event, "b:1")
    first.merge(second)
    assert first.as_dict()["event_types"]["grade_change"]["unknown_fields"]["/body/score_band"] == {
        "count": 2,
        "first_source": "a:1",
        "example": '"A"',
    }


def test_a_malformed_event_name_is_a_type_failure_not_an_unknown_type(tmp_path: Path) -> None:
    event = conforming("logged_in")
    event["metadata"]["event_name"] = "Not An Event"
    file = tmp_path / "bad-name.jsonl"
    file.write_text(json.dumps(event) + "\n", encoding="utf-8")
    report = drift_json(file)
    assert report["unknown_event_types"] == {}
    assert report["event_types"]["Not An Event"]["type_failures"]["/metadata/event_name"]["rule"] == "pattern"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(["grade_change", "outcome_proficiency_created", "no_such_event"]), metadata=JSON, body=JSON)
def test_any_payload_is_tallied_without_failing(name: str, metadata: Any, body: Any) -> None:
    if isinstance(metadata, dict):
        metadata["event_name"] = name
    event = {"metadata": metadata, "body": body}
    drift = Drift(track_seen=True)
    drift.add(event, "x:1", translator.validate(event, format="canvas"))
    if isinstance(metadata, dict):
        assert drift.types[name].count == 1
        unknown = {p.path for p in translator.validate(event, format="canvas") if p.rule == "unknown-field"}
        assert sum(seen.count for seen in drift.types[name].unknown_fields.values()) == len(unknown)
    else:
        assert drift.types == {}
    assert drift.as_dict()["counts"]
