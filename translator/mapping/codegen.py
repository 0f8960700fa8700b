"""Compile a mapping's nodes into plain Python functions: the one runtime of the mapping language.

Each node's meaning is defined once, here, as the straight-line code it becomes (dict literals,
`.get` chains, guarded inserts); the forward template and every `$reverse` expression run as such
code. The node tree is only the parsed form that this module, dispatch and the proof read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import ids
from . import converters
from .converters import Scope
from .expressions import ERRORS, MAX_TEXT, RUNTIME, ExpressionTimeout, failure, hoisted_lookups
from .nodes import OMIT, Const, Copy, Expr, First, MappingRuntimeError, Node, Obj, Pointer, Seq

Built = Callable[[dict[str, Any], Scope], Any]
RulesRestorer = Callable[[dict[str, Any], Scope, dict[str, Any], tuple[Pointer, ...], dict[Pointer, list[str]]], None]
# The variables every build has (CompiledMapping.build), held in locals the expressions use directly.
BOUND = {"metadata": "_metadata", "body": "_body", "host": "_host", "shard": "_shard"}
# The variables every `$reverse` rule has (`generate_rules`), likewise.
REVERSE_BOUND = {"event": "_event", "ids": "_ids", "shard": "_shard"}


class _Writer:
    def __init__(self, variables: dict[str, Any] | None, bound: dict[str, str] = BOUND, hoisted: dict[tuple[str, ...], str] | None = None) -> None:
        self.variables = variables
        self.bound = bound
        self.hoisted = hoisted  # the expressions' lookups set once at the top (`Expression.specialised`)
        self.lines: list[str] = []
        self.constants: dict[str, Any] = {
            **RUNTIME, "OMIT": OMIT, "fail_convert": _fail_convert, "fail_expression": _fail_expression, "EXPRESSION_ERRORS": ERRORS,
            "SHARD_FACTOR": ids.SHARD_FACTOR, "PLAIN_SCALARS": (bool, int, type(None)),
            "DATE_TIME_SHAPE": converters.DATE_TIME_SHAPE, "FROM_ISO": converters.FROM_ISO, "HOST_IRIS": converters.HOST_IRIS,
        }  # fmt: skip
        self.counter = 0
        self.roots: dict[str, str] = {}

    def name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def constant(self, value: Any, prefix: str = "c") -> str:
        name = self.name(prefix)
        self.constants[name] = value
        return name

    def root(self, name: str) -> str:
        """The local holding `ctx[name]` when it is an object, else an empty one."""
        if name not in self.roots:
            self.roots[name] = f"root{len(self.roots)}"
        return self.roots[name]

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)


def _fail_convert(node: Copy, value: Any, exc: Exception, at: Pointer) -> MappingRuntimeError:
    name = node.converter.name if node.converter else "copy"
    return MappingRuntimeError(f"{name} cannot convert {value!r}: {exc}", origin=node.origin, output=at, source=node.dotted)


def _fail_expression(node: Expr, exc: Exception, at: Pointer) -> MappingRuntimeError:
    rule = "mapping-timeout" if isinstance(exc, ExpressionTimeout) else "mapping"
    return MappingRuntimeError(str(failure(node.text, exc)), origin=node.origin, output=at, rule=rule)


def _lookup(writer: _Writer, indent: int, target: str, path: tuple[str, ...]) -> None:
    """`target = ctx[path...]`, None when a step is missing, null or not an object. The
    variables' objects (`metadata`, `body`) are looked up once per event, at the top."""
    if len(path) == 1:
        writer.emit(indent, f"{target} = ctx.get({path[0]!r})")
        return
    writer.emit(indent, f"{target} = {writer.root(path[0])}.get({path[1]!r})")
    for key in path[2:]:
        writer.emit(indent, f"{target} = {target}.get({key!r}) if isinstance({target}, dict) else None")


