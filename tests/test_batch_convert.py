"""`translator convert` and `convert_stream`: nothing lost, every reason, order kept on any number of workers."""

from __future__ import annotations

import base64
import gzip
import io
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import jwt
import orjson
import pytest

import translator
from support import cli, conforming
from cryptography.hazmat.primitives.asymmetric import rsa

from translator.batch import ConvertResult, Report, convert_blocks, convert_stream
from translator.cli import _Progress
from translator.errors import Problem, ValidationError
from translator.io.jws import CANVAS_ISSUER
from translator.io.readers import BLOCK_BYTES, Record, read_records
from translator.io.writers import JsonWriter

TYPES = ("logged_in", "logged_out", "asset_accessed", "submission_created", "wiki_page_created", "grade_change")


def lines(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as file:
        return file.read().splitlines()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def convert(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "translator", "convert", *argv], capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int, Counter[str]]:
    """A directory of every input layout and wrapper, with the expected totals and reject reasons."""
    root = tmp_path_factory.mktemp("mixed")
    inputs = root / "inputs"
    (inputs / "nested").mkdir(parents=True)
    events = [conforming(name, n) for n in range(3) for name in TYPES]
    expected: Counter[str] = Counter()
    total = 0

    numeric = conforming("logged_in")
    numeric["metadata"]["user_id"] = 12345
    unknown = conforming("logged_out")
    unknown["metadata"]["event_name"] = "no_such_event"
    with open(inputs / "canvas.jsonl", "wb") as file:
        for event in events[:8]:
            file.write(json.dumps(event).encode() + b"\n")
        file.write(b'{"metadata": {"event_name": "logged_in", "event_time": "2019-11-01T\n')  # truncated
        file.write(json.dumps(unknown).encode() + b"\n\n")
        file.write(json.dumps(numeric).encode() + b"\n")
        file.write(b'{"metadata": {"event_name": "caf\xe9"}, "body": {}}\n')  # not UTF-8
    total += 12
    expected.update({"malformed-json": 1, "invalid-input": 1, "undecodable": 1})  # no_such_event converts

    (inputs / "nested" / "archive.json.gz").write_bytes(gzip.compress(json.dumps(events[8:11], indent=2).encode()))
    total += 3

    sqs = {
        "Messages": [
            {"MessageId": "1", "ReceiptHandle": "r", "Body": json.dumps(events[11])},
            {"MessageId": "2", "Body": "{"},
        ]
    }
    (inputs / "sqs.json").write_text(json.dumps(sqs, indent=2), encoding="utf-8")
    total += 2
    expected["malformed-json"] += 1

    batch = {
        "Records": [
            {"messageId": str(n), "body": json.dumps(e), "eventSource": "aws:sqs"} for n, e in enumerate(events[12:14])
        ]
    }
    raw = {"attributes": events[14]["metadata"], "body": events[14]["body"]}
    kinesis = {"Records": [{"kinesis": {"data": base64.b64encode(json.dumps(raw).encode()).decode()}}]}
    (inputs / "lambda.ndjson").write_text(
        f"{json.dumps(batch)}\n{json.dumps(raw)}\n{json.dumps(kinesis)}\n", encoding="utf-8"
    )
    total += 4

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    (root / "jwks.json").write_text(
        json.dumps({"keys": [{**public, "kid": "k1", "alg": "RS256", "use": "sig"}]}), encoding="utf-8"
    )
    now = int(time.time())
    signed = [
        jwt.encode({**events[15], "exp": now + 600, "iss": CANVAS_ISSUER}, key, algorithm="RS256", headers={"kid": "k1"}),
        jwt.encode(events[16], forger, algorithm="RS256", headers={"kid": "k1"}),
        jwt.encode(events[16], key, algorithm="RS256", headers={"kid": "k0"}),
        jwt.encode({**events[16], "exp": now - 3600}, key, algorithm="RS256", headers={"kid": "k1"}),
        f"{b64(json.dumps({'alg': 'none', 'kid': 'k1'}).encode())}.{b64(json.dumps(events[16]).encode())}.",
    ]
    (inputs / "signed.jwt").write_text("\n".join(signed) + "\n", encoding="utf-8")
    total += 5
    expected.update({"bad-signature": 1, "unknown-kid": 1, "expired": 1, "bad-algorithm": 1})

    (inputs / "README.md").write_text("not read", encoding="utf-8")
    return inputs, root / "jwks.json", total, expected


