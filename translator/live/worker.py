"""The delivery worker: spool -> conversion -> sink, checkpointed after every delivered batch.

It reads the spool in order from its checkpoint, converts each delivery with the library
(`translator.batch.convert_stream`, the options of `translator convert`), drops events already
delivered within the dedup window, hands the rest to the sink and the rejects to the rejects
files, and, once both are flushed (fsynced, or answered 2xx), saves the checkpoint and releases
the segments wholly delivered. Killed at any moment, it resumes from the checkpoint: nothing is
lost, and at most the batch in flight is delivered again. A batch whose delivery fails (a full
disk, a checkpoint that cannot be written) is kept as converted and tried again until it goes
through, each part of it delivered once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..batch import ConvertResult
from ..engine import event_id
from ..io.jsontext import compact
from ..io.readers import Record
from ..io.writers import reject_record
from .checkpoint import Checkpoint
from .dedup import DedupWindow
from .deliveries import Delivery
from .logs import log
from .metrics import LiveMetrics
from .sinks import RotatingFiles, Sink, Stopped
from .spool import Entry, Position, Spool

Convert = Callable[[list[Record]], list[ConvertResult]]


def event_key(output: dict[str, Any]) -> str:
    """The id duplicates are recognised by: the Caliper event id (ours are deterministic), or the
    UUIDv5 of a Canvas event."""
    data = output.get("data")
    if isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict) and isinstance(data[0].get("id"), str):
        return str(data[0]["id"])
    return event_id(output)


@dataclass(slots=True)
class Batch:
    """Entries read from the spool, converted into the sinks' buffers, not yet all delivered."""

    entries: list[Entry]
    keys: set[str] = field(default_factory=set)  # of the events given to the sink
    rejects_written: bool = False
    counted: bool = False  # in the metrics and the dedup window
    duplicates: int = 0
    rejected: dict[str, int] = field(default_factory=dict)


class Worker:
    def __init__(
        self,
        spool: Spool,
        checkpoint: Checkpoint,
        convert: Convert,
        sink: Sink,
        rejects: RotatingFiles,
        metrics: LiveMetrics,
        *,
        dedup: DedupWindow | None = None,
        batch: int = 512,
        idle: float = 0.5,
        linger: float = 0.1,
        retry: float = 1.0,
    ) -> None:
        """`linger`: after a batch shorter than `batch`, how long to let the next one gather. A
        worker that took every commit as it came would deliver a few events at a time, each
        batch paying its own fsyncs (events, rejects, checkpoint) and competing on the disk with
        the receiver's spool fsyncs; an event waits at most this long more to be converted."""
        self.spool = spool
        self.checkpoint = checkpoint
        self.convert = convert
        self.sink = sink
        self.rejects = rejects
        self.metrics = metrics
        self.dedup = dedup or DedupWindow()
        self.batch = batch
        self.idle = idle
        self.linger = linger
        self.retry = retry
        self.failure: str | None = None  # why the batch in hand could not be delivered, until it is
        self._rejected_to: Position | None = None  # see `Checkpoint.rejected`
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run, name="delivery-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the batch in hand (unless its sink keeps failing), then stop."""
        self._stop.set()
        self._thread.join(timeout)

    def run(self) -> None:
        try:
            self._run()
        finally:
            self.sink.close()
            self.rejects.close()

    def _run(self) -> None:
        position = self.checkpoint.load() or self.spool.start()
        self._rejected_to = self.checkpoint.rejected()
        self._release(position)  # segments a crash kept after their delivery, and the spool's count
        batch: Batch | None = None
        while not self._stop.is_set():
            if batch is None:
                generation = self.spool.generation()
                entries = self.spool.read(position, self.batch)
                if not entries:
                    self.spool.wait(generation, self.idle)
                    continue
            try:
                if batch is None:
                    batch = self._convert(entries)
                self._deliver(batch)
            except Stopped:
                if batch is not None:
                    self._note_rejects(position, batch)
                return
            except Exception as exc:  # noqa: BLE001 - a full disk, say: keep the batch, try again
                if batch is None:  # not converted whole: convert it again
                    self.sink.discard()
                    self.rejects.discard()
                else:
                    self._note_rejects(position, batch)
                self._failed(f"{type(exc).__name__}: {exc}")
                self._stop.wait(self.retry)
                continue
            if self.failure is not None:
                log(logging.WARNING, "delivery resumed", after=self.failure)
                self.failure = None
            position, short, batch = batch.entries[-1].end, len(batch.entries) < self.batch, None
            self._release(position)
            if short:
                self._stop.wait(self.linger)

    def _failed(self, failure: str) -> None:
        """Counted each time; logged when it starts or changes, not at every retry."""
        self.metrics.delivery_errors.inc()
        if failure != self.failure:
            log(logging.ERROR, "delivery failed; the batch stays in the spool and is tried again", error=failure, retry_in=self.retry)
        self.failure = failure

    def _note_rejects(self, position: Position, batch: Batch) -> None:
        """Rejects written, events not: say so in the checkpoint, so that if the service stops
        before the events go through, the next start does not write those rejects again."""
        end = batch.entries[-1].end
        if not (batch.rejects_written and batch.rejected) or (self._rejected_to is not None and self._rejected_to >= end):
            return
        try:
            self.checkpoint.save(position, rejected_to=end)
        except OSError:
            return  # the disk refuses even that: a restart may write these rejects twice
        self._rejected_to = end

    def _release(self, position: Position) -> None:
        try:
            self.spool.release(position)
            self.metrics.spool_depth.set(self.spool.depth(position))
        except OSError as exc:  # the segments stay; the next batch removes them
            log(logging.WARNING, "delivered segments not removed yet", error=str(exc))

    def _convert(self, entries: list[Entry]) -> Batch:
        """Convert `entries` into the sink's and the rejects' buffers."""
        records: list[Record] = []
        ends: list[Position] = []  # of the entry each record comes from
        for entry in entries:
            for record in Delivery.decode(entry.payload).records():
                records.append(record)
                ends.append(entry.end)
        batch = Batch(entries)
        for end, result in zip(ends, self.convert(records)):
            if result.output is not None:
                key = event_key(result.output)
                if key in batch.keys or key in self.dedup:
                    batch.duplicates += 1
                    continue
                batch.keys.add(key)
                self.sink.write(result.output)
            elif self._rejected_to is None or end > self._rejected_to:  # else written before a restart
                reason = result.reason or "internal-error"
                self.rejects.write_line(compact(reject_record(result.source, reason, result.problems, result.text)) + b"\n")
                batch.rejected[reason] = batch.rejected.get(reason, 0) + 1
        return batch

    def _deliver(self, batch: Batch) -> None:
        """Flush the rejects, the sink, then save the checkpoint. Each flush keeps its buffer
        until it succeeds and is a no-op once it has, so after a failure this is called again
        for the same batch and delivers each part once: no reject or event twice."""
        self.rejects.flush()
        batch.rejects_written = True
        self.sink.flush(self._stop)
        if not batch.counted:  # as soon as the events are out, once
            batch.counted = True
            for key in batch.keys:
                self.dedup.add(key)
            self.metrics.converted.inc(len(batch.keys))
            self.metrics.forwarded.labels(self.sink.name).inc(len(batch.keys))
            self.metrics.duplicates.inc(batch.duplicates)
            for reason, count in batch.rejected.items():
                self.metrics.rejected.labels(reason).inc(count)
        end = batch.entries[-1].end
        if self._rejected_to is not None and self._rejected_to <= end:
            self._rejected_to = None
        self.checkpoint.save(end, rejected_to=self._rejected_to)