def _node(writer: _Writer, indent: int, node: Node, target: str, at: Pointer) -> None:  # noqa: C901
    """Emit code that sets `target` to the node's value (or OMIT)."""
    if isinstance(node, Const):
        writer.emit(indent, f"{target} = {writer.constant(node.value)}")
    elif isinstance(node, Copy):
        _lookup(writer, indent, target, node.path)
        default = "OMIT" if node.default is OMIT else writer.constant(node.default)
        writer.emit(indent, f"if {target} is None: {target} = {default}")
        if node.converter is None:
            return
        writer.emit(indent, "else:")
        _convert(writer, indent + 1, node, target, at)
    elif isinstance(node, Expr):
        me, where = writer.constant(node, "n"), writer.constant(at, "p")
        if writer.variables is not None:
            python, names = node.expression.specialised(writer.bound, writer.variables, writer.hoisted)
        else:
            python, names = node.expression.python, node.expression.names
        writer.constants.update(names)
        writer.emit(indent, "try:")
        writer.emit(indent + 1, f"{target} = {python}")
        # a JSON value of bounded size, told at once for the commonest results: a short string, a
        # boolean (every `$when`), None or an integer, which `_x_json` returns as they are
        writer.emit(indent + 1, f"if (len({target}) > {MAX_TEXT}) if {target}.__class__ is str else {target}.__class__ not in PLAIN_SCALARS: {target} = _x_json({target})")
        writer.emit(indent, "except EXPRESSION_ERRORS as exc:")
        writer.emit(indent + 1, f"raise fail_expression({me}, exc, {where}) from None")
        writer.emit(indent, f"if {target} is None: {target} = OMIT")
    elif isinstance(node, Obj):
        body = indent
        if node.when is not None:
            guard = writer.name("g")
            _node(writer, indent, node.when, guard, at)
            writer.emit(indent, f"if {guard} is OMIT or {guard} is False or {guard} == '' or {guard} is None:")
            writer.emit(indent + 1, f"{target} = OMIT")
            writer.emit(indent, "else:")
            body = indent + 1
        writer.emit(body, f"{target} = {{}}")
        for key, child in node.items:
            if isinstance(child, Const) and child.value is not OMIT:
                writer.emit(body, f"{target}[{key!r}] = {writer.constant(child.value)}")
                continue
            value = writer.name("v")
            if isinstance(child, Copy) and child.default is OMIT:  # a plain copy: written unless None
                _lookup(writer, body, value, child.path)
                writer.emit(body, f"if {value} is not None:")
                if child.converter is not None:
                    _convert(writer, body + 1, child, value, (*at, key))
                writer.emit(body + 1, f"{target}[{key!r}] = {value}")
                continue
            _node(writer, body, child, value, (*at, key))
            writer.emit(body, f"{target}[{key!r}] = {value}" if _written(child) else f"if {value} is not OMIT: {target}[{key!r}] = {value}")
        if not _written(Obj(node.items, None, node.origin)):
            writer.emit(body, f"if not {target}: {target} = OMIT")
    elif isinstance(node, Seq):
        writer.emit(indent, f"{target} = []")
        for index, child in enumerate(node.items):
            value = writer.name("v")
            _node(writer, indent, child, value, (*at, index))
            writer.emit(indent, f"if {value} is not OMIT: {target}.append({value})")
        writer.emit(indent, f"if not {target}: {target} = OMIT")
    elif isinstance(node, First):
        writer.emit(indent, f"{target} = OMIT")
        for alternative in node.alternatives:
            writer.emit(indent, f"if {target} is OMIT:")
            _node(writer, indent + 1, alternative, target, at)
    else:  # pragma: no cover - the node types are closed
        raise TypeError(f"unknown node {node!r}")


def _written(node: Node) -> bool:
    """Never OMIT: a literal, a copy with a default, or a container holding one (unguarded)."""
    if isinstance(node, Const):
        return node.value is not OMIT
    if isinstance(node, Copy):
        return node.default is not OMIT
    if isinstance(node, Obj):
        return node.when is None and any(_written(child) for _, child in node.items)
    if isinstance(node, Seq):
        return any(_written(child) for child in node.items)
    if isinstance(node, First):
        return any(_written(child) for child in node.alternatives)
    return False


def _convert(writer: _Writer, indent: int, node: Copy, target: str, at: Pointer) -> None:
    """`target = converter(target)`, the common cases inline, each the converter's own code:
    a Canvas id through `urn:<kind>` or `gid` (ids.urn, ids.global_id), a time already a
    Caliper DateTime (date_time), a host seen before (host_url); anything else through the
    converter."""
    assert node.converter is not None
    forward, me, where = writer.constant(node.converter.forward, "f"), writer.constant(node, "n"), writer.constant(at, "p")
    name = node.converter.name
    calls = [f"{target} = {forward}({target}, scope)"]  # in the try
    if name == "gid" or name.startswith("urn:"):
        prefix = writer.constant(ids.URN_PREFIX + name[4:] + ":" if name != "gid" else "")
        writer.emit(indent, f"if {target}.__class__ is str and 13 < len({target}) <= 20 and {target}[0] != '0' and {target}.isdigit() and {target}.isascii():")
        writer.emit(indent + 1, f"{target} = {prefix} + {target}  # a global id as written (ids.is_written_global)")
        writer.emit(indent, f"elif {target}.__class__ is int or ({target}.__class__ is str and len({target}) <= 20 and {target}.isdigit() and {target}.isascii()):")
        writer.emit(indent + 1, f"{target} = int({target})")
        writer.emit(indent + 1, f"{target} = {prefix} + str({target} + _lift if {target} < SHARD_FACTOR else {target})")
        if name != "gid":  # any other text is its own key (ids.urn)
            writer.emit(indent, f"elif {target}.__class__ is str:")
            writer.emit(indent + 1, f"{target} = {prefix} + {target}")
        writer.emit(indent, "else:")
        indent += 1
    elif name == "time":
        calls = [f"if {target}.__class__ is str and DATE_TIME_SHAPE({target}) is not None: FROM_ISO({target}[:-1])", f"else: {calls[0]}"]
    elif name == "host_url":
        writer.emit(indent, f"if {target}.__class__ is str and {target} in HOST_IRIS:")
        writer.emit(indent + 1, f"{target} = HOST_IRIS[{target}]")
        writer.emit(indent, "else:")
        indent += 1
    writer.emit(indent, "try:")
    for line in calls:
        writer.emit(indent + 1, line)
    writer.emit(indent, "except (ValueError, TypeError) as exc:")
    writer.emit(indent + 1, f"raise fail_convert({me}, {target}, exc, {where}) from None")


