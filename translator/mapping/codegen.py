"""Compile a mapping's node tree into one plain Python function.

Walking the tree calls a method per node per event; generating the equivalent straight-line code
once (dict literals, `.get` chains, guarded inserts) removes that overhead on the hot path. The
tree stays the source of truth for everything else (reverse direction, dispatch, lossy fields),
and `tests/test_codegen.py` checks that both give the same result on every corpus event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .converters import Scope
from .expressions import ERRORS, MAX_TEXT, RUNTIME, failure
from .nodes import OMIT, Const, Copy, Expr, First, MappingRuntimeError, Node, Obj, Pointer, Seq

Built = Callable[[dict[str, Any], Scope], Any]


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.constants: dict[str, Any] = {
            **RUNTIME, "OMIT": OMIT, "fail_convert": _fail_convert, "fail_expression": _fail_expression, "EXPRESSION_ERRORS": ERRORS,
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
    return MappingRuntimeError(str(failure(node.text, exc)), origin=node.origin, output=at)


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
        forward, me, where = writer.constant(node.converter.forward, "f"), writer.constant(node, "n"), writer.constant(at, "p")
        writer.emit(indent, "else:")
        writer.emit(indent + 1, "try:")
        writer.emit(indent + 2, f"{target} = {forward}({target}, scope)")
        writer.emit(indent + 1, "except (ValueError, TypeError) as exc:")
        writer.emit(indent + 2, f"raise fail_convert({me}, {target}, exc, {where}) from None")
    elif isinstance(node, Expr):
        me, where = writer.constant(node, "n"), writer.constant(at, "p")
        writer.constants.update(node.expression.names)
        writer.emit(indent, "try:")
        writer.emit(indent + 1, f"{target} = {node.expression.python}")
        # a JSON value of bounded size, told at once for the commonest result, a short string
        writer.emit(indent + 1, f"if {target}.__class__ is not str or len({target}) > {MAX_TEXT}: {target} = _x_json({target})")
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
            _node(writer, body, child, value, (*at, key))
            writer.emit(body, f"if {value} is not OMIT: {target}[{key!r}] = {value}")
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


def generate(template: Obj, name: str = "build") -> Built:
    """One function `(ctx, scope) -> event` equivalent to `template.build(ctx, scope, ())`."""
    writer = _Writer()
    _node(writer, 1, template, "result", ())
    body = writer.lines
    writer.lines = []
    writer.emit(0, f"def {name}(ctx, scope):")
    writer.emit(1, "v = ctx  # the name the expressions' source uses for the variables")
    for key, local in writer.roots.items():
        writer.emit(1, f"{local} = ctx.get({key!r})")
        writer.emit(1, f"if not isinstance({local}, dict): {local} = {{}}")
    writer.lines += body
    writer.emit(1, "return result")
    namespace = dict(writer.constants)
    exec(compile("\n".join(writer.lines), f"<mapping {name}>", "exec"), namespace)  # noqa: S102 - our own generated code
    return namespace[name]  # type: ignore[no-any-return]
