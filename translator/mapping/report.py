"""What each mapping does and loses: the rows of `translator mappings [--lossy]`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..formats.canvas import canvas_event_names
from ..schema_store import schema_id, schema_store
from .catalog import Catalog, CompiledMapping


@dataclass(frozen=True)
class MappingRow:
    event_type: str
    caliper_type: str
    action: str
    origin: str
    lossy: tuple[str, ...]
    description: str


def _documented_fields(event_type: str) -> list[str]:
    store = schema_store()
    fields = [f"metadata.{name}" for name in store.registry.contents(schema_id("canvas/metadata.json"))["properties"]]
    body_id = schema_id(f"canvas/events/{event_type}.json")
    if store.has(body_id):
        fields += [f"body.{name}" for name in store.registry.contents(body_id).get("properties", {})]
    return fields


def lossy_fields(mapping: CompiledMapping, event_type: str) -> tuple[str, ...]:
    """Documented Canvas fields that the Caliper form does not carry back (derived, not declared)."""
    restored: set[tuple[str, ...]] = {copy.path for _, copy, _ in mapping.copies if copy.converter is None or copy.converter.inverse}
    restored |= {target for target, _ in mapping.reverse_rules}
    restored.add(("metadata", "event_name"))  # the engine names the event from the mapping
    lost = []
    for field in _documented_fields(event_type):
        path = tuple(field.split("."))
        if not any(path[: len(prefix)] == prefix for prefix in restored):
            lost.append(field)
    return tuple(lost)


def not_carried(catalog: Catalog, event_types: Iterable[str], *, generic: bool = True) -> dict[str, tuple[str, ...]]:
    """Per Canvas event type among `event_types`, the documented fields its Caliper form does not
    carry (those with none left out): what a conversion to Caliper loses, to say so in its summary."""
    lost = {}
    for event_type in set(event_types) & (canvas_event_names() | set(catalog.by_event)):
        mapping = catalog.forward(event_type, generic=generic)
        fields = lossy_fields(mapping, event_type) if mapping is not None else ()
        if fields:
            lost[event_type] = fields
    return lost


def mapping_rows(catalog: Catalog, *, generic: bool = True) -> list[MappingRow]:
    rows = []
    for event_type in sorted(canvas_event_names() | set(catalog.by_event)):
        mapping = catalog.forward(event_type, generic=generic)
        if mapping is None:
            rows.append(MappingRow(event_type, "-", "-", "unsupported", (), "no mapping; generic forms are off"))
            continue
        action = mapping.action or "(computed)"
        if mapping.canvas_event == "*":
            action = "(from the event name)"
        rows.append(
            MappingRow(
                event_type,
                mapping.caliper_type or "(computed)",
                action,
                mapping.origin,
                lossy_fields(mapping, event_type),
                mapping.description.strip(),
            )
        )
    return rows


def lossy_markdown(rows: list[MappingRow]) -> str:
    """docs/lossy-fields.md: per event type, what its Caliper form does not carry back."""
    lines = [
        "# Canvas fields the Caliper form does not carry",
        "",
        "Generated from the shipped mappings by `translator mappings --markdown`; a test keeps it current.",
        "Caliper -> Canvas restores every other documented field; generic forms restore everything.",
        "",
        "| Canvas event | Caliper | mapping | fields not carried |",
        "|---|---|---|---|",
    ]
    for row in rows:
        lost = ", ".join(f"`{field}`" for field in row.lossy) or "none"
        lines.append(f"| `{row.event_type}` | {row.caliper_type} {row.action} | {row.origin} | {lost} |")
    return "\n".join(lines) + "\n"
