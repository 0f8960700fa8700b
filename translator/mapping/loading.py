"""Load mapping files into compiled mappings: each file checked against the mapping schema,
parts included, nodes compiled and their code generated, once per catalog.

A bad mapping fails here, naming its file and line, never at run time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from jsonschema.exceptions import best_match

from ..errors import MappingError, Problem
from ..formats.canvas import required_fields
from ..resources import data_dir
from ..pointer import pointer as pointer_text
from ..schema_store import schema_id, schema_store
from .codegen import Built, RulesRestorer, generate
from .compiler import DIRECTIVES, CompileState, compile_node
from .converters import Scope
from .nodes import OMIT, Const, Copy, Expr, Obj, Pointer, walk
from .restore import CopiesRestorer, copies_code, restorable_code, restore, rules_code
from .yaml_lines import LineDict, line_of, load_yaml

# Caliper's documented property order, so people can read the output; a mapping's own order is
# the order of its parts, which serves reuse, not reading. Applied once, when a mapping compiles.
READING_ORDER = ("type", "actor", "action", "object", "eventTime", "generated", "target", "referrer", "edApp", "group",
                 "membership", "session", "federatedSession", "extensions")  # fmt: skip
PRESENT = object()
"""A constraint met by any value: the pointer of a `match` entry."""
_CONSTRAINED = (("type",), ("action",), ("object", "type"))


def _check_reverse_targets(rules: list[tuple[tuple[str, ...], Expr]], template: Obj) -> None:
    """Refuse, when a mapping loads, a `$reverse` target restoring nothing of a Canvas event, or one
    that goes through a field another target or a copy restores (a string, say)."""
    written = {copy.path for _, copy, _ in walk(template) if isinstance(copy, Copy)} | {target for target, _ in rules}
    for target, rule in rules:
        where = rule.origin.rsplit(":", 1)
        line = int(where[1]) if where[1].isdigit() else None
        if target[0] not in ("metadata", "body") or "" in target:
            raise MappingError(f"$reverse target {'.'.join(target)!r} must be metadata[.<field>] or body[.<field>]", file=where[0], line=line)
        through = next((target[:n] for n in range(2, len(target)) if target[:n] in written), None)
        if through is not None:
            raise MappingError(
                f"$reverse target {'.'.join(target)!r} goes through {'.'.join(through)}, which is restored as a value of its own",
                file=where[0], line=line,
            )  # fmt: skip


def parse_pointer(text: str) -> Pointer:
    return tuple(part.replace("~1", "/").replace("~0", "~") for part in text.split("/")[1:])


@dataclass(frozen=True)
class CompiledMapping:
    """One Canvas event type's Caliper form, compiled; builds forward and restores backward."""

    canvas_event: str
    origin: str
    description: str
    file: str
    template: Obj
    reverse_rules: tuple[tuple[tuple[str, ...], Expr], ...]
    match: tuple[Pointer, ...]
    vars: dict[str, Any]
    style: tuple[tuple[tuple[str, ...], str], ...] = ()
    compiled: Built = field(init=False, repr=False, compare=False)
    restore_rules: RulesRestorer = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        name = re.sub(r"\W", "_", self.canvas_event)
        object.__setattr__(self, "compiled", generate(self.template, "build_" + name, self.vars))
        object.__setattr__(self, "restore_rules", rules_code(self, "reverse_" + name))

    @property
    def caliper_type(self) -> str | None:
        return self._const(("type",))

    @property
    def action(self) -> str | None:
        return self._const(("action",))

    @property
    def object_type(self) -> str | None:
        return self._const(("object", "type"))

    def _const(self, pointer: Pointer) -> Any:
        for at, node, optional in walk(self.template):
            if at == pointer and isinstance(node, Const) and not optional:
                return node.value
        return None

    @cached_property
    def writes_event_time(self) -> bool:
        """Whether the event's `eventTime` is `$metadata.event_time | time`: then it is the very
        `sendTime` the rule `event` gives (engine._send_time), and the envelope takes it from there."""
        node = dict(self.template.items).get("eventTime")
        return (
            isinstance(node, Copy) and node.path == ("metadata", "event_time") and node.default is OMIT
            and node.converter is not None and node.converter.name == "time"
        )  # fmt: skip

    @cached_property
    def copies(self) -> tuple[tuple[Pointer, Copy, bool], ...]:
        """Every plain copy in the template (where it writes, the node, whether optional): what
        `restore` inverts, so it is found once rather than for every event."""
        return tuple((at, node, optional) for at, node, optional in walk(self.template) if isinstance(node, Copy))

    @cached_property
    def restore_copies(self) -> CopiesRestorer:
        """The plain copies inverted, as one generated function (restore.py)."""
        return copies_code(self.copies, self.entity_slots, "restore_" + re.sub(r"\W", "_", self.canvas_event))

    @cached_property
    def constraints(self) -> dict[Pointer, Any]:
        """What a Caliper event must show to come from this mapping (reverse dispatch tries it on
        every event, so it is worked out once)."""
        found: dict[Pointer, Any] = {p: PRESENT for p in self.match}
        for at, node, optional in walk(self.template):
            if optional:
                continue
            if at in _CONSTRAINED and isinstance(node, Const):
                found[at] = node.value
            elif at == ("object", "id") and isinstance(node, Copy) and node.converter and node.converter.name.startswith("urn:"):
                found[("object", "id", "#kind")] = node.converter.name[4:]
        return found

    @cached_property
    def required_sources(self) -> tuple[tuple[tuple[str, str], tuple[tuple[Pointer, Copy, bool], ...]], ...]:
        """Each field a Canvas event of this type must have (`required_fields`) that plain copies
        alone restore, with the copies it is restored from (`copies` entries, in the order `restore`
        tries them): what such an event must carry for `restore` to give a conforming Canvas event.
        A field a `$reverse` rule restores is not listed; nor one nothing restores (the mapping's to fix)."""
        if self.canvas_event == "*":
            return ()
        found = []
        for field_path in required_fields(self.canvas_event):
            if any(field_path[: len(target)] == target for target, _ in self.reverse_rules):
                continue
            sources = tuple(entry for entry in self.copies if entry[1].path == field_path and (entry[1].converter is None or entry[1].converter.inverse))
            if sources:
                found.append((field_path, sources))
        return tuple(found)

    @cached_property
    def restorable(self) -> Callable[[dict[str, Any]], bool]:
        """Whether an event carries every `required_sources` field in a form that restores (generated code)."""
        return restorable_code(self, "restorable_" + re.sub(r"\W", "_", self.canvas_event))

    @cached_property
    def restorable_by_output(self) -> bool:
        """Whether the output check of a restored event fails whenever `restorable` would: no
        required field it reads has a `canvas_style`, which could make a wrong value right
        between the two (with ids as Canvas writes them, what `restorable` converts by)."""
        styled = {target for target, _ in self.style}
        return not any(field in styled for field, _ in self.required_sources)

    def specificity(self) -> tuple[int, int]:
        constraints = self.constraints
        return (len(self.match), len(constraints) - len(self.match))

    def build(self, metadata: dict[str, Any], body: dict[str, Any], host: str | None, scope: Scope) -> dict[str, Any]:
        ctx = {"metadata": metadata, "body": body, "host": host, "shard": scope.shard, "vars": self.vars}
        return self.compiled(ctx, scope)

    @cached_property
    def entity_slots(self) -> dict[str, Any]:
        """Where the template writes an object (every proper prefix of a leaf's pointer), as a tree
        of keys: the places an event may hold an entity as an IRI string instead."""
        tree: dict[str, Any] = {}
        for at, _, _ in walk(self.template):
            node = tree
            for key in at[:-1]:
                if not isinstance(key, str):
                    break
                node = node.setdefault(key, {})
        return tree

    def restore(self, event: dict[str, Any], scope: Scope, problems: list[Problem] | None = None, prefix: str = "") -> dict[str, Any]:
        """The Canvas event behind `event` (restore.py)."""
        return restore(self, event, scope, problems, prefix)


