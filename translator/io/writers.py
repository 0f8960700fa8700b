"""Write converted events and rejects, streaming: nothing is held back until the end.

The layout follows the path: JSON Lines by default; a path ending in `.json` (or `.json.gz`) gets
one JSON array, written item by item; `.gz` compresses (with a fixed header time, so two runs over
the same input give the same bytes). No path, or ``-``, writes to stdout.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from ..errors import Problem
from .jsontext import json_line


class JsonWriter:
    """Writes JSON values one at a time as JSON Lines or as one JSON array."""

    def __init__(self, path: str | None = None, stdout: IO[Any] | None = None) -> None:
        self.path = path if path != "-" else None
        name = (self.path or "").lower()
        self.array = name.removesuffix(".gz").endswith(".json")
        self.count = 0
        self._file: IO[bytes] | None = None
        if self.path is None:
            if stdout is None:
                raise ValueError("a JsonWriter without a path needs stdout")
            self._sink: Any = getattr(stdout, "buffer", stdout)
        else:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "wb")  # noqa: SIM115 - closed in close()
            self._sink = (
                gzip.GzipFile(filename="", mode="wb", fileobj=self._file, mtime=0)
                if name.endswith(".gz")
                else self._file
            )
        self._text = isinstance(self._sink, io.TextIOBase)

    def write_lines(self, data: bytes, count: int | None = None) -> None:
        """Write values already serialised (by worker processes) as compact UTF-8 JSON, one per
        line, each line ending in a newline: one write for any number of values. `count`, the
        number of values, spares counting them when the caller knows it."""
        if not data:
            return
        if count is None:
            count = data.count(b"\n")  # compact JSON has no raw newline: one per value
        if self.array:  # "[\n" before the first value, ",\n" between values
            data = (b"[\n" if self.count == 0 else b",\n") + data[:-1].replace(b"\n", b",\n")
        if self._text:
            self._sink.write(data.decode())
        else:
            self._sink.write(data)
        self.count += count

    def write(self, value: Any) -> None:
        self.write_lines(json_line(value))

    def close(self) -> None:
        if self.array:
            self._emit("[]\n" if self.count == 0 else "\n]\n")
        if self._file is None:
            self._sink.flush()
            return
        if self._sink is not self._file:
            self._sink.close()
        self._file.close()

    def _emit(self, text: str) -> None:
        self._sink.write(text if self._text else text.encode())

    def __enter__(self) -> JsonWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def reject_record(source: str, reason: str, problems: list[Problem], text: str | None) -> dict[str, Any]:
    """A rejected record as the rejects file holds it."""
    return {"source": source, "reason": reason, "problems": [problem.as_dict() for problem in problems], "text": text}


class RejectsWriter:
    """Rejected records as JSON Lines: `source`, `reason`, `problems` and the original `text`."""

    def __init__(self, path: str | None = None, stdout: IO[Any] | None = None) -> None:
        self._writer = JsonWriter(path, stdout)

    def write(self, source: str, reason: str, problems: list[Problem], text: str | None) -> None:
        self._writer.write(reject_record(source, reason, problems, text))

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> RejectsWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
