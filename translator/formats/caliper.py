"""Conformance of IMS Caliper 1.1 payloads: an Envelope, a bare Event or an Entity describe.

Two profiles (`CALIPER_PROFILES`), each a set of JSON Schemas under `schemas/caliper/<profile>/`:

- ``"ims"``: Caliper 1.1 as the specification is written.
- ``"canvas"``: Caliper 1.1 as Canvas LMS publishes it: Canvas's deviations from the specification
  are accepted and its ``com.instructure.canvas`` extension blocks are checked
  (see ``docs/caliper-profiles.md``).

When no profile is given, each event (each Envelope data item) is checked under ``"canvas"`` if it
carries a ``com.instructure.canvas`` extension or an ``urn:instructure:canvas:`` id anywhere, and
under ``"ims"`` otherwise.

An item is dispatched on its ``type`` to the schema of that one type, so a problem names the
property at fault instead of listing every event type that did not match. Items whose
``@context`` is a 1.1 profile-extension context (``.../v1p1/<Name>Profile-extension``) are
reported once with rule ``unsupported-profile`` and not checked further.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, Literal

from ..errors import Problem, TranslatorError
from ..schema_store import Compiled, brief, schema_id, schema_store

CaliperProfile = Literal["ims", "canvas"]
CALIPER_PROFILES: tuple[CaliperProfile, ...] = ("ims", "canvas")

CORE_CONTEXT = "http://purl.imsglobal.org/ctx/caliper/v1p1"
CANVAS_NAMESPACE = "com.instructure.canvas"
CANVAS_URN_PREFIX = "urn:instructure:canvas:"

#: The 14 event types of Caliper 1.1 (the generic Event and the 13 profile event types).
EVENT_TYPES = frozenset({
    "Event", "AnnotationEvent", "AssessmentEvent", "AssessmentItemEvent", "AssignableEvent", "ForumEvent",
    "GradeEvent", "MediaEvent", "MessageEvent", "NavigationEvent", "SessionEvent", "ThreadEvent",
    "ToolUseEvent", "ViewEvent",
})  # fmt: skip

#: Every 1.1 entity type term, and TextPositionSelector (a describable non-Entity).
ENTITY_TYPES = frozenset({
    "Entity", "Agent", "Person", "SoftwareApplication", "Organization", "CourseOffering", "CourseSection",
    "Group", "DigitalResource", "AssignableDigitalResource", "AssessmentItem", "DigitalResourceCollection",
    "Forum", "Thread", "Assessment", "Chapter", "Document", "Page", "WebPage", "Frame", "MediaLocation",
    "Message", "MediaObject", "AudioObject", "ImageObject", "VideoObject", "Annotation", "BookmarkAnnotation",
    "HighlightAnnotation", "SharedAnnotation", "TagAnnotation", "Attempt", "Response", "FillinBlankResponse",
    "MultipleChoiceResponse", "MultipleResponseResponse", "SelectTextResponse", "TrueFalseResponse", "Score",
    "Result", "Session", "LtiSession", "Membership", "LearningObjective", "TextPositionSelector",
})  # fmt: skip

# Types that exist only in 1.1 profile extensions or were deprecated out of the v1p1 context;
# named in the message of an `unknown-type` problem.
_NOT_CORE_TYPES = {
    "OutcomeEvent": "deprecated in 1.1 and not a term of the v1p1 context (use GradeEvent)",
    "ReadingEvent": "deprecated in 1.1 and not a term of the v1p1 context (use NavigationEvent or ViewEvent)",
    "FeedbackEvent": "a type of the Feedback profile extension, not core 1.1",
    "QuestionnaireEvent": "a type of the Survey profile extension, not core 1.1",
    "QuestionnaireItemEvent": "a type of the Survey profile extension, not core 1.1",
    "SurveyEvent": "a type of the Survey profile extension, not core 1.1",
    "SurveyInvitationEvent": "a type of the Survey profile extension, not core 1.1",
    "ResourceManagementEvent": "a type of the ResourceManagement profile extension, not core 1.1",
    "SearchEvent": "a type of the Search profile extension, not core 1.1",
    "ToolLaunchEvent": "a type of the ToolLaunch profile extension, not core 1.1",
}

_EXTENSION_CONTEXT = re.compile(r"^https?://purl\.imsglobal\.org/ctx/caliper/v1p1/([A-Za-z]+)Profile-extension/?$")
_ENVELOPE_ONLY_KEYS = frozenset({"sensor", "sendTime", "dataVersion"})


class UnknownProfileError(TranslatorError):
    """The Caliper profile named is neither ``"ims"`` nor ``"canvas"``."""


def validate_caliper(payload: object, profile: str | None = None, *, quick: bool = False) -> list[Problem]:
    """Every problem in a Caliper Envelope, bare Event or Entity describe.

    `profile` is ``"ims"``, ``"canvas"`` or ``None`` (per event: ``"canvas"`` when it carries Canvas
    extensions or ids, else ``"ims"``). Paths point into `payload` as given (``/data/0/object/type``
    in an Envelope, ``/object/type`` in a bare event). Raises `UnknownProfileError` (a
    `TranslatorError`, hence a `ValueError`) for any other profile name. `quick`: see
    `Compiled.problems` (the accept path of a batch needs a verdict, not warnings).
    """
    if profile is not None and profile not in CALIPER_PROFILES:
        raise UnknownProfileError(f"unknown Caliper profile {profile!r}; expected one of {', '.join(CALIPER_PROFILES)}")
    if not isinstance(payload, dict):
        return [Problem("", f"a Caliper payload must be a JSON object, not {_json_type(payload)}", "not-an-object", value=brief(payload))]
    try:
        return _payload_problems(payload, profile, quick)
    except RecursionError:
        return [Problem("", "the payload is nested too deeply to be checked", "too-deep")]


def _payload_problems(payload: dict[str, Any], profile: str | None, quick: bool) -> list[Problem]:
    if quick and _whole_envelope_conforms(payload, profile):
        return []
    if is_envelope(payload):
        problems = _validator("envelope-shell").problems(payload, quick=quick)
        data = payload.get("data")
        if isinstance(data, list):
            for index, item in enumerate(data):
                if isinstance(item, dict):  # the shell reports an item that is not an object
                    problems.extend(_item_problems(item, profile, f"/data/{index}", quick))
        return _unique(problems)
    return _unique(_item_problems(payload, profile, "", quick))


def is_envelope(payload: dict[str, Any]) -> bool:
    """An Envelope has `data` (and no `type` of its own), or both `sensor` and `dataVersion`; a
    payload without `type` that has any Envelope key is a broken Envelope. A typed event with a
    stray `sendTime` or `sensor` is an event with an unknown property, not a broken Envelope."""
    if "data" in payload and "type" not in payload:
        return True
    if "sensor" in payload and "dataVersion" in payload:
        return True
    return "type" not in payload and bool(payload.keys() & _ENVELOPE_ONLY_KEYS)


def default_profile(item: Any) -> CaliperProfile:
    """``"canvas"`` when `item` carries a com.instructure.canvas extension or a urn:instructure:canvas: id."""
    stack = [item]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if CANVAS_NAMESPACE in value:
                return "canvas"
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str) and value.startswith(CANVAS_URN_PREFIX):
            return "canvas"
    return "ims"


def unsupported_profile(item: dict[str, Any], prefix: str = "") -> Problem | None:
    """A problem when the item's @context names a 1.1 profile extension (not core Caliper 1.1)."""
    context = item.get("@context")
    if context.__class__ is str and "Profile-extension" not in context:  # the commonest: no extension named
        return None
    candidates: list[tuple[str, Any]] = []
    if isinstance(context, str):
        candidates.append((f"{prefix}/@context", context))
    elif isinstance(context, list):
        candidates.extend((f"{prefix}/@context/{i}", c) for i, c in enumerate(context))
    for path, value in candidates:
        match = _EXTENSION_CONTEXT.match(value) if isinstance(value, str) else None
        if match:
            return Problem(
                path,
                f"the Caliper 1.1 {match.group(1)} profile extension ({value}) is not supported: its types are not part "
                "of the core 1.1 specification",
                "unsupported-profile",
            )
    return None