def generate(template: Node, name: str = "build", variables: dict[str, Any] | None = None) -> Built:
    """One function `(ctx, scope) -> value` giving what `template` means on the variables `ctx`,
    or OMIT when it contributes nothing.

    With `variables` (the mapping's `vars`), `ctx` must hold metadata, body, host, shard and
    `vars` equal to `variables` (as CompiledMapping.build makes it): expressions then read those
    from locals and `vars.x` as a constant."""
    writer = _Writer(variables)
    _node(writer, 1, template, "result", ())
    body = writer.lines
    writer.lines = []
    writer.emit(0, f"def {name}(ctx, scope):")
    writer.emit(1, "v = ctx  # the name the expressions' source uses for the variables")
    writer.emit(1, "_lift = scope.shard * SHARD_FACTOR if scope.shard else 0  # a local id's offset onto the shard")
    if variables is not None:
        for key, local in BOUND.items():
            writer.emit(1, f"{local} = ctx[{key!r}]")
    for key, local in writer.roots.items():
        writer.emit(1, f"{local} = ctx.get({key!r})")
        writer.emit(1, f"if not isinstance({local}, dict): {local} = {{}}")
    writer.lines += body
    writer.emit(1, "return result")
    namespace = dict(writer.constants)
    exec(compile("\n".join(writer.lines), f"<mapping {name}>", "exec"), namespace)  # noqa: S102 - our own generated code
    return namespace[name]  # type: ignore[no-any-return]


def generate_rules(
    rules: tuple[tuple[tuple[str, ...], Expr], ...], name: str, variables: dict[str, Any], helpers: dict[str, Callable[..., Any]]
) -> RulesRestorer:
    """One function `(event, scope, restored, iris, unreadable)` running a mapping's `$reverse`
    rules in order, as `generate` runs a template: each value written at its target unless the
    rule gives nothing, `event`, `ids` and `shard` in locals and `vars` (`variables`) constant.
    `helpers` gives `_set(restored, target, value)` and `_unreadable(iris, unreadable, target,
    text)`, restore's own (a rule that reads nothing from an entity given as an IRI is noted)."""
    writer = _Writer(variables, REVERSE_BOUND, hoisted={})
    writer.constants.update(helpers)
    for n, (target, rule) in enumerate(rules):
        writer.emit(1, f"# {'.'.join(target)}")
        _node(writer, 1, rule, "value", ())
        where, text = writer.constant(target, "target"), writer.constant(rule.text, "text")
        # restore starts from an object at metadata and body, and `_set` puts only an object there
        direct = len(target) == 2 and target[0] in ("metadata", "body")
        done = f"restored[{target[0]!r}][{target[1]!r}] = value" if direct else f"_set(restored, {where}, value)"
        writer.emit(1, f"if value is not OMIT: {done}")
        writer.emit(1, f"elif iris: _unreadable(iris, unreadable, {where}, {text})")
    body = writer.lines
    writer.lines = []
    writer.emit(0, f"def {name}(event, scope, restored, iris, unreadable):")
    writer.emit(1, "_event, _ids, _shard = event, scope.ids, scope.shard")
    writer.emit(1, f"v = {{'event': event, 'ids': _ids, 'shard': _shard, 'vars': {writer.constant(variables, 'vars')}}}  # the helpers' view of the variables")
    for line in hoisted_lookups(writer.hoisted or {}):  # what the rules look up in the event, looked up once
        writer.emit(1, line)
    writer.lines += body
    writer.emit(1, "return None")
    namespace = dict(writer.constants)
    exec(compile("\n".join(writer.lines), f"<mapping {name}>", "exec"), namespace)  # noqa: S102 - our own generated code
    return namespace[name]  # type: ignore[no-any-return]
