"""Mapping expressions: Jinja2 syntax, compiled once into plain Python closures.

Jinja2 parses each expression; instead of rendering it through a template context on every event
(most of a conversion's time when we measured), the parsed tree is compiled here into nested
closures over a small, closed set of operations. That set is the sandbox: names resolve to the
event's variables or our helpers, attribute access reads dict keys or calls a short list of
string and dict methods, and nothing else is reachable. As with Jinja's StrictUndefined, using a
missing value is an error, never a silent null: only `is defined` / `is undefined` may look at it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import Environment, TemplateSyntaxError
from jinja2 import nodes as j

from .. import ids
from .converters import Scope, canvas_id

Variables = dict[str, Any]
Evaluate = Callable[[Variables], Any]


class ExpressionError(ValueError):
    pass


class _Undefined:
    """A name or key that is not there; any use but a definedness test raises."""

    __slots__ = ("what",)

    def __init__(self, what: str) -> None:
        self.what = what


def _value(value: Any) -> Any:
    if isinstance(value, _Undefined):
        raise ExpressionError(f"{value.what} is undefined (guard it with `is defined`)")
    return value


# -- helpers the expressions may call ---------------------------------------------------------
def _scope(variables: Variables) -> Scope:
    return Scope(shard=variables.get("shard"), ids=variables.get("ids", "global"))


def _urn(variables: Variables, kind: str, value: str | int) -> str:
    return ids.urn(kind, value, variables.get("shard"))


def _gid(variables: Variables, value: str | int) -> str:
    return ids.global_id(value, variables.get("shard"))


def _cid(variables: Variables, text: str, kind: str | None = None) -> str:
    """The Canvas id at the end of a Canvas URN, in the id style asked for."""
    return canvas_id(ids.parse_urn(text, kind)[1], _scope(variables))


def _canvas_id(variables: Variables, value: str) -> str:
    return canvas_id(ids.global_id(value, variables.get("shard")), _scope(variables))


def _urn_parts(text: str) -> list[str]:
    """The segments of a Canvas URN after `urn:instructure:canvas:`."""
    if not isinstance(text, str) or not text.startswith(ids.URN_PREFIX):
        raise ValueError(f"{text!r} is not a Canvas URN")
    return text[len(ids.URN_PREFIX) :].split(":")


def _generic_object_id(variables: Variables, event_name: str, body: dict[str, Any]) -> str:
    """The URN of what a generically mapped event is about: `<entity>_id`, else `id`, else the
    first id-valued `*_id` field of the body; failing all, the event type itself."""
    entity = event_name.replace(".", "_").rsplit("_", 1)[0]
    candidates = [(entity, f"{entity}_id"), (entity, "id")]
    candidates += [(key[:-3], key) for key in body if key.endswith("_id")]
    for kind, key in candidates:
        if ids.is_canvas_id(body.get(key)):
            return ids.urn(kind, body[key], variables.get("shard"))
    return f"{ids.URN_PREFIX}live_event:{event_name}"


# Helpers that read the event's shard or id style take the variables first.
_WITH_VARIABLES: dict[str, Callable[..., Any]] = {
    "urn": _urn,
    "gid": _gid,
    "cid": _cid,
    "canvas_id": _canvas_id,
    "generic_object_id": _generic_object_id,
}
_PLAIN: dict[str, Callable[..., Any]] = {
    "urn_parts": _urn_parts,
    "caliper_time": ids.caliper_time,
    "caliper_role": ids.caliper_role,
    "canvas_role": ids.canvas_role,
    "has_caliper_role": lambda role: role in ids.ENROLLMENT_ROLES,
    "has_canvas_role": lambda role: role in ids.CALIPER_ROLES,
}
HELPERS = frozenset(_WITH_VARIABLES) | frozenset(_PLAIN)

# The only methods an expression may call, by the type they belong to.
_METHODS: dict[type, frozenset[str]] = {
    str: frozenset({"lower", "upper", "strip", "split", "rsplit", "startswith", "endswith", "replace", "partition", "rpartition"}),
    dict: frozenset({"get", "keys", "values", "items"}),
}

_TESTS: dict[str, Callable[[Any], bool]] = {
    "none": lambda v: v is None,
    "mapping": lambda v: isinstance(v, Mapping),
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "sequence": lambda v: isinstance(v, (list, tuple, str)),
}

_FILTERS: dict[str, Callable[..., Any]] = {
    "lower": lambda v: v.lower(),
    "upper": lambda v: v.upper(),
    "string": str,
    "int": int,
    "float": float,
    "length": len,
    "join": lambda v, sep="": sep.join(map(str, v)),
    "first": lambda v: next(iter(v)),
    "last": lambda v: v[-1],
}

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    j.Add: operator.add, j.Sub: operator.sub, j.Mul: operator.mul, j.Div: operator.truediv,
    j.FloorDiv: operator.floordiv, j.Mod: operator.mod, j.Pow: operator.pow,
}  # fmt: skip
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "lteq": operator.le, "gt": operator.gt,
    "gteq": operator.ge, "in": lambda a, b: a in b, "notin": lambda a, b: a not in b,
}  # fmt: skip

_PARSER = Environment(autoescape=False)


def compile_expression(source: str) -> Evaluate:
    """Compile `source` once into a closure over the event's variables."""
    try:
        template = _PARSER.parse("{{ " + source + " }}")
    except TemplateSyntaxError as exc:
        raise ExpressionError(f"expression {source!r} does not compile: {exc.message}") from None
    body = template.body
    if len(body) != 1 or not isinstance(body[0], j.Output) or len(body[0].nodes) != 1:
        raise ExpressionError(f"expression {source!r} is not a single expression")
    try:
        compiled = _compile(body[0].nodes[0])
    except ExpressionError as exc:
        raise ExpressionError(f"expression {source!r} does not compile: {exc}") from None

    def evaluate(variables: Variables) -> Any:
        try:
            return _value(compiled(variables))
        except ExpressionError as exc:
            raise ExpressionError(f"expression {source!r} failed: {exc}") from None
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, ZeroDivisionError) as exc:
            raise ExpressionError(f"expression {source!r} failed: {type(exc).__name__}: {exc}") from None

    return evaluate


