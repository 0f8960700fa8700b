"""The fields a Canvas event's schema knows, read from the compiled schemas, and the fields of an
event that it does not know.

`x-warnUnknownProperties` (schemas/README.md) makes jsonschema warn of such a field, but only on
the detailed path; jsonschema-rs, which gives the verdict on the accept path, ignores it. This
module walks an event against a tree built once per event type from the same schemas, so that
`--strict` and the drift counts of `convert` find unknown fields at the cost of a dict walk, and
find exactly the fields the warnings name (tests/test_drift.py checks that they agree).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from .errors import Problem
from .pointer import pointer
from .schema_store import brief, schema_store, unknown_field_message

Path = tuple[str | int, ...]


@dataclass
class Node:
    """What a schema says about the keys of an object at one place, and about the values below it.

    `declared` holds one set of declared names (and patterns) per `x-warnUnknownProperties` that
    applies here: a key outside any of them is unknown, as the warning keyword decides.
    """

    properties: dict[str, Node] = field(default_factory=dict)
    patterns: list[tuple[re.Pattern[str], Node]] = field(default_factory=list)
    items: Node | None = None
    declared: list[tuple[frozenset[str], tuple[re.Pattern[str], ...]]] = field(default_factory=list)
    # Worked out once the tree is built (`finish`), for the walk: the names a key must be one of
    # when no pattern is involved, and the children below which something can be unknown.
    closed: frozenset[str] | None = None
    nested: dict[str, Node] = field(default_factory=dict)

    def finish(self) -> bool:
        """Prepare the walk's shortcuts; True when something below (or here) can be unknown."""
        if self.declared and not any(patterns for _, patterns in self.declared):
            self.closed = frozenset.intersection(*(names for names, _ in self.declared))
        self.nested = {key: child for key, child in self.properties.items() if child.finish()}
        patterned = [child.finish() for _, child in self.patterns]
        below = self.items.finish() if self.items is not None else False
        return bool(self.declared or self.nested or any(patterned) or below)

    def child(self, key: str) -> Node | None:
        found = [self.properties[key]] if key in self.properties else []
        found.extend(node for pattern, node in self.patterns if pattern.search(key))
        if len(found) <= 1:
            return found[0] if found else None
        merged = Node()
        for node in found:  # copies: a merge moves children, and these belong to the cached tree
            merged.merge(copy.deepcopy(node))
        merged.finish()
        return merged

    def merge(self, other: Node) -> None:
        """Add what `other` says; its children become this node's (`other` is not to be used again)."""
        for key, node in other.properties.items():
            if key in self.properties:
                self.properties[key].merge(node)
            else:
                self.properties[key] = node
        self.patterns.extend(other.patterns)
        if other.items is not None:
            if self.items is None:
                self.items = Node()
            self.items.merge(other.items)
        self.declared.extend(other.declared)

    def unknown(self, key: str) -> bool:
        return any(key not in names and not any(p.search(key) for p in patterns) for names, patterns in self.declared)


def _node(schema: Any, resolver: Any, warn: bool, seen: frozenset[int]) -> Node:
    """A fresh tree of `schema`, whose `$ref`s `resolver` (from `referencing`) resolves; `seen`
    are the schemas being expanded above (a recursive schema stops there). `warn` is False inside
    anyOf/oneOf, where jsonschema never reports a warning (a branch with one fails), so only their
    fields are known."""
    node = Node()
    if not isinstance(schema, dict):
        return node
    if "$ref" in schema:
        resolved = resolver.lookup(schema["$ref"])
        if id(resolved.contents) not in seen:
            node.merge(_node(resolved.contents, resolved.resolver, warn, seen | {id(resolved.contents)}))
    for keyword, warns in (("allOf", warn), ("anyOf", False), ("oneOf", False)):
        for sub in schema.get(keyword, ()):
            node.merge(_node(sub, resolver, warns, seen))
    for key, sub in (schema.get("properties") or {}).items():
        child = _node(sub, resolver, warn, seen)
        if key in node.properties:
            node.properties[key].merge(child)
        else:
            node.properties[key] = child
    for pattern, sub in (schema.get("patternProperties") or {}).items():
        node.patterns.append((re.compile(pattern), _node(sub, resolver, warn, seen)))
    if isinstance(schema.get("items"), dict):
        items = _node(schema["items"], resolver, warn, seen)
        if node.items is None:
            node.items = items
        else:
            node.items.merge(items)
    if warn and schema.get("x-warnUnknownProperties") is True:
        patterns = tuple(re.compile(p) for p in schema.get("patternProperties") or ())
        node.declared.append((frozenset(schema.get("properties") or ()), patterns))
    return node


