"""Restore the Canvas event behind a Caliper one with the mapping dispatch chose: the plain copies
inverted, then the mapping's `$reverse` rules (generated code, as the forward direction), then
Canvas's own form of each field (`canvas_style`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import ids
from ..errors import Problem
from ..formats.canvas import field_problems, field_validity
from ..pointer import pointer as pointer_text
from .codegen import RulesRestorer, generate_rules
from .converters import Scope, inline_inverse, unchanged
from .nodes import OMIT, Copy, MappingRuntimeError, Pointer, lookup

if TYPE_CHECKING:
    from .loading import CompiledMapping

CopiesRestorer = Callable[[dict[str, Any], Scope, dict[str, Any], tuple[Pointer, ...], dict[Pointer, list[str]]], bool]


def restore(mapping: CompiledMapping, event: dict[str, Any], scope: Scope, problems: list[Problem] | None = None, prefix: str = "") -> dict[str, Any]:
    """The Canvas event behind `event`. A Canvas field the mapping reads from an entity given only
    as an IRI cannot be read: it is named in a warning appended to `problems`, never dropped in silence."""
    unreadable: dict[Pointer, list[str]] = {}
    restored: dict[str, Any] = {"metadata": {}, "body": {}}
    iris: tuple[Pointer, ...] = ()
    if mapping.restore_copies(event, scope, restored, iris, unreadable):  # an entity given as an IRI: nothing written
        event, iris = _expand_iris(event, mapping.entity_slots)
        mapping.restore_copies(event, scope, restored, iris, unreadable)
    mapping.restore_rules(event, scope, restored, iris, unreadable)
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
    Canvas event that does not conform. `CompiledMapping.restorable` says at once that there is
    nothing to find, as almost every event shows; the reasons are worked out only otherwise."""
    return [] if mapping.restorable(event) else unrestorable_reasons(mapping, event)


def unrestorable_reasons(mapping: CompiledMapping, event: dict[str, Any]) -> list[tuple[Pointer, str]]:
    """`unrestorable` worked out field by field, with the reasons."""
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


def _read(event: Any, at: Pointer, start: int = 0) -> Any:
    """`lookup`, reading an entity given as an IRI string as `{"id": iri}` (as `restore` does);
    from `start`, `event` being the value at `at[:start]`."""
    value: Any = event
    for index, key in enumerate(at[start:], start):
        if isinstance(value, str) and index and at[index:] == ("id",):
            return value
        value = lookup(value, (key,))
        if value is OMIT:
            return OMIT
    return value


def restorable_code(mapping: CompiledMapping, name: str) -> Callable[[dict[str, Any]], bool]:
    """One generated function saying whether `unrestorable(mapping, event)` finds nothing: each
    required field's places read in restore's order (as `_read` reads them, plain objects by
    `.get`), the first value present converted back and checked by the field's schema, all
    without a message. False sends `unrestorable` the slow way, which says why."""
    constants: dict[str, Any] = {"OMIT": OMIT, "_read": _read, "Scope": Scope, "FAILED": _FAILED}
    lines = [f"def {name}(event):", "    scope = Scope()"]
    for f, (field, sources) in enumerate(mapping.required_sources):
        valid = field_validity(mapping.canvas_event, field)
        if valid is False:
            lines.append("    return False  # a field schema with no fast verdict: the slow way")
            break
        constants[f"valid{f}"] = valid
        lines.append(f"    done{f} = False")
        for n, (at, copy, optional) in enumerate(sources):
            constants[f"at{f}_{n}"] = at
            indent = "    " if n == 0 else "        "
            if n:
                lines.append(f"    if not done{f}:")
            lines.append(f"{indent}value = event")
            for index, key in enumerate(at):  # a plain object by .get, anything else the way _read goes
                step = f"value.get({key!r}, OMIT) if type(value) is dict else _read(value, at{f}_{n}, {index})"
                lines.append(f"{indent}if value is not OMIT: value = OMIT if (value := {step}) is None else value")
            lines.append(f"{indent}if value is not OMIT:")
            if copy.converter is not None:
                constants[f"inverse{f}_{n}"] = copy.converter.inverse
                lines.append(f"{indent}    try:")
                lines.append(f"{indent}        value = inverse{f}_{n}(value, scope)")
                lines.append(f"{indent}    except (ValueError, TypeError):")
                lines.append(f"{indent}        {'value = FAILED' if optional else 'return False'}")
                lines.append(f"{indent}    if value is not FAILED:")
                lines.append(f"{indent}        if {f'not valid{f}(value)' if valid is not None else 'False'}: return False")
                lines.append(f"{indent}        done{f} = True")
            else:
                lines.append(f"{indent}    if {f'not valid{f}(value)' if valid is not None else 'False'}: return False")
                lines.append(f"{indent}    done{f} = True")
        lines.append(f"    if not done{f}: return False")
    lines.append("    return True")
    exec(compile("\n".join(lines), f"<restorable {name}>", "exec"), constants)  # noqa: S102 - our own generated code
    return constants[name]  # type: ignore[no-any-return]


