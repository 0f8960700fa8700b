"""Conversion on several processes, in input order: each worker builds its own `Phases` from the
`ConvertOptions` it is handed (or inherits the caller's when forked).

Each worker has its own pipes (chunks in, results out), and chunk `k` goes to worker
`k % workers`, so the results come back in order by reading the workers' pipes in turn: no
queue, lock or pool thread in between. A block's converted events come back as raw bytes.
`multiprocessing.Pool` cost the calling process about 10 µs an event here, most of it in its
worker-watching thread, which wakes up whenever a result waits in the shared result pipe and so
spins while a large result is being read; on two cores that time is taken from the workers.
"""

from __future__ import annotations

import gc
import multiprocessing
import pickle
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from ..interrupt import worker_signals
from ..io.readers import Lines, Record
from ..options import ConvertOptions
from .phases import Phases
from .results import Block, ConvertResult
from .units import chunks

try:
    from fcntl import F_SETPIPE_SZ, fcntl
except ImportError:  # not Linux: pipes keep their default size
    F_SETPIPE_SZ = None

Result = TypeVar("Result")
Work = Callable[[list[Any]], Any]

_WORKER: Phases | None = None
_STOP = b""  # sent to a worker instead of a chunk: no more work
PATIENCE = 10.0  # seconds a worker may take to stop once asked, before it is terminated
PIPE_BYTES = 1 << 20  # of each pipe to and from a worker (Linux's default limit for a user)


def _start_worker(options: ConvertOptions) -> None:
    """Build the worker's converter, unless it came built with a forked process."""
    global _WORKER
    worker_signals()
    if _WORKER is None:
        _WORKER = Phases(options)
    gc.freeze()  # the compiled mappings and schemas live as long as the worker: never scan them


def _serve(tasks: Connection, results: Connection, options: ConvertOptions, work: Work) -> None:
    """A worker: chunks in, `work`'s results out, each on its own pipe, until told to stop."""
    _start_worker(options)
    while True:
        try:
            task = tasks.recv_bytes()
        except (EOFError, OSError):
            return
        if task == _STOP:
            return
        try:
            result = work(pickle.loads(task))
        except Exception as exc:  # noqa: BLE001 - re-raised in the calling process
            _reply(results, False, exc)
            continue
        if isinstance(result, Block):  # its bytes apart: not copied into a pickle and out again
            _reply(results, True, replace(result, encoded=b""), result.encoded)
        else:
            _reply(results, True, result)


def _reply(results: Connection, ok: bool, value: Any, raw: bytes | None = None) -> None:
    try:
        message = pickle.dumps((ok, value, raw is not None), pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):  # an exception that does not pickle
        message = pickle.dumps((False, RuntimeError(f"in a worker process: {value!r}"), False))
        raw = None
    results.send_bytes(message)
    if raw is not None:
        results.send_bytes(raw)


def _pipe(context: Any) -> tuple[Connection, Connection]:
    """A one-way pipe (reading end, writing end) holding a whole block: its writer does not wait
    for its reader a few kilobytes at a time (a block is about 600 KB of Caliper)."""
    reader, writer = context.Pipe(duplex=False)
    if F_SETPIPE_SZ is not None:
        try:
            fcntl(writer.fileno(), F_SETPIPE_SZ, PIPE_BYTES)
        except OSError:  # above the system's limit (/proc/sys/fs/pipe-max-size): the default size
            pass
    return reader, writer


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


