"""YAML loading that remembers lines, so a bad mapping names the line at fault.

A mapping file is user input, so it is loaded within limits: UTF-8, at most `MAX_BYTES`, at
most `MAX_NODES` values once aliases are expanded (a "billion laughs" tree of aliases is refused
before anything walks it), and only what JSON can say: strings as keys; no binary, sets,
timestamps, NaN or infinities.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

from ..errors import MappingError

MAX_BYTES = 4 << 20
MAX_NODES = 200_000  # values in a document with its aliases expanded; the largest shipped file has about 1,000


class LineDict(dict):  # type: ignore[type-arg]
    """A mapping from YAML that knows the line of itself and of each of its keys (1-based)."""

    line: int = 0
    key_lines: dict[str, int]


class LineList(list):  # type: ignore[type-arg]
    line: int = 0


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The safe loader, on libyaml when PyYAML has it (several times faster; the same nodes and marks)."""


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = _line(node)
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise MappingError(f"keys must be strings, not {type(key).__name__} {key!r} (quote it)", line=_line(key_node))
        if key in result:
            raise MappingError(f"duplicate key {key!r}", line=_line(key_node))
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = _line(key_node)
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = _line(node)
    return result


def _construct_float(loader: _Loader, node: yaml.ScalarNode) -> float:
    value = loader.construct_yaml_float(node)
    if not math.isfinite(value):
        raise MappingError(f"{node.value!r} is not a JSON number (no NaN or infinity)", line=_line(node))
    return value  # type: ignore[no-any-return]


def _refuse(loader: _Loader, node: yaml.Node) -> Any:
    kind = node.tag.rsplit(":", 1)[-1]
    hint = " (quote it to keep it as text)" if kind == "timestamp" else ""
    raise MappingError(f"a YAML {kind} is not a JSON value{hint}", line=_line(node))


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)
for _tag in ("binary", "timestamp", "set", "omap", "pairs"):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refuse)


def _check_size(root: yaml.Node) -> None:
    """Count the values `root` stands for with its aliases expanded, each shared node counted once
    per use but walked once, so a tree of aliases is measured without being expanded."""
    sizes: dict[int, int] = {}
    pending: set[int] = set()

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in pending:
            raise MappingError("an alias refers to the node that holds it", line=_line(node))
        pending.add(id(node))
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(key) + size(value) for key, value in node.value)
        if total > MAX_NODES:
            raise MappingError(f"more than {MAX_NODES:,} values once its aliases are expanded", line=_line(node))
        pending.discard(id(node))
        sizes[id(node)] = total
        return total

    size(root)


def load_yaml(path: Path) -> Any:
    try:
        data = path.read_bytes()
        if len(data) > MAX_BYTES:
            raise MappingError(f"the file is {len(data):,} bytes; a mapping file holds at most {MAX_BYTES:,}")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise MappingError(f"not UTF-8 (byte {data[exc.start]:#04x})", line=line) from None
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _check_size(node)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except MappingError as exc:
        raise MappingError(str(exc), file=str(path), line=exc.line) from None  # raised above without a file
    except RecursionError:
        raise MappingError("nested too deeply", file=str(path)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise MappingError(f"not valid YAML: {reason}", file=str(path), line=line) from None


def line_of(document: Any, path: list[str | int]) -> int | None:
    """The line of the node at `path` in a document from `load_yaml` (the nearest known one)."""
    line = getattr(document, "line", None)
    node = document
    for part in path:
        if isinstance(node, LineDict) and part in node:
            line = node.key_lines.get(str(part), line)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            line = getattr(node, "line", line)
        else:
            break
    return line
