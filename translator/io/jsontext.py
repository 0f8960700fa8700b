"""JSON text of values, written the same way wherever the package writes it, and read strictly."""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec
import orjson

from ..errors import Problem
from ..pointer import token


class NotJsonNumber(ValueError):
    """A number JSON forbids (NaN, Infinity, one beyond a double) or Python will not read (an
    integer of more than 4,300 digits): complete text, refused as a value."""


def _constant(name: str) -> Any:
    raise NotJsonNumber(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NotJsonNumber(f"the number {text[:40]} is beyond a double's range")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise NotJsonNumber(f"an integer of {len(text.lstrip('-'))} digits, more than Python reads (4,300)") from None


STRICT = json.JSONDecoder(parse_constant=_constant, parse_float=_float, parse_int=_int)
LENIENT = json.JSONDecoder(parse_constant=lambda _: None, parse_float=lambda _: 0.0, parse_int=lambda _: 0)
"""`LENIENT` only finds where a value `STRICT` refused ends: its values are placeholders."""

# msgspec reads an integer of any size exactly (orjson reads one beyond 64 bits as a float, so
# every line had to be scanned for runs of 19 digits, which cost as much as the parse itself)
# and refuses what `STRICT` refuses (NaN, a number beyond a double, an integer Python will not
# read) or reads differently (a lone surrogate escape): what it returns is `STRICT`'s value.
decode = msgspec.json.Decoder().decode
DECODE_ERRORS = (msgspec.DecodeError, RecursionError, UnicodeEncodeError)
"""What `decode` raises for text it leaves to `STRICT`: malformed or refused, nested too deep,
or a str holding a lone surrogate (what undecodable bytes become)."""


def loads(text: str) -> Any:
    """One JSON value: msgspec on the hot path; the standard library for what msgspec refuses
    (lone surrogates, which JSON allows, and every malformed text, for its error messages).
    Raises `json.JSONDecodeError` for malformed text, `NotJsonNumber` for a refused number."""
    try:
        return decode(text)
    except DECODE_ERRORS:
        return STRICT.decode(text)


def compact(value: Any) -> bytes:
    """Compact UTF-8 JSON: orjson, or for what it refuses (a lone surrogate, an integer beyond 64
    bits) the standard library, a lone surrogate written as its ``\\udc80`` escape."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "backslashreplace")


def json_line(value: Any) -> bytes:
    """`compact(value)` and a newline: one JSON Lines line, made by orjson in one go (no copy to
    append the newline)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        return compact(value) + b"\n"


def readable(value: Any) -> str:
    """The text a record keeps of a value it did not read as text (an array item, a parsed payload)."""
    return json.dumps(value, ensure_ascii=False)


def non_finite(value: Any) -> str | None:
    """The JSON Pointer of the first NaN or infinite number in `value` (a payload handed in as
    Python objects: text read here never holds one), None when there is none."""
    try:
        found = _non_finite_below(value.values() if value.__class__ is dict else (value,))
    except RecursionError:  # nested deeper than the interpreter recurses: one value at a time
        found = _non_finite_deep(value)
    return _pointer_to_non_finite(value, "") if found else None


def surely_finite(value: Any) -> bool:
    """True when `value` holds no NaN or infinite number: orjson, which writes those as null,
    writes no null at all (a few times faster than `non_finite`'s walk, on a value without nulls,
    as Caliper from Canvas is). False says nothing (a null, or a value orjson refuses): ask `non_finite`."""
    try:
        return b"null" not in orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError is one
        return False


_PLAIN_LEAVES = frozenset({str, int, bool, type(None)})


def _non_finite_below(values: Any) -> bool:
    """Whether any of `values`, or anything in them, is NaN or infinite: recursion, twice as fast
    as a stack here (a payload is a few levels deep). A container of strings, integers and the
    like (most of them) is passed over at C speed."""
    if _PLAIN_LEAVES.issuperset(map(type, values)):
        return False
    for item in values:
        kind = item.__class__
        if kind is dict:
            if _non_finite_below(item.values()):
                return True
        elif kind is list:
            if _non_finite_below(item):
                return True
        elif kind is float and item - item != 0.0:  # inf - inf and nan - nan are nan
            return True
    return False


def _non_finite_deep(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        kind = item.__class__
        if kind is dict:
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind is float and not math.isfinite(item):
            return True
    return False


def _pointer_to_non_finite(value: Any, at: str) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return at
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _pointer_to_non_finite(item, f"{at}/{token(key)}")
        if found is not None:
            return found
    return None


def non_finite_problem(value: Any) -> Problem | None:
    """The problem of a payload holding NaN or Infinity, which JSON cannot write (nor we pass on)."""
    at = non_finite(value)
    if at is None:
        return None
    return Problem(at, f"{_pointer_value(value, at)!r} is not a JSON number (JSON has no NaN or Infinity)", "malformed-json")


def _pointer_value(value: Any, at: str) -> Any:
    for part in at.split("/")[1:]:
        key = part.replace("~1", "/").replace("~0", "~")
        value = value[int(key)] if isinstance(value, list) else value[key]
    return value
