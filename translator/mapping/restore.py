"""Restore the Canvas event behind a Caliper one with the mapping dispatch chose: the plain copies
inverted, then the mapping's `$reverse` rules (generated code, as the forward direction), then
Canvas's own form of each field (`canvas_style`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import ids
from ..errors import Problem
from ..formats.canvas import field_problems
from ..pointer import pointer as pointer_text
from .converters import Scope
from .nodes import OMIT, MappingRuntimeError, Pointer, lookup

if TYPE_CHECKING:
    from .loading import CompiledMapping


def restore(mapping: CompiledMapping, event: dict[str, Any], scope: Scope, problems: list[Problem] | None = None, prefix: str = "") -> dict[str, Any]:
    """The Canvas event behind `event`. A Canvas field the mapping reads from an entity given only
    as an IRI cannot be read: it is named in a warning appended to `problems`, never dropped in silence."""
    event, iris = _expand_iris(event, mapping.entity_slots)
    unreadable: dict[Pointer, list[str]] = {}
    restored: dict[str, Any] = {"metadata": {}, "body": {}}
    written: set[tuple[str, ...]] = set()
    for at, copy, optional in mapping.copies:
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
    variables = {"event": event, "ids": scope.ids, "shard": scope.shard, "vars": mapping.vars}
    for (target, rule), compiled in zip(mapping.reverse_rules, mapping.reverse_compiled, strict=True):
        value = compiled(variables, scope)
        if value is not OMIT:
            _set(restored, target, value)
        elif iris:
            slot = next((s for s in iris if f"event.{'.'.join(s)}." in rule.text), None)
            if slot is not None and ".".join(target) not in unreadable.setdefault(slot, []):
                unreadable[slot].append(".".join(target))
    for target, style in mapping.style:
        value = lookup(restored, target)
        if value is not OMIT:
            _set(restored, target, canvas_style(value, style, scope))
    for slot, fields in unreadable.items():
        missing = [f for f in fields if lookup(restored, tuple(f.split("."))) is OMIT]
        if missing and problems is not None:
            where = prefix + pointer_text(slot)
            problems.append(Problem(where, f"{'.'.join(map(str, slot))} is given as an IRI, so {', '.join(missing)} cannot be read from it "
                                    f"(mapping {mapping.canvas_event!r}, {mapping.file})", "iri-entity", "warning"))
    return restored


def unrestorable(mapping: CompiledMapping, event: dict[str, Any]) -> list[tuple[Pointer, str]]:
    """Where `event` fails a required Canvas field (`CompiledMapping.required_sources`), and why:
    none of the field's places holds a value, the value cannot be converted back, or what it gives
    back is not a value the Canvas schema allows there. `restore` would fail on it, or give a
    Canvas event that does not conform."""
    found = []
    for field, sources in mapping.required_sources:
        name = ".".join(field)
        for at, copy, optional in sources:
            value = _read(event, at)
            if value is OMIT:
                continue
            try:
                restored = copy.converter.inverse(value, Scope()) if copy.converter else value  # type: ignore[misc]
            except (ValueError, TypeError) as exc:
                if optional:  # restore tries the next place
                    continue
                found.append((at, f"{name} of the Canvas {mapping.canvas_event} event cannot be restored from {value!r}: {exc}"))
                break
            wrong = field_problems(mapping.canvas_event, field, restored)  # type: ignore[arg-type]
            if wrong:
                found.append((at, f"{name} of the Canvas {mapping.canvas_event} event would be {restored!r}: {wrong[0].message}"))
            break
        else:
            places = " or ".join(pointer_text(at) for at, _, _ in sources)
            found.append((sources[0][0], f"{name} of the Canvas {mapping.canvas_event} event is restored from {places}, which this event lacks"))
    return found


def _read(event: dict[str, Any], at: Pointer) -> Any:
    """`lookup`, reading an entity given as an IRI string as `{"id": iri}` (as `restore` does)."""
    value: Any = event
    for index, key in enumerate(at):
        if isinstance(value, str) and index and at[index:] == ("id",):
            return value
        value = lookup(value, (key,))
        if value is OMIT:
            return OMIT
    return value


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


def _expand_iris(event: dict[str, Any], entity_slots: dict[str, Any]) -> tuple[dict[str, Any], tuple[Pointer, ...]]:
    """`event` with each entity given as an IRI string at one of the mapping's object slots
    turned into `{"id": iri}` (Caliper allows either form), and the slots so expanded."""
    found: list[Pointer] = []
    stack: list[tuple[dict[str, Any], dict[str, Any], Pointer]] = [(event, entity_slots, ())]
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


def _copy_path(event: dict[str, Any], path: Pointer) -> dict[str, Any]:
    """The object at `path` in `event` (itself already a copy), shallow-copied along the way so the
    caller's event stays as given."""
    node = event
    for key in path:
        node[key] = dict(node[key])  # type: ignore[index]
        node = node[key]  # type: ignore[index]
    return node


def _set(document: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    if len(path) == 1 and not isinstance(value, dict):
        raise MappingRuntimeError(f"cannot restore {path[0]} from {value!r}: not an object", origin="$reverse", output=())
    for key in path[:-1]:
        document = document.setdefault(key, {})
        if not isinstance(document, dict):  # a restored value in the way (`_check_reverse_targets` prevents it)
            raise MappingRuntimeError(f"cannot restore {'.'.join(path)}: {key} holds {document!r}", origin="$reverse", output=())
    document[path[-1]] = value
