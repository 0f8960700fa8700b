"""The units a conversion reads (a `Record`, or a block of lines), and their grouping in chunks."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Any

from ..io.jsontext import non_finite_problem, readable
from ..io.readers import BLOCK_BYTES, Lines, Record


def as_units(items: Iterable[Record | Lines | Any]) -> Iterator[Record | Lines]:
    for index, item in enumerate(items):
        if isinstance(item, (Record, Lines)):
            yield item
        elif (invalid := non_finite_problem(item)) is not None:  # a payload handed in: not read as JSON
            yield Record(f"#{index}", readable(item), problem=invalid)
        else:
            yield Record(f"#{index}", "", item)


def chunks(units: Iterator[Record | Lines], size: int) -> Iterator[list[Record | Lines]]:
    """Units grouped by about `size` records (a block of lines counts as its lines) or about
    `BLOCK_BYTES` of text, whichever comes first, so that long records make small chunks. When
    reading fails, the units read before the failure still come out, then the error is raised."""
    chunk: list[Record | Lines] = []
    records = text = 0
    try:
        for unit in units:
            chunk.append(unit)
            records += len(unit) if isinstance(unit, Lines) else 1
            text += unit.size if isinstance(unit, Lines) else len(unit.text)
            if records >= size or text >= BLOCK_BYTES:
                yield chunk
                chunk, records, text = [], 0, 0
    except Exception:
        if chunk:
            yield chunk
        raise
    if chunk:
        yield chunk


def until(units: Iterator[Record | Lines], cancel: threading.Event | None) -> Iterator[Record | Lines]:
    if cancel is None:
        yield from units
        return
    for unit in units:
        yield unit
        if cancel.is_set():
            return
