"""Convert a stream of records, in order, on any number of processes, losing none of them.

Every record read (after unwrapping its delivery wrapper) yields exactly one `ConvertResult`:
the converted event, or a reject with a `reason` slug and the problems. So ``read == converted +
rejected`` always holds, and a `Report` keeps the counts as results go by.

Reasons: the reader's and unwrapper's own (``malformed-json``, ``undecodable``, ``bad-signature``,
``unknown-kid``, ``expired``, ``not-yet-valid``, ``bad-algorithm``, ``malformed-jws``,
``bad-issuer``, ``token-too-large``, ``jwt-not-verifiable``), then ``not-an-object`` and
``unknown-format`` (neither Canvas nor Caliper), ``unknown-event`` and ``unknown-field`` (with `strict` only: a Canvas event
type with no schema, a field no schema knows), ``invalid-input`` (the input does not conform),
``unsupported-event`` (no mapping), ``mapping-failed`` (a mapping could not be applied),
``invalid-output`` (the result does not conform) and ``internal-error`` (a bug: reported, not fatal).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .drift import Drift
from .engine import IdStyle, Target, Translator, is_canvas_caliper
from .errors import Problem, TranslatorError, UnsupportedEventError, ValidationError
from .ids import caliper_time
from .io.jsontext import compact, non_finite_problem, readable
from .io.jws import DEFAULT_ISSUERS, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES, JwksVerifier
from .io.readers import BLOCK_BYTES, Lines, Record
from .io.unwrap import Item, unwrap
from .interrupt import worker_signals
from .validation import conforms, detected_format

SendTime = str  # "event", "now" or a timestamp
CHUNKSIZE = 256  # records per task: large enough that the pool's bookkeeping stays out of the way
Result = TypeVar("Result")
Tracked = TypeVar("Tracked", "ConvertResult", "Block")


@dataclass(frozen=True, slots=True)
class ConvertResult:
    """What became of one record: `output` when converted, else `reason` and `problems`.

    `problems` also holds the warnings of a converted record. `text` is the record's original text,
    kept for rejects only (``None`` when converted) so results stay small between processes.
    """

    source: str
    output: dict[str, Any] | None
    problems: list[Problem]
    reason: str | None = None
    event_type: str | None = None
    text: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


@dataclass(frozen=True, slots=True)
class Block:
    """The results of consecutive records, for a writer (`convert_blocks`): the converted events
    serialised, the rejects whole. Warnings of converted records are not kept."""

    encoded: bytes  # each converted event as compact JSON and a newline, in input order
    converted: Counter[str]  # converted events by event type
    rejects: list[ConvertResult]
    drift: Drift = field(default_factory=Drift)  # of the Canvas events of these records


@dataclass
class Report:
    """Counts over a run: read, converted, rejected by reason, by event type; time and rate."""

    read: int = 0
    converted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    converted_types: Counter[str] = field(default_factory=Counter)
    rejected_types: Counter[str] = field(default_factory=Counter)
    drift: Drift = field(default_factory=Drift)  # from blocks (convert_blocks)
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None

    def track(self, results: Iterable[Tracked]) -> Iterator[Tracked]:
        """Pass `results` (or blocks of them) through, counting each; the clock stops when they run out."""
        for result in results:
            if isinstance(result, Block):
                self.add_block(result)
            else:
                self.add(result)
            yield result
        self.finished = time.perf_counter()

    def add_block(self, block: Block) -> None:
        converted = sum(block.converted.values())
        self.read += converted
        self.converted += converted
        self.converted_types.update(block.converted)
        self.drift.merge(block.drift)
        for reject in block.rejects:
            self.add(reject)

    def add(self, result: ConvertResult) -> None:
        self.read += 1
        if result.ok:
            self.converted += 1
            self.converted_types[result.event_type or "?"] += 1
        else:
            self.rejected[result.reason or "?"] += 1
            if result.event_type:
                self.rejected_types[result.event_type] += 1

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def elapsed(self) -> float:
        return (self.finished or time.perf_counter()) - self.started

    @property
    def rate(self) -> float:
        return self.read / self.elapsed if self.elapsed > 0 else 0.0

    def lines(self) -> list[str]:
        """The summary for a person: the totals first, then the breakdowns."""
        records = f"{self.read} record{'s' * (self.read != 1)}"
        lines = [
            f"{records} read, {self.converted} converted, {self.rejected_total} rejected "
            f"in {self.elapsed:.2f} s ({self.rate:,.1f} events/s)"
        ]
        if self.rejected:
            lines.append("rejected by reason: " + _counts(self.rejected))
        types = sorted(self.converted_types.keys() | self.rejected_types.keys())
        if types:
            parts = []
            for name in types:
                part = f"{name} {self.converted_types[name]}"
                if self.rejected_types[name]:
                    part += f" (+{self.rejected_types[name]} rejected)"
                parts.append(part)
            lines.append("converted by event type: " + ", ".join(parts))
        if self.drift:
            lines.append(self.drift.summary())
        return lines


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def convert_stream(
    items: Iterable[Record | Lines | Any],
    to: Target = "caliper",
    *,
    translator: Translator | None = None,
    workers: int = 1,
    jwks: str | Path | Mapping[str, Any] | None = None,
    mapping_dirs: Iterable[str | Path] | None = None,
    generic: bool = True,
    ids: IdStyle = "canvas",
    send_time: SendTime = "event",
    leeway: float = DEFAULT_LEEWAY,
    chunksize: int = CHUNKSIZE,
    issuers: Iterable[str] | None = DEFAULT_ISSUERS,
    max_token_bytes: int = DEFAULT_MAX_TOKEN_BYTES,
    strict: bool = False,
    canvas_host: str | None = None,
    phased: bool = False,
    full_output_check: bool = False,
) -> Iterator[ConvertResult]:
    """One `ConvertResult` per record in `items` (after unwrapping), in input order.

    `items` are what `read_records` yields, or plain payloads (dicts, JWS strings), whose
    source is their index (``#3``). `workers` > 1 converts on that many processes (0: one per
    CPU), each building its own `Translator` from `mapping_dirs`/`generic` once; `translator` is
    for the single-process case. `jwks` (a file or a parsed JWKS) verifies signed payloads.
    `send_time` is the Caliper envelope's `sendTime`: ``"event"`` (the Canvas `event_time`, so the
    same input always gives the same output), ``"now"``, or a timestamp. `issuers` (the allowed
    `iss` of signed payloads; None: any) and `max_token_bytes` go to the `JwksVerifier`. `strict`
    rejects Canvas event types and fields no schema knows (reasons ``unknown-event``,
    ``unknown-field``), which otherwise convert with a warning. `canvas_host` names the Canvas
    instance of system-generated events that carry no host (see `Translator`). In one process, payloads
    given one by one are converted one by one, so a live stream never waits for a block to fill;
    `phased` converts them `chunksize` at a time, phase by phase, as `convert_blocks` does: faster
    for records already in hand (a Spark partition). `full_output_check` checks every whole output
    even where the mapping is proven to conform (`Translator`).
    """
    converter, settings, workers = _prepare(
        to, translator, workers, jwks, mapping_dirs, generic, ids, send_time, leeway, issuers, max_token_bytes, strict, canvas_host, full_output_check
    )
    units = _units(items)
    if workers == 1:
        groups = _chunks(units, chunksize) if phased else ([unit] for unit in units)
        return (result for group in groups for result in converter.convert(group))
    chunks = _parallel(units, converter, settings, workers, chunksize, _results_in_worker)
    return (ConvertResult(*fields) for chunk in chunks for fields in chunk)


def convert_blocks(
    items: Iterable[Record | Lines | Any],
    to: Target = "caliper",
    *,
    translator: Translator | None = None,
    workers: int = 1,
    jwks: str | Path | Mapping[str, Any] | None = None,
    mapping_dirs: Iterable[str | Path] | None = None,
    generic: bool = True,
    ids: IdStyle = "canvas",
    send_time: SendTime = "event",
    leeway: float = DEFAULT_LEEWAY,
    chunksize: int = CHUNKSIZE,
    issuers: Iterable[str] | None = DEFAULT_ISSUERS,
    max_token_bytes: int = DEFAULT_MAX_TOKEN_BYTES,
    strict: bool = False,
    canvas_host: str | None = None,
    full_output_check: bool = False,
    cancel: threading.Event | None = None,
) -> Iterator[Block]:
    """`convert_stream` for a writer: one `Block` per `chunksize` records, in input order, its
    converted events already serialised where they were converted. With `read_records(lazy=True)`
    and several workers, the workers also decode and parse, and the calling process only moves
    bytes: what lets several processes outrun one when the output goes straight to a file.

    Once `cancel` is set, no more is read: on one process the records read are still converted;
    on several, blocks not yet handed back are dropped. Either way every block yielded is whole."""
    converter, settings, workers = _prepare(
        to, translator, workers, jwks, mapping_dirs, generic, ids, send_time, leeway, issuers, max_token_bytes, strict, canvas_host, full_output_check
    )
    units = _until(_units(items), cancel)
    if workers == 1:
        return (converter.block(chunk) for chunk in _chunks(units, chunksize))
    return _parallel(units, converter, settings, workers, chunksize, _block_in_worker, cancel)


def _until(units: Iterator[Record | Lines], cancel: threading.Event | None) -> Iterator[Record | Lines]:
    if cancel is None:
        yield from units
        return
    for unit in units:
        yield unit
        if cancel.is_set():
            return


def _prepare(
    to: Target,
    translator: Translator | None,
    workers: int,
    jwks: str | Path | Mapping[str, Any] | None,
    mapping_dirs: Iterable[str | Path] | None,
    generic: bool,
    ids: IdStyle,
    send_time: SendTime,
    leeway: float,
    issuers: Iterable[str] | None,
    max_token_bytes: int,
    strict: bool,
    canvas_host: str | None,
    full_output_check: bool,
) -> tuple[_Converter, tuple[Any, ...], int]:
    """The converter of this process, the settings a worker builds its own from, the worker count."""
    if to not in ("caliper", "canvas"):
        raise TranslatorError(f"unknown target format {to!r}; expected caliper or canvas")
    workers = workers or os.cpu_count() or 1
    if translator is not None and workers > 1:
        raise TranslatorError("pass mapping_dirs/generic, not a translator, to convert on several processes")
    dirs = [str(d) for d in mapping_dirs or ()]
    jwks = dict(jwks) if isinstance(jwks, Mapping) else (str(jwks) if jwks is not None else None)
    checks = (tuple(issuers) if issuers is not None else None, max_token_bytes)
    if translator is not None and translator.strict != strict:
        raise TranslatorError("pass strict to the Translator or to the conversion, not both differently")
    settings = (dirs, generic, jwks, leeway, to, ids, send_time, checks, strict, canvas_host, full_output_check)
    return _Converter.build(*settings, translator=translator), settings, workers  # a bad mapping or JWKS fails now


def _units(items: Iterable[Record | Lines | Any]) -> Iterator[Record | Lines]:
    for index, item in enumerate(items):
        if isinstance(item, (Record, Lines)):
            yield item
        elif (invalid := non_finite_problem(item)) is not None:  # a payload handed in: not read as JSON
            yield Record(f"#{index}", readable(item), problem=invalid)
        else:
            yield Record(f"#{index}", "", item)


def _chunks(units: Iterator[Record | Lines], size: int) -> Iterator[list[Record | Lines]]:
    """Units grouped by about `size` records (a block of lines counts as its lines) or about
    `BLOCK_BYTES` of text, whichever comes first, so that long records make small chunks. When
    reading fails, the units read before the failure still come out, then the error is raised."""
    chunk: list[Record | Lines] = []
    records = text = 0
    try:
        for unit in units:
            chunk.append(unit)
            records += len(unit) if isinstance(unit, Lines) else 1
            text += unit.size if isinstance(unit, Lines) else len(unit.text)
            if records >= size or text >= BLOCK_BYTES:
                yield chunk
                chunk, records, text = [], 0, 0
    except Exception:
        if chunk:
            yield chunk
        raise
    if chunk:
        yield chunk


@dataclass(slots=True)
class _Job:
    """One event payload on its way through `_Converter.convert`'s phases."""

    record: Record
    item: Item
    kind: str | None = None
    source_format: str = ""
    problems: list[Problem] = field(default_factory=list)
    output: Any = None
    result: ConvertResult | None = None  # a reject decided before the last phase

    @property
    def source(self) -> str:
        return self.record.source + self.item.suffix

    def reject(self, reason: str, problems: list[Problem]) -> ConvertResult:
        record, item = self.record, self.item
        # The original text, serialised only for a reject: most records never need it.
        text = record.text if not item.suffix and record.text else readable(item.original)
        return _reject(self.source, reason, problems, text, self.kind)


