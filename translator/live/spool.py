"""A durable spool: append-only segment files, fsynced before anything is acknowledged.

Every payload is a frame (length, CRC-32, bytes) appended to the current segment. Appends are
committed by one writer thread in groups: whatever arrived while the previous fsync ran is
written and fsynced together, so requests arriving together share one fsync and durability does
not cap throughput. `append` returns a future that completes (with the frame's end position) only
once the frame is on disk, or fails with the `OSError` that kept it off: disk full, a permission,
the spool's own limit on undelivered bytes (`SpoolFull`), or the spool closing (`SpoolClosed`).
`append_many` does the same for a caller that gathers payloads itself (the receiver's event
loop, `commit.LoopCommit`): one future for the lot, so one wake-up of the caller per group.

Readers (`read`) see only committed frames of the segment being written, and whole segments
written before; a frame cut short by a crash fails its CRC and ends its segment. A segment is
never appended to after a restart or a failed write (a new one is started), and is deleted only
by `release`, once everything in it was delivered.

A write the OS refuses (a full disk, a file-size limit, a spool directory no longer writable)
fails its group only: the segment is cut back to its last commit, `failure` holds the error
until a later group is committed, and the change each way is logged once, not per request.
"""

from __future__ import annotations

import errno
import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from .logs import log

FRAME = struct.Struct(">II")  # payload length, CRC-32 of the payload
MAX_FRAME = 64 << 20  # a longer "length" can only be a torn write
SUFFIX = ".seg"
DEFAULT_SEGMENT_BYTES = 64 << 20


class Position(NamedTuple):
    """A place in the spool: the segment's number and a byte offset in it."""

    segment: int
    offset: int


Outcome = Position | OSError  # of one payload: where its frame ends on disk, or why it is not there
Settle = Callable[[list[Outcome]], None]


@dataclass(frozen=True, slots=True)
class Entry:
    payload: bytes
    end: Position  # just after this entry: where reading resumes once it is delivered


class SpoolFull(OSError):
    def __init__(self, limit: int) -> None:
        super().__init__(errno.ENOSPC, f"the spool is full (its limit is {limit:,} bytes)")


class SpoolClosed(OSError):
    def __init__(self) -> None:
        super().__init__(errno.ESHUTDOWN, "the spool is closed")


