"""Hypothesis strategies built from our Canvas body schemas, for the subset of JSON Schema they use
(type, enum, const, pattern, minLength/maxLength, minimum, properties, required,
additionalProperties, items, and `$ref` into defs.json). hypothesis-jsonschema would be the
library for this, but its releases do not run on the Hypothesis we install.

Values are valid for the schema and shaped like Canvas's: ids without leading zeros (global or
local), real dates in the forms Canvas writes, URLs on a real-looking host. A property is present
or absent at random unless required; an object marked `x-warnUnknownProperties` gets no property
its schema does not list, so any `unknown-field` warning is a defect."""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import cache
from typing import Any

from hypothesis import strategies as st

from translator.resources import data_dir

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=24)
JSON_SCALARS = st.none() | st.booleans() | st.integers(-1000, 10**6) | TEXT


@cache
def _defs() -> dict[str, Any]:
    return json.loads((data_dir("schemas") / "canvas" / "defs.json").read_text(encoding="utf-8"))["$defs"]


@cache
def body_schema(event_type: str) -> dict[str, Any]:
    return json.loads((data_dir("schemas") / "canvas" / "events" / f"{event_type}.json").read_text(encoding="utf-8"))


def _local_or_global_id() -> st.SearchStrategy[str]:
    local = st.integers(1, 10**7)
    return st.one_of(local.map(str), st.tuples(st.integers(1, 2000), local).map(lambda sl: str(sl[0] * 10**13 + sl[1])))


def _timestamp() -> st.SearchStrategy[str]:
    """The forms of body timestamps Canvas writes (see defs.json#/$defs/timestamp)."""
    moments = st.datetimes(dt.datetime(2012, 1, 1), dt.datetime(2030, 12, 31)).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))
    offsets = st.sampled_from([0, -6 * 60, -8 * 60, 5 * 60 + 30, 10 * 60])

    def render(args: tuple[dt.datetime, int, int]) -> str:
        moment, minutes, form = args
        zone = dt.timezone(dt.timedelta(minutes=minutes))
        local = moment.replace(tzinfo=dt.timezone.utc).astimezone(zone)
        if form == 0:
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        if form == 1:
            return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
        if form == 2:
            return local.isoformat(timespec="seconds")
        return local.strftime("%Y-%m-%d %H:%M:%S %z")

    return st.tuples(moments, offsets, st.integers(0, 3)).map(render)


def _url() -> st.SearchStrategy[str]:
    host = st.sampled_from(["canvas.example.edu", "school.instructure.com", "lms.example.org:8443"])
    path = st.lists(st.from_regex(r"[a-z0-9_]{1,8}", fullmatch=True), max_size=4).map("/".join)
    return st.tuples(st.sampled_from(["https", "http"]), host, path).map(lambda p: f"{p[0]}://{p[1]}/{p[2]}")


def _media_type() -> st.SearchStrategy[str]:
    token = st.from_regex(r"[a-z][a-z0-9.+-]{0,12}", fullmatch=True)
    return st.tuples(st.sampled_from(["application", "image", "text", "video", "audio"]), token).map("/".join)


def _overrides() -> dict[str, st.SearchStrategy[Any]]:
    """Realistic values for the shared shapes, by the pattern that identifies them."""
    defs = _defs()
    return {
        defs["id"]["pattern"]: _local_or_global_id(),
        defs["url"]["pattern"]: _url(),
        "^[^/\\s]+/\\S": _media_type(),  # attachment content_type
    }


DATE_PATTERN_PREFIX = "^[0-9]{4}-(0[1-9]"


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    if "$ref" not in node:
        return node
    target = _defs()[node["$ref"].rsplit("/", 1)[-1]]
    return {**target, **{k: v for k, v in node.items() if k not in ("$ref", "description")}}


def _string(node: dict[str, Any]) -> st.SearchStrategy[str]:
    low, high = node.get("minLength", 0), node.get("maxLength", 10**6)
    pattern = node.get("pattern")
    if pattern in _overrides():
        base = _overrides()[pattern]
    elif pattern and pattern.startswith(DATE_PATTERN_PREFIX):
        dates = st.dates(dt.date(2012, 1, 1), dt.date(2030, 12, 31)).map(dt.date.isoformat)
        base = (_timestamp() | dates).filter(lambda s: re.fullmatch(pattern, s) is not None)
    elif pattern:
        base = st.from_regex(pattern, fullmatch=True)
    else:
        base = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=low, max_size=min(high, 40))
    return base.filter(lambda s: low <= len(s) <= high)