_FAILED = object()  # an optional place whose value does not convert back: restore tries the next


def copies_code(copies: tuple[tuple[Pointer, Copy, bool], ...], entity_slots: dict[str, Any], name: str) -> CopiesRestorer:
    """One generated function restoring a mapping's plain copies, in order, each read from the
    event as `lookup` reads it (every object on the way looked up once for all the copies below
    it), `inverse`d, and written unless the same field was already written or the value is the
    copy's default. A copy the event leaves out is noted as unreadable when it sits in an entity
    given as an IRI. Every place is read before anything is written, the mapping's object slots
    (`entity_slots`) among them: it returns True, having written nothing, when one of those holds
    an IRI string, for `restore` to expand such entities first (`_expand_iris`, whose walk the
    common event, without one, is spared); False when it restored."""
    constants: dict[str, Any] = {"OMIT": OMIT, "_set": _set, "_unreadable": _note_unreadable, "_failed": _restore_failed}
    lines = [f"def {name}(event, scope, restored, iris, unreadable):"]
    # every place on the way to a copy's value, by its parent; its variable holds None when absent
    below: dict[Pointer, list[Pointer]] = {}
    places: dict[Pointer, str] = {(): "event"}

    def place(at: Pointer) -> str:
        if at not in places:
            parent = at[:-1]
            place(parent)
            places[at] = f"p{len(places)}"
            below.setdefault(parent, []).append(at)
        return places[at]

    def look_up(parent: Pointer) -> None:
        """Each place below `parent`: an object tested once for all its keys, then plain `.get`s;
        an object slot holding a string ends the function (an entity given as an IRI)."""
        var, children = places[parent], below.get(parent, [])
        named = [at for at in children if not isinstance(at[-1], int)]
        if named:
            lines.append(f"    if {var}.__class__ is dict or isinstance({var}, dict):")
            lines.extend(f"        {places[at]} = {var}.get({at[-1]!r})" for at in named)
            if parent in slots:
                lines.append(f"    elif isinstance({var}, str): return True")
            lines.append(f"    else: {' = '.join(places[at] for at in named)} = None")
        elif parent in slots:
            lines.append(f"    if isinstance({var}, str): return True")
        for at in children:
            key = at[-1]
            if isinstance(key, int):
                lines.append(f"    {places[at]} = {var}.get({key!r}) if isinstance({var}, dict) else {var}[{key!r}] if isinstance({var}, list) and {key!r} < len({var}) else None")
        for at in children:
            look_up(at)

    def write(n: int, path: tuple[str, ...], value: str, flag: str | None) -> str:
        # `restored` holds an object at metadata and body: a field of one is set directly, in
        # the object held in a local unless a copy replaces the whole object
        part = f"_{path[0]}" if whole_parts else f"restored[{path[0]!r}]"
        done = f"{part}[{path[1]!r}] = {value}" if len(path) == 2 else f"_set(restored, path{n}, {value})"
        return done + (f"; {flag} = True" if flag else "")

    restorable = [(at, copy, optional) for at, copy, optional in copies
                  if copy.path[0] in ("metadata", "body") and not (copy.converter and copy.converter.inverse is None)]  # fmt: skip
    whole_parts = all(len(copy.path) > 1 for _, copy, _ in restorable)
    if whole_parts:
        lines.append("    _metadata, _body = restored['metadata'], restored['body']")
    in_order = _slot_pointers(entity_slots)  # a set's order would change the generated code run to run
    slots = set(in_order)
    for at in [*in_order, *(at for at, _, _ in restorable)]:
        place(at)
    look_up(())
    # a field several copies restore is written by the first that holds a value: a flag says so
    counts = Counter(copy.path for _, copy, _ in restorable)
    flags = {path: f"written{n}" for n, path in enumerate(p for p, count in counts.items() if count > 1)}
    lines += [f"    {flag} = False" for flag in flags.values()]
    written: set[tuple[str, ...]] = set()
    for n, (at, copy, optional) in enumerate(restorable):
        constants[f"copy{n}"], constants[f"at{n}"], constants[f"path{n}"] = copy, at, copy.path
        indent = "    "
        flag = flags.get(copy.path)
        if copy.path in written:
            lines.append(f"    if not {flag}:")
            indent += "    "
        written.add(copy.path)
        value = places[at]
        if copy.converter is None and copy.default is OMIT:  # most copies: two lines
            lines.append(f"{indent}if {value} is not None: {write(n, copy.path, value, flag)}")
            lines.append(f"{indent}elif iris: _unreadable(iris, unreadable, at{n}, copy{n})")
            continue
        lines.append(f"{indent}value = {value}")
        lines.append(f"{indent}if value is None:")
        lines.append(f"{indent}    if iris: _unreadable(iris, unreadable, at{n}, copy{n})")
        test = "else:" if copy.default is OMIT else f"elif not value == copy{n}.default:"
        lines.append(f"{indent}{test}")
        body = indent + "    "
        if copy.converter is not None and copy.converter.inverse is not unchanged:
            constants[f"inverse{n}"] = copy.converter.inverse
            call = body
            if (plain := inline_inverse(copy.converter.name)) is not None:  # most values: no call
                lines.append(f"{body}if {plain[0]}: value = {plain[1]}")
                lines.append(f"{body}else:")
                call += "    "
            lines.append(f"{call}try:")
            lines.append(f"{call}    value = inverse{n}(value, scope)")
            lines.append(f"{call}except (ValueError, TypeError) as exc:")
            lines.append(f"{call}    value = OMIT" if optional else f"{call}    raise _failed(copy{n}, value, exc, at{n}) from None")
            if optional:  # another alternative produced this value
                lines.append(f"{body}if value is not OMIT:")
                body += "    "
        lines.append(f"{body}{write(n, copy.path, 'value', flag)}")
    lines.append("    return False")
    exec(compile("\n".join(lines), f"<restore {name}>", "exec"), constants)  # noqa: S102 - our own generated code
    return constants[name]  # type: ignore[no-any-return]


