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

from ..errors import MappingError
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
    for key in path[:-1]:
        document = document.setdefault(key, {})
    document[path[-1]] = value


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

    def restore(self, event: dict[str, Any], scope: Scope) -> dict[str, Any]:
        """The Canvas event behind `event`: plain copies inverted, then the explicit `$reverse` rules."""
        restored: dict[str, Any] = {"metadata": {}, "body": {}}
        written: set[tuple[str, ...]] = set()
        for at, copy, optional in self.copies:
            if copy.path[0] not in restored or copy.path in written or copy.converter and copy.converter.inverse is None:
                continue
            value = lookup(event, at)
            if value is OMIT or value == copy.default:
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
        return restored


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

    def reverse(self, event: dict[str, Any]) -> CompiledMapping | None:
        for mapping in self._reverse:
            if self._satisfies(event, mapping.constraints):
                return mapping
        return None

    @staticmethod
    def _satisfies(event: dict[str, Any], constraints: dict[Pointer, Any]) -> bool:
        for pointer, expected in constraints.items():
            if pointer[-1] == "#kind":
                value = lookup(event, pointer[:-1])
                prefix = f"urn:instructure:canvas:{expected}:"
                if not (isinstance(value, str) and value.startswith(prefix)):
                    return False
                continue
            value = lookup(event, pointer)
            if value is OMIT or (expected is not PRESENT and value != expected):
                return False
        return True


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
    where = "/" + "/".join(str(p) for p in path)
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
            )
        )
    return Catalog(compiled)
