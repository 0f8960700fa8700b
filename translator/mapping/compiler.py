"""Turn a validated mapping document into nodes: paths parsed and expressions compiled, once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import MappingError
from .converters import converter
from .expressions import ExpressionError, compile_expression
from .nodes import OMIT, Const, Copy, Expr, First, Node, Obj, Seq
from .yaml_lines import LineDict

DIRECTIVES = ("$when", "$include", "$reverse", "$copy", "$as", "$default", "$const", "$first")


@dataclass
class CompileState:
    """What compiling one mapping collects besides its node tree."""

    file: str
    parts: dict[str, tuple[str, LineDict]]
    reverse: list[tuple[tuple[str, ...], Expr]] = field(default_factory=list)
    including: list[str] = field(default_factory=list)

    def origin(self, line: int | None, file: str | None = None) -> str:
        return f"{file or self.file}:{line or '?'}"

    def fail(self, message: str, line: int | None, file: str | None = None) -> MappingError:
        return MappingError(message, file=file or self.file, line=line)


def _expression(text: str, origin: str, state: CompileState, line: int | None, file: str | None) -> Expr:
    try:
        return Expr(text, compile_expression(text), origin)
    except ExpressionError as exc:
        raise state.fail(str(exc), line, file) from None


def _copy(path: str, as_name: str | None, default: Any, origin: str, state: CompileState, line: int | None, file: str | None) -> Copy:
    try:
        conv = converter(as_name) if as_name else None
    except KeyError as exc:
        raise state.fail(str(exc.args[0]), line, file) from None
    return Copy(tuple(path.split(".")), conv, default, origin)


def compile_leaf(text: str, state: CompileState, line: int | None, file: str | None = None) -> Node:
    origin = state.origin(line, file)
    if text.startswith("= "):
        return _expression(text[2:], origin, state, line, file)
    if text.startswith("$"):
        path, _, as_name = text[1:].partition(" | ")
        return _copy(path, as_name or None, OMIT, origin, state, line, file)
    return Const(text, origin)


def _merge(base: dict[str, Any], local: dict[str, Any]) -> dict[str, Any]:
    merged = LineDict(base)
    merged.line = getattr(local, "line", getattr(base, "line", 0))
    merged.key_lines = {**getattr(base, "key_lines", {}), **getattr(local, "key_lines", {})}
    merged.files = {**getattr(base, "files", {}), **getattr(local, "files", {})}  # type: ignore[attr-defined]
    for key, value in local.items():
        if value is None and key in base:
            del merged[key]
        elif isinstance(value, dict) and isinstance(base.get(key), dict) and "$copy" not in value and "$const" not in value:
            merged[key] = _merge(base[key], value)
        else:
            merged[key] = value
    return merged


def _tag(spec: dict[str, Any], file: str) -> dict[str, Any]:
    """Remember which file each key of an included part came from, for error origins."""
    tagged = LineDict(spec)
    tagged.line = getattr(spec, "line", 0)
    tagged.key_lines = dict(getattr(spec, "key_lines", {}))
    known = getattr(spec, "files", {})
    tagged.files = {key: known.get(key, file) for key in spec}  # type: ignore[attr-defined]
    return tagged


def _expand(spec: dict[str, Any], state: CompileState, file: str | None) -> dict[str, Any]:
    names = spec.get("$include") or []
    if isinstance(names, str):
        names = [names]
    merged: dict[str, Any] = LineDict()
    merged.line = getattr(spec, "line", 0)  # type: ignore[attr-defined]
    merged.key_lines = {}  # type: ignore[attr-defined]
    for name in names:
        if name not in state.parts:
            known = ", ".join(sorted(state.parts)) or "none"
            raise state.fail(f"$include names unknown part {name!r} (known parts: {known})", getattr(spec, "key_lines", {}).get("$include"), file)
        if name in state.including:
            raise state.fail(f"parts include each other in a cycle: {' -> '.join([*state.including, name])}", getattr(spec, "line", None), file)
        part_file, part = state.parts[name]
        state.including.append(name)
        try:
            expanded = _expand(part, state, part_file)
        finally:
            state.including.pop()
        merged = _merge(merged, _tag(expanded, part_file))
    own = {k: v for k, v in spec.items() if k != "$include"}
    own_tagged = LineDict(own)
    own_tagged.line = getattr(spec, "line", 0)
    own_tagged.key_lines = getattr(spec, "key_lines", {})
    own_tagged.files = {**getattr(spec, "files", {})} if hasattr(spec, "files") else {k: file or state.file for k in own}  # type: ignore[attr-defined]
    return _merge(merged, own_tagged) if names else own_tagged


def compile_node(spec: Any, state: CompileState, line: int | None = None, file: str | None = None) -> Node:
    if isinstance(spec, dict):
        return _compile_object(spec, state, line, file)
    if isinstance(spec, list):
        return Seq(tuple(compile_node(item, state, getattr(item, "line", line), file) for item in spec), state.origin(line, file))
    if isinstance(spec, str):
        return compile_leaf(spec, state, line, file)
    return Const(spec, state.origin(line, file))


def _compile_object(spec: dict[str, Any], state: CompileState, line: int | None, file: str | None) -> Node:
    line = getattr(spec, "line", line)
    if "$include" in spec:
        spec = _expand(spec, state, file)
    if "$const" in spec:
        return Const(spec["$const"], state.origin(line, file))
    if "$first" in spec:
        alternatives = spec["$first"]
        return First(tuple(compile_node(a, state, getattr(a, "line", line), file) for a in alternatives), state.origin(line, file))
    if "$copy" in spec:
        return _copy(spec["$copy"], spec.get("$as"), spec.get("$default"), state.origin(line, file), state, line, file)
    files = getattr(spec, "files", {})
    key_lines = getattr(spec, "key_lines", {})
    when = spec.get("$when")
    guard = compile_leaf(when, state, key_lines.get("$when"), files.get("$when", file)) if when else None
    for target, text in (spec.get("$reverse") or {}).items():
        where = files.get("$reverse", file)
        at = key_lines.get("$reverse", line)
        state.reverse.append((tuple(target.split(".")), _expression(text[2:], state.origin(at, where), state, at, where)))
    items = tuple(
        (key, compile_node(value, state, key_lines.get(key, line), files.get(key, file)))
        for key, value in spec.items()
        if key not in DIRECTIVES
    )
    return Obj(items, guard if isinstance(guard, (Copy, Expr)) else None, state.origin(line, file))
