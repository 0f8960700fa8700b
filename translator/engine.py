"""The Translator: Canvas <-> Caliper with validation on both sides of every conversion."""

from __future__ import annotations

import hashlib
import json
import uuid
import warnings
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import orjson

from .errors import FormatError, Problem, TranslatorError, UnsupportedEventError, ValidationError
from .formats import detect_format
from .formats.caliper import CORE_CONTEXT as CALIPER_CONTEXT
from .formats.caliper import CANVAS_NAMESPACE, default_profile
from .formats.canvas import canvas_event_names
from .ids import URN_PREFIX, global_id, is_canvas_id, shard_of
from .io.jsontext import non_finite, non_finite_problem, surely_finite
from .mapping.catalog import Catalog, CompiledMapping, load_catalog
from .mapping.converters import Scope, date_time
from .mapping.expressions import DEFAULT_BUDGET, begin_event
from .mapping.nodes import MappingRuntimeError
from .plan import ForwardPlan
from .pointer import pointer
from .reverse import PREFIX, accepted, output_conforms, rejected_at_input
from .validation import accept_problems, conforms

Target = Literal["caliper", "canvas"]
IdStyle = Literal["canvas", "global", "local"]
SendTime = str
"""The Caliper envelope's `sendTime`: ``"event"`` (the Canvas event's `event_time`, so the same
input always gives the same output: the default everywhere), ``"now"``, or a timestamp."""