class _Workers:
    """`count` worker processes, each with a pipe for its tasks and one for its results."""

    def __init__(self, count: int, converter: Phases, options: ConvertOptions, work: Work) -> None:
        global _WORKER
        context = multiprocessing.get_context()
        self.tasks: list[Connection] = []
        self.results: list[Connection] = []
        self.processes: list[Any] = []
        _WORKER = converter  # forked workers inherit it; others build their own from `options`
        try:
            for _ in range(count):
                their_tasks, tasks = _pipe(context)
                results, their_results = _pipe(context)
                process = context.Process(target=_serve, args=(their_tasks, their_results, options, work), daemon=True)
                process.start()
                their_tasks.close()
                their_results.close()
                self.tasks.append(tasks)
                self.results.append(results)
                self.processes.append(process)
        except BaseException:
            self.close(finished=False)
            raise
        finally:
            _WORKER = None

    def send(self, index: int, task: list[Any]) -> None:
        self.tasks[index].send_bytes(pickle.dumps(task, pickle.HIGHEST_PROTOCOL))

    def receive(self, index: int, cancel: threading.Event | None) -> tuple[Any] | None:
        """`(result,)`, the next result of worker `index`; None once `cancel` is set while waiting."""
        pipe = self.results[index]
        while cancel is not None and not pipe.poll(0.1):
            if cancel.is_set():
                return None
        try:
            ok, result, raw = pickle.loads(pipe.recv_bytes())
            if raw:
                result = replace(result, encoded=pipe.recv_bytes())
        except (EOFError, OSError):
            code = self.processes[index].exitcode
            raise RuntimeError(f"a worker process ended unexpectedly (exit code {code})") from None
        if not ok:
            raise result
        return (result,)

    def close(self, *, finished: bool) -> None:
        """Stop the workers: asked to, when every chunk sent has come back (`finished`), else ended
        at once (their results are no longer wanted, and a worker writing one would wait forever)."""
        for tasks, process in zip(self.tasks, self.processes):
            if finished:
                try:
                    tasks.send_bytes(_STOP)
                except OSError:
                    pass
            else:
                process.terminate()
        for process in self.processes:
            process.join(PATIENCE)
            if process.exitcode is None:
                process.terminate()
                process.join()
        for pipe in (*self.tasks, *self.results):
            pipe.close()


def run_parallel(
    units: Iterator[Record | Lines],
    converter: Phases,
    options: ConvertOptions,
    workers: int,
    chunksize: int,
    work: Callable[[list[tuple[Any, ...] | Lines]], Result],
    cancel: threading.Event | None = None,
) -> Iterator[Result]:
    """`work` on every chunk, on `workers` processes, results in input order; a window of chunks
    in flight keeps reading from running far ahead. Records cross as plain tuples, blocks of
    lines as they are.

    Reading and sending happen in a feeder thread, so that the calling thread only receives
    (a worker sending a large result never waits on a caller that is itself sending). An error
    in reading (a file that cannot be read) is raised here once the records read before it have
    all been converted.
    """
    pool = _Workers(workers, converter, options, work)
    window = threading.BoundedSemaphore(workers * 4)  # chunks in flight
    stop = threading.Event()
    sent: queue.SimpleQueue[int | None] = queue.SimpleQueue()  # the worker of each chunk sent, in order; None: no more
    failures: list[BaseException] = []

    def feed() -> None:
        try:
            for number, chunk in enumerate(chunks(units, chunksize)):
                while not window.acquire(timeout=0.1):
                    if stop.is_set():
                        return
                if stop.is_set():
                    return
                task = [unit if isinstance(unit, Lines) else (unit.source, unit.text, unit.payload, unit.problem) for unit in chunk]
                index = number % workers
                pool.send(index, task)
                sent.put(index)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consuming thread
            if not stop.is_set():
                failures.append(exc)
        finally:
            sent.put(None)

    feeder = threading.Thread(target=feed, name="translator-feeder", daemon=True)
    feeder.start()
    finished = False
    try:
        while cancel is None or not cancel.is_set():
            try:  # with `cancel`, waiting wakes up now and then to look at it
                index = sent.get(timeout=0.1) if cancel is not None else sent.get()
            except queue.Empty:
                continue
            if index is None:
                finished = True
                break
            received = pool.receive(index, cancel)
            if received is None:
                break
            window.release()
            yield received[0]
    finally:
        stop.set()
        pool.close(finished=finished)
        feeder.join(PATIENCE if finished else 0.5)
    if failures:
        raise failures[0]
