"""Reading records: every layout, every way input can be broken, and streaming."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest

from translator.io.readers import BLOCK_BYTES, LINES_PER_BLOCK, Lines, Record, input_files, read_records

EVENT = {
    "metadata": {"event_name": "logged_in", "event_time": "2019-11-01T19:11:01.335Z"},
    "body": {"redirect_url": "x"},
}
OTHER = {"metadata": {"event_name": "logged_out", "event_time": "2019-11-01T19:12:00.000Z"}, "body": {}}


def records(*paths: Path | str, stdin: object = None) -> list[Record]:
    return list(read_records([str(p) for p in paths], stdin))  # type: ignore[arg-type]


def sources(found: list[Record]) -> list[str]:
    return [r.source for r in found]


def test_json_lines_skip_blank_lines_and_keep_line_numbers(tmp_path: Path) -> None:
    file = tmp_path / "events.jsonl"
    file.write_text(f"{json.dumps(EVENT)}\r\n\n   \n{json.dumps(OTHER)}\n", encoding="utf-8")
    found = records(file)
    assert sources(found) == [f"{file}:1", f"{file}:4"]
    assert [r.payload for r in found] == [EVENT, OTHER]
    assert found[0].text == json.dumps(EVENT)
    assert all(r.problem is None for r in found)


def test_pretty_printed_object_is_one_record_named_by_its_file(tmp_path: Path) -> None:
    file = tmp_path / "event.json"
    file.write_text(json.dumps(EVENT, indent=2), encoding="utf-8")
    [record] = records(file)
    assert record.source == str(file)
    assert record.payload == EVENT
    assert record.text == json.dumps(EVENT, indent=2)


def test_one_line_file_is_a_document(tmp_path: Path) -> None:
    file = tmp_path / "event.json"
    file.write_text(json.dumps(EVENT) + "\n", encoding="utf-8")
    assert sources(records(file)) == [str(file)]


@pytest.mark.parametrize("indent", [None, 2])
def test_array_items_are_indexed(tmp_path: Path, indent: int | None) -> None:
    file = tmp_path / "events.json"
    file.write_text(json.dumps([EVENT, OTHER, 7], indent=indent), encoding="utf-8")
    found = records(file)
    assert sources(found) == [f"{file}#0", f"{file}#1", f"{file}#2"]
    assert [r.payload for r in found] == [EVENT, OTHER, 7]
    assert json.loads(found[1].text) == OTHER


def test_array_on_a_json_lines_line_is_expanded(tmp_path: Path) -> None:
    file = tmp_path / "events.jsonl"
    file.write_text(f"{json.dumps(EVENT)}\n{json.dumps([OTHER, EVENT])}\n", encoding="utf-8")
    assert sources(records(file)) == [f"{file}:1", f"{file}:2#0", f"{file}:2#1"]


def test_empty_array_and_empty_file_hold_no_records(tmp_path: Path) -> None:
    (tmp_path / "empty.json").write_text("[]", encoding="utf-8")
    (tmp_path / "nothing.jsonl").write_text("\n\n", encoding="utf-8")
    assert records(tmp_path / "empty.json", tmp_path / "nothing.jsonl") == []


def test_malformed_line_is_a_problem_with_line_and_column_and_reading_goes_on(tmp_path: Path) -> None:
    file = tmp_path / "events.jsonl"
    file.write_text(f'{json.dumps(EVENT)}\n{{"metadata": tru}}\n{json.dumps(OTHER)}\n', encoding="utf-8")
    found = records(file)
    assert sources(found) == [f"{file}:1", f"{file}:2", f"{file}:3"]
    bad = found[1]
    assert bad.payload is None
    assert bad.problem is not None and bad.problem.rule == "malformed-json"
    assert "line 2, column 14" in bad.problem.message
    assert bad.text == '{"metadata": tru}'
    assert found[2].payload == OTHER


def test_truncated_last_line_says_so(tmp_path: Path) -> None:
    file = tmp_path / "events.jsonl"
    file.write_text(json.dumps(EVENT) + "\n" + json.dumps(OTHER)[:25], encoding="utf-8")
    found = records(file)
    assert found[0].payload == EVENT
    assert found[1].problem is not None and found[1].problem.rule == "malformed-json"
    assert "truncated" in found[1].problem.message
    assert found[1].text == json.dumps(OTHER)[:25]


def test_broken_first_line_of_json_lines_does_not_make_a_document(tmp_path: Path) -> None:
    file = tmp_path / "events.jsonl"
    file.write_text(
        json.dumps(EVENT)[:30] + "\n" + json.dumps(OTHER) + "\n" + json.dumps(EVENT) + "\n", encoding="utf-8"
    )
    found = records(file)
    assert sources(found) == [f"{file}:1", f"{file}:2", f"{file}:3"]
    assert found[0].problem is not None and found[0].problem.rule == "malformed-json"
    assert [r.payload for r in found[1:]] == [OTHER, EVENT]


def test_undecodable_bytes_on_a_line(tmp_path: Path) -> None:
    file = tmp_path / "events.jsonl"
    file.write_bytes(b'{"metadata": {"event_name": "caf\xe9"}}\n' + json.dumps(OTHER).encode() + b"\n")
    bad, good = records(file)
    assert bad.problem is not None and bad.problem.rule == "undecodable"
    assert "line 1, column 33" in bad.problem.message
    assert "\ufffd" in bad.text
    assert good.payload == OTHER


def test_undecodable_bytes_in_a_one_line_file(tmp_path: Path) -> None:
    file = tmp_path / "event.json"
    file.write_bytes(b'{"metadata": {"event_name": "caf\xe9"}}')
    [record] = records(file)
    assert record.payload is None
    assert record.problem is not None and record.problem.rule == "undecodable"


def test_undecodable_bytes_in_a_document(tmp_path: Path) -> None:
    file = tmp_path / "event.json"
    file.write_bytes(b'{\n  "metadata": {\n    "event_name": "caf\xe9"\n  }\n}\n')
    [record] = records(file)
    assert record.problem is not None and record.problem.rule == "undecodable"
    assert "line 3, column 23" in record.problem.message


def test_broken_array_keeps_the_items_before_and_rejects_the_rest(tmp_path: Path) -> None:
    file = tmp_path / "events.json"
    text = json.dumps([EVENT, OTHER, EVENT], indent=1)
    cut = text.rindex('"redirect_url"')
    file.write_text(text[:cut], encoding="utf-8")
    found = records(file)
    assert sources(found) == [f"{file}#0", f"{file}#1", f"{file}#2"]
    assert [r.payload for r in found[:2]] == [EVENT, OTHER]
    last = found[2]
    assert last.problem is not None and last.problem.rule == "malformed-json"
    assert "truncated" in last.problem.message
    assert last.text.startswith("{") and last.text == text[text.rindex('{\n  "metadata"') : cut]


def test_concatenated_values_as_kinesis_firehose_writes_them(tmp_path: Path) -> None:
    file = tmp_path / "firehose"
    first = json.dumps(EVENT)
    file.write_text(first + json.dumps(OTHER) + "\n" + json.dumps(EVENT, indent=1), encoding="utf-8")
    found = records(file)
    assert sources(found) == [f"{file}:1:1", f"{file}:1:{len(first) + 1}", f"{file}:2:1"]
    assert [r.payload for r in found] == [EVENT, OTHER, EVENT]


def test_gzip_is_recognised_by_content_and_streamed(tmp_path: Path) -> None:
    named = tmp_path / "events.jsonl.gz"
    named.write_bytes(gzip.compress(f"{json.dumps(EVENT)}\n{json.dumps(OTHER)}\n".encode()))
    unnamed = tmp_path / "archive"
    unnamed.write_bytes(gzip.compress(json.dumps([EVENT, OTHER], indent=2).encode()))
    assert sources(records(named)) == [f"{named}:1", f"{named}:2"]
    assert [r.payload for r in records(unnamed)] == [EVENT, OTHER]


def test_cut_gzip_keeps_what_was_read_and_reports_the_rest(tmp_path: Path) -> None:
    lines = "".join(json.dumps({**EVENT, "n": n, "pad": str(n) * 40}) + "\n" for n in range(3000))
    data = gzip.compress(lines.encode())
    file = tmp_path / "cut.jsonl.gz"
    file.write_bytes(data[: len(data) // 2])
    found = records(file)
    assert all(r.problem is None for r in found[:-1])
    assert 0 < len(found) - 1 < 3000
    assert found[-1].problem is not None and found[-1].problem.rule == "undecodable"
    assert "gzip" in found[-1].problem.message


def test_compact_jws_lines_are_strings(tmp_path: Path) -> None:
    file = tmp_path / "signed.jwt"
    file.write_text("eyJhbGciOiJSUzI1NiJ9.eyJhIjoxfQ.c2ln\neyJhbGciOiJub25lIn0.eyJhIjoxfQ.\n", encoding="utf-8")
    found = records(file)
    assert [r.payload for r in found] == ["eyJhbGciOiJSUzI1NiJ9.eyJhIjoxfQ.c2ln", "eyJhbGciOiJub25lIn0.eyJhIjoxfQ."]
    single = tmp_path / "one.jws"
    single.write_text("eyJhbGciOiJSUzI1NiJ9.eyJhIjoxfQ.c2ln", encoding="utf-8")
    assert [(r.source, r.payload) for r in records(single)] == [(str(single), "eyJhbGciOiJSUzI1NiJ9.eyJhIjoxfQ.c2ln")]


def test_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    file = tmp_path / "bom.jsonl"
    file.write_bytes(b"\xef\xbb\xbf" + f"{json.dumps(EVENT)}\n{json.dumps(OTHER)}\n".encode())
    assert [r.payload for r in records(file)] == [EVENT, OTHER]


def test_directories_are_read_recursively_sorted_by_suffix_without_hidden_files(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a").mkdir()
    (tmp_path / ".hidden").mkdir()
    for name in ("b/2.jsonl", "a/1.json", "a/3.ndjson", "top.txt", ".hidden/x.json", "a/.secret.json", "notes.md"):
        (tmp_path / name).write_text(json.dumps(EVENT) + "\n", encoding="utf-8")
    (tmp_path / "a" / "4.json.gz").write_bytes(gzip.compress(json.dumps(OTHER).encode()))
    expected = ["a/1.json", "a/3.ndjson", "a/4.json.gz", "b/2.jsonl", "top.txt"]
    assert [str(p.relative_to(tmp_path)) for p in input_files(tmp_path)] == expected
    found = records(tmp_path)
    assert sources(found) == [str(tmp_path / name) for name in expected]
    assert found[2].payload == OTHER


def test_skipped_files_are_not_read_even_inside_a_directory(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text(json.dumps(EVENT) + "\n", encoding="utf-8")
    (tmp_path / "out.jsonl").write_text(json.dumps(OTHER) + "\n", encoding="utf-8")
    found = list(read_records([str(tmp_path)], skip=[str(tmp_path / "out.jsonl")]))
    assert [r.payload for r in found] == [EVENT]


def test_stdin_as_text_or_bytes() -> None:
    text = f"{json.dumps(EVENT)}\n{json.dumps(OTHER)}\n"
    assert sources(records("-", stdin=io.StringIO(text))) == ["-:1", "-:2"]
    assert [r.payload for r in records("-", stdin=io.BytesIO(gzip.compress(text.encode())))] == [EVENT, OTHER]
    assert sources(records("-", stdin=io.StringIO(json.dumps([EVENT, OTHER], indent=2)))) == ["-#0", "-#1"]


def test_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        records(tmp_path / "nope.jsonl")


class _Tracked(io.BytesIO):
    """A stream that remembers how far it has been read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.furthest = 0

    def readinto(self, buffer: object) -> int:  # type: ignore[override]
        count = super().readinto(buffer)  # type: ignore[arg-type]
        self.furthest = max(self.furthest, self.tell())
        return count

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.furthest = max(self.furthest, self.tell())
        return data

    def readline(self, size: int | None = -1) -> bytes:
        data = super().readline(size)
        self.furthest = max(self.furthest, self.tell())
        return data


