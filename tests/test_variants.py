"""Property tests: the documented Canvas events with other ids, shards, hosts, times and optional
fields dropped still convert, conform, round-trip, and carry no id or host the input lacks."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import translator
from corpus import canvas_examples, leaves
from test_canvas_schemas import BROKEN_EXAMPLES
from test_roundtrip import ACTOR_ONLY_IN_CALIPER, _mismatches
from translator.formats.canvas import body_schema_id
from translator.ids import shard_of
from translator.schema_store import schema_store

TRANSLATOR = translator.Translator()
EXAMPLES = [e for e in canvas_examples() if e.label not in BROKEN_EXAMPLES]
GLOBAL = re.compile(r"\b([0-9]{14,20})\b")
NUMBER = re.compile(r"[0-9]{5,}")


def _required(event_name: str) -> set[str]:
    return set(schema_store().registry.contents(body_schema_id(event_name)).get("required", ()))


def _rewrite(value: Any, change: Any) -> Any:
    if isinstance(value, dict):
        return {key: _rewrite(item, change) for key, item in value.items()}
    if isinstance(value, list):
        return [_rewrite(item, change) for item in value]
    return change(value) if isinstance(value, str) else value


@st.composite
def variants(draw: st.DrawFn) -> dict[str, Any]:
    example = draw(st.sampled_from(EXAMPLES))
    payload = json.loads(json.dumps(example.payload))
    shard = draw(st.integers(min_value=1, max_value=99_999))
    offset = draw(st.integers(min_value=1, max_value=10**9))
    old_host = payload["metadata"].get("hostname") or "oxana.instructure.com"
    host = draw(st.from_regex(r"\A[a-z][a-z0-9]{2,12}\.(edu|ac\.uk|instructure\.com)\Z"))

    def change(text: str) -> str:
        text = GLOBAL.sub(lambda m: str(shard * 10**13 + (int(m.group(1)) + offset) % 10**13), text)
        return text.replace(old_host, host)

    payload = _rewrite(payload, change)
    when = draw(st.datetimes(min_value=__import__("datetime").datetime(2015, 1, 1), max_value=__import__("datetime").datetime(2035, 1, 1)))
    payload["metadata"]["event_time"] = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    optional = sorted(set(payload["body"]) - _required(payload["metadata"]["event_name"]))
    for key in draw(st.lists(st.sampled_from(optional), unique=True)) if optional else []:
        del payload["body"][key]
    for key in draw(st.lists(st.sampled_from(["referrer", "session_id", "user_agent", "context_role", "user_sis_id", "time_zone"]), unique=True)):
        payload["metadata"].pop(key, None)
    return payload


def _numbers(document: Any) -> set[str]:
    return set(NUMBER.findall(json.dumps(document)))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=variants())
def test_a_variant_converts_conforms_and_invents_nothing(payload: dict[str, Any]) -> None:
    envelope = TRANSLATOR.translate(payload)  # raises if input or output does not conform
    event = envelope["data"][0]
    carried = {key: value for key, value in event.items() if key != "id"}
    inputs = _numbers(payload)
    shard = shard_of(*payload["metadata"].values()) or 0
    lifted = {str(shard * 10**13 + int(n)) for n in re.findall(r"[0-9]+", json.dumps(payload)) if len(n) < 14}
    assert _numbers(carried) <= inputs | lifted
    hosts = {m for m in re.findall(r"https?://([^/\"]+)", json.dumps(carried))}
    allowed = {"purl.imsglobal.org", payload["metadata"].get("hostname"), payload["metadata"].get("root_account_lti_guid", "").split(".", 1)[-1]}
    assert hosts <= set(re.findall(r"https?://([^/\"]+)", json.dumps(payload))) | allowed


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=variants())
def test_a_variant_round_trips_on_every_carried_field(payload: dict[str, Any]) -> None:
    restored = TRANSLATOR.translate(TRANSLATOR.translate(payload), to="canvas")
    wrong = set(_mismatches(restored, payload))
    if payload["metadata"]["event_name"] == "asset_accessed":
        # Derived back from what the Caliper form carries even when a variant dropped them:
        # Canvas always sends them, from the asset type (category) and the enrollment (role).
        wrong -= {"/body/category", "/body/role"}
    assert wrong <= {"/metadata/user_id"}
    if wrong:  # the owner acted for an event without a requesting user
        assert payload["metadata"]["event_name"] in {label[:-3] for label in ACTOR_ONLY_IN_CALIPER}
    assert len(leaves(restored)) >= 3
