"""Stopping a run cleanly on SIGTERM or SIGINT, and the exit codes a run ends with.

The first signal only sets `Interruption.event`: the run stops reading, converts or drops (with
several workers) what is in flight, closes its outputs (a gzip stream ends properly, a JSON array
gets its `]`), writes every reject it has, prints its summary and exits with ``128 + signal``
(130 for SIGINT, 143 for SIGTERM); `validate` and `drift` stop reading and print what they
found the same way. A second signal stops at once. Worker processes leave signals to the main
process: they ignore SIGINT (a Ctrl-C reaches the whole process group) and die quietly on the
SIGTERM the pool sends them. Reading stdin, a read waiting for data gives up once
interrupted, so a run on a pipe that stays open still stops.
"""

from __future__ import annotations

import io
import os
import select
import signal
import threading
from types import FrameType, TracebackType
from typing import IO, Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interruption:
    """Within `with`, SIGINT and SIGTERM set `event` (in the main thread only: elsewhere Python
    cannot install handlers, and nothing is changed)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal: int | None = None
        self._previous: dict[int, object] = {}
        self._pid = os.getpid()

    def __enter__(self) -> Interruption:
        self._pid = os.getpid()
        if threading.current_thread() is threading.main_thread():
            for number in SIGNALS:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)  # type: ignore[arg-type]
        self._previous.clear()

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if os.getpid() != self._pid:  # a worker forked before it set its own: the signal's default
            signal.signal(number, signal.SIG_DFL)
            os.kill(os.getpid(), number)
            return
        if self.event.is_set():
            raise KeyboardInterrupt  # asked twice: stop at once
        self.signal = number
        self.event.set()

    @property
    def exit_code(self) -> int | None:
        """``128 + signal`` once interrupted, as shells report a process a signal ended."""
        return 128 + self.signal if self.signal is not None else None

    @property
    def name(self) -> str:
        return signal.Signals(self.signal).name if self.signal is not None else ""


def worker_signals() -> None:
    """In a worker process: Ctrl-C is the main process's to handle; SIGTERM ends the worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class _CancellableInput(io.RawIOBase):
    """The bytes of a file descriptor; a read waiting for them ends, as at the end of the input,
    once `cancel` is set (it looks every `poll` seconds)."""

    def __init__(self, fd: int, cancel: threading.Event, poll: float = 0.1) -> None:
        self.fd = fd
        self.cancel = cancel
        self.poll = poll

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.cancel.is_set():
            if select.select([self.fd], [], [], self.poll)[0]:
                return os.readv(self.fd, [buffer])
        return 0


def cancellable_stdin(stdin: IO[Any], cancel: threading.Event) -> IO[Any]:
    """`stdin` as bytes that stop coming once `cancel` is set; a stream without a file descriptor
    (a test's StringIO) as it is."""
    try:
        fd = stdin.fileno()
        select.select([fd], [], [], 0)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return stdin
    return io.BufferedReader(_CancellableInput(fd, cancel), 1 << 16)
