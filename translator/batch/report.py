"""The report of a run, for every command: counts by reason and by type, the drift tally, what
a conversion did not carry, timings; turned into the summary lines and the exit code here."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from ..drift import Drift
from ..errors import Problem
from ..validation import conforms
from .phases import input_reason
from .results import Block, ConvertResult

Tracked = TypeVar("Tracked", ConvertResult, Block)
EXIT_OK, EXIT_FAILED = 0, 1  # the run's verdict (a usage error, 2, is the CLI's)


@dataclass
class Report:
    """Counts over a run: read, converted, rejected by reason, by event type; time and rate. Every
    command keeps one (`command`): `validate` counts a conforming record as converted and one that
    does not conform as rejected, with the reason `convert` would give it."""

    command: str = field(default="convert", kw_only=True)  # whose summary and exit code: convert, validate or drift
    strict: bool = field(default=False, kw_only=True)  # drift: drift found fails the run

    read: int = 0
    converted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    converted_types: Counter[str] = field(default_factory=Counter)
    rejected_types: Counter[str] = field(default_factory=Counter)
    drift: Drift = field(default_factory=Drift)  # from blocks (convert_blocks)
    not_carried: dict[str, tuple[str, ...]] = field(default_factory=dict)  # see `Converter.not_carried`
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None
    errors: int = 0  # problems of severity error, as `validate` shows them
    warnings: int = 0

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

    def add_checked(self, problems: list[Problem], shown: list[Problem], event_type: str | None) -> None:
        """Count a record as `validate` checks it: its `problems`, and the `shown` ones it prints."""
        self.errors += sum(problem.is_error for problem in shown)
        self.warnings += sum(not problem.is_error for problem in shown)
        reason = None if conforms(problems) else input_reason(problems)
        self.add(ConvertResult("", None, problems, reason, event_type))

    @property
    def exit_code(self) -> int:
        """Failed when a record was rejected (does not conform), or, for `drift --strict`, on drift."""
        failed = self.strict and bool(self.drift) if self.command == "drift" else bool(self.rejected_total)
        return EXIT_FAILED if failed else EXIT_OK

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
        """The summary for a person, as its command gives it: the totals first, then the breakdowns."""
        if self.command == "drift":
            return self.drift.lines()
        if self.command == "validate":
            failing = self.rejected_total
            lines = [
                f"{self.read} record{'s' * (self.read != 1)}: {self.read - failing} conform, {failing} do not "
                f"({self.errors} errors, {self.warnings} warnings)"
            ]
            if self.drift:
                lines.append(self.drift.summary())
            return lines
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
