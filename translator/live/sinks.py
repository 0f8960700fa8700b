"""Where converted events go: rotating JSON Lines files, or a Caliper endpoint.

A sink buffers what it is given (`write`) and delivers it on `flush`: only when `flush` returns
is everything written so far delivered (fsynced to a file; answered 2xx by the endpoint), and
only then does the worker move its checkpoint past those events. `discard` drops what was
written since the last flush, when the worker has to do a batch again.
"""

from __future__ import annotations

import gzip
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

import httpx
import orjson

from ..engine import CALIPER_CONTEXT
from ..io.jsontext import compact
from .logs import log
from .spool import fsync_directory


class Stopped(Exception):
    """The service is stopping before a delivery succeeded: nothing past it is checkpointed."""


class Sink(Protocol):
    name: str

    def write(self, event: dict[str, Any]) -> None: ...

    def flush(self, stop: threading.Event) -> None: ...

    def discard(self) -> None: ...

    def close(self) -> None: ...


class RotatingFiles:
    """Append-only JSON Lines files `<prefix>-<UTC time>-<n>.jsonl[.gz]` in `directory`, a new one
    when the current one reaches `max_bytes` or is `max_seconds` old. With `gzip` each flush
    appends one gzip member (a file of several members is one valid gzip stream), so a file cut
    by a crash still reads back up to its last flush."""

    def __init__(
        self,
        directory: str | Path,
        prefix: str,
        *,
        max_bytes: int = 256 << 20,
        max_seconds: float = 3600.0,
        gzip: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self.gzip = gzip
        self._clock = clock
        self._buffer: list[bytes] = []
        self._fd: int | None = None
        self._opened = 0.0
        self._size = 0
        self._count = 0

    def write_line(self, data: bytes) -> None:
        self._buffer.append(data)

    def flush(self) -> None:
        if not self._buffer:
            return
        data = b"".join(self._buffer)
        if self.gzip:
            data = gzip.compress(data, compresslevel=6, mtime=0)
        fd = self._file()
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError:
            os.ftruncate(fd, self._size)  # no half-written line left behind for the retry
            raise
        self._size += len(data)
        self._buffer.clear()
        if self._size >= self.max_bytes or self._clock() - self._opened >= self.max_seconds:
            self.close()

    def discard(self) -> None:
        self._buffer.clear()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _file(self) -> int:
        if self._fd is not None and self._clock() - self._opened >= self.max_seconds:
            self.close()  # idle past its age: what comes now belongs in a new file
        if self._fd is None:
            now = self._clock()
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
            suffix = ".jsonl.gz" if self.gzip else ".jsonl"
            while True:  # a name never used before, even after a restart within the same second
                self._count += 1
                path = self.directory / f"{self.prefix}-{stamp}-{os.getpid()}-{self._count}{suffix}"
                try:
                    self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
                    break
                except FileExistsError:
                    continue
            fsync_directory(self.directory)
            self._opened, self._size = now, 0
        return self._fd


class FileSink:
    """Converted events as rotating JSON Lines files."""

    name = "files"

    def __init__(self, files: RotatingFiles) -> None:
        self.files = files

    def write(self, event: dict[str, Any]) -> None:
        self.files.write_line(compact(event) + b"\n")

    def flush(self, stop: threading.Event) -> None:
        self.files.flush()

    def discard(self) -> None:
        self.files.discard()

    def close(self) -> None:
        self.files.close()


class CaliperSink:
    """Caliper Envelopes POSTed to an endpoint, as the Caliper 1.1 transport describes: JSON with
    `Authorization: Bearer <token>`; up to `batch` events per Envelope (consecutive events of
    one sensor). A request that fails (no answer, or not 2xx) is sent again after a backoff that
    doubles up to `max_backoff`, until it succeeds or the service stops."""

    name = "caliper"

    def __init__(
        self,
        endpoint: str,
        token: str | None = None,
        *,
        batch: int = 100,
        timeout: float = 10.0,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        on_failure: Callable[[], None] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.batch = batch
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._on_failure = on_failure
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(headers=headers, timeout=timeout)
        self._pending: list[tuple[str, Any]] = []  # (sensor, event)

    def write(self, envelope: dict[str, Any]) -> None:
        for event in envelope.get("data") or ():
            self._pending.append((envelope.get("sensor", ""), event))

    def flush(self, stop: threading.Event) -> None:
        while self._pending:
            sensor = self._pending[0][0]
            count = 0
            while count < min(self.batch, len(self._pending)) and self._pending[count][0] == sensor:
                count += 1
            self._post(sensor, [event for _, event in self._pending[:count]], stop)
            del self._pending[:count]

    def discard(self) -> None:
        self._pending.clear()

    def close(self) -> None:
        self._client.close()

    def _post(self, sensor: str, events: list[Any], stop: threading.Event) -> None:
        sent = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        body = orjson.dumps({"sensor": sensor, "sendTime": sent, "dataVersion": CALIPER_CONTEXT, "data": events})
        delay = self.backoff
        while True:
            try:
                response = self._client.post(self.endpoint, content=body)
                if response.is_success:
                    return
                failure = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                failure = f"{type(exc).__name__}: {exc}"
            if self._on_failure is not None:
                self._on_failure()
            log(logging.WARNING, "Caliper endpoint refused a batch; retrying", endpoint=self.endpoint, error=failure, events=len(events), retry_in=delay)
            if stop.wait(delay):
                raise Stopped
            delay = min(delay * 2, self.max_backoff)
