"""Drift: how the Canvas events read differ from what the schemas know.

Canvas adds event types and fields over time and sometimes changes a field's type. A `Drift`
tallies, per Canvas event type: how many events came, the fields no schema knows (an
`unknown-field`), the values that fail their field's schema (type, form or range), the event
types no schema knows (`unknown-event`) and, when asked to, the schema fields never seen. What
"known" means comes from the compiled schemas (`known_fields`), as the checks decide it.

Drift is about Canvas events. A Canvas-format record is its own Canvas event; a Caliper record
is the Canvas event it converts back to, when it conforms and a mapping restores it (our generic
form carries the whole event, so all of its fields are seen; a documented Caliper form restores
only the fields its mapping carries). Records that hold no Canvas event (another tool's Caliper,
unreadable records) are not part of drift. `translator drift` prints the whole tally; `convert` and
`validate` end their summary with its counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import Problem
from .formats.canvas import canvas_event_names
from .known_fields import Path, known_paths, known_tree, unknown_fields
from .pointer import pointer
from .schema_store import brief

if TYPE_CHECKING:
    from .engine import Translator

#: The rules of a value that fails its field's schema: what a drift report calls a type failure.
VALUE_RULES = frozenset({
    "type", "pattern", "enum", "const", "format", "maxLength", "minLength", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "maxItems", "minItems", "uniqueItems",
})  # fmt: skip


@dataclass
class Seen:
    """One finding at one path of one event type: how often, where first, what it looked like."""

    count: int
    source: str
    example: str
    rule: str = ""

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"count": self.count, "first_source": self.source, "example": self.example}
        if self.rule:
            found["rule"] = self.rule
        return found


@dataclass
class TypeDrift:
    """The drift of one Canvas event type."""

    count: int = 0
    unknown_fields: dict[str, Seen] = field(default_factory=dict)
    type_failures: dict[str, Seen] = field(default_factory=dict)
    seen: set[Path] = field(default_factory=set)


def _note(found: dict[str, Seen], path: str, source: str, value: Any, rule: str = "") -> None:
    if path in found:
        found[path].count += 1
    else:
        found[path] = Seen(1, source, brief(value), rule)


def _general(path: str) -> str:
    """A problem's path with array indices as ``*``, so the events of a type add up."""
    return "/".join("*" if part.isdigit() else part for part in path.split("/"))


def _at(document: Any, path: str) -> Any:
    for part in path.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(document, dict):
            document = document.get(part)
        elif isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        else:
            return None
    return document


