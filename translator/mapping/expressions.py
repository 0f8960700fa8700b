"""Mapping expressions: Jinja2 syntax, compiled once into plain Python source.

Jinja2 parses each expression; instead of rendering it through a template context on every event
(most of a conversion's time when we measured), the parsed tree is translated here into one Python
expression over the event's variables `v`, built from a small, closed set of operations. That set
is the sandbox: names resolve to the event's variables or our helpers, attribute access reads dict
keys or calls a short list of string and dict methods, and nothing else is reachable. The mapping
code generator inlines that source into a mapping's function; `Expression` also evaluates it alone.
As with Jinja's StrictUndefined, using a missing value is an error, never a silent null: only
`is defined` / `is undefined` and the type tests may look at one.

A user's expression cannot exhaust the machine: the language has no loop and no `range`, and
every operation that could build something large is bounded (`MAX_INT_BITS` for `**`,
`MAX_WIDTH` for a `%` format's width and precision, `MAX_TEXT` for what `*`, `%`, `~`, `join`
and `replace` build, a repeated list weighed with its items, and for any result); a result must
be a JSON value (`json_result`). What stays is time: many such operations, each within its
bounds, can still take seconds. So an event's expressions also have a time budget
(`begin_event`): the operations that build or scan text count what they handle, and once every
`LOOK_EVERY` characters of such work the clock is read; past the event's deadline the
expression fails with `ExpressionTimeout`. The same looks add up the event's work: past
`MAX_EVENT_WORK` characters the expression fails, whatever the clock says, so that many
operations each within `MAX_TEXT` (a list literal of a thousand repeated strings) cannot build a
gigabyte before the deadline. Shipped mappings, whose strings are short, look about once in
hundreds of events.
"""

from __future__ import annotations

import itertools
import keyword
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import Environment, TemplateSyntaxError
from jinja2 import nodes as j

from .. import ids
from .converters import Scope, canvas_id

Variables = dict[str, Any]


class ExpressionError(ValueError):
    pass


class ExpressionTimeout(ExpressionError):
    """The event's expressions ran past its time budget (`begin_event`)."""


# What a failing operation may raise; `failure` turns each into an ExpressionError naming the expression.
ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, ArithmeticError, RecursionError)

MAX_INT_BITS = 4_096  # an integer `**` or `*` may build (about 1,233 digits)
MAX_WIDTH = 1_000  # width or precision in a `%` format
MAX_TEXT = 1 << 20  # characters (or items) in what one operation builds, and in a result
DEFAULT_BUDGET = 1.0  # seconds an event's expressions may run (about ten thousand times what shipped mappings take)
LOOK_EVERY = 1 << 16  # characters built or scanned (all threads together) between two looks at the clock
MAX_EVENT_WORK = 32 * MAX_TEXT  # characters one event's expressions may build or scan (counted at each look)
_OPERATION = 64  # what an operation counts for at least, so that many small ones also lead to a look


class _Clock(threading.local):
    """The event this thread is converting: `[budget in seconds or None, deadline or None, work
    counted at the looks]`, the deadline fixed at the first look at the clock (the work before it
    is under `LOOK_EVERY`). A list, changed in place: storing into a thread-local object costs
    more than reading it."""

    def __init__(self) -> None:
        self.event: list[Any] = [None, None, 0]


_CLOCK = _Clock()
_work = 0  # counted since the last look; shared by the threads, so only roughly: it decides when to look


def begin_event(budget: float | None) -> None:
    """Start an event's budget, in seconds (None: no limit), before its expressions run. The
    clock is read only once the expressions have done `LOOK_EVERY` of work."""
    event = _CLOCK.event
    event[0] = budget
    event[1] = None
    event[2] = 0


def _spend(size: int) -> None:
    """Count `size` characters of work; past `LOOK_EVERY`, look at the clock."""
    global _work
    _work += size + _OPERATION
    if _work > LOOK_EVERY:
        event = _CLOCK.event
        event[2] += _work
        _work = 0
        if event[2] > MAX_EVENT_WORK:
            raise ExpressionError(f"the event's expressions built or scanned more than {MAX_EVENT_WORK:,} characters")
        budget, deadline, _ = event
        if budget is None:
            return
        now = time.monotonic()
        if deadline is None:
            event[1] = now + budget
        elif now > deadline:
            raise ExpressionTimeout(f"the event's expressions ran past their time budget of {budget:g} s (mapping_budget, --mapping-budget)")