@cache
def known_tree(event_name: str | None) -> Node:
    """The tree of a whole Canvas event (`{metadata, body}`) of `event_name`, or of an event whose
    type has no schema (`None`: its metadata is known, its body is not)."""
    from .formats.canvas import event_schema  # formats.canvas checks strictly with this module

    tree = _node(event_schema(event_name), schema_store().registry.resolver(), True, frozenset())
    tree.finish()
    return tree


def unknown_fields(payload: Any, tree: Node, seen: set[Path] | None = None) -> Iterator[tuple[Path, Any]]:
    """(path, value) of every field of `payload` that `tree` does not know, parents before
    children; the known fields met go into `seen` (array items as ``*``), when given."""
    if seen is None and _known(payload, tree):
        return
    stack: list[tuple[Any, Node, Path, Path]] = [(payload, tree, (), ())]
    while stack:
        value, node, path, general = stack.pop()
        if isinstance(value, list):
            if node.items is not None:
                items = node.items
                below = [(item, items, (*path, i), (*general, "*")) for i, item in enumerate(value) if isinstance(item, (dict, list))]
                stack.extend(reversed(below))
            continue
        if not isinstance(value, dict):
            continue
        if node.closed is not None and seen is None and not node.patterns:
            # The common case, at the cost of one set difference: every key is a declared name.
            extra = value.keys() - node.closed
            if extra:
                yield from (((*path, key), child) for key, child in value.items() if key in extra)
            below = [(value[key], child, (*path, key), (*general, key)) for key, child in node.nested.items() if key in value and key not in extra]
        else:
            below = []
            for key, child_value in value.items():
                if node.declared and node.unknown(key):
                    yield (*path, key), child_value
                    continue
                child = node.child(key)
                if child is None:
                    continue
                if seen is not None:
                    seen.add((*general, key))
                below.append((child_value, child, (*path, key), (*general, key)))
        stack.extend(reversed([entry for entry in below if isinstance(entry[0], (dict, list))]))


def _known(value: Any, node: Node) -> bool:
    """True when `value` has no field `node` does not know, told by key sets (one subset test per
    object, down only where something can be unknown); False when it has one or this cannot tell
    (patterns, a subclass of dict or list): then the walk looks."""
    kind = value.__class__
    if kind is dict:
        if node.patterns or (node.closed is None and node.declared) or (node.closed is not None and not value.keys() <= node.closed):
            return False
        for key, child in node.nested.items():
            if key in value and not _known(value[key], child):
                return False
        return True
    if kind is list:
        items = node.items
        return items is None or all(_known(item, items) for item in value)
    return not isinstance(value, (dict, list))


def known_paths(tree: Node) -> Iterator[Path]:
    """Every field path the tree knows (array items as ``*``), parents before children."""
    stack: list[tuple[Node, Path]] = [(tree, ())]
    while stack:
        node, path = stack.pop()
        below = []
        for key, child in sorted(node.properties.items()):
            yield (*path, key)
            below.append((child, (*path, key)))
        if node.items is not None:
            below.append((node.items, (*path, "*")))
        stack.extend(reversed(below))


def unknown_field_problems(payload: Any, event_name: str | None) -> list[Problem]:
    """The `unknown-field` warnings jsonschema gives `payload` (a Canvas event), found by the walk."""
    return [
        Problem(pointer(path), unknown_field_message(str(path[-1])), "unknown-field", "warning", brief(value))
        for path, value in unknown_fields(payload, known_tree(event_name))
    ]