@dataclass
class Drift:
    """The drift of the Canvas events added to it; `merge` adds another's (a worker's block).

    `custom_events` are event types a user mapping defines: known, though no schema has their
    body. `track_seen` also keeps which known fields were seen (for the fields never seen).
    """

    custom_events: frozenset[str] = frozenset()
    track_seen: bool = False
    types: dict[str, TypeDrift] = field(default_factory=dict)
    unknown_types: dict[str, Seen] = field(default_factory=dict)

    def add(self, event: Any, source: str, problems: Iterable[Problem] = ()) -> None:
        """One Canvas event (`{metadata, body}`) and the problems its check found."""
        metadata = event.get("metadata") if isinstance(event, dict) else None
        name = metadata.get("event_name") if isinstance(metadata, dict) else None
        if not isinstance(name, str):
            return
        problems = list(problems)
        has_schema = name in canvas_event_names()
        malformed = any(p.path == "/metadata/event_name" and p.is_error and p.rule != "unknown-event" for p in problems)
        if not has_schema and name not in self.custom_events and not malformed:  # a malformed name is a type failure
            _note(self.unknown_types, name, source, name)
        drift = self.types.get(name)
        if drift is None:
            drift = self.types[name] = TypeDrift()
        drift.count += 1
        seen = drift.seen if self.track_seen else None
        for path, value in unknown_fields(event, known_tree(name if has_schema else None), seen):
            _note(drift.unknown_fields, pointer(_general_path(path)), source, value)
        for problem in problems:
            if problem.is_error and problem.rule in VALUE_RULES and problem.path:
                _note(drift.type_failures, _general(problem.path), source, _at(event, problem.path), problem.rule)

    def add_record(self, translator: Translator, payload: Any, format: str | None, problems: list[Problem], source: str) -> None:
        """A record checked as `format`, with the problems of that check: a Canvas event as it is,
        a conforming Caliper record as the Canvas event it converts back to (see the module)."""
        if format == "canvas":
            self.add(payload, source, problems)
        elif format == "caliper" and not any(p.is_error for p in problems):
            try:
                event = translator.convert_checked(payload, "caliper", "canvas")
            except Exception:  # noqa: BLE001 - no Canvas event behind it: not part of drift
                return
            self.add(event, source, translator.problems(event, "canvas", output=True))

    def merge(self, other: Drift) -> None:
        for name, theirs in other.types.items():
            ours = self.types.setdefault(name, TypeDrift())
            ours.count += theirs.count
            _merge(ours.unknown_fields, theirs.unknown_fields)
            _merge(ours.type_failures, theirs.type_failures)
            ours.seen |= theirs.seen
        _merge(self.unknown_types, other.unknown_types)

    def __bool__(self) -> bool:
        """True when there is drift to report: an unknown event type, an unknown field or a type failure."""
        return any(total for _, total in self.counts().values())

    # -- what it says -------------------------------------------------------------------------
    def counts(self) -> dict[str, tuple[int, int]]:
        """(distinct, occurrences) of unknown event types, unknown fields and type failures."""
        fields = [seen for drift in self.types.values() for seen in drift.unknown_fields.values()]
        failures = [seen for drift in self.types.values() for seen in drift.type_failures.values()]
        return {
            "unknown_event_types": (len(self.unknown_types), sum(s.count for s in self.unknown_types.values())),
            "unknown_fields": (len(fields), sum(s.count for s in fields)),
            "type_failures": (len(failures), sum(s.count for s in failures)),
        }

    def summary(self) -> str:
        """One line for the end of a `convert` or `validate` summary."""
        counts = self.counts()
        types, events = counts["unknown_event_types"]
        fields, times = counts["unknown_fields"]
        failures, values = counts["type_failures"]
        return (
            f"drift: {types} unknown event type{'s' * (types != 1)} ({events} event{'s' * (events != 1)}), "
            f"{fields} unknown field{'s' * (fields != 1)} ({times} time{'s' * (times != 1)}), "
            f"{failures} type failure{'s' * (failures != 1)} ({values} value{'s' * (values != 1)}); "
            "details: translator drift"
        )

    def never_seen(self, name: str) -> list[str]:
        """The fields the schema of `name` knows that no event of it had (metadata apart: see
        `metadata_never_seen`); empty for a type without a schema."""
        if name not in canvas_event_names():
            return []
        seen = self.types[name].seen if name in self.types else set()
        return [pointer(p) for p in known_paths(known_tree(name)) if p[0] == "body" and len(p) > 1 and p not in seen]

    def metadata_never_seen(self) -> list[str]:
        """The metadata fields (one schema for every type) no event had."""
        seen = set().union(*(drift.seen for drift in self.types.values()))
        return [pointer(p) for p in known_paths(known_tree(None)) if p[0] == "metadata" and len(p) > 1 and p not in seen]

    def as_dict(self) -> dict[str, Any]:
        """The whole report, for machines (`translator drift --json`)."""
        return {
            "counts": {key: {"distinct": distinct, "occurrences": total} for key, (distinct, total) in self.counts().items()},
            "event_types": {
                name: {
                    "count": drift.count,
                    "known": name not in self.unknown_types,
                    "unknown_fields": {path: seen.as_dict() for path, seen in sorted(drift.unknown_fields.items())},
                    "type_failures": {path: seen.as_dict() for path, seen in sorted(drift.type_failures.items())},
                    **({"never_seen": self.never_seen(name)} if self.track_seen else {}),
                }
                for name, drift in sorted(self.types.items())
            },
            "unknown_event_types": {name: seen.as_dict() for name, seen in sorted(self.unknown_types.items())},
            **({"metadata_never_seen": self.metadata_never_seen()} if self.track_seen else {}),
        }

    def lines(self) -> list[str]:
        """The whole report, for a person."""
        out = []
        for name, drift in sorted(self.types.items()):
            known = " (no schema: unknown event type)" if name in self.unknown_types else ""
            out.append(f"{name}: {drift.count} event{'s' * (drift.count != 1)}{known}")
            if name in self.unknown_types:
                out.append(f"  first at {self.unknown_types[name].source}")
            for path, seen in sorted(drift.unknown_fields.items()):
                out.append(f"  unknown field {path}: {seen.count}x, first at {seen.source}, e.g. {seen.example}")
            for path, seen in sorted(drift.type_failures.items()):
                out.append(f"  type failure {path} [{seen.rule}]: {seen.count}x, first at {seen.source}, e.g. {seen.example}")
            if self.track_seen and (missing := self.never_seen(name)):
                out.append(f"  never seen: {', '.join(missing)}")
        if self.track_seen and self.types and (missing := self.metadata_never_seen()):
            out.append(f"metadata fields never seen: {', '.join(missing)}")
        out.append(self.summary().rsplit("; details", 1)[0])
        return out


def _general_path(path: Path) -> Path:
    return tuple("*" if isinstance(part, int) else part for part in path)


def _merge(ours: dict[str, Seen], theirs: dict[str, Seen]) -> None:
    for key, seen in theirs.items():
        if key in ours:
            ours[key].count += seen.count
        else:
            ours[key] = Seen(seen.count, seen.source, seen.example, seen.rule)
