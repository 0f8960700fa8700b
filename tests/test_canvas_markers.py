"""Caliper -> Canvas only for Canvas's Caliper; entities given as IRI strings; hostless system events."""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import translator
from corpus import CALIPER_SPEC, canvas_examples, documented_pairs, leaves
from support import satisfies
from translator.batch import convert_stream
from translator.engine import _actor_shard, _scope
from translator.io import read_records
from translator.mapping.restore import _expand_iris, unrestorable_reasons

ROOT = Path(__file__).resolve().parents[1]
TRANSLATOR = translator.Translator()
CUSTOM = translator.Translator(mapping_dirs=[ROOT / "examples" / "mappings"])
LECTURE = json.loads((ROOT / "examples" / "events" / "lecture-capture-caliper.json").read_text())
EVENT_FIXTURES = sorted(p for p in CALIPER_SPEC.glob("caliper*.json") if p.name.startswith(("caliperEvent", "caliperEnvelope")))


# -- only Canvas's Caliper goes through Canvas's forms ------------------------------------------
def test_every_1edtech_event_fixture_is_unsupported_under_to_canvas() -> None:
    assert len(EVENT_FIXTURES) > 50
    results = list(convert_stream(read_records([str(p) for p in EVENT_FIXTURES]), to="canvas", translator=TRANSLATOR))
    assert len(results) >= len(EVENT_FIXTURES)
    for result in results:
        assert result.reason == "unsupported-event", (result.source, result.reason, [str(p) for p in result.problems])
        message = result.problems[-1].message
        assert "carries none of Canvas's markers" in message and "/" in message.split(":")[0]


def test_another_tools_event_is_unsupported_before_its_validation() -> None:
    fixture = json.loads((CALIPER_SPEC / "caliperEventToolLaunchLaunched.json").read_text())
    assert translator.validate(fixture) != []  # a profile extension this project does not check
    with pytest.raises(translator.UnsupportedEventError, match="ToolLaunchEvent/Launched.*markers"):
        TRANSLATOR.translate(fixture, to="canvas")


def _without_canvas_markers(value: Any) -> Any:
    """The same event as another tool would send it: no Canvas extension, no Canvas URN."""
    if isinstance(value, dict):
        return {k: _without_canvas_markers(v) for k, v in value.items() if k != "com.instructure.canvas"}
    if isinstance(value, list):
        return [_without_canvas_markers(v) for v in value]
    if isinstance(value, str) and value.startswith("urn:instructure:canvas:"):
        return "https://lms.example.edu/" + value[len("urn:instructure:canvas:") :].replace(":", "/")
    return value


@pytest.mark.parametrize("pair", documented_pairs(), ids=lambda pair: pair[1].label + " " + pair[1].description[:30])
def test_canvas_shaped_caliper_from_another_tool_never_becomes_a_canvas_event(pair: Any) -> None:
    envelope = _without_canvas_markers(pair[1].payload)
    event = envelope["data"][0]
    with pytest.raises(translator.UnsupportedEventError) as caught:
        TRANSLATOR.translate(envelope, to="canvas")
    assert f"{event['type']}/{event['action']}" in str(caught.value)
    assert "markers" in str(caught.value)
    (result,) = convert_stream([envelope], to="canvas", translator=TRANSLATOR)
    assert result.reason == "unsupported-event"


# What Canvas's forms look for, so the property below tries the type/action/object combinations
# that would have matched them on type and action alone.
_SHAPES = sorted({(m.caliper_type or "Event", m.action or "Modified", m.object_type or "Entity") for m in [*TRANSLATOR.catalog.by_event.values(), TRANSLATOR.catalog.generic]})
_IRI = st.from_regex(r"https://[a-z]{1,8}\.example\.edu/[a-z0-9/]{0,12}", fullmatch=True)
_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8), _IRI)
_ENTITY = st.one_of(_IRI, st.fixed_dictionaries({"id": _IRI, "type": st.sampled_from(["Person", "Entity", "Attempt", "Page", "SoftwareApplication"])},
                                                optional={"name": st.text(max_size=8), "extensions": st.dictionaries(st.sampled_from(["org.example", "edu.tool"]), st.dictionaries(st.text(max_size=5), _LEAF, max_size=3), max_size=1)}))


