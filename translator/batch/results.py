"""What becomes of records: one `ConvertResult` per record, or a `Block` of them for a writer."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..drift import Drift
from ..errors import Problem


@dataclass(slots=True)  # not frozen: one is made for every record, and a frozen one costs three times as much to make
class ConvertResult:
    """What became of one record: `output` when converted, else `reason` and `problems`.

    `problems` also holds the warnings of a converted record. `text` is the record's original text,
    kept for rejects only (``None`` when converted) so results stay small between processes.
    """

    source: str
    output: dict[str, Any] | None
    problems: list[Problem]
    reason: str | None = None
    event_type: str | None = None
    text: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


@dataclass(frozen=True, slots=True)
class Block:
    """The results of consecutive records, for a writer (`convert_blocks`): the converted events
    serialised, the rejects whole. Warnings of converted records are not kept."""

    encoded: bytes  # each converted event as compact JSON and a newline, in input order
    converted: Counter[str]  # converted events by event type
    rejects: list[ConvertResult]
    drift: Drift = field(default_factory=Drift)  # of the Canvas events of these records


def reject(
    source: str, reason: str, problems: list[Problem], text: str | None, event_type: str | None = None
) -> ConvertResult:
    return ConvertResult(source, None, problems, reason, event_type, text)
