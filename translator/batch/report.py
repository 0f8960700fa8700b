"""The report of a run, for every command: counts by reason and by type, the drift tally, what
a conversion did not carry, timings; turned into the summary lines and the exit code here."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from ..drift import Drift
from .results import Block, ConvertResult

Tracked = TypeVar("Tracked", ConvertResult, Block)


@dataclass
class Report:
    """Counts over a run: read, converted, rejected by reason, by event type; time and rate."""

    read: int = 0
    converted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    converted_types: Counter[str] = field(default_factory=Counter)
    rejected_types: Counter[str] = field(default_factory=Counter)
    drift: Drift = field(default_factory=Drift)  # from blocks (convert_blocks)
    not_carried: dict[str, tuple[str, ...]] = field(default_factory=dict)  # see `Converter.not_carried`
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None

    def track(self, results: Iterable[Tracked]) -> Iterator[Tracked]:
        """Pass `results` (or blocks of them) through, counting each; the clock stops when they run out."""
        for result in results:
            if isinstance(result, Block):
                self.add_block(result)
            else:
                self.add(result)
            yield result
        self.finished = time.perf_counter()

    def add_block(self, block: Block) -> None:
        converted = sum(block.converted.values())
        self.read += converted
        self.converted += converted
        self.converted_types.update(block.converted)
        self.drift.merge(block.drift)
        for reject in block.rejects:
            self.add(reject)

    def add(self, result: ConvertResult) -> None:
        self.read += 1
        if result.ok:
            self.converted += 1
            self.converted_types[result.event_type or "?"] += 1
        else:
            self.rejected[result.reason or "?"] += 1
            if result.event_type:
                self.rejected_types[result.event_type] += 1

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def elapsed(self) -> float:
        return (self.finished or time.perf_counter()) - self.started

    @property
    def rate(self) -> float:
        return self.read / self.elapsed if self.elapsed > 0 else 0.0

    def lines(self) -> list[str]:
        """The summary for a person: the totals first, then the breakdowns."""
        records = f"{self.read} record{'s' * (self.read != 1)}"
        lines = [
            f"{records} read, {self.converted} converted, {self.rejected_total} rejected "
            f"in {self.elapsed:.2f} s ({self.rate:,.1f} events/s)"
        ]
        if self.rejected:
            lines.append("rejected by reason: " + _counts(self.rejected))
        types = sorted(self.converted_types.keys() | self.rejected_types.keys())
        if types:
            parts = []
            for name in types:
                part = f"{name} {self.converted_types[name]}"
                if self.rejected_types[name]:
                    part += f" (+{self.rejected_types[name]} rejected)"
                parts.append(part)
            lines.append("converted by event type: " + ", ".join(parts))
        for name, lost in sorted(self.not_carried.items()):
            count = self.converted_types[name]
            lines.append(f"not carried to Caliper: {name} ({count} event{'s' * (count != 1)}): {', '.join(lost)}")
        if self.drift:
            lines.append(self.drift.summary())
        return lines


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))