class _Converter:
    """The conversion of records, with everything built once per process."""

    def __init__(self, translator: Translator, verifier: JwksVerifier | None, to: Target, ids: IdStyle, send_time: SendTime) -> None:
        self.translator = translator
        self.verifier = verifier
        self.to = to
        self.ids = ids
        self.send_time = send_time
        self.drift: Drift | None = None  # where `convert` tallies the Canvas events it meets

    @classmethod
    def build(
        cls,
        dirs: list[str],
        generic: bool,
        jwks: str | dict[str, Any] | None,
        leeway: float,
        to: Target,
        ids: IdStyle,
        send_time: SendTime,
        checks: tuple[tuple[str, ...] | None, int] = (DEFAULT_ISSUERS, DEFAULT_MAX_TOKEN_BYTES),
        strict: bool = False,
        canvas_host: str | None = None,
        full_output_check: bool = False,
        translator: Translator | None = None,
    ) -> _Converter:
        issuers, max_bytes = checks
        if isinstance(jwks, str):
            verifier: JwksVerifier | None = JwksVerifier.from_file(jwks, leeway=leeway, issuers=issuers, max_bytes=max_bytes)
        elif jwks is not None:
            verifier = JwksVerifier(jwks, leeway=leeway, issuers=issuers, max_bytes=max_bytes)
        else:
            verifier = None
        translator = translator or Translator(
            dirs, generic=generic, strict=strict, canvas_host=canvas_host, full_output_check=full_output_check
        )
        return cls(translator, verifier, to, ids, send_time)

    def convert(self, units: Iterable[Record | Lines], drift: Drift | None = None) -> list[ConvertResult]:
        """The results of `units`, in order, worked out phase by phase: every input checked, then
        every accepted one converted, then every output checked. Each phase's code and schemas
        then stay in the CPU's caches across the records, about a tenth faster than going record
        by record through all three. The Canvas events met go into `drift`, when given."""
        self.drift = drift
        results: list[ConvertResult | _Job] = []
        for unit in units:
            for record in unit.records() if isinstance(unit, Lines) else (unit,):
                if record.problem is not None:
                    results.append(_reject(record.source, record.problem.rule, [record.problem], record.text))
                else:
                    results.extend(self._accept(record, item) for item in unwrap(record.payload, self.verifier))
        jobs = [job for job in results if isinstance(job, _Job)]
        for job in jobs:
            self._convert(job)
        return [self._finish(job) if isinstance(job, _Job) else job for job in results]

    def block(self, units: Iterable[Record | Lines]) -> Block:
        encoded: list[bytes] = []
        converted: Counter[str] = Counter()
        rejects = []
        drift = Drift(self.translator.custom_events)
        for result in self.convert(units, drift):
            if result.ok:
                encoded.append(compact(result.output) + b"\n")
                converted[result.event_type or "?"] += 1
            else:
                rejects.append(result)
        return Block(b"".join(encoded), converted, rejects, drift)

    def _accept(self, record: Record, item: Item) -> ConvertResult | _Job:
        """Phase 1: a reject, or a job whose input conforms."""
        job = _Job(record, item)
        if item.problem is not None:
            return job.reject(item.problem.rule, [item.problem])
        payload = item.payload
        job.source_format, problem = detected_format(payload)
        if problem is not None:
            return job.reject(problem.rule, [problem])
        job.kind = event_type(payload)
        if job.source_format == "caliper" and self.to == "canvas":
            enveloped = "data" in payload
            data = payload.get("data")
            event = data[0] if enveloped and isinstance(data, list) and data else payload
            try:
                if isinstance(event, dict) and not is_canvas_caliper(event):
                    self.translator.reverse_mapping(event, canvas=False)
            except UnsupportedEventError as exc:  # another tool's event: what else is wrong with it does not matter
                return job.reject("unsupported-event", [Problem("/data/0" if enveloped else "", str(exc), "unsupported-event")])
        job.problems = self.translator.problems(payload, job.source_format)
        if self.drift is not None and job.source_format == "canvas":
            self.drift.add(payload, job.source, job.problems)
        if not conforms(job.problems):
            return job.reject(input_reason(job.problems), job.problems)
        return job

    def _convert(self, job: _Job) -> None:
        """Phase 2: the job's output, or its reject."""
        payload, problems = job.item.payload, job.problems
        try:
            job.output = self.translator.convert_checked(
                payload, job.source_format, self.to, ids=self.ids, send_time=self._send_time(payload), problems=problems
            )
        except UnsupportedEventError as exc:
            job.result = job.reject("unsupported-event", [*problems, Problem("", str(exc), "unsupported-event")])
        except ValidationError as exc:
            failed = exc.problems or [Problem("", str(exc), "mapping")]
            job.result = job.reject("mapping-failed", [*problems, *failed])
        except TranslatorError as exc:
            job.result = job.reject("invalid-input", [*problems, Problem("", str(exc), "translate")])
        except Exception as exc:  # noqa: BLE001 - one bad record must not stop a batch
            problem = Problem("", f"{type(exc).__name__}: {exc}", "internal-error")
            job.result = job.reject("internal-error", [*problems, problem])

    def _finish(self, job: _Job) -> ConvertResult:
        """Phase 3: the output checked; the job's result."""
        if job.result is not None:
            return job.result
        output_problems = self.translator.output_problems(job.item.payload, job.output, self.to)
        if self.drift is not None and job.source_format == "caliper":
            self._drift_of_caliper(job, output_problems)
        job.kind = job.kind or event_type(job.output)
        if not conforms(output_problems):
            return job.reject("invalid-output", [*job.problems, *output_problems])
        return ConvertResult(job.source, job.output, [*job.problems, *output_problems], event_type=job.kind)

    def _drift_of_caliper(self, job: _Job, output_problems: list[Problem]) -> None:
        """Drift of the Canvas event behind a Caliper record: its output when converting to Canvas,
        else (a Caliper record passed through) the event it converts back to."""
        assert self.drift is not None
        if self.to == "canvas":
            self.drift.add(job.output, job.source, output_problems)
        else:
            self.drift.add_record(self.translator, job.item.payload, "caliper", job.problems, job.source)

    def _send_time(self, payload: dict[str, Any]) -> str | None:
        if self.send_time == "now":
            return None
        if self.send_time != "event":
            return self.send_time
        event_time = (payload.get("metadata") or {}).get("event_time")
        try:
            return caliper_time(event_time) if isinstance(event_time, str) else None
        except ValueError:
            return None


