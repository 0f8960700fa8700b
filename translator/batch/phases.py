"""The conversion of records on one process, in three phases (input check, conversion, output
check), each record through all three, and serialised for a block, before the next is read."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..drift import Drift
from ..engine import Translator, is_canvas_caliper
from ..errors import Problem, TranslatorError, UnsupportedEventError, ValidationError
from ..io.jsontext import json_line, readable
from ..io.readers import Lines, Record
from ..io.unwrap import Item, is_unwrapped, unwrap
from ..mapping.catalog import CompiledMapping
from ..options import ConvertOptions
from ..validation import conforms, detected_format
from .results import Block, ConvertResult, reject


@dataclass(slots=True)
class _Job:
    """One event payload on its way through `Phases.convert`."""

    record: Record
    item: Item
    kind: str | None = None
    source_format: str = ""
    problems: list[Problem] = field(default_factory=list)
    dispatched: dict[str, CompiledMapping] = field(default_factory=dict)  # the input check's reverse dispatch
    output: Any = None
    result: ConvertResult | None = None  # a reject decided before the last phase

    @property
    def source(self) -> str:
        return self.record.source + self.item.suffix

    def reject(self, reason: str, problems: list[Problem]) -> ConvertResult:
        record, item = self.record, self.item
        # The original text, serialised only for a reject: most records never need it.
        text = record.text if not item.suffix and record.text else readable(item.original)
        return reject(self.source, reason, problems, text, self.kind)


class Phases:
    """The conversion of records, with everything built once per process."""

    def __init__(self, options: ConvertOptions, translator: Translator | None = None) -> None:
        self.verifier = options.verifier()
        self.translator = translator or options.translator()
        self.to = options.to
        self.ids = options.ids
        self.send_time = options.send_time

    def convert(self, units: Iterable[Record | Lines], drift: Drift | None = None) -> list[ConvertResult]:
        """The results of `units`, in order. The Canvas events met go into `drift`, when given."""
        return list(self.results(units, drift))

    def results(self, units: Iterable[Record | Lines], drift: Drift | None = None) -> Iterator[ConvertResult]:
        """The result of each record of `units`, in order, each worked out whole (read, checked,
        converted, checked) before the next record is read: its objects are then still in the
        CPU's caches. Going phase by phase over a block of 256 records (every input checked,
        then every one converted, ...) measured about 15 µs an event slower on the realistic
        mix, its 256 events no longer fitting in those caches."""
        verifier = self.verifier
        for unit in units:
            for record in unit.records() if isinstance(unit, Lines) else (unit,):
                if record.problem is not None:
                    yield reject(record.source, record.problem.rule, [record.problem], record.text)
                    continue
                payload = record.payload
                for item in (Item("", payload, payload),) if is_unwrapped(payload) else unwrap(payload, verifier):
                    if item.problem is None and (fused := self._fused(record, item, drift)) is not None:
                        yield fused
                        continue
                    job = self._accept(record, item, drift)
                    if isinstance(job, _Job):
                        self._convert(job)
                        yield self._finish(job, drift)
                    else:
                        yield job

    def block(self, units: Iterable[Record | Lines]) -> Block:
        """The results of `units` for a writer: each converted event serialised as soon as it is
        checked (its objects then freed), the rejects whole."""
        encoded: list[bytes] = []
        converted: Counter[str] = Counter()
        rejects = []
        drift = Drift(self.translator.custom_events)
        for result in self.results(units, drift):
            if result.reason is None:
                encoded.append(json_line(result.output))
                converted[result.event_type or "?"] += 1
            else:
                rejects.append(result)
        return Block(b"".join(encoded), converted, rejects, drift)

    def _fused(self, record: Record, item: Item, drift: Drift | None) -> ConvertResult | None:
        """The commonest record whole, by the translator's fused paths (`convert_fused`): the
        result the three phases give it, a failure of its mapping included (that mapping is not
        run again). None for any other record: the phases take it."""
        problems: list[Problem] = []
        try:
            output = self.translator.convert_fused(item.payload, self.to, ids=self.ids, send_time=self.send_time, problems=problems)
        except Exception as exc:  # noqa: BLE001 - the mapping failed, its checks passed: the conversion's reject
            job = _Job(record, item, kind=event_type(item.payload), problems=problems)
            if drift is not None and self.to == "caliper":  # the phases count a Canvas input before converting it
                drift.add(item.payload, job.source, problems)
            return self._failure(job, exc)
        if output is None:
            return None
        source = record.source + item.suffix
        if drift is not None:  # the Canvas event met: the input, or the output when converting to Canvas
            drift.add(output if self.to == "canvas" else item.payload, source, [])
        return ConvertResult(source, output, problems, event_type=event_type(item.payload))

    def _accept(self, record: Record, item: Item, drift: Drift | None) -> ConvertResult | _Job:
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
        job.problems = self.translator.problems(payload, job.source_format, dispatched=job.dispatched)
        if drift is not None and job.source_format == "canvas":
            drift.add(payload, job.source, job.problems)
        if not conforms(job.problems):
            return job.reject(input_reason(job.problems), job.problems)
        return job

    def _convert(self, job: _Job) -> None:
        """Phase 2: the job's output, or its reject."""
        payload, problems = job.item.payload, job.problems
        try:
            job.output = self.translator.convert_checked(
                payload, job.source_format, self.to, ids=self.ids, send_time=self.send_time, problems=problems, dispatched=job.dispatched
            )
        except Exception as exc:  # noqa: BLE001 - one bad record must not stop a batch
            job.result = self._failure(job, exc)

    @staticmethod
    def _failure(job: _Job, exc: Exception) -> ConvertResult:
        """The reject of a job whose conversion raised `exc`, its problems so far kept."""
        problems = job.problems
        if isinstance(exc, UnsupportedEventError):
            return job.reject("unsupported-event", [*problems, Problem("", str(exc), "unsupported-event")])
        if isinstance(exc, ValidationError):
            failed = exc.problems or [Problem("", str(exc), "mapping")]
            timeout = any(p.rule == "mapping-timeout" for p in failed)
            return job.reject("mapping-timeout" if timeout else "mapping-failed", [*problems, *failed])
        if isinstance(exc, TranslatorError):
            return job.reject("invalid-input", [*problems, Problem("", str(exc), "translate")])
        return job.reject("internal-error", [*problems, Problem("", f"{type(exc).__name__}: {exc}", "internal-error")])

    def _finish(self, job: _Job, drift: Drift | None) -> ConvertResult:
        """Phase 3: the output checked; the job's result."""
        if job.result is not None:
            return job.result
        output_problems = self.translator.output_problems(job.item.payload, job.output, self.to)
        if drift is not None and job.source_format == "caliper":
            self._drift_of_caliper(job, output_problems, drift)
        job.kind = job.kind or event_type(job.output)
        if not conforms(output_problems):
            return job.reject("invalid-output", [*job.problems, *output_problems])
        return ConvertResult(job.source, job.output, [*job.problems, *output_problems], event_type=job.kind)

    def _drift_of_caliper(self, job: _Job, output_problems: list[Problem], drift: Drift) -> None:
        """Drift of the Canvas event behind a Caliper record: its output when converting to Canvas,
        else (a Caliper record passed through) the event it converts back to."""
        if self.to == "canvas":
            drift.add(job.output, job.source, output_problems)
        else:
            drift.add_record(self.translator, job.item.payload, "caliper", job.problems, job.source)


def input_reason(problems: list[Problem]) -> str:
    """The reject reason of an input that does not conform: with `strict`, an unknown event type
    or unknown fields alone are their own reasons."""
    rules = {p.rule for p in problems if p.is_error}
    if "unknown-event" in rules:
        return "unknown-event"
    return "unknown-field" if rules == {"unknown-field"} else "invalid-input"


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