def _of_type(kind: str, node: dict[str, Any], complete: bool) -> st.SearchStrategy[Any]:
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(node.get("minimum", 0), node.get("maximum", 10**9))
    if kind == "number":
        low = node.get("minimum", -(10**3))
        return st.integers(low, 10**6) | st.floats(low, 10**6, allow_nan=False).map(lambda f: round(f, 4))
    if kind == "string":
        return _string(node)
    if kind == "array":
        return st.lists(strategy(node["items"], complete) if "items" in node else JSON_SCALARS, max_size=3)
    if kind == "object":
        return _object(node, complete)
    raise ValueError(f"no strategy for type {kind!r}")


def _object(node: dict[str, Any], complete: bool) -> st.SearchStrategy[dict[str, Any]]:
    properties = node.get("properties", {})
    required = set(properties) if complete else set(node.get("required", []))
    known = st.fixed_dictionaries(
        {name: strategy(sub, complete) for name, sub in properties.items() if name in required},
        optional={name: strategy(sub, complete) for name, sub in properties.items() if name not in required},
    )
    extra = node.get("additionalProperties", None if node.get("x-warnUnknownProperties") or properties else {})
    if extra is None or extra is False:
        return known
    values = strategy(extra, complete) if extra else JSON_SCALARS
    names = TEXT.filter(lambda key: key not in properties)
    return st.tuples(known, st.dictionaries(names, values, max_size=3)).map(lambda pair: {**pair[1], **pair[0]})


def strategy(node: dict[str, Any], complete: bool = False) -> st.SearchStrategy[Any]:
    """A strategy for the values `node` (a schema of our subset) accepts; `complete`: every listed
    property present, as Canvas's payload helpers send every key of their hash (null or not)."""
    node = _resolve(node)
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kinds = node.get("type")
    if kinds is None:
        return JSON_SCALARS
    if isinstance(kinds, str):
        return _of_type(kinds, node, complete)
    return st.one_of([_of_type(kind, node, complete) for kind in kinds])


def metadata(event_type: str) -> st.SearchStrategy[dict[str, Any]]:
    """The metadata of a user-generated event on one shard, with the optional request fields
    present or not."""

    def build(args: tuple[int, int, dict[str, Any], dict[str, Any], str, str]) -> dict[str, Any]:
        shard, user, optional, context, host, event_time = args
        return {
            "event_name": event_type,
            "event_time": event_time,
            "hostname": host,
            "root_account_id": str(shard * 10**13 + 1),
            "root_account_lti_guid": f"7db438071375c02373713c12c73869ff2f470b68.{host}",
            "user_id": str(shard * 10**13 + user),
            **optional,
            **context,
        }

    optional = st.fixed_dictionaries(
        {},
        optional={
            "root_account_uuid": st.from_regex(r"[A-Za-z0-9]{40}", fullmatch=True),
            "user_login": st.from_regex(r"[a-z]{2,12}@example\.edu", fullmatch=True),
            "request_id": st.uuids().map(str),
            "session_id": st.from_regex(r"[0-9a-f]{32}", fullmatch=True),
            "http_method": st.sampled_from(["GET", "POST", "PUT"]),
            "time_zone": st.sampled_from(["America/Denver", "Europe/Paris"]),
            "producer": st.just("canvas"),
        },
    )
    # Canvas sets the request's context as a whole, or not at all.
    context = st.just({}) | st.fixed_dictionaries(
        {
            "context_type": st.just("Course"),
            "context_id": st.integers(1, 10**6).map(lambda local: str(10**13 + local)),
            "context_role": st.sampled_from(["StudentEnrollment", "TeacherEnrollment", "Account Admin"]),
        }
    )
    hosts = st.sampled_from(["canvas.example.edu", "school.instructure.com"])
    times = st.datetimes(dt.datetime(2019, 1, 1), dt.datetime(2030, 1, 1)).map(
        lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"
    )
    return st.tuples(st.integers(1, 2000), st.integers(1, 10**6), optional, context, hosts, times).map(build)


def canvas_event(event_type: str, complete: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """Whole Canvas-format events of `event_type`, the body built from its schema (see `strategy`)."""
    return st.fixed_dictionaries({"metadata": metadata(event_type), "body": strategy(body_schema(event_type), complete)})