def test_nothing_is_lost_and_every_reason_is_given(mixed: tuple[Path, Path, int, Counter[str]], tmp_path: Path) -> None:
    inputs, jwks, total, expected = mixed
    out, rejects = tmp_path / "out.jsonl.gz", tmp_path / "rejects.jsonl"
    done = convert("--to", "caliper", "-o", str(out), "--rejects", str(rejects), "--jwks", str(jwks), str(inputs))
    assert done.returncode == 1, done.stderr
    converted, rejected = lines(out), [json.loads(line) for line in lines(rejects)]
    assert len(converted) + len(rejected) == total
    assert Counter(r["reason"] for r in rejected) == expected
    assert (
        f"translator convert: {total} records read, {len(converted)} converted, {len(rejected)} rejected in "
        in done.stderr
    )
    assert "rejected by reason: " in done.stderr and "converted by event type: " in done.stderr
    assert "\r" not in done.stderr  # no progress indicator in a pipe
    for envelope in map(json.loads, converted):
        assert set(envelope) == {"sensor", "sendTime", "dataVersion", "data"} and len(envelope["data"]) == 1
    for reject in rejected:
        assert set(reject) == {"source", "reason", "problems", "text"}
        assert reject["problems"] and all({"path", "rule", "severity", "message"} <= set(p) <= {"path", "rule", "severity", "message", "value"} for p in reject["problems"])
        assert reject["text"]
    by_reason = {r["reason"]: r for r in rejected}
    by_source = {r["source"]: r for r in rejected}
    truncated = by_source[f"{inputs / 'canvas.jsonl'}:9"]
    assert truncated["reason"] == "malformed-json"
    assert truncated["text"] == '{"metadata": {"event_name": "logged_in", "event_time": "2019-11-01T'
    assert "line 9" in truncated["problems"][0]["message"]
    assert (
        by_reason["undecodable"]["source"] == f"{inputs / 'canvas.jsonl'}:13"
        and "\ufffd" in by_reason["undecodable"]["text"]
    )
    assert by_reason["invalid-input"]["problems"][0]["path"] == "/metadata/user_id"
    assert f"{inputs / 'canvas.jsonl'}:10" not in by_source and "unknown-event" not in by_reason
    assert "drift: 1 unknown event type (1 event)" in done.stderr
    assert by_reason["bad-algorithm"]["text"].endswith(".")
    assert by_source[f"{inputs / 'sqs.json'}/Messages/1"]["problems"][0]["path"] == "/Body"


def test_two_workers_give_the_same_bytes_as_one(mixed: tuple[Path, Path, int, Counter[str]], tmp_path: Path) -> None:
    inputs, jwks, total, _ = mixed
    outputs = []
    for workers in ("1", "2"):
        out, rejects = tmp_path / f"out{workers}.jsonl.gz", tmp_path / f"rejects{workers}.jsonl"
        done = convert(
            "--to",
            "caliper",
            "--workers",
            workers,
            "-o",
            str(out),
            "--rejects",
            str(rejects),
            "--jwks",
            str(jwks),
            str(inputs),
        )
        assert done.returncode == 1, done.stderr
        assert f"{total} records read" in done.stderr
        outputs.append((out.read_bytes(), rejects.read_bytes()))
    assert outputs[0] == outputs[1]
    assert len(gzip.decompress(outputs[0][0]).splitlines()) + len(outputs[0][1].splitlines()) == total


def test_all_converted_exits_0_and_writes_stdout() -> None:
    events = [conforming(name) for name in TYPES]
    code, out, err = cli("convert", "--to", "caliper", "-", stdin="".join(json.dumps(e) + "\n" for e in events))
    assert code == 0, err
    assert len(out.splitlines()) == len(events)
    assert f"translator convert: {len(events)} records read, {len(events)} converted, 0 rejected" in err


def test_without_a_rejects_file_each_reject_is_said_on_stderr() -> None:
    code, out, err = cli("convert", "--to", "caliper", "-", stdin=json.dumps(conforming("logged_in")) + "\n{oops\n")
    assert code == 1
    assert len(out.splitlines()) == 1
    assert "translator convert: rejected -:2: malformed-json: " in err


