"""The fused Canvas -> Caliper path: one plan per Canvas event name, prepared on first use.

A plan holds what every event of its type shares: the compiled input schema, the mapping, and
the output check, decided once. When the mapping's output is proven to conform
(`mapping/proof.py`), the check is only the leaves the proof left to run time, each against its
own leaf schema; otherwise it is the whole Envelope against the one schema the full check would
route it to. Whenever that check fails, or the route is not the one expected, the full check
runs and gives its report, so the verdict is always the full check's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import Problem
from .formats.canvas import conforming, event_problems, input_schemas
from .formats.caliper import _envelope_of
from .mapping.catalog import CompiledMapping
from .mapping.proof import Location, Proof
from .mapping.proof_cache import proof_of
from .schema_store import Compiled, _rs, schema_store
from .validation import accept_problems

LeafCheck = tuple[tuple[Any, ...], Any]  # (output pointer, is_valid of the leaf schema)


class ForwardPlan:
    """Everything about converting one Canvas event type that does not depend on the event."""

    __slots__ = ("event_name", "mapping", "input_valid", "proof", "routes", "leaf_checks")

    def __init__(self, event_name: str, mapping: CompiledMapping, *, full_output_check: bool = False) -> None:
        self.event_name = event_name
        self.mapping = mapping
        self.input_valid = conforming(event_name)  # event_problems(quick=True)'s verdict, looked up once
        store = schema_store()
        proof, routes = proof_of(mapping.template, mapping.vars, input_schemas(event_name), store)
        self.proof: Proof = proof
        self.routes: dict[str, Compiled] = {value: _envelope_of(*route) for value, route in routes.items()}  # type: ignore[arg-type]
        # The proof reads verdicts as jsonschema-rs gives them; without it, or when asked, the full check.
        self.leaf_checks: Callable[[dict[str, Any]], bool] | None = None
        if proof.proven and not full_output_check and _rs is not None:
            self.leaf_checks = _leaf_checker(event_name, [(p, _leaf_check(locations)) for p, locations in proof.checks.items()])
        if full_output_check:
            self.routes = {}

    def input_problems(self, payload: Any) -> list[Problem]:
        if self.input_valid is not None and self.input_valid(payload):
            return []
        return event_problems(payload, self.event_name)

    def output_problems(self, envelope: dict[str, Any]) -> list[Problem]:
        """The accept-path check of an Envelope this plan's mapping built from a conforming input."""
        if self.leaf_checks is not None:
            if self.leaf_checks(envelope):
                return []
        else:
            data = envelope.get("data")
            item = data[0] if isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict) else None
            type_name = item.get("type") if item is not None else None
            route = self.routes.get(type_name) if type(type_name) is str else None
            if route is not None and route.fast is not None and route.fast.is_valid(envelope):
                return []
        return accept_problems(envelope, "caliper")


def _leaf_check(locations: set[Location]) -> Any:
    store = schema_store()
    if len(locations) == 1:
        (location,) = locations
        return store.compiled(location).fast.is_valid
    ordered = sorted(locations)
    schema = {"allOf": [{"$ref": location} for location in ordered]}
    return store.compiled("leaf:" + "|".join(ordered), schema).fast.is_valid


def _leaf_checker(event_name: str, checks: list[LeafCheck]) -> Callable[[dict[str, Any]], bool]:
    """One generated function that walks to every checked leaf (shared steps once) and checks it;
    a leaf that was not written passes (the proof showed it may be left out)."""
    tree: dict[Any, Any] = {}
    for pointer, is_valid in checks:
        node = tree
        for key in pointer:
            node = node.setdefault(key, {})
        node[_CHECK] = is_valid
    namespace: dict[str, Any] = {}
    lines = ["def check(value0):"]

    def emit(node: dict[Any, Any], var: str, depth: int) -> None:
        for key, child in node.items():
            if key is _CHECK:
                namespace[f"valid{len(namespace)}"] = child
                lines.append("    " * depth + f"if not valid{len(namespace) - 1}({var}): return False")
                continue
            name = f"value{depth}_{len(lines)}"
            if isinstance(key, int):
                lines.append("    " * depth + f"{name} = {var}[{key}] if type({var}) is list and len({var}) > {key} else None")
            else:
                lines.append("    " * depth + f"{name} = {var}.get({key!r}) if type({var}) is dict else None")
            lines.append("    " * depth + f"if {name} is not None:")
            emit(child, name, depth + 1)

    emit(tree, "value0", 1)
    lines.append("    return True")
    exec(compile("\n".join(lines), f"<leaf checks of {event_name}>", "exec"), namespace)  # noqa: S102 - our own generated code
    return namespace["check"]  # type: ignore[no-any-return]


_CHECK = object()  # the key of a leaf's check in `_leaf_checker`'s tree of pointers