def rules_code(mapping: CompiledMapping, name: str) -> RulesRestorer:
    """The mapping's `$reverse` rules, in order, as one generated function (codegen.generate_rules)."""
    helpers = {"_set": _set, "_unreadable": _rule_unreadable}
    return generate_rules(mapping.reverse_rules, name, mapping.vars, helpers)


def _rule_unreadable(iris: tuple[Pointer, ...], unreadable: dict[Pointer, list[str]], target: tuple[str, ...], text: str) -> None:
    """A rule that gave nothing and reads an entity given as an IRI: its field is noted under that entity."""
    _noted(unreadable, next((s for s in iris if f"event.{'.'.join(s)}." in text), None), ".".join(target))


def _note_unreadable(iris: tuple[Pointer, ...], unreadable: dict[Pointer, list[str]], at: Pointer, copy: Copy) -> None:
    _noted(unreadable, next((s for s in iris if at[: len(s)] == s and at[len(s) :] != ("id",)), None), copy.dotted)


def _noted(unreadable: dict[Pointer, list[str]], slot: Pointer | None, field: str) -> None:
    """`field` noted once under the entity at `slot` given as an IRI (None: no such entity)."""
    if slot is not None and field not in unreadable.setdefault(slot, []):
        unreadable[slot].append(field)


def _restore_failed(copy: Copy, value: Any, exc: Exception, at: Pointer) -> MappingRuntimeError:
    return MappingRuntimeError(f"cannot restore {copy.dotted} from {value!r}: {exc}", origin=copy.origin, output=at, source=copy.dotted)


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


def _slot_pointers(tree: dict[str, Any], at: Pointer = ()) -> list[Pointer]:
    """Every slot of `entity_slots`, parents first."""
    found: list[Pointer] = []
    for key, below in tree.items():
        found += [(*at, key), *_slot_pointers(below, (*at, key))]
    return found


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