def test_json_output_is_one_array(tmp_path: Path) -> None:
    events = [conforming("logged_in"), conforming("asset_accessed")]
    out = tmp_path / "out.json"
    code, _, err = cli("convert", "--to", "caliper", "-o", str(out), "-", stdin=json.dumps(events))
    assert code == 0, err
    converted = json.loads(out.read_text(encoding="utf-8"))
    assert [e["data"][0]["action"] for e in converted] == ["LoggedIn", "NavigatedTo"]
    empty = tmp_path / "empty.json"
    assert cli("convert", "--to", "caliper", "-o", str(empty), "-", stdin="")[0] == 0
    assert json.loads(empty.read_text(encoding="utf-8")) == []


def test_caliper_back_to_canvas(tmp_path: Path) -> None:
    events = [conforming(name) for name in TYPES]
    caliper = [r.output for r in convert_stream(events)]
    code, out, err = cli("convert", "--to", "canvas", "-", stdin=json.dumps(caliper))
    assert code == 0, err
    assert [json.loads(line)["metadata"]["event_name"] for line in out.splitlines()] == list(TYPES)


def test_no_generic_rejects_types_without_a_mapping() -> None:
    code, _, err = cli(
        "convert", "--to", "caliper", "--no-generic", "-", stdin=json.dumps(conforming("account_created"))
    )
    assert code == 1
    assert "rejected by reason: unsupported-event 1" in err


def test_output_inside_an_input_directory_is_not_read_back(tmp_path: Path) -> None:
    (tmp_path / "events.jsonl").write_text(json.dumps(conforming("logged_in")) + "\n", encoding="utf-8")
    code, _, err = cli(
        "convert",
        "--to",
        "caliper",
        "-o",
        str(tmp_path / "out.jsonl"),
        "--rejects",
        str(tmp_path / "r.jsonl"),
        str(tmp_path),
    )
    assert code == 0
    assert "1 record read, 1 converted, 0 rejected" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--to", "caliper", "/no/such/dir"], "no such file or directory"),
        (["--to", "xml", "-"], "invalid choice: 'xml'"),
        (["--to", "caliper", "--workers", "-3", "-"], "expected a number of processes"),
        (["--to", "caliper", "--mappings", "/no/such/mappings", "-"], "not a directory"),
        (["--to", "caliper", "--send-time", "yesterday", "-"], "expected event, now or a timestamp"),
        (["-"], "the following arguments are required: --to"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], message: str) -> None:
    code, _, err = cli("convert", *argv)
    assert code == 2
    assert message in err


def test_a_bad_jwks_stops_the_run_before_any_output_is_written(tmp_path: Path) -> None:
    jwks, out = tmp_path / "jwks.json", tmp_path / "out.jsonl"
    jwks.write_text('{"keys": []}', encoding="utf-8")
    code, _, err = cli("convert", "--to", "caliper", "--jwks", str(jwks), "-o", str(out), "-")
    assert code == 2
    assert "the JWKS holds no RSA signing key" in err
    assert not out.exists()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_on_a_terminal_only() -> None:
    report = Report(read=10, converted=9, rejected=Counter({"malformed-json": 1}))
    terminal = _Terminal()
    progress = _Progress(terminal, every=0, after=0)
    progress.show(report)
    progress.clear()
    assert terminal.getvalue().startswith("\r\x1b[K10 read, 9 converted, 1 rejected, ")
    assert terminal.getvalue().endswith("\r\x1b[K")
    pipe = io.StringIO()
    _Progress(pipe, every=0, after=0).show(report)
    assert pipe.getvalue() == ""


# -- the library ------------------------------------------------------------------------------


def test_convert_stream_takes_plain_payloads_and_keeps_their_order() -> None:
    events = [conforming(name) for name in TYPES]
    report = Report()
    results = list(report.track(convert_stream([*events, {"not": "an event"}, "text"])))
    assert [r.source for r in results] == [f"#{n}" for n in range(len(events) + 2)]
    assert [r.event_type for r in results[: len(events)]] == list(TYPES)
    assert all(r.ok and r.output is not None and r.text is None for r in results[: len(events)])
    assert [(r.ok, r.reason) for r in results[-2:]] == [(False, "unknown-format"), (False, "not-an-object")]
    assert results[-2].text == '{"not": "an event"}'
    assert (report.read, report.converted, report.rejected_total) == (len(events) + 2, len(events), 2)
    assert report.read == report.converted + report.rejected_total
    assert report.lines()[0].startswith(f"{len(events) + 2} records read, {len(events)} converted, 2 rejected in ")


