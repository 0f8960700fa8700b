"""Convert a stream of records, in order, on any number of processes, losing none of them.

Every record read (after unwrapping its delivery wrapper) yields exactly one `ConvertResult`:
the converted event, or a reject with a `reason` slug and the problems. So ``read == converted +
rejected`` always holds, and a `Report` keeps the counts as results go by.

Reasons: the reader's and unwrapper's own (``malformed-json``, ``undecodable``, ``bad-signature``,
``unknown-kid``, ``expired``, ``not-yet-valid``, ``bad-algorithm``, ``malformed-jws``,
``bad-issuer``, ``token-too-large``, ``jwt-not-verifiable``), then ``not-an-object`` and ``unknown-format`` (neither
Canvas nor Caliper), ``unknown-event`` and ``unknown-field`` (with `strict` only: a Canvas event
type with no schema, a field no schema knows), ``invalid-input`` (the input does not conform),
``unsupported-event`` (no mapping), ``mapping-failed`` (a mapping could not be applied),
``mapping-timeout`` (its expressions ran past the event's time budget, `mapping_budget`),
``invalid-output`` (the result does not conform) and ``internal-error`` (a bug: reported, not fatal).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from ..engine import Target, Translator
from ..errors import TranslatorError
from ..io.readers import Lines, Record
from ..mapping.report import not_carried
from ..options import ConvertOptions, SendTime, with_options
from .parallel import block_in_worker, results_in_worker, run_parallel
from .phases import Phases, event_type, input_reason
from .report import Report
from .results import Block, ConvertResult
from .units import as_units, chunks, until

CHUNKSIZE = 256  # records per task: large enough that the pool's bookkeeping stays out of the way


@with_options
def convert_stream(
    items: Iterable[Record | Lines | Any],
    to: Target = "caliper",
    *,
    translator: Translator | None = None,
    workers: int = 1,
    chunksize: int = CHUNKSIZE,
    options: ConvertOptions,
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
    instance of system-generated events that carry no host (see `Translator`). In one process, each
    record's result is yielded as soon as it is converted (checked, converted, checked), before the
    next is read: a live stream never waits for a block to fill, and a caller serialising the
    output finds it still in the CPU's caches. `full_output_check` checks every whole output
    even where the mapping is proven to conform (`Translator`). `mapping_budget` is the time, in
    seconds, an event's mapping expressions may run (0 or None: no limit); past it the record is
    rejected with reason ``mapping-timeout``. Every option of `ConvertOptions` is a keyword
    parameter here, with its name and default (`with_options`).
    """
    return Converter(options, translator=translator, workers=workers, chunksize=chunksize).stream(items)


@with_options
def convert_blocks(
    items: Iterable[Record | Lines | Any],
    to: Target = "caliper",
    *,
    translator: Translator | None = None,
    workers: int = 1,
    chunksize: int = CHUNKSIZE,
    cancel: threading.Event | None = None,
    options: ConvertOptions,
) -> Iterator[Block]:
    """`convert_stream` for a writer: one `Block` per `chunksize` records, in input order, its
    converted events already serialised where they were converted. With `read_records(lazy=True)`
    and several workers, the workers also decode and parse, and the calling process only moves
    bytes: what lets several processes outrun one when the output goes straight to a file.

    Once `cancel` is set, no more is read: on one process the records read are still converted;
    on several, blocks not yet handed back are dropped. Either way every block yielded is whole.
    The options are `convert_stream`'s."""
    return Converter(options, translator=translator, workers=workers, chunksize=chunksize).blocks(items, cancel=cancel)


class Converter:
    """Records converted with one `ConvertOptions`, on this process or on `workers` processes
    (0: one per CPU), each building its own converter from the options. `translator`, for the
    single-process case, is one already built for these options."""

    def __init__(
        self, options: ConvertOptions, *, translator: Translator | None = None, workers: int = 1, chunksize: int = CHUNKSIZE
    ) -> None:
        self.options = options
        self.workers = workers or os.cpu_count() or 1
        self.chunksize = chunksize
        if translator is not None and self.workers > 1:
            raise TranslatorError("pass mapping_dirs/generic, not a translator, to convert on several processes")
        if translator is not None and translator.strict != options.strict:
            raise TranslatorError("pass strict to the Translator or to the conversion, not both differently")
        self.phases = Phases(options, translator)  # a bad mapping or JWKS fails now

    def stream(self, items: Iterable[Record | Lines | Any]) -> Iterator[ConvertResult]:
        """One `ConvertResult` per record in `items`, in input order (see `convert_stream`)."""
        read = as_units(items)
        if self.workers == 1:
            return self.phases.results(read)
        done = run_parallel(read, self.phases, self.options, self.workers, self.chunksize, results_in_worker)
        return (ConvertResult(*fields) for chunk in done for fields in chunk)

    def not_carried(self, converted_types: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """Per Canvas event type converted to Caliper, the documented fields its Caliper form does
        not carry, so that a summary can say what was lost (empty when converting to Canvas)."""
        if self.options.to != "caliper":
            return {}
        return not_carried(self.phases.translator.catalog, converted_types, generic=self.options.generic)

    def blocks(self, items: Iterable[Record | Lines | Any], *, cancel: threading.Event | None = None) -> Iterator[Block]:
        """One `Block` per `chunksize` records, in input order (see `convert_blocks`)."""
        read = until(as_units(items), cancel)
        if self.workers == 1:
            return (self.phases.block(chunk) for chunk in chunks(read, self.chunksize))
        return run_parallel(read, self.phases, self.options, self.workers, self.chunksize, block_in_worker, cancel)


__all__ = [
    "CHUNKSIZE",
    "Block",
    "ConvertOptions",
    "ConvertResult",
    "Converter",
    "Report",
    "SendTime",
    "convert_blocks",
    "convert_stream",
    "event_type",
    "input_reason",
]
