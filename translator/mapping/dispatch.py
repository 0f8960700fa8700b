"""Choose the mapping for an event: forward by Canvas event name, reverse by what a Caliper event
shows (type, action, object type, object URN kind, `match` pointers, Canvas's markers).

An ambiguous set of mappings is refused when the catalog is built, never guessed at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..errors import MappingError
from .loading import PRESENT, CompiledMapping
from .nodes import OMIT, Pointer

GENERIC = "*"
_PAIRS_KEPT = 1024  # (type, action) pairs no mapping names whose candidates are kept (the generic form's, mostly)


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
        # each mapping's constraints tested by generated code (`satisfier_code`), by the mapping's id, made on first use
        self._tests: dict[int, Callable[[dict[str, Any]], Any]] = {}

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
        tests = self._tests
        for mapping in self._candidates(event.get("type"), event.get("action"), canvas):
            test = tests.get(id(mapping)) or self._test(mapping)
            verdict = test(event)
            if verdict is True:
                return [mapping]
            if verdict is UNKNOWN:
                lenient.append(mapping)
        return lenient

    def _candidates(self, type_name: Any, action: Any, canvas: bool) -> list[CompiledMapping]:
        """The mappings in order of specificity whose literal type and action can fit."""
        keyed = type(type_name) is str and type(action) is str
        found = self._by_pair.get((type_name, action, canvas)) if keyed else None
        if found is None:
            found = [m for m in (self._reverse if canvas else self._reverse_custom) if _may_fit(m, type_name, action)]
            if keyed and ((type_name, action) in self._pairs or len(self._by_pair) < _PAIRS_KEPT):  # the cache stays bounded
                self._by_pair[(type_name, action, canvas)] = found
        return found

    def _test(self, mapping: CompiledMapping) -> Callable[[dict[str, Any]], Any]:
        """The generated test of `mapping`'s constraints (`satisfier_code`)."""
        test = self._tests.get(id(mapping))
        if test is None:
            test = self._tests[id(mapping)] = satisfier_code(mapping.constraints, f"fits_{len(self._tests)}")
        return test


def satisfier_code(constraints: dict[Pointer, Any], name: str) -> Callable[[dict[str, Any]], Any]:
    """Whether `event` shows what `constraints` ask, as one generated function: True, False, or
    UNKNOWN when nothing contradicts and some constraint sits in an entity given as an IRI. A
    `#kind` constraint asks for a Canvas URN of that kind; PRESENT, for any value. Each pointer is
    followed by `.get` while the values on the way are plain objects, `_read` from the top as soon
    as one is not (an IRI string, a list, a scalar); the verdict does not depend on the order."""
    namespace: dict[str, Any] = {"OMIT": OMIT, "UNKNOWN": UNKNOWN, "_read": _read}
    lines = [f"def {name}(event):", "    verdict = True"]
    for n, (at, expected) in enumerate(constraints.items()):
        kind = at[-1] == "#kind"
        path = at[:-1] if kind else at
        namespace[f"at{n}"] = path
        lines.append(f"    value = event.get({path[0]!r})")
        for depth, key in enumerate(path[1:], 1):
            lines.append(f"{'    ' * depth}if value.__class__ is dict:")
            lines.append(f"{'    ' * depth}    value = value.get({key!r})")
        for depth in range(len(path) - 1, 0, -1):
            lines.append(f"{'    ' * depth}elif value is not None:")
            lines.append(f"{'    ' * depth}    value = _read(event, at{n})")
        lines.append("    if value is None: value = OMIT")
        if kind:
            namespace[f"prefix{n}"] = f"urn:instructure:canvas:{expected}:"
            lines.append(f"    if not (isinstance(value, str) and value.startswith(prefix{n})): return False")
            continue
        lines.append("    if value is UNKNOWN: verdict = UNKNOWN")
        lines.append("    elif value is OMIT: return False")
        if expected is not PRESENT:
            namespace[f"expected{n}"] = expected
            lines.append(f"    elif value != expected{n}: return False")
    lines.append("    return verdict")
    exec(compile("\n".join(lines), f"<dispatch {name}>", "exec"), namespace)  # noqa: S102 - our own generated code
    return namespace[name]  # type: ignore[no-any-return]


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


def _constraints_compatible(a: dict[Pointer, Any], b: dict[Pointer, Any]) -> bool:
    return all(a[p] == b[p] or PRESENT in (a[p], b[p]) for p in a.keys() & b.keys())


def _may_fit(mapping: CompiledMapping, type_name: Any, action: Any) -> bool:
    constraints = mapping.constraints
    wanted_type, wanted_action = constraints.get(("type",), type_name), constraints.get(("action",), action)
    return (type(wanted_type) is not str or wanted_type == type_name) and (type(wanted_action) is not str or wanted_action == action)
