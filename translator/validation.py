"""`validate()`: one entry point for both formats, and the check every command shares."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .errors import FormatError, Problem, TranslatorError
from .formats import FORMATS, detect_format
from .formats.caliper import default_profile, is_envelope
from .formats.canvas import strictly, validate_canvas
from .io.jsontext import non_finite_problem
from .mapping.restore import unrestorable
from .pointer import pointer
from .schema_store import brief

if TYPE_CHECKING:
    from .mapping.catalog import Catalog, CompiledMapping


def validate(payload: Any, format: str | None = None, profile: str | None = None, *, strict: bool = False) -> list[Problem]:
    """Every problem in `payload`; it conforms when none has severity ``"error"``.

    `format` is ``"canvas"`` or ``"caliper"`` (``None`` detects it); `profile` picks the Caliper
    profile (``"ims"`` or ``"canvas"``; ``None`` decides per event, see the README). `strict` makes
    unknown event types and unknown fields errors (they are warnings otherwise).
    """
    invalid = non_finite_problem(payload)
    if invalid is not None:  # NaN or Infinity: no schema says so, and no JSON could carry it
        return [invalid]
    if format is None:
        format, problem = detected_format(payload)
        if problem is not None:
            return [problem]
    if format not in FORMATS:
        raise TranslatorError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")
    if format == "canvas" and profile not in (None, "canvas"):
        raise TranslatorError(f"the canvas format has no profile {profile!r}")
    from .engine import default_translator

    catalog = default_translator().catalog if format == "caliper" else None
    return check(payload, format, profile=profile, strict=strict, catalog=catalog)


def detected_format(payload: Any) -> tuple[str | None, Problem | None]:
    """The format of `payload`, or the problem saying why it has none (rule `not-an-object` or
    `unknown-format`, which `convert` also gives as the reject reason): the one detection
    `validate`, `convert` and `drift` share, so a record gets the same label from each."""
    if not isinstance(payload, dict):
        message = f"an event must be a JSON object, not {type(payload).__name__}"
        return None, Problem("", message, "not-an-object", value=brief(payload))
    try:
        return detect_format(payload), None
    except FormatError as exc:
        return None, Problem("", str(exc), "unknown-format", value=brief(payload))


def check(
    payload: Any,
    format: str,
    *,
    profile: str | None = None,
    custom_events: frozenset[str] = frozenset(),
    strict: bool = False,
    quick: bool = False,
    catalog: Catalog | None = None,
    dispatched: dict[str, CompiledMapping] | None = None,
) -> list[Problem]:
    """The check of a payload in a known format, shared by `validate`, `convert` and `drift`, so
    that they agree on every record. `custom_events` are the event names user mappings define;
    `quick` (a batch's accept path): no problems at once when the payload conforms (warnings other
    than `unknown-event` unsaid), the full report when it does not. `catalog`, the mappings in use
    (None for our own outputs), holds Canvas's Caliper to what its mapping restores required
    Canvas fields from (`canvas-required`, a rule of the `canvas` profile); the mapping that check chose for each event goes into
    `dispatched` by the event's pointer, when given, so the conversion need not dispatch again."""
    if format == "canvas":
        return validate_canvas(payload, custom_events, quick=quick, strict=strict)
    from .formats.caliper import validate_caliper

    # The fast verdict says nothing of unknown fields, which --strict rejects.
    problems = validate_caliper(payload, profile, quick=quick and not strict)
    problems.extend(_carried_problems(payload, custom_events, quick, strict))
    if catalog is not None and profile != "ims" and conforms(problems):  # `ims`: 1EdTech's rules alone
        problems.extend(_unrestorable_problems(payload, catalog, dispatched))
    problems = strictly(problems) if strict else problems
    return list(dict.fromkeys(problems))  # the metadata is checked by both schemas: say it once


def _events(payload: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each event object of a Caliper payload (an Envelope's data items, or the bare event) with its pointer."""
    if not isinstance(payload, dict):
        return
    envelope = is_envelope(payload)
    items = payload.get("data") if envelope else [payload]
    for index, item in enumerate(items if isinstance(items, list) else ()):
        if isinstance(item, dict):
            yield (f"/data/{index}" if envelope else ""), item


def _carried_problems(payload: Any, custom_events: frozenset[str], quick: bool, strict: bool) -> list[Problem]:
    """The problems of the Canvas event each of our generic forms carries, at their place in the
    Caliper payload: it converts back to that event, which must conform as any Canvas event does
    (so an event type without a schema is an `unknown-event` warning here too)."""
    from .formats.caliper import CANVAS_NAMESPACE, is_generic_form

    found = []
    for prefix, item in _events(payload):
        if not is_generic_form(item):
            continue
        obj = item.get("object")
        extensions = obj.get("extensions") if isinstance(obj, dict) else None  # its schema reports one not an object
        body = extensions.get(CANVAS_NAMESPACE) if isinstance(extensions, dict) else None
        carried = {"metadata": item["extensions"][CANVAS_NAMESPACE]["metadata"], "body": body if body is not None else {}}
        places = {
            "metadata": f"{prefix}/extensions/{CANVAS_NAMESPACE}/metadata",
            "body": f"{prefix}/object/extensions/{CANVAS_NAMESPACE}",
        }
        for problem in validate_canvas(carried, custom_events, quick=quick, strict=strict):
            head, _, rest = problem.path[1:].partition("/")
            path = places[head] + (f"/{rest}" if rest else "") if head in places else prefix + problem.path
            found.append(replace(problem, path=path))
    return found


def _unrestorable_problems(payload: Any, catalog: Catalog, dispatched: dict[str, CompiledMapping] | None) -> list[Problem]:
    """Canvas's Caliper (an event with Canvas's markers) must carry, at one of the places its
    mapping restores each required Canvas field from, a value that gives that field back: Canvas's
    own form always does, and without it `convert --to canvas` would fail the mapping or reject
    the Canvas event restored as invalid output after `validate` passed the record."""
    found = []
    for prefix, item in _events(payload):
        if default_profile(item) != "canvas" or (mapping := catalog.reverse(item, canvas=True)) is None:
            continue
        if dispatched is not None:
            dispatched[prefix] = mapping
        for at, why in unrestorable(mapping, item):
            message = f"{why}; Canvas's Caliper form of {mapping.canvas_event} always gives it"
            found.append(Problem(prefix + pointer(at), message, "canvas-required"))
    return found


def accept_problems(
    payload: Any,
    format: str,
    custom_events: frozenset[str] = frozenset(),
    *,
    strict: bool = False,
    catalog: Catalog | None = None,
    dispatched: dict[str, CompiledMapping] | None = None,
) -> list[Problem]:
    """The check on a batch's accept path: `check` with `quick`."""
    return check(payload, format, custom_events=custom_events, strict=strict, quick=True, catalog=catalog, dispatched=dispatched)


def conforms(problems: list[Problem]) -> bool:
    return not any(p.is_error for p in problems)
