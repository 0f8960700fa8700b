"""Conversion on several processes, in input order: each worker builds its own `Phases` from the
`ConvertOptions` it is handed (or inherits the caller's when forked)."""

from __future__ import annotations

import gc
import multiprocessing
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from ..interrupt import worker_signals
from ..io.readers import Lines, Record
from ..options import ConvertOptions
from .phases import Phases
from .results import Block, ConvertResult
from .units import chunks

Result = TypeVar("Result")


_WORKER: Phases | None = None


def _start_worker(options: ConvertOptions) -> None:
    """Build the worker's converter, unless it came built with a forked process."""
    global _WORKER
    worker_signals()
    if _WORKER is None:
        _WORKER = Phases(options)
    gc.freeze()  # the compiled mappings and schemas live as long as the worker: never scan them


def _unit(sent: tuple[Any, ...] | Lines) -> Record | Lines:
    return sent if isinstance(sent, Lines) else Record(*sent)


def results_in_worker(chunk: list[tuple[Any, ...] | Lines]) -> list[tuple[Any, ...]]:
    """A chunk of records, as plain tuples both ways: they cross between processes several times
    faster than the dataclasses, and the main process is the one that runs short of time."""
    assert _WORKER is not None
    return [_as_tuple(result) for result in _WORKER.convert(_unit(sent) for sent in chunk)]


def block_in_worker(chunk: list[tuple[Any, ...] | Lines]) -> Block:
    assert _WORKER is not None
    return _WORKER.block(_unit(sent) for sent in chunk)


def _as_tuple(result: ConvertResult) -> tuple[Any, ...]:
    return (result.source, result.output, result.problems, result.reason, result.event_type, result.text)


def run_parallel(
    units: Iterator[Record | Lines],
    converter: Phases,
    options: ConvertOptions,
    workers: int,
    chunksize: int,
    work: Callable[[list[tuple[Any, ...] | Lines]], Result],
    cancel: threading.Event | None = None,
) -> Iterator[Result]:
    """`work` on every chunk, on `workers` processes: `Pool.imap` keeps the order; a semaphore
    keeps it from reading far ahead. Records cross as plain tuples, blocks of lines as they are.

    Reading happens in the pool's feeder thread; an error there (a file that cannot be read) is
    raised here once the records read before it have all been converted.
    """
    window = threading.BoundedSemaphore(workers * 4)  # chunks in flight
    stop = threading.Event()
    failures: list[Exception] = []

    def feed() -> Iterator[list[tuple[Any, ...] | Lines]]:
        try:
            for chunk in chunks(units, chunksize):
                while not window.acquire(timeout=0.1):
                    if stop.is_set():
                        return
                yield [unit if isinstance(unit, Lines) else (unit.source, unit.text, unit.payload, unit.problem) for unit in chunk]
        except Exception as exc:  # noqa: BLE001 - re-raised in the consuming thread
            failures.append(exc)

    global _WORKER
    _WORKER = converter  # forked workers inherit it; others build their own from `options`
    try:
        pool = multiprocessing.Pool(workers, initializer=_start_worker, initargs=(options,))
    finally:
        _WORKER = None
    results = pool.imap(work, feed())
    try:
        while cancel is None or not cancel.is_set():
            try:  # with `cancel`, waiting wakes up now and then to look at it
                result = results.next(0.1) if cancel is not None else next(results)
            except multiprocessing.TimeoutError:
                continue
            except StopIteration:
                break
            window.release()
            yield result
    finally:
        stop.set()
        _wind_down(pool, results)
    if failures:
        raise failures[0]


def _wind_down(pool: Any, results: Any, patience: float = 10.0) -> None:
    """Stop a pool whose results are no longer wanted: the chunks in flight (a few, the window)
    finish and are dropped, then the workers exit. `Pool.terminate` alone can deadlock here: a
    worker still writing a large result holds the result queue's lock while terminate waits for
    it. Only a pool that yields nothing for `patience` seconds (a worker died) is terminated."""
    while True:
        try:
            results.next(patience)
        except StopIteration:
            pool.close()
            break
        except multiprocessing.TimeoutError:
            pool.terminate()
            break
        except Exception:  # noqa: BLE001, S112 - a failed chunk nobody waits for any more
            continue
    pool.join()