# Event ids are UUIDv5 in this namespace over the canonical JSON of the whole Canvas event, so a
# re-delivered duplicate gets the same id and can be dropped downstream.
EVENT_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://canvas-caliper-translator.dev/event-id")
_NAMESPACE_SHA1 = hashlib.sha1(EVENT_ID_NAMESPACE.bytes)  # copied per event: the namespace hashed once
# The RFC 4122 variant bits (10) set in the high nibble of byte 8, by that nibble's hex digit.
_VARIANT_DIGIT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def event_id(canvas_event: dict[str, Any]) -> str:
    """UUIDv5 of the event's canonical JSON: keys sorted, compact, UTF-8."""
    try:
        canonical = orjson.dumps(canvas_event, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # beyond orjson (a lone surrogate, a huge integer): same text, slower
        canonical = json.dumps(canvas_event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")
    # uuid.uuid5 over bytes (Python 3.11's takes only str): SHA-1 of namespace + name, its first
    # 16 bytes with the version (5) and variant (RFC 4122) bits set, written on the hex digest
    # directly (uuid.UUID and byte arithmetic cost more).
    digest = _NAMESPACE_SHA1.copy()
    digest.update(canonical)
    x = digest.hexdigest()
    return f"urn:uuid:{x[:8]}-{x[8:12]}-5{x[13:16]}-{_VARIANT_DIGIT[x[16]]}{x[17:20]}-{x[20:32]}"


def canvas_host(metadata: dict[str, Any]) -> str | None:
    """The Canvas instance's host: `hostname` for user events, else the domain in the LTI guid."""
    host = metadata.get("hostname")
    if isinstance(host, str) and host:
        return host
    guid = metadata.get("root_account_lti_guid")
    if isinstance(guid, str) and "." in guid:
        domain = guid.split(".", 1)[1]
        if "." in domain:
            return domain
    return None


def instance_iri(metadata: dict[str, Any], configured: str | None = None) -> str:
    """The IRI of the Canvas instance (the envelope's `sensor`, the `edApp`): `http://<host>/` from
    the event's host, else from `configured` (`Translator(canvas_host=...)`); a system-generated
    event with neither is named by its root account, `urn:instructure:canvas:account:<id>`, so no
    host is made up (and none comes back on the way to Canvas)."""
    return _instance_of(canvas_host(metadata) or configured, metadata)


def _instance_of(host: str | None, metadata: dict[str, Any]) -> str:
    """`instance_iri` once the host (the event's, else the configured one) is known."""
    if host:
        return f"http://{host}/"
    root = metadata.get("root_account_id")
    if is_canvas_id(root):
        return f"{URN_PREFIX}account:{global_id(root, None)}"
    return f"{URN_PREFIX}instance:unknown"


def is_canvas_caliper(event: Any) -> bool:
    """Canvas's markers: a `com.instructure.canvas` extension or a `urn:instructure:canvas:` id
    anywhere in the event (the rule that also picks the `canvas` validation profile). Only such
    events go through Canvas's own forms on the way back."""
    return default_profile(event) == "canvas"


def _send_time(rule: SendTime, metadata: dict[str, Any]) -> str:
    """The envelope's `sendTime` by `rule` (`SendTime`), always a Caliper DateTime (the proof
    relies on it); an unvalidated event whose `event_time` is no time is sent now."""
    if rule == "event":
        event_time = metadata.get("event_time")
        try:
            return date_time(event_time) if isinstance(event_time, str) else _now()
        except ValueError:
            return _now()
    if rule == "now":
        return _now()
    try:
        return date_time(rule)
    except (TypeError, ValueError):
        raise TranslatorError(f"send_time must be 'event', 'now' or a timestamp, not {rule!r}") from None


def _now() -> str:
    return date_time(datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def _runtime_problem(exc: MappingRuntimeError, prefix: str) -> Problem:
    at = pointer(exc.output)
    where = f" (input {exc.source})" if exc.source else ""
    return Problem(prefix + at, f"{exc}{where}; mapping rule at {exc.origin}", exc.rule)


class Translator:
    """Compiles the shipped mappings (plus `mapping_dirs`) once; translate any number of events.

    `generic=False` turns off the lossless generic form for Canvas event types that have no
    Caliper mapping; they then raise `UnsupportedEventError`. `strict=True` rejects what is
    otherwise a warning: a Canvas event type no schema knows (`unknown-event`), an unknown field
    (`unknown-field`). A Canvas event type whose mapping is proven to give conforming output
    (`mapping/proof.py`) has only its computed leaves checked; `full_output_check=True` checks
    every whole output instead (same verdicts, slower). `mapping_budget` is the time, in seconds,
    an event's mapping expressions may run (0 or None: no limit); past it the event fails with a
    `mapping-timeout` problem naming the mapping file, line and field.
    """

    def __init__(
        self,
        mapping_dirs: Iterable[Path | str] | None = None,
        *,
        generic: bool = True,
        strict: bool = False,
        canvas_host: str | None = None,
        full_output_check: bool = False,
        mapping_budget: float | None = DEFAULT_BUDGET,
    ) -> None:
        self.catalog: Catalog = load_catalog(mapping_dirs or ())
        self.mapping_budget = mapping_budget or None
        self.generic = generic
        self.strict = strict
        # The host of system-generated events that name none (no hostname, no domain in the LTI guid).
        self.canvas_host = canvas_host
        self.full_output_check = full_output_check
        # Event names only a user mapping knows: their Canvas body has no shipped schema.
        self.custom_events = frozenset(self.catalog.by_event) - canvas_event_names()
        self._plans: dict[str, ForwardPlan | None] = {}
        self._plans_of = self.catalog  # the plans are remade if `catalog` is replaced

    # -- public API -----------------------------------------------------------------------
    def translate(
        self,
        payload: Any,
        to: Target = "caliper",
        *,
        validate: bool = True,
        ids: IdStyle = "canvas",
        send_time: SendTime = "event",
    ) -> dict[str, Any]:
        """One event in, one event out: a Caliper Envelope, or a Canvas `{metadata, body}`."""
        plan = self.plan_of(payload) if to == "caliper" else None
        if plan is not None and ids in ("canvas", "global", "local"):
            return self._translate_planned(plan, payload, validate, send_time)
        if to == "canvas" and validate and not self.strict and ids in ("canvas", "global", "local"):
            restored = self._translate_fused(payload, ids)
            if restored is not None:
                return restored
        if detect_format(payload) == "caliper" and len(events := _caliper_events(payload)) != 1:
            raise TranslatorError(f"the envelope holds {len(events)} events; translate() converts one, use translate_all()")
        return next(self.translate_all(payload, to, validate=validate, ids=ids, send_time=send_time))

    def translate_all(
        self,
        payload: Any,
        to: Target = "caliper",
        *,
        validate: bool = True,
        ids: IdStyle = "canvas",
        send_time: SendTime = "event",
    ) -> Iterator[dict[str, Any]]:
        """One result per event in `payload` (a Caliper Envelope may hold several)."""
        if to not in ("caliper", "canvas"):
            raise TranslatorError(f"unknown target format {to!r}; expected caliper or canvas")
        if ids not in ("canvas", "global", "local"):
            raise TranslatorError(f"unknown id style {ids!r}; expected canvas, global or local")
        source = detect_format(payload)
        _refuse_non_finite(payload)
        if source == "caliper" and to == "canvas":
            for event in _caliper_events(payload):
                if isinstance(event, dict) and not is_canvas_caliper(event):
                    self.reverse_mapping(event, canvas=False)  # another tool's event is unsupported, whatever else is wrong with it
        dispatched: dict[str, CompiledMapping] = {}  # the input check's reverse dispatch, kept for the conversion
        if validate:
            self._check(payload, source, "input", dispatched)
        if source == to:
            yield payload
            return
        if source == "canvas":
            output = self._to_caliper(payload, send_time)
            if validate:
                self._check(output, "caliper", "output")
            yield output
            return
        for index, event in enumerate(_caliper_events(payload)):
            prefix = f"/data/{index}" if "data" in payload else ""
            remarks: list[Problem] = []
            output = self._to_canvas(event, ids, prefix, remarks, dispatched.get(prefix))
            for remark in remarks:
                warnings.warn(str(remark), stacklevel=2)
            if validate:
                self._check(output, "canvas", "output")
            yield output

    def convert_checked(
        self,
        payload: Any,
        source: str,
        to: Target,
        *,
        ids: IdStyle = "canvas",
        send_time: SendTime = "event",
        problems: list[Problem] | None = None,
        dispatched: dict[str, CompiledMapping] | None = None,
    ) -> dict[str, Any]:
        """One event whose format is known (`source`) and already checked: the batch's path,
        with neither detection nor validation done again (`dispatched`: the mappings its check
        chose, see `problems`). Warnings about the conversion (a field that could not be read)
        are appended to `problems`."""
        if source == to:
            return payload  # type: ignore[no-any-return]
        if source == "canvas":
            return self._to_caliper(payload, send_time)
        events = _caliper_events(payload)
        if len(events) != 1:
            raise TranslatorError(f"the envelope holds {len(events)} events; convert them one by one")
        prefix = "/data/0" if "data" in payload else ""
        return self._to_canvas(events[0], ids, prefix, problems, dispatched.get(prefix) if dispatched else None)

    def plan_of(self, payload: Any) -> ForwardPlan | None:
        """The plan for a Canvas event of a documented type that a mapping covers, else None."""
        if type(payload) is not dict or "metadata" not in payload or "body" not in payload:
            return None
        metadata = payload["metadata"]
        name = metadata.get("event_name") if type(metadata) is dict else None
        if type(name) is not str:
            return None
        self._follow_catalog()
        try:
            return self._plans[name]
        except KeyError:
            pass
        if name not in canvas_event_names():
            return None  # not cached: the names an input may carry are unbounded
        mapping = self.catalog.forward(name, generic=self.generic)
        plan = self._plans[name] = ForwardPlan(name, mapping, full_output_check=self.full_output_check) if mapping else None
        return plan

    def _follow_catalog(self) -> None:
        """Plans belong to one catalog: remade when `catalog` is replaced."""
        if self._plans_of is not self.catalog:
            self._plans, self._plans_of = {}, self.catalog

    def _translate_planned(self, plan: ForwardPlan, payload: dict[str, Any], validate: bool, send_time: SendTime) -> dict[str, Any]:
        """`translate` of a Canvas event to Caliper through its plan: the same checks and output."""
        _refuse_non_finite(payload)
        if validate:
            problems = self.problems(payload, "canvas") if self.strict else plan.input_problems(payload)
            if problems and not conforms(problems):
                raise ValidationError("input is not a conforming canvas event", problems)
        output = self._envelope(payload, plan.mapping, send_time)
        if validate and (problems := plan.output_problems(output)) and not conforms(problems):
            raise ValidationError("output is not a conforming caliper event", problems)
        return output

    def _translate_fused(self, payload: Any, ids: IdStyle) -> dict[str, Any] | None:
        """`translate` of Canvas's Caliper to Canvas by the fused path (`convert_fused`), for a
        payload without NaN or infinities (the full path refuses those)."""
        if not surely_finite(payload) and non_finite(payload) is not None:
            return None
        return self.convert_fused(payload, "canvas", ids=ids)

    def convert_fused(
        self, payload: Any, to: Target, *, ids: IdStyle = "canvas", send_time: SendTime = "event", problems: list[Problem] | None = None
    ) -> dict[str, Any] | None:
        """`payload` converted by the fused paths (the forward plan; Canvas's Caliper back by
        `reverse.py`) when every check passes at once, a batch's common record; the warnings the
        full checks give it go into `problems`. None otherwise: the full path then decides and
        says why, as it would have alone. The mapping runs once: its checks passed, so the full
        path would run it next, and what it raises is raised here as the full path raises it,
        `problems` holding what the full path's would then (a timeout spends its budget once).
        For a payload without NaN or infinities (none read as JSON holds one); not for `strict`,
        whose unknown fields the fast verdicts do not see."""
        problems = [] if problems is None else problems
        if self.strict or ids not in ("canvas", "global", "local"):
            return None
        try:
            if to == "caliper":
                plan, found = self.plan_of(payload), None
                if plan is None or plan.input_problems(payload):
                    return None
            else:
                plan, found = None, accepted(payload, self.catalog, self.custom_events, restored_next=ids == "canvas")
                if found is None:
                    return None
        except Exception:  # noqa: BLE001 - the full path raises it, or what comes first there
            return None
        if found is None:
            output = self._envelope(payload, plan.mapping, send_time)  # type: ignore[union-attr]
        else:
            problems.extend(found[2])
            given = len(problems)
            try:
                output = self._to_canvas(found[1], ids, PREFIX, problems, found[0])
            except Exception:
                if rejected_at_input(*found[:2]):  # not the mapping's failure: the full input check says why
                    return None
                raise
            if len(problems) != given:  # a remark: a field an entity given as an IRI hides, which the full path says
                return None
        try:
            if plan is not None:
                return None if plan.output_problems(output) else output
            name = output["metadata"].get("event_name")
            known = name in canvas_event_names() or name in self.custom_events  # else the output check warns `unknown-event`
            return output if known and output_conforms(output) else None
        except Exception:  # noqa: BLE001 - the full path's check says what is wrong
            return None

    def output_problems(self, payload: Any, output: Any, to: Target) -> list[Problem]:
        """The accept-path check of `output`, converted from the conforming `payload`: through the
        payload's plan when it has one (the batch's path), else `problems`."""
        plan = self.plan_of(payload) if to == "caliper" and output is not payload else None
        return plan.output_problems(output) if plan is not None else self.problems(output, to, output=True)

    def problems(
        self, payload: Any, format: str, *, output: bool = False, dispatched: dict[str, CompiledMapping] | None = None
    ) -> list[Problem]:
        """The accept-path check of a payload in a known format: [] when it conforms (warnings
        unsaid but `unknown-event`; use `translator.validate` for those), every problem when it
        does not. `strict` is for inputs: an `output` is ours, what it does not know is ours to fix.
        The reverse dispatch that the input check of Canvas's Caliper makes goes into `dispatched`
        by event pointer (for `convert_checked`, so an event is dispatched once)."""
        if output:
            return accept_problems(payload, format, self.custom_events)
        if format == "caliper" and not self.strict and (found := accepted(payload, self.catalog, self.custom_events)) is not None:
            if dispatched is not None:
                dispatched[PREFIX] = found[0]
            return found[2]
        return accept_problems(payload, format, self.custom_events, strict=self.strict, catalog=self.catalog, dispatched=dispatched)

    def _check(self, payload: Any, format: str, side: str, dispatched: dict[str, CompiledMapping] | None = None) -> None:
        problems = self.problems(payload, format, output=side == "output", dispatched=dispatched)
        if not conforms(problems):
            raise ValidationError(f"{side} is not a conforming {format} event", problems)

    def mapping_for(self, event_name: str) -> CompiledMapping | None:
        return self.catalog.forward(event_name, generic=self.generic)

    def reverse_mapping(self, event: Any, *, canvas: bool | None = None) -> CompiledMapping:
        """The mapping that turns Caliper `event` into a Canvas event; `UnsupportedEventError`
        saying why when none may (another tool's event meets only mappings of origin `custom`).
        `canvas` is whether it carries Canvas's markers, when the caller knows."""
        if not isinstance(event, dict):
            raise FormatError("a Caliper event must be an object")
        if canvas is None:
            canvas = is_canvas_caliper(event)
        found = self.catalog.reverse_candidates(event, canvas=canvas)
        if len(found) == 1:
            return found[0]
        obj = event.get("object")
        described = f"a Caliper {event.get('type')}/{event.get('action')} (object {obj.get('type') if isinstance(obj, dict) else 'IRI'})"
        if found:
            why = (
                "an entity given as an IRI string cannot show its type, and the mappings for "
                f"{', '.join(sorted(m.canvas_event for m in found))} all fit it; give that entity as an object"
            )
        elif canvas:
            why = "no mapping turns it into a Canvas event"
        else:
            why = (
                "it carries none of Canvas's markers (a com.instructure.canvas extension or a urn:instructure:canvas: id), "
                "so it is another tool's event and Canvas's own forms do not apply; no mapping of origin custom matches it"
            )
        if not found:
            why += "; write one in a directory of your own and pass it with Translator(mapping_dirs=[...]) or --mappings DIR (see mappings/README.md)"
        raise UnsupportedEventError(f"{described}: {why}")

    # -- directions -----------------------------------------------------------------------
    def _to_caliper(self, payload: dict[str, Any], send_time: SendTime) -> dict[str, Any]:
        metadata, body = payload.get("metadata") or {}, payload.get("body") or {}
        for name, part in (("metadata", metadata), ("body", body)):
            if not isinstance(part, dict):  # reachable with validate=False only
                raise ValidationError(f"input {name} is not an object", [Problem(f"/{name}", "must be an object", "type")])
        event_name = metadata.get("event_name")
        mapping = self.catalog.forward(str(event_name), generic=self.generic)
        if mapping is None:
            raise UnsupportedEventError(
                f"no Caliper mapping for Canvas event {event_name!r} and the generic form is off; "
                "add a mapping (see mappings/README.md) or enable generic forms"
            )
        return self._envelope(payload, mapping, send_time)

    def _envelope(self, payload: dict[str, Any], mapping: CompiledMapping, send_time: SendTime) -> dict[str, Any]:
        metadata, body = payload.get("metadata") or {}, payload.get("body") or {}
        found = canvas_host(metadata) or self.canvas_host
        app = _instance_of(found, metadata)
        host = found or app  # the mappings' `host`: a hostless event's instance IRI
        scope = _scope(shard_of(metadata.get("root_account_id"), metadata.get("user_id"), metadata.get("context_id")))
        begin_event(self.mapping_budget)
        try:
            event = mapping.build(metadata, body, host, scope)
        except MappingRuntimeError as exc:
            raise ValidationError("the mapping could not be applied", [_runtime_problem(exc, "")]) from None
        if send_time == "event" and mapping.writes_event_time and "eventTime" in event:
            sent = event["eventTime"]  # the same conversion of the same event_time, done once
        else:
            sent = _send_time(send_time, metadata)
        event = {"@context": CALIPER_CONTEXT, "id": event_id(payload), **event}
        return {"sensor": app, "sendTime": sent, "dataVersion": CALIPER_CONTEXT, "data": [event]}

    def _to_canvas(
        self, event: Any, ids: IdStyle, prefix: str, problems: list[Problem] | None = None, mapping: CompiledMapping | None = None
    ) -> dict[str, Any]:
        """`event` restored to Canvas by `mapping`, the one the input check dispatched it to, else
        by the reverse dispatch's choice (the same)."""
        if not isinstance(event, dict):
            raise FormatError(f"{prefix or '/'}: a Caliper event must be an object")
        if mapping is None:
            mapping = self.reverse_mapping(event)
        extensions = event.get("extensions")
        extensions = extensions.get(CANVAS_NAMESPACE) if isinstance(extensions, dict) else None
        extensions = extensions if isinstance(extensions, dict) else {}
        scope = _scope(_actor_shard(event), ids)
        begin_event(self.mapping_budget)
        try:
            restored = mapping.restore(event, scope, problems, prefix)
        except MappingRuntimeError as exc:
            raise ValidationError("the mapping could not be reversed", [_runtime_problem(exc, prefix)]) from None
        restored["metadata"].setdefault("event_name", mapping.canvas_event if mapping.canvas_event != "*" else extensions.get("event_name"))
        return restored


@lru_cache(maxsize=1024)
def _scope(shard: int | None, ids: IdStyle = "canvas") -> Scope:
    """One Scope per shard and id style, made once (an event's shard is one of few)."""
    return Scope(shard, ids)


def _refuse_non_finite(payload: Any) -> None:
    """Checked even unvalidated: no JSON could carry NaN or Infinity out."""
    invalid = non_finite_problem(payload)
    if invalid is not None:
        raise ValidationError("input holds a number JSON cannot write", [invalid])


def _actor_shard(event: dict[str, Any]) -> int | None:
    """The shard of the actor's Canvas URN (`shard_of` its id), the event's shard when restoring."""
    actor = event.get("actor")
    ident = actor.get("id") if isinstance(actor, dict) else actor
    if isinstance(ident, str) and ident.startswith(URN_PREFIX):
        return shard_of(ident[ident.rfind(":") + 1 :])
    return None


def _caliper_events(payload: dict[str, Any]) -> list[Any]:
    if "data" in payload:
        data = payload["data"]
        if not isinstance(data, list):
            raise ValidationError("the envelope's data is not an array", [Problem("/data", "must be an array", "type")])
        return data
    return [payload]


_DEFAULT: Translator | None = None


def default_translator() -> Translator:
    """The shipped mappings, compiled on first use and shared by the module-level functions."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Translator()
    return _DEFAULT


def translate(payload: Any, to: Target = "caliper", **options: Any) -> dict[str, Any]:
    return default_translator().translate(payload, to, **options)


def translate_all(payload: Any, to: Target = "caliper", **options: Any) -> Iterator[dict[str, Any]]:
    return default_translator().translate_all(payload, to, **options)


__all__ = ["Translator", "default_translator", "event_id", "translate", "translate_all"]
