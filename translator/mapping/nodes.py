"""The compiled form of a mapping: a tree of nodes that builds a Caliper event from a Canvas one.

Each node knows where it was written (file and line) so that a failure at run time names the
mapping rule behind it, like a glom target-spec trace.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .converters import Converter, Scope
from .expressions import ExpressionError, Expression

OMIT: Any = object()
"""A node's result when it contributes nothing (a missing optional input, a guard that failed)."""

Pointer = tuple[str | int, ...]


class MappingRuntimeError(ValueError):
    """A mapping rule could not be applied to this event; carries the rule's origin and paths."""

    def __init__(self, message: str, *, origin: str, output: Pointer, source: str | None = None) -> None:
        super().__init__(message)
        self.origin = origin
        self.output = output
        self.source = source


def lookup(root: Any, path: Pointer) -> Any:
    """The value at `path` (keys, and list indices for Caliper pointers), or OMIT when any step
    is missing or null."""
    value = root
    for key in path:
        if isinstance(value, dict):
            value = value.get(key, OMIT)
        elif isinstance(value, list) and isinstance(key, int) and key < len(value):
            value = value[key]
        else:
            return OMIT
        if value is OMIT or value is None:
            return OMIT
    return value


@dataclass(frozen=True, slots=True)
class Const:
    value: Any
    origin: str

    def build(self, ctx: dict[str, Any], scope: Scope, at: Pointer) -> Any:
        return self.value


@dataclass(frozen=True, slots=True)
class Copy:
    path: tuple[str, ...]
    converter: Converter | None
    default: Any
    origin: str

    @property
    def dotted(self) -> str:
        return ".".join(self.path)

    def build(self, ctx: dict[str, Any], scope: Scope, at: Pointer) -> Any:
        value = lookup(ctx, self.path)
        if value is OMIT:
            return self.default
        if self.converter is None:
            return value
        try:
            return self.converter.forward(value, scope)
        except (ValueError, TypeError) as exc:
            raise MappingRuntimeError(
                f"{self.converter.name} cannot convert {value!r}: {exc}", origin=self.origin, output=at, source=self.dotted
            ) from None


@dataclass(frozen=True, slots=True)
class Expr:
    text: str
    expression: Expression
    origin: str

    def build(self, ctx: dict[str, Any], scope: Scope, at: Pointer) -> Any:
        try:
            value = self.expression(ctx)
        except ExpressionError as exc:
            raise MappingRuntimeError(str(exc), origin=self.origin, output=at) from None
        return OMIT if value is None else value


@dataclass(frozen=True, slots=True)
class Obj:
    items: tuple[tuple[str, Any], ...]
    when: Copy | Expr | None
    origin: str

    def build(self, ctx: dict[str, Any], scope: Scope, at: Pointer) -> Any:
        if self.when is not None and self.when.build(ctx, scope, at) in (OMIT, False, "", None):
            return OMIT
        result = {}
        for key, node in self.items:
            value = node.build(ctx, scope, (*at, key))
            if value is not OMIT:
                result[key] = value
        return result or OMIT


@dataclass(frozen=True, slots=True)
class Seq:
    items: tuple[Any, ...]
    origin: str

    def build(self, ctx: dict[str, Any], scope: Scope, at: Pointer) -> Any:
        result = []
        for index, node in enumerate(self.items):
            value = node.build(ctx, scope, (*at, index))
            if value is not OMIT:
                result.append(value)
        return result or OMIT


@dataclass(frozen=True, slots=True)
class First:
    """The first alternative that yields something (glom's Coalesce), e.g. a user or a system actor."""

    alternatives: tuple[Any, ...]
    origin: str

    def build(self, ctx: dict[str, Any], scope: Scope, at: Pointer) -> Any:
        for node in self.alternatives:
            value = node.build(ctx, scope, at)
            if value is not OMIT:
                return value
        return OMIT


Node = Const | Copy | Expr | Obj | Seq | First


def walk(node: Node, at: Pointer = (), optional: bool = False) -> Iterator[tuple[Pointer, Node, bool]]:
    """Every leaf node with the output pointer it writes to, and whether it sits in an alternative."""
    if isinstance(node, Obj):
        for key, child in node.items:
            yield from walk(child, (*at, key), optional)
    elif isinstance(node, Seq):
        for index, child in enumerate(node.items):
            yield from walk(child, (*at, index), optional)
    elif isinstance(node, First):
        for child in node.alternatives:
            yield from walk(child, at, True)
    else:
        yield at, node, optional
