"""Named, invertible conversions for plain field copies (`$body.x | urn:course`).

A copy with a converter stays declarative in both directions: Canvas -> Caliper applies
`forward`, Caliper -> Canvas applies `inverse`, so no mapping has to spell out the reverse.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from .. import ids


class Scope(NamedTuple):
    """What a conversion may depend on besides the value: the event's shard and the id style
    wanted. Immutable, and a tuple: an event whose shard is new makes one, cheaply."""

    shard: int | None = None
    ids: str = "canvas"


@dataclass(frozen=True, slots=True)
class Converter:
    name: str
    forward: Callable[[Any, Scope], Any]
    inverse: Callable[[Any, Scope], Any] | None


def canvas_id(value: str, scope: Scope) -> str:
    """An id from a Caliper event in the id style the caller asked for: all local, all global (a
    local id lifted onto the event's shard), or as written (`canvas`; a mapping's `canvas_style`
    then gives the fields Canvas documents as local). Non-numeric keys pass through."""
    if scope.ids == "canvas" or not ids.is_canvas_id(value):
        return value
    return ids.local_id(value) if scope.ids == "local" else ids.global_id(value, scope.shard)


def _urn(kind: str) -> Converter:
    return Converter(
        f"urn:{kind}",
        lambda value, scope: ids.urn(kind, value, scope.shard),
        lambda value, scope: canvas_id(ids.parse_urn(value, kind)[1], scope),
    )


# What `time` and `host_url` promise (mapping/proof.py relies on it): a Caliper DateTime as
# caliper/ims/defs.json writes it, and an absolute IRI. A result that would break the promise
# (a year before 1000, a host with whitespace) fails the mapping instead.
_DATE_TIME = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)\.[0-9]{3}Z")
# JSON Schema's `\s` is ECMAScript's, which also holds U+FEFF (Python's does not): refuse both.
_HOST = re.compile(r"[^\s\ufeff]+")


DATE_TIME_SHAPE, SECONDS_SHAPE = ids.CALIPER_TIME_SHAPE, ids.SECONDS_TIME_SHAPE
FROM_ISO = datetime.fromisoformat


def date_time(value: str) -> str:
    """`ids.caliper_time` held to the promise: a Caliper DateTime, else ValueError (also what
    the engine writes as `sendTime`, which the proof takes as conforming)."""
    if value.__class__ is str:
        if DATE_TIME_SHAPE(value) is not None:
            FROM_ISO(value[:-1])  # already so (every current Canvas event_time): a real time, or ValueError
            return value
        if SECONDS_SHAPE(value) is not None and value[0] != "0":  # a body time Canvas writes without milliseconds
            FROM_ISO(value[:-1])  # (a year before 1000 is refused below, as `strftime` writes it in 3 digits)
            return value[:-1] + ".000Z"
    text = ids.caliper_time(value)
    if _DATE_TIME.fullmatch(text) is None:
        raise ValueError(f"{text!r} is not a Caliper DateTime (YYYY-MM-DDTHH:mm:ss.SSSZ)")
    return text


def _time(value: str, scope: Scope) -> str:
    return date_time(value)


def _host_url(host: str, scope: Scope) -> str:
    """`http://host/`; a hostless system event's instance IRI (a Canvas URN, see engine.instance_iri) as is."""
    iri = HOST_IRIS.get(host) if host.__class__ is str else None
    if iri is None:
        if not isinstance(host, str) or _HOST.fullmatch(host) is None:
            raise ValueError(f"{host!r} is not a host name")
        iri = host if host.startswith("urn:") else f"http://{host}/"
        if len(HOST_IRIS) < _HOSTS_KEPT:
            HOST_IRIS[host] = iri
    return iri


# `host_url` of the hosts seen, kept (an instance has one host, a consumer of many a few
# thousand): every event writes its host's IRI at least once.
HOST_IRIS: dict[str, str] = {}
_HOSTS_KEPT = 4096


def _url_host(url: str, scope: Scope) -> str:
    host = urlsplit(url).netloc
    if not host:
        raise ValueError(f"{url!r} has no host")
    return host


def unchanged(value: Any, scope: Scope) -> Any:
    """The inverse of a conversion whose Caliper value is the Canvas value (restore's code leaves out the call)."""
    return value


_FIXED = {
    "time": Converter("time", _time, unchanged),
    "role": Converter("role", lambda v, s: ids.caliper_role(v), lambda v, s: ids.canvas_role(v)),
    "host_url": Converter("host_url", _host_url, _url_host),
    "string": Converter("string", lambda v, s: str(v), unchanged),
    "gid": Converter("gid", lambda v, s: ids.global_id(v, s.shard), canvas_id),
}


def inline_inverse(name: str) -> tuple[str, str] | None:
    """The inverse of converter `name` as Python for restore's generated code, where it is plain:
    a test of `value` and `scope`, and the result when it holds (the inverse is called when it
    does not). With ids as Canvas writes them (the default) `gid` gives the id back and
    `urn:<kind>` the URN's id, its last segment (`canvas_id` of `ids.parse_urn`)."""
    if name == "gid":
        return "scope.ids == 'canvas'", "value"
    if name.startswith("urn:") and len(name) > 4:
        prefix = f"{ids.URN_PREFIX}{name[4:]}:"
        return f"scope.ids == 'canvas' and value.__class__ is str and value.startswith({prefix!r}) and ':' not in (rest := value[{len(prefix)}:])", "rest"
    return None


def converter(name: str) -> Converter:
    """The converter called `name`; `urn:<kind>` for any Canvas URN kind."""
    if name.startswith("urn:") and len(name) > 4:
        return _urn(name[4:])
    try:
        return _FIXED[name]
    except KeyError:
        known = ", ".join([*sorted(_FIXED), "urn:<kind>"])
        raise KeyError(f"unknown converter {name!r}; known: {known}") from None