def input_reason(problems: list[Problem]) -> str:
    """The reject reason of an input that does not conform: with `strict`, an unknown event type
    or unknown fields alone are their own reasons."""
    rules = {p.rule for p in problems if p.is_error}
    if "unknown-event" in rules:
        return "unknown-event"
    return "unknown-field" if rules == {"unknown-field"} else "invalid-input"


def _reject(
    source: str, reason: str, problems: list[Problem], text: str | None, event_type: str | None = None
) -> ConvertResult:
    return ConvertResult(source, None, problems, reason, event_type, text)


def event_type(payload: Any) -> str | None:
    """The Canvas event name, or Caliper ``Type/Action``; None when the payload says neither."""
    if not isinstance(payload, dict):
        return None
    metadata = payload.get("metadata")
    if isinstance(metadata, dict):
        name = metadata.get("event_name")
        return name if isinstance(name, str) else None
    data = payload.get("data")
    event = data[0] if isinstance(data, list) and data else payload
    if isinstance(event, dict) and isinstance(event.get("type"), str):
        return f"{event['type']}/{event.get('action')}"
    return None


# -- several processes ----------------------------------------------------------------------

_WORKER: _Converter | None = None


def _start_worker(settings: tuple[Any, ...]) -> None:
    """Build the worker's converter, unless it came built with a forked process."""
    global _WORKER
    worker_signals()
    if _WORKER is None:
        _WORKER = _Converter.build(*settings)
    gc.freeze()  # the compiled mappings and schemas live as long as the worker: never scan them


