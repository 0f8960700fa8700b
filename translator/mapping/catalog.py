"""Load mapping directories into one catalog: forward lookup by Canvas event name, reverse
dispatch by what a Caliper event shows (type, action, object type, object URN kind, `match`).

An ambiguous set of mappings is refused when loaded, never guessed at run time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from jsonschema.exceptions import best_match

from .. import ids
from ..errors import MappingError, Problem
from ..pointer import pointer as pointer_text
from ..resources import data_dir
from ..schema_store import schema_id, schema_store
from .converters import Scope
from .codegen import generate
from .compiler import DIRECTIVES, CompileState, compile_node
from .nodes import OMIT, Const, Copy, Expr, MappingRuntimeError, Obj, Pointer, lookup, walk
from .yaml_lines import LineDict, line_of, load_yaml

GENERIC = "*"
# Caliper's documented property order, so people can read the output; a mapping's own order is
# the order of its parts, which serves reuse, not reading. Applied once, when a mapping compiles.
READING_ORDER = ("type", "actor", "action", "object", "eventTime", "generated", "target", "referrer", "edApp", "group",
                 "membership", "session", "federatedSession", "extensions")  # fmt: skip
PRESENT = object()
_CONSTRAINED = (("type",), ("action",), ("object", "type"))


def _set(document: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    if len(path) == 1 and not isinstance(value, dict):
        raise MappingRuntimeError(f"cannot restore {path[0]} from {value!r}: not an object", origin="$reverse", output=())
    for key in path[:-1]:
        document = document.setdefault(key, {})
        if not isinstance(document, dict):  # a restored value in the way (`_check_reverse_targets` prevents it)
            raise MappingRuntimeError(f"cannot restore {'.'.join(path)}: {key} holds {document!r}", origin="$reverse", output=())
    document[path[-1]] = value


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
    compiled: Callable[[dict[str, Any], Scope], Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", generate(self.template, "build_" + re.sub(r"\W", "_", self.canvas_event), self.vars))

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
    def copies(self) -> tuple[tuple[Pointer, Copy, bool], ...]:
        """Every plain copy in the template (where it writes, the node, whether optional): what
        `restore` inverts, so it is found once rather than for every event."""
        return tuple((at, node, optional) for at, node, optional in walk(self.template) if isinstance(node, Copy))

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

    def _expand_iris(self, event: dict[str, Any]) -> tuple[dict[str, Any], tuple[Pointer, ...]]:
        """`event` with each entity given as an IRI string at one of this mapping's object slots
        turned into `{"id": iri}` (Caliper allows either form), and the slots so expanded."""
        found: list[Pointer] = []
        stack: list[tuple[dict[str, Any], dict[str, Any], Pointer]] = [(event, self.entity_slots, ())]
        while stack:
            node, tree, at = stack.pop()
            for key, below in tree.items():
                value = node.get(key)
                if isinstance(value, str):
                    found.append((*at, key))
                elif below and isinstance(value, dict):
                    stack.append((value, below, (*at, key)))
        if not found:
            return event, ()
        event = dict(event)
        for slot in sorted(found, key=len):
            parent = _copy_path(event, slot[:-1])
            parent[slot[-1]] = {"id": parent[slot[-1]]}
        return event, tuple(found)

    def restore(self, event: dict[str, Any], scope: Scope, problems: list[Problem] | None = None, prefix: str = "") -> dict[str, Any]:
        """The Canvas event behind `event`: plain copies inverted, then the explicit `$reverse` rules.
        A Canvas field this mapping reads from an entity given only as an IRI cannot be read: it is
        named in a warning appended to `problems`, never dropped in silence."""
        event, iris = self._expand_iris(event)
        unreadable: dict[Pointer, list[str]] = {}
        restored: dict[str, Any] = {"metadata": {}, "body": {}}
        written: set[tuple[str, ...]] = set()
        for at, copy, optional in self.copies:
            if copy.path[0] not in restored or copy.path in written or copy.converter and copy.converter.inverse is None:
                continue
            value = lookup(event, at)
            if value is OMIT:
                if iris:
                    slot = next((s for s in iris if at[: len(s)] == s and at[len(s) :] != ("id",)), None)
                    if slot is not None and copy.dotted not in unreadable.setdefault(slot, []):
                        unreadable[slot].append(copy.dotted)
                continue
            if value == copy.default:
                continue
            try:
                value = copy.converter.inverse(value, scope) if copy.converter else value  # type: ignore[misc]
            except (ValueError, TypeError) as exc:
                if optional:  # another alternative produced this value
                    continue
                raise MappingRuntimeError(
                    f"cannot restore {copy.dotted} from {value!r}: {exc}", origin=copy.origin, output=at, source=copy.dotted
                ) from None
            _set(restored, copy.path, value)
            written.add(copy.path)
        variables = {"event": event, "ids": scope.ids, "shard": scope.shard, "vars": self.vars}
        for target, rule in self.reverse_rules:
            value = rule.build(variables, scope, ())
            if value is not OMIT:
                _set(restored, target, value)
            elif iris:
                slot = next((s for s in iris if f"event.{'.'.join(s)}." in rule.text), None)
                if slot is not None and ".".join(target) not in unreadable.setdefault(slot, []):
                    unreadable[slot].append(".".join(target))
        for target, style in self.style:
            value = lookup(restored, target)
            if value is not OMIT:
                _set(restored, target, canvas_style(value, style, scope))
        for slot, fields in unreadable.items():
            missing = [f for f in fields if lookup(restored, tuple(f.split("."))) is OMIT]
            if missing and problems is not None:
                where = prefix + pointer_text(slot)
                problems.append(Problem(where, f"{'.'.join(map(str, slot))} is given as an IRI, so {', '.join(missing)} cannot be read from it "
                                        f"(mapping {self.canvas_event!r}, {self.file})", "iri-entity", "warning"))
        return restored


def canvas_style(value: Any, style: str, scope: Scope) -> Any:
    """`value` as Canvas writes the field (a mapping's `canvas_style`); a value the style does not fit stays as it is."""
    if style == "seconds" and isinstance(value, str):
        return ids.canvas_time_seconds(value)
    if style == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if style in ("local", "local_integer") and scope.ids == "canvas" and ids.is_canvas_id(value):
        shard, local = ids.split_global_id(value)
        if shard and shard != scope.shard:
            return value  # another shard's id: Canvas writes it global, and a local form would lose the shard
        return local if style == "local_integer" else str(local)
    return value


def _copy_path(event: dict[str, Any], path: Pointer) -> dict[str, Any]:
    """The object at `path` in `event` (itself already a copy), shallow-copied along the way so the
    caller's event stays as given."""
    node = event
    for key in path:
        node[key] = dict(node[key])  # type: ignore[index]
        node = node[key]  # type: ignore[index]
    return node


def _constraints_compatible(a: dict[Pointer, Any], b: dict[Pointer, Any]) -> bool:
    return all(a[p] == b[p] or PRESENT in (a[p], b[p]) for p in a.keys() & b.keys())


class Catalog:
    """Every mapping from the shipped directory and any user directories (later ones win)."""

    def __init__(self, mappings: Iterable[CompiledMapping]) -> None:
        self.by_event: dict[str, CompiledMapping] = {}
        for mapping in mappings:
            self.by_event[mapping.canvas_event] = mapping
        self.generic = self.by_event.pop(GENERIC, None)
        self._reverse = sorted(self._all(), key=lambda m: m.specificity(), reverse=True)
        # Caliper without Canvas's markers (another tool's) may only meet mappings of the user's own.
        self._reverse_custom = [m for m in self._reverse if m.origin == "custom"]
        # The mappings that can fit a (type, action), listed once per pair some mapping names as
        # literals: a mapping whose type or action is another literal is never tried.
        literals = ((m.constraints.get(("type",)), m.constraints.get(("action",))) for m in self._reverse)
        self._pairs = {(t, a) for t, a in literals if type(t) is str and type(a) is str}
        self._by_pair: dict[tuple[Any, Any, bool], list[CompiledMapping]] = {}
        self._check_ambiguity()

    def _all(self) -> list[CompiledMapping]:
        return [*self.by_event.values(), *([self.generic] if self.generic else [])]

    def _check_ambiguity(self) -> None:
        candidates = self._reverse
        for index, first in enumerate(candidates):
            for second in candidates[index + 1 :]:
                if first.specificity() != second.specificity():
                    continue
                if _constraints_compatible(first.constraints, second.constraints):
                    raise MappingError(
                        f"mappings for {first.canvas_event!r} ({first.file}) and {second.canvas_event!r} ({second.file}) "
                        "cannot be told apart from a Caliper event (same type, action, object type and URN kind); "
                        "add a `match` pointer to one of them"
                    )

    def forward(self, event_name: str, *, generic: bool = True) -> CompiledMapping | None:
        found = self.by_event.get(event_name)
        if found is None and generic:
            return self.generic
        return found

    def reverse(self, event: dict[str, Any], *, canvas: bool = True) -> CompiledMapping | None:
        """The mapping that restores `event`, or None (see `reverse_candidates`)."""
        found = self.reverse_candidates(event, canvas=canvas)
        return found[0] if len(found) == 1 else None

    def reverse_candidates(self, event: dict[str, Any], *, canvas: bool = True) -> list[CompiledMapping]:
        """The mappings that may restore `event`: the most specific one that fits, else every one
        that fits but for constraints inside entities given as IRI strings (which cannot show
        their type; only a single such candidate is taken). Canvas's forms (origin `documented`
        or `generic`) apply only when `canvas` says the event carries Canvas's markers; `custom`
        ones always."""
        lenient = []
        for mapping in self._candidates(event.get("type"), event.get("action"), canvas):
            verdict = self._satisfies(event, mapping.constraints)
            if verdict is True:
                return [mapping]
            if verdict is UNKNOWN:
                lenient.append(mapping)
        return lenient

    def _candidates(self, type_name: Any, action: Any, canvas: bool) -> list[CompiledMapping]:
        """The mappings in order of specificity whose literal type and action can fit."""
        named = type(type_name) is str and type(action) is str and (type_name, action) in self._pairs
        found = self._by_pair.get((type_name, action, canvas)) if named else None
        if found is None:
            found = [m for m in (self._reverse if canvas else self._reverse_custom) if _may_fit(m, type_name, action)]
            if named:  # only pairs a mapping names: the cache stays bounded
                self._by_pair[(type_name, action, canvas)] = found
        return found

    @staticmethod
    def _satisfies(event: dict[str, Any], constraints: dict[Pointer, Any]) -> Any:
        """True, False, or UNKNOWN when nothing contradicts and some constraint sits in an entity
        given as an IRI."""
        verdict: Any = True
        for pointer, expected in constraints.items():
            if pointer[-1] == "#kind":
                value = _read(event, pointer[:-1])
                prefix = f"urn:instructure:canvas:{expected}:"
                if not (isinstance(value, str) and value.startswith(prefix)):
                    return False
                continue
            value = _read(event, pointer)
            if value is UNKNOWN:
                verdict = UNKNOWN
            elif value is OMIT or (expected is not PRESENT and value != expected):
                return False
        return verdict


UNKNOWN: Any = object()
"""What `_read` gives for a property of an entity that the event names only by its IRI."""


def _read(event: dict[str, Any], pointer: Pointer) -> Any:
    """`lookup`, reading an entity given as an IRI string as `{"id": iri}`; another property of it is UNKNOWN."""
    value: Any = event
    for index, key in enumerate(pointer):
        if isinstance(value, dict):
            value = value.get(key)
            if value is None:
                return OMIT
        elif isinstance(value, str) and index:
            return value if pointer[index:] == ("id",) else UNKNOWN
        else:
            return OMIT
    return value


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


def load_catalog(directories: Iterable[Path | str] = ()) -> Catalog:
    """The shipped mappings plus `directories`, validated and compiled."""
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
    return Catalog(compiled)


def _may_fit(mapping: CompiledMapping, type_name: Any, action: Any) -> bool:
    constraints = mapping.constraints
    wanted_type, wanted_action = constraints.get(("type",), type_name), constraints.get(("action",), action)
    return (type(wanted_type) is not str or wanted_type == type_name) and (type(wanted_action) is not str or wanted_action == action)