def fsync_directory(path: Path) -> None:
    """Make a file's creation, rename or removal in `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """Append-only, group-committed segments in `directory`; thread-safe."""

    def __init__(
        self,
        directory: str | Path,
        *,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
        max_bytes: int | None = None,
        on_fsync: Callable[[float], None] | None = None,
        on_error: Callable[[OSError], None] | None = None,
        after: int = 0,
    ) -> None:
        """`after`: the last segment number a reader may already be past (its checkpoint's), so
        new segments are numbered after it even if its files were removed by hand. `on_error` is
        told of every write the OS refused."""
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.segment_bytes = segment_bytes
        self.max_bytes = max_bytes
        self._on_fsync = on_fsync
        self._on_error = on_error
        self.failure: OSError | None = None  # why the last group could not be written, until one is
        existing = self.segments()
        self._next = max(existing[-1] if existing else 0, after) + 1
        self._bytes = sum(self._size_of(number) for number in existing)  # of the segment files
        self._delivered = 0  # bytes delivered in the oldest segment kept (see `release`)
        self._fd: int | None = None
        self._size = 0
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._done = threading.Condition(self._lock)
        self._pending: list[tuple[list[bytes], Settle]] = []
        self._committed: Position | None = None  # end of what is on disk in the segment being written
        self._commits = 0
        self._closing = False
        self._writer = threading.Thread(target=self._run, name="spool-writer", daemon=True)
        self._writer.start()

    # -- writing ----------------------------------------------------------------------------
    def append(self, payload: bytes) -> Future[Position]:
        """Queue `payload`; the future completes once it is fsynced (or fails with an OSError)."""
        future: Future[Position] = Future()

        def settle(outcomes: list[Outcome]) -> None:
            [outcome] = outcomes
            if isinstance(outcome, OSError):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

        self._submit([payload], settle)
        return future

    def append_many(self, payloads: list[bytes]) -> Future[list[Outcome]]:
        """Queue `payloads`; the future completes once they were written, with each one's outcome:
        its end position once fsynced, or the OSError that kept it off."""
        future: Future[list[Outcome]] = Future()
        self._submit(payloads, future.set_result)
        return future

    def _submit(self, payloads: list[bytes], settle: Settle) -> None:
        with self._lock:
            closing = self._closing
            if not closing:
                self._pending.append((payloads, settle))
                self._work.notify()
        if closing:
            settle([SpoolClosed() for _ in payloads])

    @property
    def running(self) -> bool:
        return self._writer.is_alive()

    def close(self) -> None:
        """Commit what is queued, then stop; later appends fail with `SpoolClosed`."""
        with self._lock:
            self._closing = True
            self._work.notify()
        self._writer.join()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._closing:
                    self._work.wait()
                if not self._pending:
                    return
                group, self._pending = self._pending, []
            self._commit(group)

    def _commit(self, group: list[tuple[list[bytes], Settle]]) -> None:
        outcomes = self._write([payload for payloads, _ in group for payload in payloads])
        start = 0
        for payloads, settle in group:
            try:
                settle(outcomes[start : start + len(payloads)])
            except InvalidStateError:  # its waiter was cancelled (a shutdown): the writer must live on
                pass
            start += len(payloads)

    def _write(self, payloads: list[bytes]) -> list[Outcome]:
        """Append and fsync the frames of `payloads` (those that fit under `max_bytes`), in order."""
        frames = [FRAME.pack(len(payload), zlib.crc32(payload)) + payload for payload in payloads]
        refused: list[Outcome] = []
        if self.max_bytes is not None:
            with self._lock:
                room, accepted = self.max_bytes - (self._bytes - self._delivered), 0
            while accepted < len(frames) and len(frames[accepted]) <= room:
                room -= len(frames[accepted])
                accepted += 1
            refused = [SpoolFull(self.max_bytes) for _ in frames[accepted:]]
            frames = frames[:accepted]
        if not frames:
            return refused
        data = b"".join(frames)
        try:
            fd = self._writable(len(data))
            started = time.perf_counter()
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
            if self._on_fsync is not None:
                self._on_fsync(time.perf_counter() - started)
        except OSError as exc:
            self._abandon()
            self._failed(exc)
            return [exc for _ in frames] + refused
        if self.failure is not None:
            log(logging.WARNING, "spool writable again; accepting deliveries", after=str(self.failure))
            self.failure = None
        outcomes: list[Outcome] = []
        segment, offset = self._committed.segment, self._size  # type: ignore[union-attr]
        for frame in frames:
            offset += len(frame)
            outcomes.append(Position(segment, offset))
        self._size = offset
        with self._lock:
            self._bytes += len(data)
            self._committed = Position(segment, offset)
            self._commits += 1
            self._done.notify_all()
        return outcomes + refused

    def _writable(self, length: int) -> int:
        """The descriptor to append `length` bytes to: the current segment, or a new one."""
        if self._fd is not None and self._size and self._size + length > self.segment_bytes:
            os.close(self._fd)
            self._fd = None
        if self._fd is None:
            number, self._next = self._next, self._next + 1
            fd = os.open(self._path(number), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
            try:
                fsync_directory(self.directory)
            except OSError:
                os.close(fd)
                raise
            self._fd, self._size = fd, 0
            with self._lock:
                self._committed = Position(number, 0)
        return self._fd

    def _failed(self, exc: OSError) -> None:
        if self._on_error is not None:
            self._on_error(exc)
        if self.failure is None or (self.failure.errno, self.failure.strerror) != (exc.errno, exc.strerror):
            code = errno.errorcode.get(exc.errno or 0, "unknown")
            log(logging.ERROR, "spool write failed; deliveries get 503 until a write succeeds", error=str(exc), errno=code, spool=str(self.directory))
        self.failure = exc

    def _abandon(self) -> None:
        """After a failed write: cut what was not committed, and write the next group elsewhere."""
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, self._size)
        except OSError:
            pass  # the CRCs tell a reader where the committed frames end
        try:
            os.close(self._fd)
        except OSError:
            pass
        self._fd = None

    # -- reading ----------------------------------------------------------------------------
    def start(self) -> Position:
        """Where a reader with no checkpoint begins: the oldest segment."""
        existing = self.segments()
        return Position(existing[0] if existing else self._next, 0)

    def read(self, position: Position, limit: int) -> list[Entry]:
        """Up to `limit` committed entries from `position` on, in order."""
        with self._lock:
            committed = self._committed
        entries: list[Entry] = []
        segment, offset = position
        while len(entries) < limit:
            writing = committed is not None and segment == committed.segment
            self._read_segment(segment, offset, committed.offset if writing else None, limit, entries)  # type: ignore[union-attr]
            if len(entries) >= limit or writing or (committed is not None and segment > committed.segment):
                break
            later = [number for number in self.segments() if number > segment]
            if not later:
                break
            segment, offset = later[0], 0
        return entries

    def _read_segment(self, segment: int, offset: int, end: int | None, limit: int, entries: list[Entry]) -> None:
        try:
            stream = open(self._path(segment), "rb")
        except FileNotFoundError:
            return
        with stream:
            stream.seek(offset)
            while len(entries) < limit and (end is None or offset < end):
                header = stream.read(FRAME.size)
                if len(header) < FRAME.size:
                    return
                length, crc = FRAME.unpack(header)
                if length > MAX_FRAME:
                    return
                payload = stream.read(length)
                if len(payload) < length or zlib.crc32(payload) != crc:
                    return  # a frame cut short by a crash: nothing after it was acknowledged
                offset += FRAME.size + length
                entries.append(Entry(payload, Position(segment, offset)))

    def generation(self) -> int:
        """A counter of commits, for `wait`."""
        with self._lock:
            return self._commits

    def wait(self, generation: int, timeout: float) -> None:
        """Until a commit after `generation`, or `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._commits == generation and (left := deadline - time.monotonic()) > 0:
                self._done.wait(left)

    def release(self, position: Position) -> None:
        """Everything before `position` is delivered: delete the segments wholly before it. What
        is delivered no longer counts against `max_bytes`, even in a segment still kept."""
        done = [number for number in self.segments() if number < position.segment]
        for number in done:
            size = self._size_of(number)
            self._path(number).unlink(missing_ok=True)
            with self._lock:
                self._bytes -= size
        with self._lock:
            self._delivered = position.offset
        if done:
            fsync_directory(self.directory)

    def depth(self, position: Position) -> int:
        """Bytes in the spool from `position` on: what is not delivered yet."""
        sizes = sum(self._size_of(number) for number in self.segments() if number >= position.segment)
        return max(sizes - position.offset, 0)

    def segments(self) -> list[int]:
        """The numbers of the segment files, oldest first."""
        numbers = []
        for path in self.directory.glob(f"*{SUFFIX}"):
            stem = path.name[: -len(SUFFIX)]
            if stem.isdigit():
                numbers.append(int(stem))
        return sorted(numbers)

    def _path(self, number: int) -> Path:
        return self.directory / f"{number:016d}{SUFFIX}"

    def _size_of(self, number: int) -> int:
        try:
            return self._path(number).stat().st_size
        except FileNotFoundError:
            return 0