def schema_id_for(type_name: str, profile: CaliperProfile) -> str:
    """The `$id` of the schema an item of `type_name` is checked against under `profile`."""
    if type_name in EVENT_TYPES or type_name == "GenericEvent":
        return schema_id(f"caliper/{profile}/events/{type_name}.json")
    return schema_id(f"caliper/{profile}/entity.json")


def _item_problems(item: dict[str, Any], profile: str | None, prefix: str, quick: bool) -> list[Problem]:
    unsupported = unsupported_profile(item, prefix)
    if unsupported is not None:
        return [unsupported]
    if "type" not in item:
        return [Problem(prefix, "'type' is a required property: an Event or Entity must say its type", "required")]
    type_name = item["type"]
    if not isinstance(type_name, str) or (type_name not in EVENT_TYPES and type_name not in ENTITY_TYPES):
        why = _NOT_CORE_TYPES.get(type_name, "") if isinstance(type_name, str) else ""
        return [
            Problem(
                f"{prefix}/type",
                f"unknown Caliper 1.1 type {type_name!r}" + (f": {why}" if why else "; expected an event or entity type term"),
                "unknown-type",
            )
        ]
    return _validator_for(*_route(item, type_name, profile)).problems(item, prefix, quick=quick)


def _route(item: dict[str, Any], type_name: str, profile: str | None) -> tuple[str, CaliperProfile]:
    """The schema (by type name) and profile an item of a known type is checked against."""
    chosen: CaliperProfile = profile if profile is not None else default_profile(item)  # type: ignore[assignment]
    return ("GenericEvent" if chosen == "canvas" and is_generic_form(item) else type_name), chosen


