"""Leaf-by-leaf comparison of our Caliper output with Canvas's documented Caliper example.

Run as a script for a report: `python tests/golden.py [event_type ...]`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from corpus import Example, documented_pairs, leaves

IGNORED = ("/id", "/sendTime", "/data/0/id")

_BODY_CONTEXT = tuple(f"/data/0/object/extensions/com.instructure.canvas/context_{key}" for key in ("id", "type"))
_ROOT_ACCOUNT = tuple(f"/data/0/actor/extensions/com.instructure.canvas/root_account_{key}" for key in ("id", "uuid", "lti_guid"))


def our_addition(envelope: dict[str, Any], pointer: str) -> str | None:
    """Why `pointer` in our Caliper output is one of our own additions to Canvas's documented form
    (docs/caliper-profiles.md, "Our additions"), or None when Canvas's form has it too."""
    event = envelope["data"][0]
    actor = event.get("actor")
    if pointer in _ROOT_ACCOUNT and isinstance(actor, dict):
        if actor.get("type") == "SoftwareApplication":
            return "the root account of a system-generated event (Canvas's system actor has no extensions)"
        if event.get("type") == "GradeEvent":
            return "the root account of a grade change (Canvas publishes the grader without extensions)"
    obj = event.get("object")
    if pointer in _BODY_CONTEXT and isinstance(obj, dict) and obj.get("type") in ("AssignableDigitalResource", "Assessment"):
        return "the context of an assignment or quiz (Canvas's form shows the request's context as the group only)"
    if pointer.startswith("/data/0/object/extensions/com.instructure.canvas/context/") and event.get("type") == "NavigationEvent":
        return "the context of an asset access when it is not a course (Canvas's form shows a course context only)"
    return None


@dataclass
class Comparison:
    label: str
    matched: list[str] = field(default_factory=list)
    missing: dict[str, Any] = field(default_factory=dict)  # in the example, not in ours
    extra: dict[str, Any] = field(default_factory=dict)  # in ours, not in the example
    differing: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # pointer -> (ours, example)
    ours: dict[str, Any] = field(default_factory=dict)  # in ours only, one of our documented additions

    @property
    def total(self) -> int:
        return len(self.matched) + len(self.missing) + len(self.differing) + len(self.extra)


def compare(ours: dict[str, Any], expected: dict[str, Any], label: str) -> Comparison:
    mine, theirs = leaves(ours), leaves(expected)
    result = Comparison(label)
    for pointer, value in theirs.items():
        if pointer in IGNORED:
            continue
        if pointer not in mine:
            result.missing[pointer] = value
        elif mine[pointer] == value and type(mine[pointer]) is type(value):
            result.matched.append(pointer)
        else:
            result.differing[pointer] = (mine[pointer], value)
    for pointer, value in mine.items():
        if pointer not in theirs and pointer not in IGNORED:
            if our_addition(ours, pointer):
                result.ours[pointer] = value
            else:
                result.extra[pointer] = value
    return result


def translate_pair(translator: Any, canvas: Example, caliper: Example) -> Comparison:
    ours = translator.translate(canvas.payload, to="caliper", validate=False, send_time=caliper.payload["sendTime"])
    return compare(ours, caliper.payload, canvas.label)


def main(names: list[str]) -> int:
    from translator.engine import Translator

    translator = Translator()
    matched = total = 0
    for canvas, caliper in documented_pairs():
        if names and canvas.event_type not in names:
            continue
        try:
            result = translate_pair(translator, canvas, caliper)
        except Exception as exc:  # a report, not a test: show every pair
            print(f"{canvas.label}: FAILED {type(exc).__name__}: {exc}")
            continue
        matched += len(result.matched)
        total += result.total
        if result.missing or result.extra or result.differing:
            print(f"{result.label} ({caliper.description}): {len(result.matched)}/{result.total}")
            for pointer, value in result.missing.items():
                print(f"   missing  {pointer} = {value!r}")
            for pointer, value in result.extra.items():
                print(f"   extra    {pointer} = {value!r}")
            for pointer, (mine, theirs) in result.differing.items():
                print(f"   differs  {pointer}: ours {mine!r}, example {theirs!r}")
    print(f"leaf agreement: {matched}/{total} = {matched / max(total, 1):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
