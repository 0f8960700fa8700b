"""Property tests: the documented Canvas events with other ids, shards, hosts, times and optional
fields dropped still convert, conform, round-trip, and carry no id or host the input lacks."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings

import translator
from corpus import leaves
from support import ACTOR_ONLY_IN_CALIPER, mismatches, variants
from translator.ids import shard_of

TRANSLATOR = translator.Translator()
NUMBER = re.compile(r"[0-9]{5,}")


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
    wrong = set(mismatches(restored, payload))
    if payload["metadata"]["event_name"] == "asset_accessed":
        # Derived back from what the Caliper form carries even when a variant dropped them:
        # Canvas always sends them, from the asset type (category) and the enrollment (role).
        wrong -= {"/body/category", "/body/role"}
    assert wrong <= {"/metadata/user_id"}
    if wrong:  # the owner acted for an event without a requesting user
        assert payload["metadata"]["event_name"] in {label[:-3] for label in ACTOR_ONLY_IN_CALIPER}
    assert len(leaves(restored)) >= 3