def _compile(node: j.Node) -> Evaluate:  # noqa: C901 - one branch per node type is the clearest form
    if isinstance(node, j.Const):
        constant = node.value
        return lambda v: constant
    if isinstance(node, j.Name):
        return _name(node.name)
    if isinstance(node, j.Getattr):
        return _member(_compile(node.node), node.attr)
    if isinstance(node, j.Getitem):
        if isinstance(node.arg, j.Slice):
            return _slice(_compile(node.node), node.arg)
        return _item(_compile(node.node), _compile(node.arg))
    if isinstance(node, j.Test):
        return _test(node)
    if isinstance(node, j.And):
        left, right = _compile(node.left), _compile(node.right)
        return lambda v: _value(left(v)) and _value(right(v))
    if isinstance(node, j.Or):
        left, right = _compile(node.left), _compile(node.right)
        return lambda v: _value(left(v)) or _value(right(v))
    if isinstance(node, j.Not):
        inner = _compile(node.node)
        return lambda v: not _value(inner(v))
    if isinstance(node, j.Neg):
        inner = _compile(node.node)
        return lambda v: -_value(inner(v))
    if isinstance(node, j.CondExpr):
        test, then = _compile(node.test), _compile(node.expr1)
        otherwise = _compile(node.expr2) if node.expr2 is not None else (lambda v: None)
        return lambda v: then(v) if _value(test(v)) else otherwise(v)
    if isinstance(node, j.Compare):
        return _compare(node)
    if isinstance(node, j.Concat):
        parts = [_compile(part) for part in node.nodes]
        return lambda v: "".join(str(_value(part(v))) for part in parts)
    if type(node) in _BINARY:
        apply, left, right = _BINARY[type(node)], _compile(node.left), _compile(node.right)  # type: ignore[attr-defined]
        return lambda v: apply(_value(left(v)), _value(right(v)))
    if isinstance(node, (j.List, j.Tuple)):
        items = [_compile(item) for item in node.items]
        return lambda v: [_value(item(v)) for item in items]
    if isinstance(node, j.Dict):
        pairs = [(_compile(pair.key), _compile(pair.value)) for pair in node.items]
        return lambda v: {_value(k(v)): _value(x(v)) for k, x in pairs}
    if isinstance(node, j.Filter):
        return _filter(node)
    if isinstance(node, j.Call):
        return _call(node)
    raise ExpressionError(f"{type(node).__name__} is not supported in mapping expressions")


def _name(name: str) -> Evaluate:
    if name in ("true", "True"):
        return lambda v: True
    if name in ("false", "False"):
        return lambda v: False
    if name in ("none", "None"):
        return lambda v: None

    def lookup(v: Variables) -> Any:
        return v[name] if name in v else _Undefined(f"{name!r}")

    return lookup


def _member(target: Evaluate, attr: str) -> Evaluate:
    def member(v: Variables) -> Any:
        obj = _value(target(v))
        if isinstance(obj, dict):
            if attr in obj:
                return obj[attr]
            if attr in _METHODS[dict]:
                return getattr(obj, attr)
            return _Undefined(f"key {attr!r}")
        if attr in _METHODS.get(type(obj), ()):
            return getattr(obj, attr)
        return _Undefined(f"attribute {attr!r} of {type(obj).__name__}")

    return member