def test_results_follow_the_records_in_order_on_several_workers() -> None:
    events = [conforming(name, n) for n in range(4) for name in TYPES]
    records = [Record(f"r{n}", json.dumps(e), e) for n, e in enumerate(events)]
    one = list(convert_stream(records))
    several = list(convert_stream(records, workers=3, chunksize=2))
    assert [r.source for r in several] == [f"r{n}" for n in range(len(events))]
    assert [r.output for r in several] == [r.output for r in one]


@pytest.mark.parametrize(("workers", "lazy"), [(1, False), (1, True), (2, False), (2, True)])
def test_blocks_hold_what_the_stream_gives(workers: int, lazy: bool, tmp_path: Path) -> None:
    events = [conforming(name, n) for n in range(5) for name in TYPES]
    file = tmp_path / "events.jsonl"
    file.write_text("\n".join([*map(json.dumps, events), "{broken", json.dumps({"not": "an event"})]) + "\n")
    stream = list(convert_stream(read_records([str(file)])))
    report = Report()
    blocks = list(report.track(convert_blocks(read_records([str(file)], lazy=lazy), workers=workers, chunksize=4)))
    assert len(blocks) == (1 if lazy else 8)  # a block of lines is not split: the lazy reader's are 256 lines
    assert b"".join(b.encoded for b in blocks) == b"".join(orjson.dumps(r.output) + b"\n" for r in stream if r.ok)
    assert [r for b in blocks for r in b.rejects] == [r for r in stream if not r.ok]
    assert sum((b.converted for b in blocks), Counter()) == Counter(r.event_type for r in stream if r.ok)
    assert (report.read, report.converted, dict(report.rejected)) == (len(events) + 2, len(events), {"malformed-json": 1, "unknown-format": 1})


class _Sabotaged(translator.Translator):
    """Fails on asset_accessed events and spoils the output of logged_out ones, so that a block's
    rejects come from every phase of the conversion (made with `full_output_check=True`: a proven
    type's output is only checked where the proof left leaves, and a spoilt output is no mapping's)."""

    def convert_fused(self, payload: Any, to: Any, **options: Any) -> None:
        return None  # every record through the phases, where the sabotage is

    def convert_checked(self, payload: Any, source: str, to: Any, **options: Any) -> dict[str, Any]:
        name = payload["metadata"]["event_name"]
        if name == "asset_accessed":
            raise KeyError("object")
        output = super().convert_checked(payload, source, to, **options)
        if name == "logged_out":
            output["data"][0]["actor"] = 5
        return output


def test_a_block_of_lines_gives_what_records_read_one_by_one_give(tmp_path: Path) -> None:
    events = [conforming(name, n) for n in range(2) for name in TYPES]
    invalid = conforming("logged_in")
    invalid["metadata"]["user_id"] = "me"
    texts = [*map(json.dumps, events[:5]), "{broken", json.dumps(invalid), *map(json.dumps, events[5:]), '{"not": 1}']
    file = tmp_path / "events.jsonl"
    file.write_text("\n".join(texts) + "\n")
    engine = _Sabotaged(full_output_check=True)
    one_by_one = list(convert_stream(read_records([str(file)]), translator=engine))
    lazy = list(convert_stream(read_records([str(file)], lazy=True), translator=engine))  # one block of lines
    assert lazy == one_by_one
    chunked = convert_blocks(read_records([str(file)]), translator=engine, chunksize=4)  # records in hand, 4 a block
    assert [r for block in chunked for r in block.rejects] == [r for r in one_by_one if not r.ok]
    reasons = [(r.source.rsplit(":", 1)[1], r.reason) for r in lazy if not r.ok]
    assert reasons == [
        ("2", "invalid-output"), ("3", "internal-error"), ("6", "malformed-json"), ("7", "invalid-input"),
        ("10", "invalid-output"), ("11", "internal-error"), ("15", "unknown-format"),
    ]  # fmt: skip
    assert sum(r.ok for r in lazy) == len(events) - 4


