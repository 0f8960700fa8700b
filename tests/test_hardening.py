"""Issue 15, each attack with its exact input: every bad record is one reject and the run goes on;
NaN and Infinity are errors everywhere; a user mapping cannot exhaust the machine; the command
line fails with one line (a traceback only with --debug) and a documented exit code."""

from __future__ import annotations

import copy
import gzip
import io
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import translator
from support import BAD_LINES, BROKEN, JWS, LINE, PRETTY, VALID, cli
from translator.io.jsontext import STRICT, compact, loads
from translator.io.readers import Lines, read_records
from translator.validation import conforms, validate


def with_metadata(**changes: Any) -> dict[str, Any]:
    event = copy.deepcopy(VALID)
    event["metadata"].update(changes)
    return event


@pytest.mark.parametrize("name, line, rule, message", BAD_LINES, ids=[case[0] for case in BAD_LINES])
def test_a_bad_line_is_one_reject_and_reading_goes_on(name: str, line: bytes, rule: str, message: str) -> None:
    data = LINE.encode() + b"\n" + line + b"\n" + LINE.encode() + b"\n"
    records = list(read_records(["-"], io.BytesIO(data)))
    assert [r.source for r in records] == ["-:1", "-:2", "-:3"]
    assert records[0].payload == records[2].payload == VALID
    assert records[1].problem is not None and records[1].problem.rule == rule
    assert message in records[1].problem.message and "line 2" in records[1].problem.message


@pytest.mark.parametrize("name, line, rule, message", BAD_LINES, ids=[case[0] for case in BAD_LINES])
def test_a_bad_line_alone_in_a_file_is_one_reject(name: str, line: bytes, rule: str, message: str) -> None:
    [record] = list(read_records(["-"], io.BytesIO(line)))
    assert record.problem is not None and record.problem.rule == rule and message in record.problem.message


@pytest.mark.parametrize("digits", ["18446744073709551616", "123456789012345678901234567890", "-9223372036854775809"])
def test_an_integer_beyond_64_bits_is_read_exactly_not_as_a_float(digits: str) -> None:
    line = LINE[:-1] + f', "big": {digits}, "near": "{digits}"}}'
    [record] = list(read_records(["-"], io.BytesIO(line.encode())))
    assert record.payload["big"] == int(digits) and type(record.payload["big"]) is int
    assert record.payload["near"] == digits and compact(record.payload["big"]) == digits.encode()


@pytest.mark.parametrize(
    "head",
    [
        [b'{"metadata": {', b'{"body": ]'],  # two malformed first lines
        [b'{"metadata": NaN}', b"1" * 5000],  # two refused ones
        [b"{broken", JWS.encode()],  # one, then a signed token
        [b"{broken"] * 5,
    ],
    ids=["two malformed", "two refused", "malformed then JWS", "five malformed"],
)
def test_broken_first_lines_do_not_make_a_json_lines_file_one_document(head: list[bytes]) -> None:
    data = b"\n".join([*head, LINE.encode(), LINE.encode()]) + b"\n"
    for lazy in (False, True):
        units = list(read_records(["-"], io.BytesIO(data), lazy=lazy))
        records = [r for unit in units for r in (unit.records() if isinstance(unit, Lines) else [unit])]
        assert [r.source for r in records] == [f"-:{n}" for n in range(1, len(head) + 3)]
        assert [r.payload for r in records[-2:]] == [VALID, VALID]
        assert all((r.problem is None) == (r.payload == JWS.encode().decode()) for r in records[: len(head)])


def test_pretty_printed_and_concatenated_documents_are_still_documents() -> None:
    pretty = json.dumps(VALID, indent=2).encode()
    assert [r.source for r in read_records(["-"], io.BytesIO(pretty))] == ["-"]
    firehose = (LINE + LINE + "\n" + LINE).encode()
    assert [r.payload for r in read_records(["-"], io.BytesIO(firehose))] == [VALID] * 3