def _mapping_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise MappingError(f"mapping directory {directory} does not exist")
    return sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def _check(document: Any, file: Path) -> None:
    if not isinstance(document, dict):
        raise MappingError("a mapping file must hold a YAML mapping", file=str(file), line=1)
    compiled = schema_store().compiled(schema_id("mapping.json"))
    if compiled.fast is not None and compiled.fast.is_valid(document):
        return  # the usual case, told fast; jsonschema walks only a file that has a problem to show
    error = best_match(compiled.detailed.iter_errors(document))
    if error is None:
        return
    path = list(error.absolute_path)
    message = error.message
    if "propertyNames" in error.schema_path:  # the key itself is at fault: point at it
        path.append(error.instance)
        message = f"{error.instance!r} is not a known directive ({', '.join(DIRECTIVES)})"
    where = pointer_text(path) or "/"
    raise MappingError(f"{where}: {message[:300]}", file=str(file), line=line_of(document, path))


def load_mappings(directories: Iterable[Path | str] = ()) -> list[CompiledMapping]:
    """The shipped mappings, then those in `directories`, validated and compiled (in the catalog a
    later one replaces an earlier one for the same Canvas event)."""
    documents: list[tuple[Path, LineDict]] = []
    for directory in [data_dir("mappings"), *map(Path, directories)]:
        for file in _mapping_files(Path(directory)):
            document = load_yaml(file)
            _check(document, file)
            documents.append((file, document))
    parts: dict[str, tuple[str, LineDict]] = {}
    shared_vars: dict[str, Any] = {}
    for file, document in documents:
        for name, spec in document.get("parts", {}).items():
            parts[name] = (str(file), spec)
        if "parts" in document:
            shared_vars.update(document.get("vars", {}))
    compiled = []
    for file, document in documents:
        if "canvas_event" not in document:
            continue
        state = CompileState(str(file), parts)
        template = compile_node(document["event"], state, document.key_lines.get("event"))
        assert isinstance(template, Obj)
        rank = {key: index for index, key in enumerate(READING_ORDER)}
        template = Obj(tuple(sorted(template.items, key=lambda item: rank.get(item[0], len(rank)))), template.when, template.origin)
        _check_reverse_targets(state.reverse, template)
        compiled.append(
            CompiledMapping(
                canvas_event=document["canvas_event"],
                origin=document.get("origin", "custom"),
                description=document.get("description", ""),
                file=str(file),
                template=template,
                reverse_rules=tuple(state.reverse),
                match=tuple(parse_pointer(p) for p in document.get("match", ())),
                vars={**shared_vars, **document.get("vars", {})},
                style=tuple((tuple(path.split(".")), style) for path, style in document.get("canvas_style", {}).items()),
            )
        )
    return compiled
