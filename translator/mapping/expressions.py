"""The one sandboxed Jinja2 environment that compiles every mapping expression, once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .. import ids
from .converters import Scope, canvas_id


def _scope(context: Context) -> Scope:
    return Scope(shard=context.get("shard"), ids=context.get("ids", "global"))


@pass_context
def _urn(context: Context, kind: str, value: str | int) -> str:
    return ids.urn(kind, value, context.get("shard"))


@pass_context
def _gid(context: Context, value: str | int) -> str:
    return ids.global_id(value, context.get("shard"))


@pass_context
def _cid(context: Context, text: str, kind: str | None = None) -> str:
    """The Canvas id at the end of a Canvas URN, in the id style asked for."""
    return canvas_id(ids.parse_urn(text, kind)[1], _scope(context))


@pass_context
def _canvas_id(context: Context, value: str) -> str:
    return canvas_id(ids.global_id(value, context.get("shard")), _scope(context))


def _urn_parts(text: str) -> list[str]:
    """The segments of a Canvas URN after `urn:instructure:canvas:`."""
    if not isinstance(text, str) or not text.startswith(ids.URN_PREFIX):
        raise ValueError(f"{text!r} is not a Canvas URN")
    return text[len(ids.URN_PREFIX) :].split(":")


@pass_context
def _generic_object_id(context: Context, event_name: str, body: dict[str, Any]) -> str:
    """The URN of what a generically mapped event is about: `<entity>_id`, else `id`, else the
    first id-valued `*_id` field of the body; failing all, the event type itself."""
    entity = event_name.replace(".", "_").rsplit("_", 1)[0]
    candidates = [(entity, f"{entity}_id"), (entity, "id")]
    candidates += [(key[:-3], key) for key in body if key.endswith("_id")]
    for kind, key in candidates:
        if ids.is_canvas_id(body.get(key)):
            return ids.urn(kind, body[key], context.get("shard"))
    return f"{ids.URN_PREFIX}live_event:{event_name}"


HELPERS: dict[str, Callable[..., Any]] = {
    "generic_object_id": _generic_object_id,
    "urn": _urn,
    "gid": _gid,
    "cid": _cid,
    "canvas_id": _canvas_id,
    "urn_parts": _urn_parts,
    "caliper_time": ids.caliper_time,
    "caliper_role": ids.caliper_role,
    "has_caliper_role": lambda role: role in ids.ENROLLMENT_ROLES,
    "has_canvas_role": lambda role: role in ids.CALIPER_ROLES,
    "canvas_role": ids.canvas_role,
}

_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_ENV.globals.update(HELPERS)


class ExpressionError(ValueError):
    pass


def compile_expression(source: str) -> Callable[[dict[str, Any]], Any]:
    """Compile `source` once; the result raises ExpressionError instead of returning Undefined."""
    try:
        compiled = _ENV.compile_expression(source, undefined_to_none=False)
    except TemplateSyntaxError as exc:
        raise ExpressionError(f"expression {source!r} does not compile: {exc.message}") from None

    def evaluate(variables: dict[str, Any]) -> Any:
        try:
            result = compiled(**variables)
        except Exception as exc:  # a sandbox, type or helper error: all are the mapping's fault
            raise ExpressionError(f"expression {source!r} failed: {exc}") from None
        if isinstance(result, Undefined):
            raise ExpressionError(f"expression {source!r} is undefined for this event (guard it with `is defined`)")
        return result

    return evaluate