def test_a_refused_number_in_a_document_is_one_reject_and_the_next_value_is_read() -> None:
    data = ("[\n" + json.dumps(VALID, indent=2) + ',\n{"a": NaN, "b": [1, 2]},\n' + "9" * 5000 + ",\n" + LINE + "\n]\n").encode()
    records = list(read_records(["-"], io.BytesIO(data)))
    assert [r.source for r in records] == ["-#0", "-#1", "-#2", "-#3"]
    assert [r.payload for r in records] == [VALID, None, None, VALID]
    line = data[: data.index(b'{"a": NaN')].count(b"\n") + 1
    assert records[1].problem.message == f"line {line}, column 1: NaN is not a JSON number"  # type: ignore[union-attr]
    assert "5000 digits" in records[2].problem.message  # type: ignore[union-attr]


def test_gzip_cut_short_keeps_every_line_before_it_and_is_one_reject() -> None:
    whole = gzip.compress(b"".join(LINE.encode() + b"\n" for _ in range(200)), mtime=0)
    for lazy in (False, True):
        units = list(read_records(["-"], io.BytesIO(whole[: len(whole) * 3 // 4]), lazy=lazy))
        records = [r for unit in units for r in (unit.records() if isinstance(unit, Lines) else [unit])]
        *good, last = records
        assert good and all(r.payload == VALID for r in good)
        assert last.problem is not None and last.problem.rule == "undecodable" and "cut short" in last.problem.message
        assert last.source == f"-:{len(good) + 1}"


def test_bad_gzip_is_one_reject() -> None:
    [record] = list(read_records(["-"], io.BytesIO(b"\x1f\x8b\x08\x00garbage that is not deflate")))
    assert record.problem is not None and record.problem.rule == "undecodable"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinity_are_errors_in_validate_and_translate(value: float) -> None:
    event = with_metadata(user_id=value)
    [problem] = validate(event)
    assert problem.path == "/metadata/user_id" and problem.rule == "malformed-json" and problem.is_error
    for checked in (True, False):
        with pytest.raises(translator.ValidationError, match="JSON"):
            translator.translate(event, to="caliper", validate=checked)
    [result] = list(translator.convert_stream([event]))
    assert result.reason == "malformed-json" and result.problems[0].path == "/metadata/user_id"
    assert b"NaN" not in compact(translator.translate(VALID))


@pytest.mark.parametrize("name", [["logged_in"], {"a": 1}, 7, None, True])
def test_a_non_string_event_name_is_an_invalid_input_not_a_crash(name: Any) -> None:
    event = with_metadata(event_name=name)
    problems = validate(event)
    assert any(p.path == "/metadata/event_name" and p.rule == "type" for p in problems)
    with pytest.raises(translator.ValidationError):
        translator.translate(event)
    custom = translator.Translator(mapping_dirs=[Path(__file__).resolve().parents[1] / "examples" / "mappings"])
    assert not conforms(custom.problems(event, "canvas"))
    [result] = list(translator.convert_stream([event, VALID]))[:1]
    assert result.reason == "invalid-input"


# -- the command line ---------------------------------------------------------------------


def test_a_bug_is_one_line_and_exit_2_and_a_traceback_only_with_debug(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr("translator.batch.Converter.blocks", broken)
    (tmp_path / "e.jsonl").write_text(LINE + "\n")
    code, _, err = cli("convert", "--to", "caliper", str(tmp_path / "e.jsonl"))
    assert code == 2 and err == "translator convert: internal error: RuntimeError: simulated bug (--debug shows the traceback)\n"
    for argv in (["--debug", "convert"], ["convert", "--debug"]):
        with pytest.raises(RuntimeError, match="simulated bug"):
            cli(*argv, "--to", "caliper", str(tmp_path / "e.jsonl"))


def test_some_rejected_is_exit_1_with_every_record_accounted_for(tmp_path: Path) -> None:
    data = b"\n".join([b"{broken", b"{broken", LINE.encode(), *(case[1] for case in BAD_LINES), LINE.encode()]) + b"\n"
    (tmp_path / "in.jsonl").write_bytes(data)
    code, _, err = cli("convert", "--to", "caliper", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.jsonl"), "--rejects", str(tmp_path / "rej.jsonl"))
    assert code == 1
    assert f"{len(BAD_LINES) + 4} records read, 2 converted, {len(BAD_LINES) + 2} rejected" in err
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 2
    rejects = [json.loads(line) for line in (tmp_path / "rej.jsonl").read_text().splitlines()]
    assert [r["source"] for r in rejects] == [f"{tmp_path / 'in.jsonl'}:{n}" for n in [1, 2, *range(4, 4 + len(BAD_LINES))]]


# -- user mappings --------------------------------------------------------------------------

MAPPING = "canvas_event: thing_done\nevent:\n  type: Event\n  action: Modified\n  actor: $metadata.user_id | urn:user\n"
THING = {"metadata": {"event_name": "thing_done", "event_time": "2024-01-01T00:00:00.000Z", "user_id": "1", "hostname": "x.edu"}, "body": {"x": "abc"}}
LAUGHS = "parts:\n  lol:\n    a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"    {chr(98 + n)}: &{chr(98 + n)} [{', '.join(['*' + chr(97 + n)] * 9)}]\n" for n in range(9)
)


def load(tmp_path: Path, files: dict[str, str | bytes]) -> translator.Translator:
    for name, text in files.items():
        (tmp_path / name).write_bytes(text.encode() if isinstance(text, str) else text)
    return translator.Translator(mapping_dirs=[tmp_path])


@pytest.mark.parametrize(
    "text, line, reason",
    [
        (MAPPING + "  extensions: !!binary aGVsbG8=\n", 6, "a YAML binary is not a JSON value"),
        (MAPPING + "  extensions: !!set {a, b}\n", 6, "a YAML set is not a JSON value"),
        (MAPPING + "  eventTime: 2024-01-01\n", 6, "a YAML timestamp is not a JSON value (quote it"),
        (MAPPING + "  extensions: {1: one}\n", 6, "keys must be strings, not int 1"),
        (MAPPING + "  extensions: {on: yes}\n", 6, "keys must be strings, not bool True"),
        (MAPPING + "  extensions: {x: .nan}\n", 6, "'.nan' is not a JSON number"),
        (MAPPING + "  extensions: {x: -.inf}\n", 6, "'-.inf' is not a JSON number"),
        (MAPPING.encode("utf-8") + b"  description: caf\xe9\n", 6, "not UTF-8 (byte 0xe9)"),
        (MAPPING + "  extensions: &loop {self: *loop}\n", None, ""),
        (MAPPING + "  $reverse: {body.x.y: \"= 1\"}\n  x: $body.x\n", 6, "goes through body.x"),
        (MAPPING + "  $reverse: {body.x: \"= 'a'\", body.x.y: \"= 1\"}\n", 6, "goes through body.x"),
        (MAPPING + "  $reverse: {event.x: \"= 1\"}\n", 6, "'event.x' is not a known directive"),
    ],
    ids=["binary", "set", "timestamp", "int key", "bool key", "nan", "inf", "latin-1", "recursive alias",
         "reverse through a copy", "reverse through a reverse", "reverse outside the event"],  # fmt: skip
)
def test_a_mapping_beyond_json_fails_at_load_naming_file_and_line(tmp_path: Path, text: str | bytes, line: int | None, reason: str) -> None:
    with pytest.raises(translator.MappingError) as caught:
        load(tmp_path, {"m.yaml": text})
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'm.yaml'}:{line}:" if line else str(tmp_path / "m.yaml")), message
    assert reason in message


def test_a_billion_laughs_even_in_an_unused_parts_file_fails_at_load(tmp_path: Path) -> None:
    with pytest.raises(translator.MappingError, match=r"laughs.yaml:\d+: more than 200,000 values once its aliases are expanded"):
        load(tmp_path, {"laughs.yaml": LAUGHS, "m.yaml": MAPPING})


def test_a_mapping_file_over_the_size_limit_fails(tmp_path: Path) -> None:
    with pytest.raises(translator.MappingError, match="a mapping file holds at most"):
        load(tmp_path, {"m.yaml": MAPPING + "description: '" + "x" * (4 << 20) + "'\n"})


@pytest.mark.parametrize(
    "expression, reason",
    [
        ("9**(9**9)", "is too large (more than 4096 bits)"),
        ("'%999999999d' % 1", "width and precision are at most 1000"),
        ("'%.*f' % [999999999, 1.5]", "width and precision are at most 1000"),
        ("'ab' * 999999999", "is too large"),
        ("(2 ** 4000) * (2 ** 4000)", "the product is too large (more than 4096 bits)"),
        ("body.x.replace('', body.x * 400000)", "is too large"),
        ("body.items()", "must be a JSON value, not dict_items"),
        ("body.keys()", "must be a JSON value, not dict_keys"),
        ("'nan' | float", "nan is not a JSON number"),
        ("1e308 * 10", "inf is not a JSON number"),
        ("(-8) ** 0.5", "not complex"),
        ("2.0 ** 99999", "OverflowError"),
        ("{1: 2}", "key must be a string"),
    ],
)
def test_an_expression_beyond_its_bounds_is_a_mapping_failure_of_that_event(tmp_path: Path, expression: str, reason: str) -> None:
    custom = load(tmp_path, {"m.yaml": MAPPING + f"  extensions: {{x: {json.dumps('= ' + expression)}}}\n"})
    with pytest.raises(translator.ValidationError) as caught:
        custom.translate(THING)
    assert reason in str(caught.value)
    [result] = list(translator.convert_stream([THING], translator=custom))
    assert result.reason == "mapping-failed" and reason in result.problems[-1].message


def test_an_expression_within_bounds_still_works(tmp_path: Path) -> None:
    custom = load(tmp_path, {"m.yaml": MAPPING + "  extensions: {x: \"= '%5d|%s' % [2 ** 10, body.x * 2]\"}\n"})
    assert custom.translate(THING, validate=False)["data"][0]["extensions"] == {"x": " 1024|abcabc"}


def test_a_reverse_target_through_a_string_is_refused_at_load(tmp_path: Path) -> None:
    reverse = "  $reverse: {metadata.event_name.extra: \"= 'x'\"}\n"
    with pytest.raises(translator.MappingError, match=re.escape("goes through metadata.event_name")):
        load(tmp_path, {"m.yaml": MAPPING + "  extensions: {n: $metadata.event_name}\n" + reverse})


def test_no_output_ever_holds_nan() -> None:
    for payload in (VALID, with_metadata(user_id=float("nan"))):
        try:
            output = translator.translate(payload)
        except translator.ValidationError:
            continue
        assert not any(isinstance(v, float) and not math.isfinite(v) for v in json.loads(compact(output)).values())


@pytest.mark.parametrize(
    "expression, reason",
    [
        ("([body.x * 1000000] * 1000000) | join", "is too large"),  # a list repeating a long string weighs the string
        ("['ab', 'cd', 'ef'] | join(body.x * 300000)", "join would build more than"),
        ("(['a'] * 300000) | join(body.x)", "join would build more than"),
        ("(body.x * 300000) | upper ~ (body.x * 300000)", "is too large"),
        # each item within its bound, a thousand of them a gigabyte: the event's work is bounded
        ("[" + ", ".join(["body.x * 300000"] * 1000) + "] | length", "built or scanned more than 33,554,432 characters"),
    ],
)
def test_what_a_list_or_join_builds_is_bounded_too(tmp_path: Path, expression: str, reason: str) -> None:
    custom = load(tmp_path, {"m.yaml": MAPPING + f"  extensions: {{x: {json.dumps('= ' + expression)}}}\n"})
    [result] = list(translator.convert_stream([THING], translator=custom))
    assert result.reason == "mapping-failed" and reason in result.problems[-1].message


# Slow within every bound: each term builds a million characters and splits them into a million
# strings (tens of milliseconds), 20 terms a field, 20 fields: seconds for one event without a budget.
SLOW_TERM = "(('a' * 1000000).split('a') | length)"
SLOW = MAPPING + "  extensions:\n" + "".join(f"    f{n}: {json.dumps('= ' + ' + '.join([SLOW_TERM] * 20))}\n" for n in range(20))


def test_a_slow_mapping_is_a_timeout_of_its_event_and_the_rest_converts(tmp_path: Path) -> None:
    # A term builds and scans about 2,000,000 characters in about 10 ms here: a budget of 0.02 s
    # ends the event after a few terms, long before the bound on its work (MAX_EVENT_WORK, 16
    # terms) could, unless the machine were eight times faster (0.2 s was a race on this one).
    load(tmp_path, {"m.yaml": SLOW})
    results = list(translator.convert_stream([VALID, THING, VALID], mapping_dirs=[tmp_path], mapping_budget=0.02))
    assert [r.reason for r in results] == [None, "mapping-timeout", None]
    problem = results[1].problems[-1]
    assert problem.rule == "mapping-timeout" and problem.path == "/extensions/f0"
    assert f"mapping rule at {tmp_path / 'm.yaml'}:7" in problem.message and SLOW_TERM in problem.message
    assert "ran past their time budget of 0.02 s" in problem.message
    with pytest.raises(translator.ValidationError, match="time budget"):
        translator.Translator(mapping_dirs=[tmp_path], mapping_budget=0.02).translate(THING)


def test_the_cli_rejects_a_slow_mapping_with_mapping_timeout(tmp_path: Path) -> None:
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    (mappings / "m.yaml").write_text(SLOW)
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(e) + "\n" for e in (VALID, THING, VALID)))
    out, rejects = tmp_path / "out.jsonl", tmp_path / "rejects.jsonl"
    code, _, err = cli("convert", "--to", "caliper", "--mappings", str(mappings), "--mapping-budget", "0.02",
                       str(tmp_path / "in.jsonl"), "-o", str(out), "--rejects", str(rejects))  # fmt: skip
    assert code == 1 and "3 records read, 2 converted, 1 rejected" in err and "rejected by reason: mapping-timeout 1" in err
    assert len(out.read_text().splitlines()) == 2
    [reject] = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert reject["source"] == f"{tmp_path / 'in.jsonl'}:2" and reject["reason"] == "mapping-timeout"


def test_the_budget_flag_shows_its_default_and_refuses_a_bad_value() -> None:
    code, out, _ = cli("convert", "--help")
    assert code == 0 and "mapping-timeout (0: no limit; default 1)" in " ".join(out.split())
    code, _, err = cli("convert", "--to", "caliper", "--mapping-budget", "-1", "x.jsonl")
    assert code == 2 and "expected a number of seconds (0 or more), not '-1'" in err


# -- resynchronising inside documents ---------------------------------------------------------

def test_one_bad_element_of_a_pretty_printed_array_is_one_reject_and_the_rest_is_read() -> None:
    data = ("[\n" + ",\n".join([PRETTY, BROKEN, PRETTY, PRETTY[:200], PRETTY]) + "\n]\n").encode()
    records = list(read_records(["-"], io.BytesIO(data)))
    assert [r.source for r in records] == [f"-#{n}" for n in range(5)]
    assert [r.payload for r in records] == [VALID, None, VALID, None, VALID]
    line = data[: data.index(b'"event_name": ,')].count(b"\n") + 1
    assert records[1].problem.message.startswith(f"malformed JSON at line {line}, column")  # type: ignore[union-attr]
    assert records[1].text == BROKEN and records[3].text == PRETTY[:200].rstrip()


def test_one_bad_value_of_a_firehose_document_is_one_reject_and_the_rest_is_read() -> None:
    broken = LINE.replace('"logged_in"', "logged_in")
    data = (LINE + broken + LINE + LINE[:50] + LINE + "\n").encode()
    records = list(read_records(["-"], io.BytesIO(data)))
    assert [r.payload for r in records] == [VALID, None, VALID, None, VALID]
    assert [r.text for r in records[1::2]] == [broken, LINE[:50]]


@pytest.mark.parametrize(
    "tail",
    ['{"x": "' + "a" * 5_000_000, "[" * 1_000_000, '{"a":[1,' * 200_000, '{"a":[1,}' * 50_000],
    ids=["unterminated string", "deep nesting", "open nested objects", "many broken objects"],
)
def test_adversarial_documents_end_in_rejects_not_a_hang(tail: str) -> None:
    for data in ("[\n" + PRETTY + ",\n" + tail, LINE + tail):
        records = list(read_records(["-"], io.BytesIO(data.encode())))
        assert records[0].payload == VALID and all(r.problem is not None for r in records[1:])
        assert sum(len(r.text) for r in records[1:]) >= len(tail) - len(records)  # all of it, but the separators


def _layout(elements: list[str], layout: str) -> bytes:
    if layout == "array":
        return ("[\n" + ",\n".join(elements) + "\n]\n").encode()
    return ("" if layout == "firehose" else "\n").join(elements).encode() + b"\n"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(40, 400)), min_size=1, max_size=8), st.sampled_from(["array", "firehose", "lines"]))
