"""Conversion on several processes, in input order: each worker builds its own `Phases` from the
`ConvertOptions` it is handed (or inherits the caller's when forked).

The chunks go down one pipe that every worker reads from (whichever is free takes the next, so a
worker slowed down by a busy core takes fewer), and each worker sends its results, numbered, on
its own pipe; the calling thread puts them back in order. A block's converted events come back
as raw bytes. `multiprocessing.Pool` cost the calling process about 10 µs an event here, most of
it in its worker-watching thread, which wakes up whenever a result waits in the shared result
pipe and so spins while a large result is being read; on two cores that time is taken from the
workers.
"""

from __future__ import annotations

import gc
import multiprocessing
import pickle
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from multiprocessing.connection import Connection, wait
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


def _serve(tasks: Connection, taking: Any, results: Connection, options: ConvertOptions, work: Work, sending: Connection) -> None:
    """A worker: numbered chunks in (from the pipe every worker reads, one at a time: `taking`),
    `work`'s results out on its own pipe, until told to stop. `sending`, the calling process's end
    of the task pipe, is closed here at once: held by a worker, it would keep the pipe open after
    the calling process died (even by SIGKILL), and the worker would wait on it for ever."""
    sending.close()
    _start_worker(options)
    while True:
        try:
            with taking:
                task = tasks.recv_bytes()
        except (EOFError, OSError):
            return
        if task == _STOP:
            return
        number, chunk = pickle.loads(task)
        try:
            result = work(chunk)
        except Exception as exc:  # noqa: BLE001 - re-raised in the calling process
            _reply(results, number, False, exc)
            continue
        if isinstance(result, Block):  # its bytes apart: not copied into a pickle and out again
            _reply(results, number, True, replace(result, encoded=b""), result.encoded)
        else:
            _reply(results, number, True, result)


def _reply(results: Connection, number: int, ok: bool, value: Any, raw: bytes | None = None) -> None:
    try:
        message = pickle.dumps((number, ok, value, raw is not None), pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):  # an exception that does not pickle
        message = pickle.dumps((number, False, RuntimeError(f"in a worker process: {value!r}"), False))
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


class _WorkersGone(RuntimeError):
    """No worker was left to take a chunk."""


class _Workers:
    """`count` worker processes reading chunks from one pipe, each with its own result pipe."""

    def __init__(self, count: int, converter: Phases, options: ConvertOptions, work: Work) -> None:
        global _WORKER
        context = multiprocessing.get_context()
        their_tasks, self.tasks = _pipe(context)
        taking = context.Lock()
        self.results: list[Connection] = []
        self.processes: list[Any] = []
        self.done: dict[int, tuple[bool, Any]] = {}  # results come in before those of earlier chunks
        _WORKER = converter  # forked workers inherit it; others build their own from `options`
        try:
            for _ in range(count):
                results, their_results = _pipe(context)
                process = context.Process(target=_serve, args=(their_tasks, taking, their_results, options, work, self.tasks), daemon=True)
                process.start()
                their_results.close()
                self.results.append(results)
                self.processes.append(process)
        except BaseException:
            self.close(finished=False)
            raise
        finally:
            _WORKER = None
            their_tasks.close()

    def send(self, number: int, task: list[Any]) -> None:
        self.tasks.send_bytes(pickle.dumps((number, task), pickle.HIGHEST_PROTOCOL))

    def receive(self, number: int, cancel: threading.Event | None) -> tuple[Any] | None:
        """`(result,)`, the result of chunk `number`; None once `cancel` is set while waiting."""
        while number not in self.done:
            if cancel is not None and cancel.is_set():
                return None
            ready = wait([*self.results, *(process.sentinel for process in self.processes)], 0.1 if cancel is not None else None)
            for pipe in self.results:
                if pipe in ready:
                    self._take(pipe)
            if number not in self.done and any(process.sentinel in ready for process in self.processes):
                for pipe in self.results:  # what the workers sent before one of them ended
                    while pipe.poll():
                        self._take(pipe)
                if number not in self.done:
                    if cancel is not None and cancel.is_set():
                        return None  # a signal to the whole process group: the workers ended with it
                    codes = ", ".join(str(process.exitcode) for process in self.processes if process.exitcode is not None)
                    raise RuntimeError(f"a worker process ended unexpectedly (exit code {codes})")
        ok, result = self.done.pop(number)
        if not ok:
            raise result
        return (result,)

    def _take(self, pipe: Connection) -> None:
        try:
            number, ok, result, raw = pickle.loads(pipe.recv_bytes())
            if raw:
                result = replace(result, encoded=pipe.recv_bytes())
        except (EOFError, OSError):
            return  # its worker ended: said by its sentinel
        self.done[number] = (ok, result)

    def close(self, *, finished: bool) -> None:
        """Stop the workers: asked to, when every chunk sent has come back (`finished`), else ended
        at once (their results are no longer wanted, and a worker writing one would wait forever)."""
        for process in self.processes:
            if finished:
                try:
                    self.tasks.send_bytes(_STOP)
                except OSError:
                    pass
            else:
                process.terminate()
        for process in self.processes:
            process.join(PATIENCE)
            if process.exitcode is None:
                process.terminate()
                process.join()
        for pipe in (self.tasks, *self.results):
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
    (a worker sending a large result never waits on a caller that is itself sending); the
    window also bounds the results kept while an earlier chunk is still being converted. An error
    in reading (a file that cannot be read) is raised here once the records read before it have
    all been converted.
    """
    pool = _Workers(workers, converter, options, work)
    window = threading.BoundedSemaphore(workers * 4)  # chunks in flight
    stop = threading.Event()
    sent: queue.SimpleQueue[int | None] = queue.SimpleQueue()  # the number of each chunk sent, in order; None: no more
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
                try:
                    pool.send(number, task)
                except OSError:  # no worker left to read it
                    if not stop.is_set():
                        failures.append(_WorkersGone("the worker processes ended before every record read was converted"))
                    return
                sent.put(number)
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
                number = sent.get(timeout=0.1) if cancel is not None else sent.get()
            except queue.Empty:
                continue
            if number is None:
                finished = True
                break
            received = pool.receive(number, cancel)
            if received is None:
                break
            window.release()
            yield received[0]
    finally:
        stop.set()
        pool.close(finished=finished)
        feeder.join(PATIENCE if finished else 0.5)
    if failures and not (isinstance(failures[0], _WorkersGone) and cancel is not None and cancel.is_set()):
        raise failures[0]  # workers ended by the signal that stopped the run are no failure