def _pow(base: Any, exponent: Any) -> Any:
    _spend(0)
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        if exponent * abs(base).bit_length() > MAX_INT_BITS + exponent:
            raise ExpressionError(f"{base} ** {exponent} is too large (more than {MAX_INT_BITS} bits)")
    return base**exponent


_FORMAT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.DOTALL)


def _mod(left: Any, right: Any) -> Any:
    if isinstance(left, str):
        _spend(len(left))
        for match in _FORMAT_SPEC.finditer(left):
            for number in match.group(1, 2):
                if number == "*" or (number and (len(number) > 4 or int(number) > MAX_WIDTH)):
                    raise ExpressionError(f"format {match.group(0)!r}: width and precision are at most {MAX_WIDTH}")
        return _bounded(left % (tuple(right) if isinstance(right, list) else right))
    _spend(0)
    return left % right


def _mul(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_INT_BITS + 1:
        raise ExpressionError(f"the product is too large (more than {MAX_INT_BITS} bits)")
    for sequence, count in ((left, right), (right, left)):
        if isinstance(sequence, (str, list)) and isinstance(count, int):
            # a list weighs its items: repeating one that holds a long string repeats the string
            size = len(sequence) if isinstance(sequence, str) else _weight(sequence)
            if size * count > MAX_TEXT:
                raise ExpressionError(f"repeating {size:,} characters and items {count} times is too large (more than {MAX_TEXT:,})")
            _spend(size * max(count, 0))
            return left * right
    _spend(0)
    return left * right


def _weight(value: Any) -> int:
    """Items and characters in `value` (nested lists and dicts included), counted up to just past `MAX_TEXT`."""
    total, pending = 0, [value]
    while pending and total <= MAX_TEXT:
        item = pending.pop()
        total += 1
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
    return total


def _bounded(value: Any) -> Any:
    if isinstance(value, (str, list)):
        _spend(len(value))
        if len(value) > MAX_TEXT:
            raise ExpressionError(f"the result is too large ({len(value):,} characters or items; at most {MAX_TEXT:,})")
    return value


def _join(items: Any, separator: str = "") -> str:
    """The `join` filter, refused before it is built when it is too large."""
    texts = [item if isinstance(item, str) else str(item) for item in items]
    if len(separator) * max(len(texts) - 1, 0) + sum(map(len, texts)) > MAX_TEXT:
        raise ExpressionError(f"join would build more than {MAX_TEXT:,} characters")
    return _bounded(separator.join(texts))


def _replace(text: str) -> Callable[..., str]:
    def replace(old: str, new: str, count: int = -1) -> str:
        if isinstance(old, str) and isinstance(new, str) and len(new) > len(old):
            grows = (text.count(old) if old else len(text) + 1) * (len(new) - len(old))
            if len(text) + grows > MAX_TEXT:
                raise ExpressionError(f"replace would build more than {MAX_TEXT:,} characters")
        return _bounded(text.replace(old, new, count))

    return replace


_JSON_SCALARS = (str, int, bool, type(None))


def json_result(value: Any, size: list[int] | None = None) -> Any:
    """`value` when it is a JSON value of bounded size (string keys, finite numbers), else an
    ExpressionError: what a mapping writes must be serialisable, whatever an expression returns."""
    size = size if size is not None else [0]
    size[0] += 1
    if isinstance(value, str):
        size[0] += len(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ExpressionError(f"the result {value!r} is not a JSON number")
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ExpressionError(f"an object key must be a string, not {type(key).__name__} {key!r}")
            json_result(item, size)
    elif isinstance(value, list):
        for item in value:
            json_result(item, size)
    elif not isinstance(value, _JSON_SCALARS) or value is UNDEFINED:
        raise ExpressionError(f"the result must be a JSON value, not {type(value).__name__}")
    if size[0] > MAX_TEXT:
        raise ExpressionError(f"the result is too large (more than {MAX_TEXT:,} characters and values)")
    return value


def failure(source: str, exc: Exception) -> ExpressionError:
    detail = str(exc) if isinstance(exc, ExpressionError) else f"{type(exc).__name__}: {exc}"
    shown = source if len(source) <= 200 else source[:200] + "..."
    return ExpressionError(f"expression {shown!r} failed: {detail}")


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
    "mapping": lambda v: isinstance(v, Mapping),
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "sequence": lambda v: isinstance(v, (list, tuple, str)),
}

_FILTERS: dict[str, Callable[..., Any]] = {
    "lower": lambda v: _bounded(v.lower()),
    "upper": lambda v: _bounded(v.upper()),
    "string": lambda v: _bounded(str(v)),
    "int": int,
    "float": float,
    "length": len,
    "join": _join,
    "first": lambda v: next(iter(v)),
    "last": lambda v: v[-1],
}

_BINARY = {j.Add: "+", j.Sub: "-", j.Mul: "*", j.Div: "/", j.FloorDiv: "//", j.Mod: "%", j.Pow: "**"}
_COMPARE = {"eq": "==", "ne": "!=", "lt": "<", "lteq": "<=", "gt": ">", "gteq": ">=", "in": "in", "notin": "not in"}


# -- what the generated source calls --------------------------------------------------------
class _Undefined:
    """A missing name, key or item, as a type test sees it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Undefined"


UNDEFINED: Any = _Undefined()


def _undefined(what: str) -> Any:
    raise ExpressionError(f"{what} is undefined (guard it with `is defined`)")


def _attribute(obj: Any, attr: str, probe: bool = False) -> Any:
    """`obj.attr` when the fast path (a dict holding the key) did not apply."""
    if isinstance(obj, dict):
        if attr in obj:
            return obj[attr]
        if attr in _METHODS[dict]:
            _spend(len(obj))
            return getattr(obj, attr)
        return UNDEFINED if probe else _undefined(f"key {attr!r}")
    if attr in _METHODS.get(type(obj), ()):
        _spend(len(obj))  # a string method scans the string
        return _replace(obj) if attr == "replace" else getattr(obj, attr)
    return UNDEFINED if probe else _undefined(f"attribute {attr!r} of {type(obj).__name__}")


def _item(obj: Any, index: Any, probe: bool = False) -> Any:
    try:
        return obj[index]
    except (KeyError, IndexError, TypeError):
        return UNDEFINED if probe else _undefined(f"item {index!r}")


# Names every generated expression may use (the rest are its own constants).
RUNTIME: dict[str, Any] = {
    "_x_undefined": _undefined,
    "_x_attribute": _attribute,
    "_x_item": _item,
    "_x_UNDEFINED": UNDEFINED,
    "_x_pow": _pow,
    "_x_mod": _mod,
    "_x_mul": _mul,
    "_x_bounded": _bounded,
    "_x_json": json_result,
    **{f"_x_h_{name}": helper for name, helper in {**_WITH_VARIABLES, **_PLAIN}.items()},
    "_x_s_urn": ids.urn,
    "_x_s_gid": ids.global_id,
    **{f"_x_test_{name}": test for name, test in _TESTS.items()},
    **{f"_x_filter_{name}": apply for name, apply in _FILTERS.items()},
}

_PARSER = Environment(autoescape=False)
_CONSTANTS = itertools.count()  # constant names are unique in the process: sources get inlined together


class Expression:
    """One compiled expression: `python` (source over the variables `v`, referring to `names`),
    callable on its own for the places that evaluate one expression at a time."""

    __slots__ = ("source", "python", "names", "tree", "_function")

    def __init__(self, source: str) -> None:
        self.source = source
        try:
            template = _PARSER.parse("{{ " + source + " }}")
        except TemplateSyntaxError as exc:
            raise ExpressionError(f"expression {source!r} does not compile: {exc.message}") from None
        body = template.body
        if len(body) != 1 or not isinstance(body[0], j.Output) or len(body[0].nodes) != 1:
            raise ExpressionError(f"expression {source!r} is not a single expression")
        generator = _Generator()
        self.tree = body[0].nodes[0]  # the parsed expression, for the load-time proof (mapping/proof.py)
        try:
            self.python = generator.source(self.tree)
        except ExpressionError as exc:
            raise ExpressionError(f"expression {source!r} does not compile: {exc}") from None
        self.names = {**RUNTIME, **generator.constants}
        self._function: Callable[[Variables], Any] | None = None  # compiled on first call: most are only inlined

    def specialised(
        self, bound: dict[str, str], variables: dict[str, Any], hoisted: dict[tuple[str, ...], str] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Source and names for a place where the variables in `bound` are always set, held in
        the locals it names, and `vars` is the constant `variables`: `vars.x` becomes the
        constant itself and a bound name its local, with the same results and errors. With
        `hoisted`, a lookup of keys below a bound name reads a local the caller sets once, before
        the expression, to the value plain objects give there (`hoisted_lookups`), and falls back
        to its own code where they give none; the table gains each lookup's local."""
        generator = _Generator(bound, variables, hoisted)
        python = generator.source(self.tree)
        return python, {**RUNTIME, **generator.constants}

    def __call__(self, variables: Variables) -> Any:
        if self._function is None:
            code = compile(f"lambda v: {self.python}", f"<expression {self.source!r}>", "eval")
            self._function = eval(code, dict(self.names))  # noqa: S307 - our own generated code
        try:
            return json_result(self._function(variables))
        except ERRORS as exc:
            raise failure(self.source, exc) from None


NOT_FIXED: Any = object()  # `vars_value`: not a constant


def vars_value(node: j.Node, variables: dict[str, Any]) -> Any:
    """What `vars`, `vars.a` or `vars.a.b...` is when `vars` is `variables` and each step is a key
    there (what the expression would read), else `NOT_FIXED`."""
    keys: list[str] = []
    while isinstance(node, j.Getattr):
        keys.append(node.attr)
        node = node.node
    if not (isinstance(node, j.Name) and node.name == "vars"):
        return NOT_FIXED
    value: Any = variables
    for key in reversed(keys):
        if not isinstance(value, dict) or key not in value:
            return NOT_FIXED
        value = value[key]
    return value


def _plain(value: Any) -> Any:
    """A constant from `vars` as plain dicts and lists: the YAML loader's line-keeping subclasses
    would miss the generated code's `__class__ is dict` fast path on every lookup."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def hoisted_lookups(hoisted: dict[tuple[str, ...], str]) -> list[str]:
    """Python lines setting each local of a `hoisted` table (parents first): the value plain
    objects (dicts) give along its keys, else `UNDEFINED`. They only read, so they may run
    before every expression whatever it reads."""
    lines = []
    for chain, local in sorted(hoisted.items(), key=lambda entry: len(entry[0])):
        parent = chain[0] if len(chain) == 2 else hoisted[chain[:-1]]
        lines.append(f"{local} = {parent}.get({chain[-1]!r}, _x_UNDEFINED) if {parent}.__class__ is dict else _x_UNDEFINED")
    return lines


def compile_expression(source: str) -> Expression:
    """Compile `source` once (raises `ExpressionError` when it is not in the language)."""
    return Expression(source)


class _Generator:
    """Python source for a Jinja expression tree. `probe` marks an operand a test looks at: there a
    missing value is `UNDEFINED` instead of an error."""

    def __init__(
        self, bound: dict[str, str] | None = None, variables: dict[str, Any] | None = None, hoisted: dict[tuple[str, ...], str] | None = None
    ) -> None:
        self.bound = bound or {}  # variable -> the local that always holds it
        self.variables = variables  # the constant `vars`, when known
        self.hoisted = hoisted  # (bound local, key, ...) -> the local holding that lookup (`Expression.specialised`)
        self.constants: dict[str, Any] = {}
        self._temporaries = itertools.count()

    def constant(self, value: Any) -> str:
        if value is None or isinstance(value, (bool, int, str)) or (isinstance(value, float) and math.isfinite(value)):
            return repr(value)
        name = f"_x_c{next(_CONSTANTS)}"
        self.constants[name] = _plain(value)
        return name

    def temporary(self) -> str:
        return f"_x_t{next(self._temporaries)}"

    def source(self, node: j.Node, probe: bool = False) -> str:  # noqa: C901 - one branch per node type is the clearest form
        if isinstance(node, j.Const):
            return self.constant(node.value)
        if isinstance(node, j.Name):
            return self._name(node.name, probe)
        if isinstance(node, j.Getattr):
            if (found := self._fixed(node)) is not NOT_FIXED:
                return self.constant(found)  # `vars` is fixed for the mapping
            target, key = self.source(node.node), repr(node.attr)
            temp, held = self._held(target)
            fallback = f"_x_attribute({temp}, {key}, True)" if probe else f"_x_attribute({temp}, {key})"
            return self._hoist(node, f"({temp}[{key}] if {held}.__class__ is dict and {key} in {temp} else {fallback})")
        if isinstance(node, j.Getitem):
            target = self.source(node.node)
            if isinstance(node.arg, j.Slice):
                bounds = (self.source(x) if x is not None else "None" for x in (node.arg.start, node.arg.stop))
                return f"{target}[{':'.join(bounds)}]"
            return self._hoist(node, f"_x_item({target}, {self.source(node.arg)}{', True' if probe else ''})")
        if isinstance(node, j.Test):
            return self._test(node)
        if isinstance(node, (j.And, j.Or)):
            return f"({self.source(node.left)} {'and' if isinstance(node, j.And) else 'or'} {self.source(node.right)})"
        if isinstance(node, j.Not):
            return f"(not {self.source(node.node)})"
        if isinstance(node, j.Neg):
            return f"(-{self.source(node.node)})"
        if isinstance(node, j.CondExpr):
            otherwise = self.source(node.expr2, probe) if node.expr2 is not None else "None"
            return f"({self.source(node.expr1, probe)} if {self.source(node.test)} else {otherwise})"
        if isinstance(node, j.Compare):
            steps = [self.source(node.expr)]
            for operand in node.ops:
                if operand.op not in _COMPARE:
                    raise ExpressionError(f"comparison {operand.op!r} is not supported")
                steps += [_COMPARE[operand.op], self.source(operand.expr)]
            return f"({' '.join(steps)})"
        if isinstance(node, j.Concat):
            return "_x_bounded(" + " + ".join(self._text(part) for part in node.nodes) + ")"
        if isinstance(node, (j.Pow, j.Mod, j.Mul)):  # the operations that can build something large
            name = {j.Pow: "pow", j.Mod: "mod", j.Mul: "mul"}[type(node)]
            return f"_x_{name}({self.source(node.left)}, {self.source(node.right)})"
        if isinstance(node, j.BinExpr) and type(node) in _BINARY:
            return f"({self.source(node.left)} {_BINARY[type(node)]} {self.source(node.right)})"
        if isinstance(node, (j.List, j.Tuple)):
            return "[" + ", ".join(self.source(item) for item in node.items) + "]"
        if isinstance(node, j.Dict):
            return "{" + ", ".join(f"{self.source(pair.key)}: {self.source(pair.value)}" for pair in node.items) + "}"
        if isinstance(node, j.Filter):
            if node.name not in _FILTERS:
                raise ExpressionError(f"filter {node.name!r} is not supported")
            return f"_x_filter_{node.name}({self._arguments(node, [self.source(node.node)])})"  # type: ignore[arg-type]
        if isinstance(node, j.Call):
            return self._call(node)
        raise ExpressionError(f"{type(node).__name__} is not supported in mapping expressions")

    def _held(self, target: str) -> tuple[str, str]:
        """(the name to read `target` by, the code that first reads it): a local as it is, any
        other code (a literal such as None too) once, into a temporary."""
        if target.isidentifier() and not keyword.iskeyword(target):
            return target, target
        temp = self.temporary()
        return temp, f"({temp} := {target})"

    def _text(self, node: j.Node) -> str:
        """`str()` of `node` for `~`, left out where the value is text already: a string
        literal, or a call of urn() or gid() (they give a string or raise)."""
        code = self.source(node)
        if isinstance(node, j.Const) and isinstance(node.value, str):
            return code
        if isinstance(node, j.Call) and isinstance(node.node, j.Name) and node.node.name in ("urn", "gid"):
            return code
        return f"str({code})"

    def _hoist(self, node: j.Node, code: str) -> str:
        """`code`, the lookup `node`, reading its hoisted local first when it has one: a value
        there is what `code` gives on plain objects; where they give none, `code` decides."""
        hoisted = self.hoisted
        if hoisted is None or (chain := self._chain(node)) is None:
            return code
        for end in range(2, len(chain) + 1):  # every lookup on the way has its local, set before this one
            hoisted.setdefault(chain[:end], f"_x_e{len(hoisted)}")
        return f"({hoisted[chain]} if {hoisted[chain]} is not _x_UNDEFINED else {code})"

    def _chain(self, node: j.Node) -> tuple[str, ...] | None:
        """(bound local, key, ...) when `node` looks up string keys below a bound name, else None."""
        keys: list[str] = []
        while True:
            if isinstance(node, j.Getattr):
                keys.append(node.attr)
            elif isinstance(node, j.Getitem) and isinstance(node.arg, j.Const) and isinstance(node.arg.value, str):
                keys.append(node.arg.value)
            else:
                break
            node = node.node
        if isinstance(node, j.Name) and node.name in self.bound and keys:
            return (self.bound[node.name], *reversed(keys))
        return None

    def _fixed(self, node: j.Node) -> Any:
        """The constant `node` is when `vars` is the constant `variables` (`vars_value`), else `NOT_FIXED`."""
        return vars_value(node, self.variables) if self.variables is not None else NOT_FIXED

    def _name(self, name: str, probe: bool) -> str:
        constants = {"true": "True", "True": "True", "false": "False", "False": "False", "none": "None", "None": "None"}
        if name in constants:
            return constants[name]
        if name in self.bound:
            return self.bound[name]
        if probe:
            return f"v.get({name!r}, _x_UNDEFINED)"
        return f"(v[{name!r}] if {name!r} in v else _x_undefined({repr(repr(name))}))"

    def _test(self, node: j.Test) -> str:
        operand = self.source(node.node, probe=True)  # as in Jinja, a type test on a missing value is just False
        if node.name in ("defined", "undefined"):
            return f"({operand} {'is not' if node.name == 'defined' else 'is'} _x_UNDEFINED)"
        if node.name == "none":
            return f"({operand} is None)"
        if node.name not in _TESTS:
            raise ExpressionError(f"test {node.name!r} is not supported")
        return f"_x_test_{node.name}({operand})"

    def _arguments(self, node: j.Filter | j.Call, first: list[str]) -> str:
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise ExpressionError("*args and **kwargs are not supported")
        arguments = first + [self.source(a) for a in node.args]
        arguments += [f"{kw.key}={self.source(kw.value)}" for kw in node.kwargs]
        return ", ".join(arguments)

    def _call(self, node: j.Call) -> str:
        if isinstance(node.node, j.Name):
            name = node.node.name
            arity = {"urn": 2, "gid": 1}.get(name)
            if "shard" in self.bound and len(node.args) == arity and not node.kwargs and node.dyn_args is None and node.dyn_kwargs is None:
                # urn()/gid() read only the shard of the variables: hand it over directly
                return f"_x_s_{name}({self._arguments(node, [])}, {self.bound['shard']})"
            if name in _WITH_VARIABLES:
                return f"_x_h_{name}({self._arguments(node, ['v'])})"
            if name in _PLAIN:
                return f"_x_h_{name}({self._arguments(node, [])})"
            raise ExpressionError(f"{name}() is not a helper (helpers: {', '.join(sorted(HELPERS))})")
        if isinstance(node.node, j.Getattr):
            target, attr = self.source(node.node.node), node.node.attr
            arguments = self._arguments(node, [])
            if attr == "get" and not node.kwargs and 1 <= len(node.args) <= 2:
                # `x.get('key'[, default])`, the commonest call in the mappings, without the general path;
                # on a table of `vars` (a dict without a key `get`), the method itself.
                if isinstance(table := self._fixed(node.node.node), dict) and "get" not in table:
                    return f"{target}.get({arguments})"
                temp, held = self._held(target)
                return f"({temp}.get({arguments}) if {held}.__class__ is dict and 'get' not in {temp} else _x_attribute({temp}, 'get')({arguments}))"
            return f"_x_attribute({target}, {attr!r})({arguments})"
        raise ExpressionError("only helpers and string or dict methods can be called")
