"""The parsed form of a mapping: a tree of nodes, read by the code generator (codegen.py, the
only runtime), reverse dispatch and the proof (proof.py).

Each node knows where it was written (file and line) so that a failure at run time names the
mapping rule behind it, like a glom target-spec trace.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .converters import Converter
from .expressions import Expression

OMIT: Any = object()
"""A node's result when it contributes nothing (a missing optional input, a guard that failed)."""

Pointer = tuple[str | int, ...]


class MappingRuntimeError(ValueError):
    """A mapping rule could not be applied to this event; carries the rule's origin and paths, and
    the rule of its problem (`mapping`, or `mapping-timeout` when the event's time budget ran out)."""

    def __init__(self, message: str, *, origin: str, output: Pointer, source: str | None = None, rule: str = "mapping") -> None:
        super().__init__(message)
        self.origin = origin
        self.output = output
        self.source = source
        self.rule = rule


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


@dataclass(frozen=True, slots=True)
class Copy:
    path: tuple[str, ...]
    converter: Converter | None
    default: Any
    origin: str

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True, slots=True)
class Expr:
    text: str
    expression: Expression
    origin: str


@dataclass(frozen=True, slots=True)
class Obj:
    items: tuple[tuple[str, Any], ...]
    when: Copy | Expr | None
    origin: str


@dataclass(frozen=True, slots=True)
class Seq:
    items: tuple[Any, ...]
    origin: str


@dataclass(frozen=True, slots=True)
class First:
    """The first alternative that yields something (glom's Coalesce), e.g. a user or a system actor."""

    alternatives: tuple[Any, ...]
    origin: str


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