def test_good_and_bad_elements_in_any_layout_are_each_one_record(elements: list[tuple[bool, int]], layout: str) -> None:
    """A bad element is a good one cut short or with a value taken out; converted + rejects = elements."""
    text = PRETTY if layout == "array" else LINE
    written = []
    for good, cut in elements:
        if good:
            written.append(text)
        else:
            written.append(text[:cut] if cut % 2 else text.replace('"logged_in"', ""))
    records = list(read_records(["-"], io.BytesIO(_layout(written, layout))))
    assert len(records) == len(elements)
    assert [r.payload == VALID for r in records] == [good for good, _ in elements]


# -- reading JSON: msgspec's values are the standard library's ------------------------------
_numbers = (
    st.integers()
    | st.integers(min_value=2**63 - 2, max_value=2**64 + 2)
    | st.integers(min_value=-(2**63) - 2, max_value=-(2**63) + 2)
    | st.from_regex(r"-?[1-9][0-9]{17,60}", fullmatch=True).map(int)
    | st.floats(allow_nan=False, allow_infinity=False)
)
_json = st.recursive(
    st.none() | st.booleans() | _numbers | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=15,
)


def _typed(value: Any) -> Any:
    """`value` with each number's type kept beside it, so 1 and 1.0 (equal in Python) differ."""
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    return (type(value).__name__, value)


