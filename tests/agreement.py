"""The figures of Caliper -> Canvas against Canvas's documented pairs (see test_roundtrip.py).

- precision: of the Canvas values produced from Canvas's Caliper example, the share equal to the
  Canvas example's (same value and same JSON type; a time the same string).
- recall of carried fields: of the Canvas example's fields that Canvas's documented Caliper form
  carries, the share restored from Canvas's Caliper example. A field is carried when it comes back
  from our own Caliper form of the Canvas example with our additions to Canvas's form removed
  (`golden.our_addition`), so what our form alone adds is not counted for Canvas's examples.
- round trip: of the Canvas example's fields our Caliper form carries (every non-null field not
  listed lossy by `translator mappings --lossy`), the share that Canvas -> Caliper -> Canvas gives
  back equal.

Run as a script for the figures and every miss: `python tests/agreement.py`.
"""

from __future__ import annotations

import copy
import sys
from dataclasses import dataclass, field
from typing import Any

from corpus import Example, documented_pairs, leaves
from equivalence import same_value, shard_of_event
from golden import our_addition
from support import BROKEN_EXAMPLES, REVERSE_EXCEPTIONS

from translator.mapping.report import lossy_fields


@dataclass
class Figure:
    name: str
    good: int = 0
    total: int = 0
    misses: list[str] = field(default_factory=list)

    def count(self, ok: bool, what: str) -> None:
        self.total += 1
        self.good += ok
        if not ok:
            self.misses.append(what)

    @property
    def share(self) -> float:
        return self.good / max(self.total, 1)

    def __str__(self) -> str:
        return f"{self.name}: {self.good}/{self.total} = {self.share:.4f}"


def exact(ours: Any, theirs: Any) -> bool:
    return ours == theirs and type(ours) is type(theirs)


def _strip_our_additions(envelope: dict[str, Any]) -> dict[str, Any]:
    stripped = copy.deepcopy(envelope)
    for pointer in leaves(envelope):
        if our_addition(envelope, pointer):
            *parents, last = pointer.strip("/").split("/")
            node: Any = stripped
            for key in parents:
                node = node[int(key)] if isinstance(node, list) else node[key]
            del node[last]
    return stripped


def _carried(translator: Any, canvas: Example) -> set[str]:
    """The Canvas example's fields that come back from Canvas's documented form as we write it."""
    envelope = _strip_our_additions(translator.translate(canvas.payload, to="caliper", validate=False))
    back = leaves(translator.translate(envelope, to="canvas", validate=False))
    shard = shard_of_event(canvas.payload)
    return {p for p, v in leaves(canvas.payload).items() if v is not None and p in back and same_value(back[p], v, shard)}


def figures(translator: Any) -> tuple[Figure, Figure, Figure]:
    precision, recall, roundtrip = Figure("precision"), Figure("recall of carried fields"), Figure("Canvas -> Caliper -> Canvas")
    for canvas, caliper in documented_pairs():
        where = f"{canvas.label} {caliper.description[:40]}".strip()
        original = leaves(canvas.payload)
        if canvas.label not in REVERSE_EXCEPTIONS:
            restored = leaves(translator.translate(caliper.payload, to="canvas", validate=False))
            for pointer, value in restored.items():
                precision.count(exact(value, original.get(pointer, KeyError)), f"{where} {pointer}: {value!r} vs {original.get(pointer, '(absent)')!r}")
            for pointer in sorted(_carried(translator, canvas)):
                value = restored.get(pointer, "(absent)")
                recall.count(exact(value, original[pointer]), f"{where} {pointer}: {value!r} vs {original[pointer]!r}")
        if canvas.label in BROKEN_EXAMPLES or caliper is not _first_pair_of(canvas):
            continue
        lossy = [tuple(f.split(".")) for f in lossy_fields(translator.mapping_for(canvas.event_type), canvas.event_type)]
        back = leaves(translator.translate(translator.translate(canvas.payload, to="caliper"), to="canvas"))
        for pointer, value in original.items():
            path = tuple(pointer.strip("/").split("/"))
            if value is None or any(path[: len(lost)] == lost for lost in lossy):
                continue
            roundtrip.count(exact(back.get(pointer, KeyError), value), f"{canvas.label} {pointer}: {back.get(pointer, '(absent)')!r} vs {value!r}")
    return precision, recall, roundtrip


def _first_pair_of(canvas: Example) -> Example:
    """The first Caliper example paired with `canvas` (a Canvas example is counted once)."""
    return next(caliper for c, caliper in documented_pairs() if c is canvas)


def main() -> int:
    from translator.engine import Translator

    for figure in figures(Translator()):
        print(figure)
        for miss in figure.misses:
            print("   ", miss)
    return 0


if __name__ == "__main__":
    sys.exit(main())
