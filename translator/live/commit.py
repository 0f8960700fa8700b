"""Group commit as the receiver's event loop sees it.

Requests hand their payloads to `LoopCommit.append` and wait. Whatever arrives while the spool
writes and fsyncs one group goes, as the next group, to the spool's writer thread in one
`Spool.append_many`: one future crosses from the writer thread to the loop per group, not one
per request (bridging a thread's future into the loop costs more per request than the write
itself), and the loop keeps accepting while the fsync runs in the writer thread.
"""

from __future__ import annotations

import asyncio

from .spool import Position, Spool, SpoolClosed


class LoopCommit:
    """The appends of one event loop's requests, written in groups; use from that loop only."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self._waiting: list[tuple[bytes, asyncio.Future[Position]]] = []
        self._group: list[tuple[bytes, asyncio.Future[Position]]] = []  # the group being written
        self._writing: asyncio.Task[None] | None = None

    async def append(self, payload: bytes) -> Position:
        """Once `payload` is fsynced, where its frame ends; raises the OSError that kept it off."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Position] = loop.create_future()
        self._waiting.append((payload, future))
        if self._writing is None:
            self._writing = loop.create_task(self._write())
            self._writing.add_done_callback(self._stopped)
        return await future

    async def _write(self) -> None:
        try:
            while self._waiting:
                self._group, self._waiting = self._waiting, []
                outcomes = await asyncio.wrap_future(self.spool.append_many([payload for payload, _ in self._group]))
                for (_, future), outcome in zip(self._group, outcomes):
                    if future.done():  # its request was cancelled
                        continue
                    if isinstance(outcome, OSError):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
                self._group = []
        finally:
            self._writing = None

    def _stopped(self, task: asyncio.Task[None]) -> None:
        """A writer cancelled (a shutdown cancelling the loop's tasks, maybe before it ran) or
        failed leaves no request waiting for ever: each is told its event was not stored (a 503,
        so the sender retries; the group being written may still reach the spool, and a duplicate
        is what at-least-once delivery allows)."""
        if self._writing is task:  # cancelled before it ran: its `finally` never did
            self._writing = None
        if not task.cancelled() and task.exception() is None:
            return
        pending, self._group = self._group, []
        if self._writing is None:  # no writer will take them
            pending, self._waiting = pending + self._waiting, []
        for _, future in pending:
            if not future.done():
                future.set_exception(SpoolClosed())
