"""Group commit as the receiver's event loop sees it.

Requests hand their payloads to `LoopCommit.append` and wait. Whatever arrives while the spool
writes and fsyncs one group goes, as the next group, to the spool's writer thread in one
`Spool.append_many`: one future crosses from the writer thread to the loop per group, not one
per request (bridging a thread's future into the loop costs more per request than the write
itself), and the loop keeps accepting while the fsync runs in the writer thread.
"""

from __future__ import annotations

import asyncio

from .spool import Position, Spool


class LoopCommit:
    """The appends of one event loop's requests, written in groups; use from that loop only."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self._waiting: list[tuple[bytes, asyncio.Future[Position]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def append(self, payload: bytes) -> Position:
        """Once `payload` is fsynced, where its frame ends; raises the OSError that kept it off."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Position] = loop.create_future()
        self._waiting.append((payload, future))
        if self._writing is None:
            self._writing = loop.create_task(self._write())
        return await future

    async def _write(self) -> None:
        try:
            while self._waiting:
                group, self._waiting = self._waiting, []
                outcomes = await asyncio.wrap_future(self.spool.append_many([payload for payload, _ in group]))
                for (_, future), outcome in zip(group, outcomes):
                    if future.done():  # its request was cancelled
                        continue
                    if isinstance(outcome, OSError):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
        finally:
            self._writing = None