def _item(target: Evaluate, key: Evaluate) -> Evaluate:
    def item(v: Variables) -> Any:
        obj, index = _value(target(v)), _value(key(v))
        try:
            return obj[index]
        except (KeyError, IndexError, TypeError):
            return _Undefined(f"item {index!r}")

    return item


def _slice(target: Evaluate, part: j.Slice) -> Evaluate:
    start, stop = (_compile(x) if x is not None else (lambda v: None) for x in (part.start, part.stop))
    return lambda v: _value(target(v))[_value(start(v)) : _value(stop(v))]


def _test(node: j.Test) -> Evaluate:
    inner = _compile(node.node)
    if node.name in ("defined", "undefined"):
        wanted = node.name == "defined"
        return lambda v: (not isinstance(inner(v), _Undefined)) == wanted
    if node.name not in _TESTS:
        raise ExpressionError(f"test {node.name!r} is not supported")
    check = _TESTS[node.name]
    return lambda v: check(inner(v))  # as in Jinja, a type test on a missing value is just False


def _compare(node: j.Compare) -> Evaluate:
    first = _compile(node.expr)
    steps = [(_COMPARE[op.op], _compile(op.expr)) for op in node.ops]

    def compare(v: Variables) -> bool:
        left = _value(first(v))
        for apply, right in steps:
            value = _value(right(v))
            if not apply(left, value):
                return False
            left = value
        return True

    return compare


def _arguments(node: j.Filter | j.Call) -> tuple[list[Evaluate], dict[str, Evaluate]]:
    if node.dyn_args is not None or node.dyn_kwargs is not None:
        raise ExpressionError("*args and **kwargs are not supported")
    return [_compile(a) for a in node.args], {str(kw.key): _compile(kw.value) for kw in node.kwargs}


def _filter(node: j.Filter) -> Evaluate:
    if node.name not in _FILTERS:
        raise ExpressionError(f"filter {node.name!r} is not supported")
    apply, inner = _FILTERS[node.name], _compile(node.node)  # type: ignore[arg-type]
    args, kwargs = _arguments(node)
    return lambda v: apply(_value(inner(v)), *(_value(a(v)) for a in args), **{k: _value(x(v)) for k, x in kwargs.items()})


def _apply(function: Evaluate, args: list[Evaluate], kwargs: dict[str, Evaluate], pass_variables: bool = False) -> Evaluate:
    """`function(v)(*args, **kwargs)` (with the variables first when `pass_variables`); the common
    shapes (no keywords, one or two arguments) are written out, since this runs for most
    expressions of most events."""
    if kwargs or len(args) > 2:
        if pass_variables:
            return lambda v: function(v)(v, *(_value(a(v)) for a in args), **{k: _value(x(v)) for k, x in kwargs.items()})
        return lambda v: function(v)(*(_value(a(v)) for a in args), **{k: _value(x(v)) for k, x in kwargs.items()})
    if len(args) == 2:
        first, second = args
        if pass_variables:
            return lambda v: function(v)(v, _value(first(v)), _value(second(v)))
        return lambda v: function(v)(_value(first(v)), _value(second(v)))
    if len(args) == 1:
        (only,) = args
        if pass_variables:
            return lambda v: function(v)(v, _value(only(v)))
        return lambda v: function(v)(_value(only(v)))
    return (lambda v: function(v)(v)) if pass_variables else (lambda v: function(v)())


def _call(node: j.Call) -> Evaluate:
    args, kwargs = _arguments(node)
    if isinstance(node.node, j.Name):
        name = node.node.name
        if name in _WITH_VARIABLES:
            helper = _WITH_VARIABLES[name]
            return _apply(lambda v: helper, args, kwargs, pass_variables=True)
        if name in _PLAIN:
            plain = _PLAIN[name]
            return _apply(lambda v: plain, args, kwargs)
        raise ExpressionError(f"{name}() is not a helper (helpers: {', '.join(sorted(HELPERS))})")
    if isinstance(node.node, j.Getattr):
        if node.node.attr == "get" and not kwargs and all(isinstance(a, j.Const) for a in node.args):
            return _dict_get(_compile(node.node.node), [a.value for a in node.args])  # type: ignore[attr-defined]
        method = _member(_compile(node.node.node), node.node.attr)
        return _apply(lambda v: _value(method(v)), args, kwargs)
    raise ExpressionError("only helpers and string or dict methods can be called")


def _dict_get(target: Evaluate, constants: list[Any]) -> Evaluate:
    """`x.get('key'[, default])`, the commonest call in the mappings, without the general path."""
    if not 1 <= len(constants) <= 2:
        raise ExpressionError("get() takes a key and an optional default")
    key, default = constants[0], constants[1] if len(constants) == 2 else None
    method = _member(target, "get")

    def get(v: Variables) -> Any:
        obj = target(v)
        if obj.__class__ is dict and "get" not in obj:
            return obj.get(key, default)
        return _value(method(v))(*constants)

    return get