def is_generic_form(item: dict[str, Any]) -> bool:
    """Our lossless generic form: an Event whose Canvas extension keeps the whole Canvas metadata."""
    extensions = item.get("extensions")
    block = extensions.get(CANVAS_NAMESPACE) if isinstance(extensions, dict) else None
    return item.get("type") == "Event" and isinstance(block, dict) and "metadata" in block


def _whole_envelope_conforms(payload: dict[str, Any], profile: str | None) -> bool:
    """One fast check of an Envelope whose events share a type and profile (what a converter
    emits); anything else, or a failure, takes the item-by-item path that says where."""
    data = payload.get("data")
    if not (is_envelope(payload) and isinstance(data, list) and data and all(isinstance(i, dict) for i in data)):
        return False
    routes = set()
    for item in data:
        type_name = item.get("type")
        if not isinstance(type_name, str) or type_name not in EVENT_TYPES or unsupported_profile(item) is not None:
            return False
        routes.add(_route(item, type_name, profile))
    if len(routes) != 1:
        return False
    compiled = _envelope_of(*routes.pop())
    return compiled.fast is not None and compiled.fast.is_valid(payload)


@cache
def _envelope_of(type_name: str, profile: CaliperProfile) -> Compiled:
    shell = schema_id("caliper/ims/envelope.json") + "#/$defs/shell"
    schema = {"allOf": [{"$ref": shell}], "properties": {"data": {"items": {"$ref": schema_id_for(type_name, profile)}}}}
    return schema_store().compiled(f"envelope-of:{profile}:{type_name}", schema)


@cache
def _validator(name: str) -> Compiled:
    if name == "envelope-shell":
        return schema_store().compiled(schema_id("caliper/ims/envelope.json") + "#/$defs/shell")
    raise KeyError(name)


@cache
def _validator_for(type_name: str, profile: CaliperProfile) -> Compiled:
    return schema_store().compiled(schema_id_for(type_name, profile))


def _unique(problems: list[Problem]) -> list[Problem]:
    """Drop exact repeats (a key can be checked by two overlapping extension blocks)."""
    seen: set[Problem] = set()
    out = []
    for problem in problems:
        if problem not in seen:
            seen.add(problem)
            out.append(problem)
    return out


def _json_type(value: object) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