@settings(max_examples=100, deadline=None)
@given(shape=st.sampled_from(_SHAPES), slots=st.dictionaries(st.sampled_from(["actor", "edApp", "group", "session", "generated", "target", "membership"]), _ENTITY, max_size=4), obj=_ENTITY)
def test_no_caliper_without_canvas_markers_becomes_a_canvas_event(shape: tuple[str, str, str], slots: dict[str, Any], obj: Any) -> None:
    kind, action, object_type = shape
    event = {"@context": "http://purl.imsglobal.org/ctx/caliper/v1p1", "id": "urn:uuid:3a648e68-f00d-4c08-aa59-8738e1884f2c",
             "type": kind, "action": action, "eventTime": "2024-01-02T03:04:05.678Z", **slots,
             "object": {**obj, "type": object_type} if isinstance(obj, dict) else obj}  # fmt: skip
    with pytest.raises(translator.UnsupportedEventError, match=f"{kind}/{action}.*markers"):
        TRANSLATOR.reverse_mapping(event)


def test_canvas_urns_alone_are_a_marker() -> None:
    _, caliper = next(pair for pair in documented_pairs() if pair[0].event_type == "logged_in")
    envelope = copy.deepcopy(caliper.payload)
    for entity in (envelope["data"][0], envelope["data"][0]["actor"], envelope["data"][0]["object"]):
        entity.pop("extensions", None)
    assert TRANSLATOR.translate(envelope, to="canvas")["metadata"]["user_id"] == "21070000000000001"


def test_user_mappings_still_claim_other_tools_events() -> None:
    canvas = CUSTOM.translate(LECTURE, to="canvas")
    assert canvas["metadata"]["event_name"] == "lecture_capture_media_paused"
    (result,) = convert_stream([LECTURE], to="canvas", translator=CUSTOM)
    assert result.ok and result.output == canvas


# -- entities given as IRI strings ----------------------------------------------------------------
def _as_iri(envelope: dict[str, Any], slot: str) -> dict[str, Any]:
    changed = copy.deepcopy(envelope)
    changed["data"][0][slot] = changed["data"][0][slot]["id"]
    return changed


def _restore(t: translator.Translator, envelope: dict[str, Any]) -> tuple[dict[str, Any], list[translator.Problem]]:
    remarks: list[translator.Problem] = []
    return t.convert_checked(envelope, "caliper", "canvas", problems=remarks), remarks


@pytest.mark.parametrize("slot", ["actor", "object", "edApp", "target"])
def test_a_user_mapping_reads_the_id_of_an_entity_given_as_an_iri(slot: str) -> None:
    as_object, _ = _restore(CUSTOM, LECTURE)
    as_iri, remarks = _restore(CUSTOM, _as_iri(LECTURE, slot))
    ids = {"actor": "viewer_id", "object": "media_id", "edApp": "tool_url"}
    if slot in ids:
        assert as_iri["body"][ids[slot]] == as_object["body"][ids[slot]] == LECTURE["data"][0][slot]["id"]
    lost = {key for key in as_object["body"] if key not in as_iri["body"]}
    assert {key: as_iri["body"][key] for key in as_iri["body"]} == {k: v for k, v in as_object["body"].items() if k not in lost}
    if lost:  # what the IRI cannot hold is said, never dropped in silence
        (remark,) = remarks
        assert remark.rule == "iri-entity" and remark.severity == "warning" and remark.path == f"/data/0/{slot}"
        assert all(f"body.{key}" in remark.message for key in lost)
    else:
        assert remarks == []


def test_the_iri_warning_reaches_translate_and_convert_stream() -> None:
    envelope = _as_iri(LECTURE, "object")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        CUSTOM.translate(envelope, to="canvas")
    assert any("body.media_title" in str(w.message) for w in caught)
    (result,) = convert_stream([envelope], to="canvas", translator=CUSTOM)
    assert result.ok and [p.rule for p in result.problems if p.rule == "iri-entity"] == ["iri-entity"]


SLOTS = ("actor", "object", "edApp", "group", "membership", "session", "generated", "target", "referrer")
IRI_CASES = [
    (canvas.label + " " + caliper.description[:30] + " " + slot, caliper.payload, slot)
    for canvas, caliper in documented_pairs()
    for slot in SLOTS
    if isinstance(caliper.payload["data"][0].get(slot), dict)
]


