"""The id, URN, role and time helpers the mappings use."""

from __future__ import annotations

import json
import uuid

import orjson
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from support import SHAPED_TIMES, outcome
from translator import ids
from translator.engine import EVENT_ID_NAMESPACE, _actor_shard, event_id
from translator.mapping import converters

SHARD = ids.SHARD_FACTOR


@given(shard=st.integers(min_value=1, max_value=99_999), local=st.integers(min_value=1, max_value=SHARD - 1))
def test_global_id_round_trip(shard: int, local: int) -> None:
    global_id = ids.global_id(str(local), shard)
    assert int(global_id) == shard * SHARD + local
    assert ids.split_global_id(global_id) == (shard, local)
    assert ids.local_id(global_id) == str(local)
    assert ids.global_id(global_id, shard + 1) == global_id  # already global: kept
    assert ids.shard_of(global_id) == shard


@given(kind=st.sampled_from(["course", "user", "assignment", "wikiPage"]), value=st.integers(min_value=1, max_value=10**17))
def test_urn_round_trip(kind: str, value: int) -> None:
    text = ids.urn(kind, str(value))
    assert text == f"urn:instructure:canvas:{kind}:{value}"
    assert ids.parse_urn(text, kind) == (kind, str(value))


def test_urn_lifts_local_ids_onto_the_events_shard() -> None:
    assert ids.urn("course", "565", 2107) == "urn:instructure:canvas:course:21070000000000565"
    assert ids.urn("session", "ef686f8ed684abf7") == "urn:instructure:canvas:session:ef686f8ed684abf7"


@pytest.mark.parametrize("bad", ["12a", "", "-1", True, None, 1.5])
def test_bad_ids_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        ids.split_global_id(bad)  # type: ignore[arg-type]


def test_parse_urn_checks_the_kind() -> None:
    with pytest.raises(ValueError, match="expected user"):
        ids.parse_urn("urn:instructure:canvas:course:1", "user")
    with pytest.raises(ValueError, match="not a Canvas URN"):
        ids.parse_urn("http://example.com/1")


@pytest.mark.parametrize(
    "enrollment, role",
    [("TeacherEnrollment", "Instructor"), ("StudentEnrollment", "Learner"), ("TaEnrollment", "Instructor#TeachingAssistant"),
     ("DesignerEnrollment", "ContentDeveloper"), ("ObserverEnrollment", "Mentor")],
)
def test_enrollment_roles(enrollment: str, role: str) -> None:
    assert ids.caliper_role(enrollment) == role
    assert ids.canvas_role(role) == enrollment


def test_unknown_role_is_an_error() -> None:
    with pytest.raises(ValueError, match="no Caliper role"):
        ids.caliper_role("WizardEnrollment")


@pytest.mark.parametrize(
    "canvas, caliper",
    [
        ("2019-11-01T19:11:21.419Z", "2019-11-01T19:11:21.419Z"),
        ("2018-10-09T21:07:33Z", "2018-10-09T21:07:33.000Z"),
        ("2020-03-30T11:18:51-06:00", "2020-03-30T17:18:51.000Z"),
        ("2019-10-05 05:38:00 -0800", "2019-10-05T13:38:00.000Z"),
        ("2019-11-01T19:11:21.4199Z", "2019-11-01T19:11:21.419Z"),
        ("2019-08-10", "2019-08-10T00:00:00.000Z"),  # a Date column (an override's all_day_date)
    ],
)
def test_caliper_time(canvas: str, caliper: str) -> None:
    assert ids.caliper_time(canvas) == caliper


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(event=st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=6))
def test_the_event_id_is_the_uuid5_of_the_canonical_event(event: dict[str, object]) -> None:
    """The dedup promise: the id is uuid.uuid5 (namespace EVENT_ID_NAMESPACE) of the event's JSON
    with keys sorted, compact, as the standard library writes it."""
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assume(orjson.dumps(event, option=orjson.OPT_SORT_KEYS).decode() == canonical)  # not some floats: 1e16 is 1e+16 to json
    assert event_id(event) == f"urn:uuid:{uuid.uuid5(EVENT_ID_NAMESPACE, canonical)}"


# -- the fast paths for ids and times as Canvas writes them agree with the arithmetic ------------


@given(text=st.text(alphabet="0123456789", min_size=1, max_size=20), shard=st.sampled_from([None, 0, 1, 2107, 99_999]))
def test_an_id_written_global_is_its_own_global_form(text: str, shard: int | None) -> None:
    lifted = ids._lifted(int(text), shard)  # the arithmetic, which the fast paths skip
    assert ids.global_id(text, shard) == lifted
    assert ids.urn("course", text, shard) == f"urn:instructure:canvas:course:{lifted}"
    assert ids.shard_of(text) == (int(text) // SHARD or None)
    if ids.is_written_global(text):
        assert lifted == text


def _date_time_reference(value: str) -> str:
    """What `date_time` gave before its shape check: the general parse, then the strict form."""
    text = ids.caliper_time(value)
    if converters._DATE_TIME.fullmatch(text) is None:
        raise ValueError(f"{text!r} is not a Caliper DateTime (YYYY-MM-DDTHH:mm:ss.SSSZ)")
    return text


def _seconds_reference(value: str) -> str:
    """What `canvas_time_seconds` gave before its shape check: the general parse alone."""
    stamp = ids.parse_time(value)
    return ids.caliper_time(value) if stamp.microsecond else stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


@given(value=SHAPED_TIMES)
def test_the_time_fast_paths_agree_with_the_general_parse(value: str) -> None:
    """A time by its shape and `fromisoformat` (`date_time` to Caliper, `canvas_time_seconds`
    back): the result, or the error message, the general parse gives."""
    assert outcome(converters.date_time, value) == outcome(_date_time_reference, value)
    assert outcome(ids.canvas_time_seconds, value) == outcome(_seconds_reference, value)


@given(
    key=st.one_of(st.text(alphabet="0123456789", min_size=1, max_size=22), st.text(max_size=6), st.sampled_from(["٣" * 17, "1" * 14 + " "])),
    kind=st.sampled_from(["user", "course", "quizzes:quiz", ""]),
    shape=st.sampled_from(["object", "iri", "other"]),
)
def test_the_restored_event_s_shard_is_that_of_the_actor_s_urn(key: str, kind: str, shape: str) -> None:
    """The reverse path reads the shard off the actor's URN inline (`engine._actor_shard`): the
    shard `shard_of` gives the URN's last segment, for an actor object or IRI, None otherwise."""
    ident = f"{ids.URN_PREFIX}{kind}:{key}" if shape != "other" else f"http://example.com/{key}"
    event = {"actor": {"id": ident, "type": "Person"}} if shape == "object" else {"actor": ident}
    expected = ids.shard_of(ident.rsplit(":", 1)[1]) if shape != "other" else None
    assert _actor_shard(event) == expected