def _unit(sent: tuple[Any, ...] | Lines) -> Record | Lines:
    return sent if isinstance(sent, Lines) else Record(*sent)


def _results_in_worker(chunk: list[tuple[Any, ...] | Lines]) -> list[tuple[Any, ...]]:
    """A chunk of records, as plain tuples both ways: they cross between processes several times
    faster than the dataclasses, and the main process is the one that runs short of time."""
    assert _WORKER is not None
    return [_as_tuple(result) for result in _WORKER.convert(_unit(sent) for sent in chunk)]


def _block_in_worker(chunk: list[tuple[Any, ...] | Lines]) -> Block:
    assert _WORKER is not None
    return _WORKER.block(_unit(sent) for sent in chunk)


def _as_tuple(result: ConvertResult) -> tuple[Any, ...]:
    return (result.source, result.output, result.problems, result.reason, result.event_type, result.text)


def _parallel(
    units: Iterator[Record | Lines],
    converter: _Converter,
    settings: tuple[Any, ...],
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
            for chunk in _chunks(units, chunksize):
                while not window.acquire(timeout=0.1):
                    if stop.is_set():
                        return
                yield [unit if isinstance(unit, Lines) else (unit.source, unit.text, unit.payload, unit.problem) for unit in chunk]
        except Exception as exc:  # noqa: BLE001 - re-raised in the consuming thread
            failures.append(exc)

    global _WORKER
    _WORKER = converter  # forked workers inherit it; others build their own from `settings`
    try:
        pool = multiprocessing.Pool(workers, initializer=_start_worker, initargs=(settings,))
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
