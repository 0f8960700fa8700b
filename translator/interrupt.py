"""Stopping a run cleanly on SIGTERM or SIGINT, and the exit codes a run ends with.

The first signal only sets `Interruption.event`: the run stops reading, converts or drops (with
several workers) what is in flight, closes its outputs (a gzip stream ends properly, a JSON array
gets its `]`), writes every reject it has, prints its summary and exits with ``128 + signal``
(130 for SIGINT, 143 for SIGTERM). A second signal stops at once. Worker processes leave signals
to the main process: they ignore SIGINT (a Ctrl-C reaches the whole process group) and die
quietly on the SIGTERM the pool sends them.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType, TracebackType

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