def test_long_records_make_small_blocks() -> None:
    records = [Record(f"r{n}", "x" * (BLOCK_BYTES // 2), conforming(name)) for n, name in enumerate(TYPES)]
    blocks = list(convert_blocks(records, chunksize=256))
    assert [sum(b.converted.values()) for b in blocks] == [2] * (len(TYPES) // 2)


@pytest.mark.parametrize("workers", [1, 2])
def test_records_read_before_a_read_error_are_converted_then_the_error_is_raised(workers: int) -> None:
    def reader() -> Any:
        for n, name in enumerate(TYPES):
            yield Record(f"r{n}", "", conforming(name))
        raise OSError("the disk went away")

    blocks = convert_blocks(reader(), workers=workers, chunksize=4)
    written = []
    with pytest.raises(OSError, match="the disk went away"):
        for block in blocks:
            written.append(block.converted)
    assert sum(written, Counter()) == Counter(TYPES)


def test_unreadable_records_are_rejected_with_their_own_reason() -> None:
    problem = Problem("", "malformed JSON at line 1, column 2: Expecting value", "malformed-json")
    [result] = convert_stream([Record("f:1", "{x", problem=problem)])
    assert result == ConvertResult("f:1", None, [problem], "malformed-json", None, "{x")


class _Stub:
    """Stands in for the engine to reach the rejects that well-formed mappings never produce."""

    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome

    def convert_checked(self, payload: Any, source: str, to: str, **options: Any) -> dict[str, Any]:
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome

    def problems(self, payload: Any, format: str, *, output: bool = False, dispatched: Any = None) -> list[Problem]:
        return translator.Translator.problems(self, payload, format, output=output)  # type: ignore[arg-type]

    def output_problems(self, payload: Any, output: Any, to: str) -> list[Problem]:
        return self.problems(output, to)  # its outputs come from no mapping: the full check

    def convert_fused(self, payload: Any, to: str, **options: Any) -> None:
        return None  # no fused path: the phases, where the outcome is

    custom_events: frozenset[str] = frozenset()
    strict = False
    catalog = None  # no mappings to hold Canvas's Caliper to


@pytest.mark.parametrize(
    ("outcome", "reason"),
    [
        ({"sensor": "x", "data": "not events"}, "invalid-output"),
        (
            ValidationError("the mapping could not be applied", [Problem("/data/0/object", "no id", "mapping")]),
            "mapping-failed",
        ),
        (KeyError("object"), "internal-error"),
    ],
)
def test_conversion_failures_are_rejects_not_crashes(outcome: Any, reason: str) -> None:
    event = conforming("logged_in")
    [result] = convert_stream([event], translator=_Stub(outcome))  # type: ignore[arg-type]
    assert (result.ok, result.reason, result.event_type) == (False, reason, "logged_in")
    assert result.problems and any(p.is_error for p in result.problems)
    assert json.loads(result.text or "") == event


def test_send_time_is_the_event_time_by_default_so_output_is_reproducible() -> None:
    event = conforming("logged_in")
    [first] = convert_stream([event])
    [second] = convert_stream([event], send_time="2030-01-01T00:00:00.000Z")
    assert first.output is not None and second.output is not None
    assert first.output["sendTime"] == first.output["data"][0]["eventTime"]
    assert second.output["sendTime"] == "2030-01-01T00:00:00.000Z"


def test_values_orjson_refuses_are_written_as_the_same_json_values(tmp_path: Path) -> None:
    values = [{"text": "caf\udc80"}, {"big": 2**70}, {"plain": "é"}]
    for name in ("out.jsonl", "out.json", "out.jsonl.gz"):
        with JsonWriter(str(tmp_path / name)) as writer:
            for value in values:
                writer.write(value)
        raw = (tmp_path / name).read_bytes()
        text = (gzip.decompress(raw) if name.endswith(".gz") else raw).decode("utf-8")  # valid UTF-8
        assert (json.loads(text) if name == "out.json" else [json.loads(line) for line in text.splitlines()]) == values
    stream = io.StringIO()
    with JsonWriter(None, stream) as writer:
        for value in values:
            writer.write(value)
    assert [json.loads(line) for line in stream.getvalue().splitlines()] == values
    assert "\\udc80" in stream.getvalue()  # escaped, as in a file: a text stream never gets a lone surrogate
