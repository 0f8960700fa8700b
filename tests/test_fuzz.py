"""Fuzz suite: every public function, fed random JSON and mutated corpus events, returns a result
or raises a `TranslatorError` with a message, never another exception; the batch functions lose no
record; the readers never raise on any bytes. About 8,000 cases per run: 1,000 to 2,000 per
function (the batch ones: 300 lists of up to 8 payloads each)."""

from __future__ import annotations

import copy
import gzip
import io
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import translator
from corpus import caliper_examples, canvas_examples, paths
from translator.io.readers import Record, read_records

pytestmark = pytest.mark.slow  # 600 random inputs per entry point: `pytest -m ""` runs it (README, Tests)

CASES = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TRANSLATOR = translator.Translator()
CANVAS = [e.payload for e in canvas_examples()]
CALIPER = [e.payload for e in caliper_examples()]

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["", "asset_accessed", "2018-10-09T21:07:33.000Z", "urn:instructure:canvas:user:1", "1", "Event", "Viewed"])
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
KEYS = ["metadata", "body", "data", "sensor", "sendTime", "dataVersion", "@context", "actor", "action", "eventTime",
        "type", "object", "event_name", "extensions", "id"]  # fmt: skip
keyed_objects = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), json_values, max_size=6)


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    """A corpus event (Canvas or Caliper) with a few values replaced, keys dropped or added."""
    event = copy.deepcopy(draw(st.sampled_from(CANVAS + CALIPER)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths(event)))
        if not path:
            continue
        parent = event
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(KEYS))] = draw(json_values)
        else:
            parent[path[-1]] = draw(json_values)
    return event


payloads = json_values | keyed_objects | mutated()


def _raises_only_translator_errors(call: Any) -> Any:
    try:
        return call()
    except translator.TranslatorError as exc:
        assert str(exc), f"{type(exc).__name__} without a message"
        return exc


@settings(CASES, max_examples=2_000)
@given(payloads, st.sampled_from([None, "canvas", "caliper"]), st.sampled_from([None, "ims", "canvas"]))
def test_validate(payload: Any, format: str | None, profile: str | None) -> None:
    result = _raises_only_translator_errors(lambda: translator.validate(payload, format=format, profile=profile))
    if isinstance(result, list):
        assert all(isinstance(p, translator.Problem) and p.message and p.rule for p in result)
        if format is None and not isinstance(payload, dict):
            assert [p.rule for p in result] in (["not-an-object"], ["malformed-json"])
    else:  # only a profile the format does not have
        assert format in (None, "canvas") and profile == "ims"


@settings(CASES, max_examples=2_000)
@given(payloads)
def test_detect_format(payload: Any) -> None:
    result = _raises_only_translator_errors(lambda: translator.detect_format(payload))
    assert result in ("canvas", "caliper") or isinstance(result, translator.FormatError)


@settings(CASES, max_examples=1_000)
@given(payloads, st.sampled_from(["caliper", "canvas"]), st.booleans(), st.sampled_from(["global", "local"]))
def test_translate(payload: Any, to: str, validate: bool, ids: str) -> None:
    result = _raises_only_translator_errors(lambda: TRANSLATOR.translate(payload, to, validate=validate, ids=ids))  # type: ignore[arg-type]
    assert isinstance(result, (dict, translator.TranslatorError))
    if isinstance(result, dict) and validate:
        assert not [p for p in translator.validate(result) if p.is_error]
        json.dumps(result, allow_nan=False)  # what the writer will have to do


@settings(CASES, max_examples=1_000)
@given(payloads, st.sampled_from(["caliper", "canvas"]), st.booleans())
def test_translate_all(payload: Any, to: str, validate: bool) -> None:
    result = _raises_only_translator_errors(lambda: list(TRANSLATOR.translate_all(payload, to, validate=validate)))  # type: ignore[arg-type]
    assert isinstance(result, (list, translator.TranslatorError))
    for output in result if isinstance(result, list) else []:
        json.dumps(output, allow_nan=False)


