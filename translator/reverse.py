"""The fused Caliper -> Canvas path: one Envelope of one event of Canvas's Caliper, checked,
dispatched once, restored and its Canvas output checked, without the full check's walks.

The full input check (`validation.check`) detects the format, works out each item's route and
profile, and then checks the whole Envelope against that route's schema, the Canvas event each
generic form carries, and what the dispatched mapping restores required fields from. Here the
same verdicts are asked of the same validators, for the one shape a converter emits (an Envelope
holding one event with Canvas's markers), and nothing else. Whatever is not passed at once gives
None: the caller then takes the full path, which decides and says why, so every verdict is the
full path's (tests/test_reverse_fused.py holds the two paths to the same outcomes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import Problem
from .formats import detect_format
from .formats.caliper import EVENT_TYPES, _envelope_of, default_profile, is_generic_form, unsupported_profile
from .formats.canvas import canvas_event_names, conforming
from .validation import _carried_problems, conforms

if TYPE_CHECKING:
    from .mapping.catalog import Catalog, CompiledMapping

PREFIX = "/data/0"  # the pointer of the one event, as the full check and the conversion name it


def accepted(
    payload: Any, catalog: Catalog, custom_events: frozenset[str], *, restored_next: bool = False
) -> tuple[CompiledMapping, dict[str, Any], list[Problem]] | None:
    """The mapping the full input check would dispatch the one event of `payload` to, the event,
    and the problems that check would give (warnings only: the `unknown-event` of a generic form
    of a type no schema knows), when `payload` is an Envelope of one event of Canvas's Caliper
    that conforms; None otherwise (not this shape, or a check not passed: the full check decides).
    Not for `strict`, whose unknown fields the fast verdicts do not see.

    `restored_next`: the caller restores the event at once, with ids as Canvas writes them, and
    checks the output. Where the mapping's output check fails whenever `restorable` would
    (`CompiledMapping.restorable_by_output`), `restorable` is left to the caller, to ask only
    when the restore fails: a required field it finds missing or wrong is missing or wrong in
    the restored event too."""
    if type(payload) is not dict or "data" not in payload or "type" in payload or detect_format(payload) != "caliper":
        return None
    data = payload["data"]
    if type(data) is not list or len(data) != 1 or type(item := data[0]) is not dict:
        return None
    type_name = item.get("type")
    if type(type_name) is not str or type_name not in EVENT_TYPES or unsupported_profile(item) is not None:
        return None
    if default_profile(item) != "canvas":
        return None
    generic = is_generic_form(item)
    route = _envelope_of("GenericEvent" if generic else type_name, "canvas")
    if route.fast is None or not route.fast.is_valid(payload):
        return None
    problems = _carried_problems(payload, custom_events, True, False) if generic else []
    if not conforms(problems) or (mapping := catalog.reverse(item, canvas=True)) is None:
        return None
    if not (restored_next and mapping.restorable_by_output) and not mapping.restorable(item):
        return None
    return mapping, item, list(dict.fromkeys(problems))


def rejected_at_input(mapping: CompiledMapping, item: dict[str, Any]) -> bool:
    """Whether the full input check rejects `item`, whose restore by `mapping` failed after
    `accepted(..., restored_next=True)`: it lacks what a required field is restored from."""
    try:
        return not mapping.restorable(item)
    except Exception:  # noqa: BLE001 - as `accepted` would have found it: the full path decides
        return True


def output_conforms(output: dict[str, Any]) -> bool:
    """The verdict of the output check of a restored Canvas event (`validate_canvas`, quick, not
    strict), told by the fast validators of its event type; False says nothing (the full check
    then decides)."""
    metadata = output.get("metadata")
    name = metadata.get("event_name") if type(metadata) is dict else None
    verdict = conforming(name if type(name) is str and name in canvas_event_names() else None)
    return verdict is not None and verdict(output)