@pytest.mark.parametrize("layout", ["jsonl", "array"])
def test_records_come_before_the_input_is_read_to_its_end(layout: str) -> None:
    events = [{**EVENT, "n": n} for n in range(20_000)]
    if layout == "jsonl":
        data = "".join(json.dumps(e) + "\n" for e in events).encode()
    else:
        data = json.dumps(events, indent=1).encode()
    stream = _Tracked(data)
    found = read_records(["-"], stream)
    assert next(found).payload == events[0]
    assert next(found).payload == events[1]
    assert stream.furthest < len(data) // 10
    assert sum(1 for _ in found) == len(events) - 2


def test_lazy_reading_hands_out_blocks_of_lines_that_read_as_the_records(tmp_path: Path) -> None:
    file = tmp_path / "events.jsonl"
    lines = [json.dumps(EVENT), "", json.dumps(OTHER)[:20], "[1, 2]", "aaa.bbb.ccc"] * 120
    file.write_bytes("\n".join(lines).encode() + b'\n{"caf\xe9": 1}\n')
    eager = records(file)
    lazy = list(read_records([str(file)], lazy=True))
    assert all(isinstance(unit, Lines) and 0 < len(unit) <= LINES_PER_BLOCK for unit in lazy)
    assert len(lazy) > 3  # the lines the reader looked at to decide, then full blocks
    assert [record for unit in lazy for record in unit.records()] == eager
    assert len(eager) == 120 * 5 + 1 and eager[-1].problem is not None and eager[-1].problem.rule == "undecodable"


def test_a_lazy_block_of_long_lines_ends_at_the_line_that_reaches_its_byte_size(tmp_path: Path) -> None:
    file = tmp_path / "events.jsonl"
    long = json.dumps({**EVENT, "body": {"text": "x" * (BLOCK_BYTES // 3)}})
    file.write_text("\n".join([json.dumps(EVENT)] * 2 + [long] * 7) + "\n", encoding="utf-8")
    lazy = list(read_records([str(file)], lazy=True))
    assert [(unit.first, len(unit)) for unit in lazy] == [(1, 2), (3, 3), (6, 3), (9, 1)]
    assert [record for unit in lazy for record in unit.records()] == records(file)
