"""Take the events out of the wrappers they are delivered and archived in.

Canvas delivers live events through an SQS queue or an HTTPS webhook, and publishes them
internally to Kinesis; archives keep whatever the consumer received. `unwrap()` recognises, in
any nesting:

* **SQS message**, as `ReceiveMessage` returns it (boto3, ``aws sqs receive-message``):
  ``{"MessageId", "ReceiptHandle", "Body": "<JSON text>", "MessageAttributes": {...}}``, and the
  whole response ``{"Messages": [...]}``. Canvas's documentation (canvas-lms
  `doc/api/live_events.md`, "Event Format") says each event is delivered with the message
  attributes ``event_name`` and ``event_time`` and a body that is the JSON text of the event
  (`{"metadata", "body"}`, or a Caliper envelope). The attributes only fill `event_name` /
  `event_time` when the event's metadata lacks them.
* **Lambda SQS batch**: ``{"Records": [{"body": "<JSON text>", "messageAttributes": {...},
  "eventSource": "aws:sqs"}, ...]}``, one item per record (source suffix ``/Records/<i>``).
  A Lambda Kinesis batch (``{"Records": [{"kinesis": {"data": "<base64>"}}]}``) is read the same way.
* **Canvas's raw Kinesis record**: ``{"attributes": {...}, "body": {...}}``. This is what
  `LiveEvents::Client#post_event` (canvas-lms `gems/live_events/lib/live_events/client.rb`) puts
  on the stream: `attributes` is the request or job context set with `LiveEvents.set_context`
  (canvas-lms `lib/canvas/live_events.rb`, `amended_context`) merged with `event_name` and
  `event_time` (``time.utc.iso8601(3)``), and `body` is the event body. Canvas's delivery service
  turns `attributes` into `metadata`, so the event is ``{"metadata": attributes, "body": body}``.
* **Signed payload** (HTTPS with "Sign Payload"): a compact JWS ``xxx.yyy.zzz``, as a raw line or
  a JSON string, verified by `jws.JwksVerifier`; its claims are the event.
* **Caliper envelope with several events**: one item per event (suffix ``/data/<i>``), each a
  one-event envelope keeping `sensor`, `sendTime` and `dataVersion`.

Anything else is passed through as it is; whether it is an event is for conversion to say.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from ..errors import Problem
from .jsontext import NotJsonNumber, loads, non_finite_problem
from .jws import JwksVerifier, JwsRejected
from .readers import COMPACT_JWS

MAX_DEPTH = 6
_SQS_KEYS = frozenset({"MessageId", "ReceiptHandle", "MD5OfBody", "MessageAttributes"})
_LAMBDA_SQS_KEYS = frozenset({"messageId", "receiptHandle", "md5OfBody", "messageAttributes", "eventSource"})


@dataclass(slots=True)  # not frozen: one is made for every record, and a frozen one costs three times as much to make
class Item:
    """One event payload found inside a read payload, or the `problem` that kept it out.

    `suffix` extends the record's source (``/Records/2``, ``/data/1``; "" for the record itself);
    `original` is the value at that place before unwrapping, for writing out a reject.
    An event taken out of a multi-event Envelope is a one-event Envelope (its problems are at
    ``/data/0``) with `data_index`, its place in the Envelope as read.
    """

    suffix: str
    payload: Any
    original: Any
    problem: Problem | None = None
    data_index: int | None = None  # its index in the Envelope it was taken out of (``/data/<i>``)


def unwrap(payload: Any, verifier: JwksVerifier | None = None) -> Iterator[Item]:
    """The event payloads inside `payload`, in order; `verifier` checks signed payloads."""
    yield from _unwrap(payload, "", payload, verifier, 0)


def is_unwrapped(payload: Any) -> bool:
    """Whether `payload` is one event as it is, nothing to unwrap (`unwrap` yields it alone): a
    Canvas event, or an Envelope of one event. The commonest payloads, told without a generator."""
    if not isinstance(payload, dict):
        return False
    if isinstance(payload.get("metadata"), dict):
        return True
    return payload.__class__ is dict and payload.keys() <= _ENVELOPE_KEYS and not (isinstance(data := payload.get("data"), list) and len(data) > 1)


_ENVELOPE_KEYS = frozenset({"sensor", "sendTime", "dataVersion", "data"})  # none of them a wrapper's


def _unwrap(value: Any, suffix: str, original: Any, verifier: JwksVerifier | None, depth: int) -> Iterator[Item]:
    if depth > MAX_DEPTH or is_unwrapped(value):
        yield Item(suffix, value, original)  # too deep, a Canvas event or an Envelope of one event (the commonest): as it is
    elif isinstance(value, str) and COMPACT_JWS.match(value.strip()):
        yield from _signed(value.strip(), suffix, original, verifier, depth)
    elif not isinstance(value, dict):
        yield Item(suffix, value, original)
    elif isinstance(value.get("Messages"), list):
        for index, message in enumerate(value["Messages"]):
            yield from _unwrap(message, f"{suffix}/Messages/{index}", message, verifier, depth + 1)
    elif (message := _sqs_message(value)) is not None:
        body, attributes, at = message
        yield from _message(body, attributes, at, suffix, original, verifier, depth)
    elif isinstance(value.get("Records"), list):
        for index, record in enumerate(value["Records"]):
            yield from _unwrap(record, f"{suffix}/Records/{index}", record, verifier, depth + 1)
    elif isinstance(value.get("kinesis"), dict):
        yield from _kinesis_record(value["kinesis"].get("data"), suffix, original, verifier, depth)
    elif isinstance(value.get("attributes"), dict) and isinstance(value.get("body"), dict) and "metadata" not in value:
        yield Item(suffix, {"metadata": value["attributes"], "body": value["body"]}, original)
    elif _is_envelope(value) and len(value["data"]) > 1:
        for index, event in enumerate(value["data"]):
            single = {**value, "data": [event]}
            for item in _unwrap(single, f"{suffix}/data/{index}", single, verifier, depth + 1):
                yield replace(item, data_index=index) if item.payload is single else item
    else:
        yield Item(suffix, value, original)


def _signed(token: str, suffix: str, original: Any, verifier: JwksVerifier | None, depth: int) -> Iterator[Item]:
    if verifier is None:
        message = "a signed payload (JWS) cannot be verified without a JWKS (--jwks FILE)"
        yield Item(suffix, None, original, Problem("", message, "jwt-not-verifiable"))
        return
    try:
        event = verifier.event(token)
    except JwsRejected as exc:
        yield Item(suffix, None, original, Problem("", str(exc), exc.rule))
        return
    invalid = non_finite_problem(event)  # the token's JSON was read by PyJWT, which takes NaN
    if invalid is not None:
        yield Item(suffix, None, original, invalid)
        return
    yield from _unwrap(event, suffix, original, verifier, depth + 1)


def _sqs_message(value: dict[str, Any]) -> tuple[str, Any, str] | None:
    """(body, message attributes, body's key) of an SQS message, as SQS or as Lambda spells it."""
    for body, attributes, markers in (
        ("Body", "MessageAttributes", _SQS_KEYS),
        ("body", "messageAttributes", _LAMBDA_SQS_KEYS),
    ):
        if isinstance(value.get(body), str) and value.keys() & markers:
            return value[body], value.get(attributes), f"/{body}"
    return None


def _kinesis_record(data: Any, suffix: str, original: Any, verifier: JwksVerifier | None, depth: int) -> Iterator[Item]:
    try:
        text = base64.b64decode(data, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, TypeError, ValueError) as exc:
        problem = Problem("/kinesis/data", f"the Kinesis data is not base64 of UTF-8 text: {exc}", "undecodable")
        yield Item(suffix, None, original, problem)
        return
    yield from _message(text, None, "/kinesis/data", suffix, original, verifier, depth)


def _message(
    body: str, attributes: Any, at: str, suffix: str, original: Any, verifier: JwksVerifier | None, depth: int
) -> Iterator[Item]:
    """The event in a message body (JSON text or a compact JWS), its attributes filling gaps."""
    text = body.strip()
    if COMPACT_JWS.match(text):
        yield from _signed(text, suffix, original, verifier, depth + 1)
        return
    try:
        event = loads(text)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, json.JSONDecodeError):
            where = f" at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        else:
            where = f": {exc}" if isinstance(exc, NotJsonNumber) else ""
        yield Item(suffix, None, original, Problem(at, f"the message body is not JSON{where}", "malformed-json"))
        return
    _fill_metadata(event, _attribute_values(attributes))
    yield from _unwrap(event, suffix, original, verifier, depth + 1)


def _attribute_values(attributes: Any) -> dict[str, str]:
    """SQS message attributes (`StringValue`, or Lambda's `stringValue`) as plain strings."""
    if not isinstance(attributes, dict):
        return {}
    values = {}
    for name, attribute in attributes.items():
        if isinstance(attribute, dict):
            value = attribute.get("StringValue", attribute.get("stringValue"))
            if isinstance(value, str):
                values[name] = value
    return values


def _fill_metadata(event: Any, attributes: dict[str, str]) -> None:
    metadata = event.get("metadata") if isinstance(event, dict) else None
    if isinstance(metadata, dict):
        for name in ("event_name", "event_time"):
            if name in attributes:
                metadata.setdefault(name, attributes[name])


def _is_envelope(value: dict[str, Any]) -> bool:
    return isinstance(value.get("data"), list) and ("sensor" in value or "dataVersion" in value)