@pytest.mark.parametrize("case", IRI_CASES, ids=lambda case: case[0])
def test_canvas_events_with_an_entity_given_as_an_iri(case: tuple[str, dict[str, Any], str]) -> None:
    _, envelope, slot = case
    as_object, _ = _restore(TRANSLATOR, envelope)
    try:
        as_iri, remarks = _restore(TRANSLATOR, _as_iri(envelope, slot))
    except translator.UnsupportedEventError as exc:
        # Only an object whose type alone tells two mappings apart (same type, action and URN kind).
        assert slot == "object" and "cannot show its type" in str(exc)
        return
    full = {p: v for p, v in leaves(as_object).items() if v != {}}
    mine = {p: v for p, v in leaves(as_iri).items() if v != {}}
    assert {p: v for p, v in mine.items() if full.get(p, KeyError) != v} == {}
    said = " ".join(r.message for r in remarks)
    unsaid = [p for p in full if p not in mine and p.strip("/").replace("/", ".") not in said]
    assert unsaid == []


def _nested_iris(event: Any, at: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every place in `event` where an object with an `id` sits (one level of nesting or more)."""
    found = []
    for key, value in event.items() if isinstance(event, dict) else ():
        if isinstance(value, dict):
            found += ([(*at, key)] if at and "id" in value else []) + _nested_iris(value, (*at, key))
    return found


@pytest.mark.parametrize("pair", documented_pairs(), ids=lambda pair: pair[1].label)
def test_the_iri_test_agrees_with_the_iri_walk(pair: Any) -> None:
    """The generated copies function says an entity is given as an IRI (True, nothing restored)
    exactly when `_expand_iris` finds one, for each entity of the event given as its IRI in
    turn, nested ones too; otherwise it restores (False)."""
    event = pair[1].payload["data"][0]
    mapping = TRANSLATOR.reverse_mapping(event)
    variants = [event]
    for place in _nested_iris(event, ()) + [(slot,) for slot in SLOTS if isinstance(event.get(slot), dict)]:
        changed = copy.deepcopy(event)
        parent = changed
        for key in place[:-1]:
            parent = parent[key]
        parent[place[-1]] = parent[place[-1]]["id"]
        variants.append(changed)
    scope = _scope(_actor_shard(event), "canvas")
    verdicts = []
    for variant in variants:
        restored: dict[str, Any] = {"metadata": {}, "body": {}}
        said = mapping.restore_copies(variant, scope, restored, (), {})
        assert not said or restored == {"metadata": {}, "body": {}}
        verdicts.append((said, bool(_expand_iris(variant, mapping.entity_slots)[1])))
    assert [a for a, b in verdicts] == [b for a, b in verdicts]
    assert verdicts[0] == (False, False) and any(a for a, _ in verdicts)


@pytest.mark.parametrize("pair", documented_pairs(), ids=lambda pair: pair[1].label)
def test_the_input_check_hands_its_dispatch_to_the_conversion(pair: Any) -> None:
    """Canvas's Caliper is dispatched once, by the input check (`canvas-required`), and converts
    by that mapping to what dispatching again gives."""
    envelope = pair[1].payload
    dispatched: dict[str, Any] = {}
    assert TRANSLATOR.problems(envelope, "caliper", dispatched=dispatched) == []
    assert dispatched == {"/data/0": TRANSLATOR.reverse_mapping(envelope["data"][0])}
    handed = TRANSLATOR.convert_checked(envelope, "caliper", "canvas", dispatched=dispatched)
    assert handed == TRANSLATOR.convert_checked(envelope, "caliper", "canvas")


# -- system events without a host -----------------------------------------------------------------
REQUEST_FIELDS = {"client_ip", "hostname", "http_method", "referrer", "request_id", "session_id", "url", "user_agent",
                  "user_id", "user_login", "user_sis_id", "user_account_id", "developer_key_id", "context_role",
                  "real_user_id", "time_zone"}  # fmt: skip
HOSTLESS_TYPES = ("course_completed", "course_grade_change", "grade_change", "submission_updated", "enrollment_updated", "wiki_page_updated")


def _hostless(example: Any) -> dict[str, Any]:
    """The example as a job sends it: no request, no host, an LTI guid without a domain."""
    event = copy.deepcopy(example.payload)
    metadata = event["metadata"]
    for key in REQUEST_FIELDS:
        metadata.pop(key, None)
    metadata["root_account_lti_guid"] = metadata["root_account_uuid"] + ":canvas-lms"
    metadata["job_id"], metadata["job_tag"] = "4242", "Progress#run"
    return event


HOSTLESS = [e for e in canvas_examples() if e.event_type in HOSTLESS_TYPES]


@pytest.mark.parametrize("example", HOSTLESS, ids=lambda e: e.label)
def test_a_hostless_system_event_converts_both_ways_without_configuration(example: Any) -> None:
    event = _hostless(example)
    envelope = TRANSLATOR.translate(event, to="caliper")  # validated in and out
    root = event["metadata"]["root_account_id"]
    assert envelope["sensor"] == envelope["data"][0]["edApp"]["id"] == f"urn:instructure:canvas:account:{root}"
    assert "http" not in json.dumps(envelope["data"][0]["edApp"])
    back = TRANSLATOR.translate(envelope, to="canvas")
    if TRANSLATOR.mapping_for(example.event_type).origin == "generic":
        assert back == event  # the generic form gives back the whole event, metadata as it was
    assert back["metadata"] == {k: v for k, v in event["metadata"].items() if k in back["metadata"]}
    assert "hostname" not in back["metadata"]
    for key in ("root_account_id", "root_account_uuid", "root_account_lti_guid", "event_name", "event_time"):
        assert back["metadata"][key] == event["metadata"][key]


def test_a_configured_canvas_host_names_hostless_events() -> None:
    event = _hostless(next(e for e in canvas_examples() if e.event_type == "course_completed"))
    configured = translator.Translator(canvas_host="canvas.example.edu")
    envelope = configured.translate(event, to="caliper")
    assert envelope["sensor"] == "http://canvas.example.edu/" == envelope["data"][0]["edApp"]["id"]
    assert "hostname" not in configured.translate(envelope, to="canvas")["metadata"]
    # an event that names its host keeps it
    named = next(e for e in canvas_examples() if e.event_type == "grade_change").payload
    assert configured.translate(named, to="caliper")["sensor"] == f"http://{named['metadata']['hostname']}/"


def test_canvas_host_on_the_command_line(tmp_path: Path) -> None:
    from translator.cli import main

    source = tmp_path / "jobs.jsonl"
    source.write_text(json.dumps(_hostless(next(e for e in canvas_examples() if e.event_type == "course_completed"))) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["convert", "--to", "caliper", "--canvas-host", "canvas.example.edu", str(source), "-o", str(out)]) == 0
    assert json.loads(out.read_text())["sensor"] == "http://canvas.example.edu/"
    assert main(["convert", "--to", "caliper", str(source), "-o", str(out)]) == 0
    assert json.loads(out.read_text())["sensor"].startswith("urn:instructure:canvas:account:")


# -- Canvas's style on the way back ------------------------------------------------------------
def _from_caliper(event_type: str, **options: Any) -> dict[str, Any]:
    _, caliper = next(pair for pair in documented_pairs() if pair[0].event_type == event_type)
    return TRANSLATOR.translate(caliper.payload, to="canvas", **options)


def test_times_numbers_and_ids_come_back_as_canvas_documents_them() -> None:
    assignment = _from_caliper("assignment_created")["body"]
    assert assignment["due_at"].endswith(":59Z") and "." not in assignment["due_at"]  # documented without milliseconds
    assert _from_caliper("assignment_updated")["body"]["due_at"] == "2019-11-05T13:38:00.218Z"  # documented with them
    points = _from_caliper("quiz_created")["body"]["points_possible"]
    assert points == 100.0 and isinstance(points, float)
    override = _from_caliper("assignment_override_created")["body"]
    assert isinstance(override["assignment_override_id"], int)
    entry = _from_caliper("discussion_entry_created")
    assert entry["body"]["discussion_entry_id"] == "2134567"  # Canvas documents this newer event's ids as local
    assert entry["metadata"]["user_id"] == "21070000000098765"  # metadata ids stay global
    assert _from_caliper("discussion_entry_created", ids="global")["body"]["discussion_entry_id"] == "21070000002134567"
    assert _from_caliper("grade_change", ids="local")["body"]["submission_id"] == "11086"


def test_an_id_from_another_shard_stays_global_in_a_field_documented_as_local() -> None:
    """A local form would drop the shard: Canvas writes a cross-shard reference global."""
    _, caliper = next(pair for pair in documented_pairs() if pair[0].event_type == "discussion_entry_created")
    envelope = copy.deepcopy(caliper.payload)
    topic = envelope["data"][0]["object"]["isPartOf"]
    topic["id"] = "urn:instructure:canvas:discussion:10000000000001"
    body = TRANSLATOR.translate(envelope, to="canvas")["body"]
    assert body["discussion_topic_id"] == "10000000000001"
    assert body["discussion_entry_id"] == "2134567"  # the event's own shard: local, as documented


def test_a_time_with_milliseconds_keeps_them_in_a_field_documented_without() -> None:
    _, caliper = next(pair for pair in documented_pairs() if pair[0].event_type == "assignment_created")
    envelope = copy.deepcopy(caliper.payload)
    envelope["data"][0]["object"]["dateToSubmit"] = "2019-01-02T03:04:05.678Z"
    assert TRANSLATOR.translate(envelope, to="canvas")["body"]["due_at"] == "2019-01-02T03:04:05.678Z"


@pytest.mark.parametrize("style", ["{body.x: minutes}", "{nobody.x: seconds}", "[seconds]"])
def test_a_bad_canvas_style_fails_at_load(tmp_path: Path, style: str) -> None:
    (tmp_path / "x.yaml").write_text(f"canvas_event: x_created\ncanvas_style: {style}\nevent:\n  type: Event\n", encoding="utf-8")
    with pytest.raises(translator.MappingError, match="canvas_style|not a known directive"):
        translator.Translator(mapping_dirs=[tmp_path])


# -- canvas-required: the generated test agrees with the reasons -------------------------------------
SPOILERS = (None, "x", 12, 1.5, True, "urn:instructure:canvas:quiz:x", "http://example.com/x", "2019-02-31T00:00:00Z", [], {})


def _spoilt(event: dict[str, Any], at: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """`event` with `value` at `at` (None: left out), or the value's parent given as a string."""
    changed = copy.deepcopy(event)
    parent: Any = changed
    for key in at[:-1]:
        if not isinstance(parent, dict) or not isinstance(parent.get(key), (dict, list)):
            return changed
        parent = parent[key]
    if isinstance(parent, dict):
        if value is None:
            parent.pop(at[-1], None)
        else:
            parent[at[-1]] = value
    return changed


@pytest.mark.parametrize("pair", documented_pairs(), ids=lambda pair: pair[1].label)
def test_the_generated_restorability_test_agrees_with_the_reasons(pair: Any) -> None:
    """`restorable` (generated per mapping) is true exactly when `unrestorable_reasons` finds
    nothing, on the event and on it with each required field's places left out or spoilt."""
    event = pair[1].payload["data"][0]
    mapping = TRANSLATOR.reverse_mapping(event)
    places = [at for _, sources in mapping.required_sources for at, _, _ in sources]
    variants = [event] + [_spoilt(event, at, value) for at in places for value in SPOILERS]
    variants += [_spoilt(event, at[:-1], "urn:instructure:canvas:thing:1") for at in places if len(at) > 1]
    verdicts = [(mapping.restorable(v), unrestorable_reasons(mapping, v) == []) for v in variants]
    assert [a for a, _ in verdicts] == [b for _, b in verdicts]
    assert verdicts[0] == (True, True) and (not places or any(not a for a, _ in verdicts))


@pytest.mark.parametrize("pair", documented_pairs(), ids=lambda pair: pair[1].label)
def test_the_generated_dispatch_tests_agree_with_the_constraints(pair: Any) -> None:
    """Each mapping's generated test gives `satisfies`'s verdict (True, False or UNKNOWN) on the
    event, on it with each entity given as its IRI, and with each constrained place spoilt."""
    catalog = TRANSLATOR.catalog
    event = pair[1].payload["data"][0]
    places = {at[:-1] if at[-1] == "#kind" else at for m in catalog._reverse for at in m.constraints}
    variants = [event] + [_spoilt(event, at, value) for at in sorted(places, key=str) for value in SPOILERS]
    variants += [_spoilt(event, (slot,), event[slot]["id"]) for slot in SLOTS if isinstance(event.get(slot), dict)]
    for variant in variants:
        for mapping in catalog._reverse:
            assert catalog._test(mapping)(variant) is satisfies(variant, mapping.constraints)
    assert any(catalog._test(m)(event) is True for m in catalog._reverse)


def test_canvas_required_is_a_rule_of_the_canvas_profile_only() -> None:
    """Canvas's Caliper without what restores a required Canvas field is reported under the
    `canvas` profile (chosen by its markers, or asked for), never under `ims` (1EdTech's rules alone)."""
    _, caliper = next(pair for pair in documented_pairs() if pair[0].event_type == "quiz_submitted")
    envelope = copy.deepcopy(caliper.payload)  # body.quiz_id comes back from object.assignable.id, a quiz URN
    envelope["data"][0] = _spoilt(envelope["data"][0], ("object", "assignable", "id"), "urn:instructure:canvas:quiz:x")
    for profile in (None, "canvas"):
        assert "canvas-required" in {p.rule for p in translator.validate(envelope, "caliper", profile)}, profile
    assert "canvas-required" not in {p.rule for p in translator.validate(envelope, "caliper", "ims")}