def _read(read: Any, text: str) -> Any:
    """What `read` makes of `text`, typed, or the name of the error it raises."""
    try:
        return _typed(read(text))
    except ValueError as exc:  # malformed, or a refused number
        return type(exc).__name__


@settings(max_examples=1_500, deadline=None)
@given(_json, st.sampled_from([{}, {"indent": 1}, {"ensure_ascii": False}]))
def test_reading_json_gives_the_standard_librarys_values(value: Any, style: dict[str, Any]) -> None:
    text = json.dumps(value, **style)
    assert _read(loads, text) == _read(STRICT.decode, text) == _typed(value)
    if text.startswith("{"):  # the JSON Lines path for a line holding one object
        [record] = read_records(["-"], io.BytesIO(text.replace("\n", " ").encode() + b"\n"))
        assert _typed(record.payload) == _typed(value)


@settings(max_examples=1_500, deadline=None)
@given(_json, st.lists(st.tuples(st.integers(min_value=0, max_value=400), st.sampled_from(list('0123456789-+.eE"\\{}[],: nu\udc80'))), max_size=4))
def test_reading_mutated_json_agrees_with_the_standard_library(value: Any, edits: list[tuple[int, str]]) -> None:
    text = json.dumps(value, ensure_ascii=False)
    for at, char in edits:
        at %= len(text) + 1
        text = text[:at] + char + text[at:]
    assert _read(loads, text) == _read(STRICT.decode, text)
