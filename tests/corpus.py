"""The shared reference corpus, read from ../shared at test time (never copied into the project)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[2] / "shared"
CANVAS_LMS = SHARED / "corpus" / "canvas-lms"
CALIPER_SPEC = SHARED / "corpus" / "caliper-spec" / "v1p1"


@dataclass(frozen=True)
class Example:
    event_type: str
    index: int
    description: str
    payload: Any

    @property
    def label(self) -> str:
        return f"{self.event_type}[{self.index}]"


def _examples(folder: str) -> Iterator[Example]:
    for file in sorted((CANVAS_LMS / folder / "event-types").glob("*.json")):
        document = json.loads(file.read_text(encoding="utf-8"))
        for index, example in enumerate(document["examples"]):
            yield Example(file.stem, index, example.get("description") or "", example["payload"])


@cache
def canvas_examples() -> tuple[Example, ...]:
    return tuple(_examples("canvas"))


@cache
def caliper_examples() -> tuple[Example, ...]:
    return tuple(_examples("caliper"))


def _pair_key(example: Example) -> tuple[str, str]:
    # asset_accessed has 40 examples per format, paired by their "type=..., subtype=..." description.
    return example.event_type, re.split(r" \(", example.description)[0]


@cache
def documented_pairs() -> tuple[tuple[Example, Example], ...]:
    """(Canvas example, Caliper example) for every event type Canvas documents in both formats."""
    canvas = {_pair_key(e): e for e in canvas_examples()}
    return tuple((canvas[_pair_key(c)], c) for c in caliper_examples() if _pair_key(c) in canvas)


def leaves(value: Any, pointer: str = "") -> dict[str, Any]:
    """Every scalar in `value` by its JSON Pointer (empty objects and lists count as leaves)."""
    if isinstance(value, dict) and value:
        found: dict[str, Any] = {}
        for key, child in value.items():
            found.update(leaves(child, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"))
        return found
    if isinstance(value, list) and value:
        found = {}
        for index, child in enumerate(value):
            found.update(leaves(child, f"{pointer}/{index}"))
        return found
    return {pointer: value}


def paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value (itself first) as a tuple of keys and indexes, for mutations."""
    found = [at]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*at, index))
    return found