def _check_results(results: list[translator.ConvertResult], expected_at_least: int) -> None:
    assert len(results) >= expected_at_least  # an envelope of several events gives one result each
    for result in results:
        assert result.ok == (result.output is not None)
        if result.ok:
            json.dumps(result.output, allow_nan=False)
        else:
            assert result.reason and result.problems and all(p.message for p in result.problems)
            assert result.reason != "internal-error", result.problems


@settings(CASES, max_examples=300)
@given(st.lists(payloads, min_size=1, max_size=8), st.sampled_from(["caliper", "canvas"]))
def test_convert_stream(items: list[Any], to: str) -> None:
    _check_results(list(translator.convert_stream(items, to, translator=TRANSLATOR)), len(items))  # type: ignore[arg-type]


@settings(CASES, max_examples=300)
@given(st.lists(payloads, min_size=1, max_size=8), st.sampled_from(["caliper", "canvas"]))
def test_convert_blocks(items: list[Any], to: str) -> None:
    blocks = list(translator.convert_blocks(items, to, translator=TRANSLATOR, chunksize=3))  # type: ignore[arg-type]
    outputs = [json.loads(line) for block in blocks for line in block.encoded.splitlines()]
    assert sum(sum(block.converted.values()) for block in blocks) == len(outputs)
    _check_results([r for block in blocks for r in block.rejects], 0)
    assert len(outputs) + sum(len(block.rejects) for block in blocks) >= len(items)


LINE_PIECES = st.sampled_from(
    [b"{", b"}", b"[", b"]", b",", b":", b'"a"', b"1", b"NaN", b"-Infinity", b"1e999", b"9" * 4400, b"\xff", b"\xe9",
     b"\n", b"\r\n", b" ", b"eyJhIjoxfQ.eyJhIjoxfQ.c2ln", b"\xef\xbb\xbf", b'{"metadata":{},"body":{}}', b"\x1f\x8b"]
)  # fmt: skip


@st.composite
def files(draw: st.DrawFn) -> bytes:
    """Bytes a file might hold: corpus events as JSON Lines, a document or an array, cut and
    spliced with JSON's own pieces and bytes that are not UTF-8; gzipped, maybe cut short."""
    events = draw(st.lists(st.sampled_from(CANVAS + CALIPER), max_size=4))
    layout = draw(st.sampled_from(["lines", "array", "pretty", "concatenated"]))
    if layout == "lines":
        data = b"".join(json.dumps(e).encode() + b"\n" for e in events)
    elif layout == "array":
        data = json.dumps(events, indent=draw(st.sampled_from([None, 2]))).encode()
    else:
        data = ("" if layout == "concatenated" else "\n").join(json.dumps(e, indent=2 if layout == "pretty" else None) for e in events).encode()
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(data)))
        cut = draw(st.integers(0, 20))
        data = data[:at] + draw(st.binary(max_size=8) | LINE_PIECES) + data[at + cut :]
    if draw(st.booleans()):
        data = gzip.compress(data, mtime=0)
        if draw(st.booleans()):
            data = data[: draw(st.integers(0, len(data)))]
    return data


@settings(CASES, max_examples=800)
@given(files(), st.booleans())
def test_read_records_never_raises(data: bytes, lazy: bool) -> None:
    units = list(read_records(["-"], io.BytesIO(data), lazy=lazy))
    records = [record for unit in units for record in (unit.records() if not isinstance(unit, Record) else [unit])]
    for record in records:
        assert (record.problem is None) or (record.problem.message and record.problem.rule in ("malformed-json", "undecodable"))
        if record.problem is None:
            json.dumps(record.payload, allow_nan=False)
        json.dumps({"text": record.text}, ensure_ascii=False).encode("utf-8")  # a reject can be written


@settings(CASES, max_examples=400)
@given(files())
def test_convert_blocks_over_read_records_loses_nothing(data: bytes) -> None:
    eager = list(read_records(["-"], io.BytesIO(data)))
    blocks = list(translator.convert_blocks(read_records(["-"], io.BytesIO(data), lazy=True), "caliper", translator=TRANSLATOR))
    results = [r for block in blocks for r in block.rejects]
    converted = sum(sum(block.converted.values()) for block in blocks)
    for line in b"".join(block.encoded for block in blocks).splitlines():
        json.loads(line)
    _check_results(results, 0)
    assert converted + len(results) >= len(eager)
