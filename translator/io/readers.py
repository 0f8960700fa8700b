"""Read records from files, directories and stdin, streaming, without ever failing on bad input.

What a file holds is decided from its content, not its name:

* **JSON Lines** (one record per line) when the first non-blank line parses on its own (as JSON,
  or as a compact JWS ``xxx.yyy.zzz``) and more lines follow. A line that does not parse is one
  record with a problem; the next line is read as usual. Whole files are never loaded.
  A first line that does not parse decides nothing by itself: JSON Lines still, when one of the
  next lines is an object, array or JWS on its own unindented line.
* **A document** otherwise: one JSON value, possibly pretty-printed, or several concatenated
  (as Kinesis Firehose writes them, ``}{`` with no separator). The items of a top-level array are
  streamed one by one, so a large array does not need to fit in memory either.
* gzip is recognised by its magic bytes (``.gz`` or not) and decompressed as a stream.

Every record says where it came from (`Record.source`):

=====================  ====================================================
``file:12``            line 12 of a JSON Lines file (``-:12`` for stdin)
``file:12#3``          item 3 of a JSON array written on line 12
``file``               a file holding one JSON value (or one line)
``file#3``             item 3 of a top-level JSON array
``file:40:1``          a value in a file of concatenated JSON values
=====================  ====================================================

Input that cannot be read becomes a `Record` with a `problem` (rule ``malformed-json`` with its
line and column, also for numbers JSON forbids or Python will not read: NaN, Infinity, 1e999, an
integer of more than 4,300 digits; ``undecodable`` for bytes that are not UTF-8 or gzip data that
is corrupt or cut short) and the original `text`, so a caller can reject it without losing it;
reading goes on with the next line (in a document, the next value or element: see `_Document._resync`). I/O
errors (a missing file) are raised as `OSError`.
"""

from __future__ import annotations

import bisect
import codecs
import gzip
import io
import itertools
import json
import re
import sys
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any, Literal, cast, overload

from ..errors import Problem
from .jsontext import DECODE_ERRORS, LENIENT, STRICT, NotJsonNumber, decode, loads, readable

SUFFIXES = (".json", ".jsonl", ".ndjson", ".jws", ".jwt", ".txt")
CHUNK = 1 << 16
LINES_PER_BLOCK = 256  # JSON Lines lines per `Lines` block with `lazy`, at most,
BLOCK_BYTES = 1 << 20  # and bytes: a block ends at the line that reaches this size
RESYNC_ATTEMPTS = 16  # places parsed in vain after an element that does not read, before the rest is one reject
LOOKAHEAD = 16  # content lines looked at, after a first line that does not parse, to tell JSON Lines

COMPACT_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of bytes that are not UTF-8
_WHITESPACE = " \t\r\n"
_LINE_ERRORS = (UnicodeDecodeError, *DECODE_ERRORS)  # a line `_object_line` leaves to the rest of `_line_records`
_REFUSED = object()  # a complete value holding a number that is refused (see `jsontext.NotJsonNumber`)


@dataclass(slots=True)  # not frozen: one is made for every record, and a frozen one costs three times as much to make
class Record:
    """One record as read: its `payload`, or the `problem` that kept it from being read.

    `text` is the record's original text (bytes that are not UTF-8 shown as U+FFFD), kept so a
    rejected record can be written out as it came in.
    """

    source: str
    text: str
    payload: Any = None
    problem: Problem | None = None


@dataclass(frozen=True, slots=True)
class Lines:
    """Consecutive lines of a JSON Lines file, not yet decoded or parsed: what `read_records(lazy=True)`
    hands out so that worker processes, not the reader, do that work (`records()` does it)."""

    name: str
    first: int  # the line number of lines[0]
    lines: list[bytes]

    def records(self) -> Iterator[Record]:
        for offset, line in enumerate(self.lines):
            yield from _line_records(self.name, self.first + offset, line)

    def __len__(self) -> int:
        return len(self.lines)

    @property
    def size(self) -> int:
        """Bytes, newlines included."""
        return sum(map(len, self.lines))


@overload
def read_records(
    paths: Iterable[str], stdin: IO[Any] | None = None, *, skip: Iterable[str] = (), lazy: Literal[False] = False
) -> Iterator[Record]: ...


@overload
def read_records(
    paths: Iterable[str], stdin: IO[Any] | None = None, *, skip: Iterable[str] = (), lazy: bool
) -> Iterator[Record | Lines]: ...


def read_records(
    paths: Iterable[str], stdin: IO[Any] | None = None, *, skip: Iterable[str] = (), lazy: bool = False
) -> Iterator[Record | Lines]:
    """Every record in `paths` (files, directories, ``-`` for `stdin`), in order, streaming.

    Files in `skip` are never read, even when a directory holds them: a run writing its output
    into a directory it reads would otherwise read its own output. With `lazy`, JSON Lines lines
    come in blocks of `Lines`, undecoded and unparsed, for worker processes to read.
    """
    skipped = {Path(path).resolve() for path in skip}
    for path in paths:
        if path == "-":
            yield from _read_stream(_binary(stdin if stdin is not None else sys.stdin), "-", lazy)
        elif Path(path).is_dir():
            for file in input_files(path):
                if file.resolve() not in skipped:
                    yield from _read_file(str(file), lazy)
        elif Path(path).resolve() not in skipped:
            yield from _read_file(path, lazy)


def input_files(directory: str | Path) -> list[Path]:
    """The event files below `directory`: recursive, sorted, hidden entries skipped."""
    root = Path(directory)
    found = []
    for file in root.rglob("*"):
        relative = file.relative_to(root).parts
        if any(part.startswith(".") for part in relative) or not file.is_file():
            continue
        name = file.name.lower().removesuffix(".gz")
        if name.endswith(SUFFIXES):
            found.append(file)
    return sorted(found)


def _read_file(path: str, lazy: bool) -> Iterator[Record | Lines]:
    with open(path, "rb") as stream:
        yield from _read_stream(stream, path, lazy)


def _read_stream(raw: IO[bytes], name: str, lazy: bool) -> Iterator[Record | Lines]:
    stream = _Guarded(_decompressed(raw))
    yield from _records(stream, name, lazy)
    if stream.error is not None:
        message = f"the gzip data is corrupt or cut short after line {stream.lines}: {stream.error}"
        yield Record(f"{name}:{stream.lines + 1}", "", problem=Problem("", message, "undecodable"))


class _Guarded:
    """A decompressed stream that ends where its gzip data turns out corrupt or cut short, keeping
    the `error`, so every line read before it still comes out (a lazy block half built too)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.error: Exception | None = None
        self.lines = 0

    def __iter__(self) -> Iterator[bytes]:
        try:
            for line in self.stream:
                self.lines += 1
                yield line
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            self.error = exc

    def take(self, count: int) -> list[bytes]:
        """Up to `count` more lines, fewer at the end of the stream or where it goes bad: read in
        one C loop, not a line at a time through `__iter__` (what the lazy reader's blocks cost)."""
        lines: list[bytes] = []
        if self.error is not None:
            return lines
        try:
            lines.extend(itertools.islice(self.stream, count))  # the lines before an error stay in `lines`
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            self.error = exc
        self.lines += len(lines)
        return lines

    def read(self, size: int) -> bytes:
        if self.error is not None:
            return b""
        try:
            data = self.stream.read(size)
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            self.error = exc
            return b""
        self.lines += data.count(b"\n")
        return data


def _decompressed(raw: IO[bytes]) -> IO[bytes]:
    buffered: Any = raw if hasattr(raw, "peek") else io.BufferedReader(cast(io.RawIOBase, raw))
    if buffered.peek(2)[:2] == b"\x1f\x8b":
        return cast(IO[bytes], gzip.GzipFile(fileobj=buffered, mode="rb"))
    return cast(IO[bytes], buffered)


# -- deciding between JSON Lines and a document ---------------------------------------------


def _records(stream: _Guarded, name: str, lazy: bool) -> Iterator[Record | Lines]:
    lines = enumerate(stream, start=1)
    consumed: list[tuple[int, bytes]] = []  # every line read before deciding, blank ones too
    first = _next_content_line(lines, consumed)
    if first is None:
        return
    text = _decode(first[1])
    if _parse_alone(text) is not None or _UNDECODABLE.search(text):
        if _next_content_line(lines, consumed) is None and not _UNDECODABLE.search(text):
            yield from parse_text(name, text.strip())
            return
        json_lines = True
    elif text.strip() in ("{", "[") or _concatenated(text):
        json_lines = False
    else:
        # A first line that does not parse: a pretty-printed document, or JSON Lines whose first
        # records are broken. The next lines decide: JSON Lines go on with a whole record.
        json_lines = False
        for _ in range(LOOKAHEAD):
            following = _next_content_line(lines, consumed)
            if following is None or _record_line(following[1]):
                json_lines = following is not None
                break
    if not json_lines:
        chunks = itertools.chain([b"".join(line for _, line in consumed)], iter(lambda: stream.read(CHUNK), b""))
        yield from _Document(name, _decoded(chunks)).records()
        return
    if lazy:
        yield Lines(name, consumed[0][0], [line for _, line in consumed])
        yield from _blocks(stream, name, consumed[-1][0] + 1)
        return
    for number, line in itertools.chain(consumed, lines):
        yield from _line_records(name, number, line)


def _blocks(stream: _Guarded, name: str, number: int) -> Iterator[Lines]:
    """The rest of a JSON Lines stream, from line `number` on, in `Lines` of `LINES_PER_BLOCK`
    lines, or fewer: a block ends at the line that reaches `BLOCK_BYTES`."""
    pending: list[bytes] = []  # lines read past the end of the last block
    while lines := pending + stream.take(LINES_PER_BLOCK - len(pending)):
        ends = list(itertools.accumulate(map(len, lines)))
        cut = bisect.bisect_left(ends, BLOCK_BYTES) + 1  # past the end when no line reaches it
        lines, pending = lines[:cut], lines[cut:]
        yield Lines(name, number, lines)
        number += len(lines)


def _next_content_line(lines: Iterator[tuple[int, bytes]], consumed: list[tuple[int, bytes]]) -> tuple[int, bytes] | None:
    for number, line in lines:
        consumed.append((number, line))
        if line.strip():
            return number, line
    return None


def _parse_alone(text: str) -> tuple[Any] | None:
    """`(value,)` when `text` is one complete JSON value or compact JWS by itself, else None;
    the value is `_REFUSED` when it holds a number that is refused."""
    stripped = text.strip()
    if COMPACT_JWS.match(stripped):
        return (stripped,)
    try:
        return (loads(stripped),)
    except NotJsonNumber:
        return (_REFUSED,)
    except (ValueError, RecursionError):
        return None


def _record_line(line: bytes) -> bool:
    """Whether a line reads as a JSON Lines record: an object, array or JWS (or one refused for a
    number) alone on a line that is not indented, as no line of a pretty-printed document is."""
    if line[:1].isspace():
        return False
    parsed = _parse_alone(_decode(line))
    return parsed is not None and (parsed[0] is _REFUSED or isinstance(parsed[0], (dict, list, str)))


def _concatenated(text: str) -> bool:
    """Whether `text` is several JSON values one after the other (Kinesis Firehose writes them so)."""
    pos, values, stripped = 0, 0, text.strip()
    try:
        while pos < len(stripped):
            _, pos = LENIENT.raw_decode(stripped, pos)
            values += 1
            while pos < len(stripped) and stripped[pos] in _WHITESPACE:
                pos += 1
    except (ValueError, RecursionError):
        return False
    return values > 1


# -- JSON Lines -----------------------------------------------------------------------------


def _object_line(name: str, number: int, line: bytes) -> Record | None:
    """The record of a line holding one JSON object, the commonest line, read straight from its
    bytes; None for any other line, or one msgspec leaves to the standard library (the rest of
    `_line_records` reads it): the same record, in about half the time."""
    if line[:1] != b"{":  # no BOM, no leading space, not an array or JWS
        return None
    try:
        text = line.decode("utf-8")
        value = decode(line)
    except _LINE_ERRORS:
        return None
    return Record(f"{name}:{number}", text.rstrip("\r\n"), value)


def _line_records(name: str, number: int, line: bytes) -> Iterator[Record]:
    if (record := _object_line(name, number, line)) is not None:  # the commonest line, straight from its bytes
        yield record
        return
    try:  # valid UTF-8, the common case, holds nothing undecodable: no need to look
        text, valid = line.decode("utf-8").removeprefix("\ufeff"), True
    except UnicodeDecodeError:
        text, valid = _decode(line), False
    text = text.rstrip("\r\n")
    if not text or text.isspace():
        return
    source = f"{name}:{number}"
    rejected = None if valid else undecodable(source, text, number)
    if rejected is not None:
        yield rejected
    else:
        yield from parse_text(source, text, number)


def undecodable(source: str, text: str, number: int | None = None) -> Record | None:
    """The reject of a text decoded with surrogateescape that holds bytes that are not UTF-8."""
    if text.isascii():  # known without a scan; the search costs 12 µs on a 2 KB signed payload
        return None
    bad = _UNDECODABLE.search(text)
    if not bad:
        return None
    where = f"line {number}, column {bad.start() + 1}" if number is not None else f"column {bad.start() + 1}"
    return Record(source, _printable(text), problem=Problem("", f"{where}: bytes that are not UTF-8", "undecodable"))


def parse_text(source: str, text: str, number: int | None = None) -> Iterator[Record]:
    """The record(s) of one line of text: a compact JWS, a JSON value (an array gives one record
    per item), or the reject of malformed JSON, located by `number` when the line has one."""
    stripped = text.strip()
    if COMPACT_JWS.match(stripped):
        yield Record(source, stripped, stripped)
        return
    try:
        value = loads(text)
    except json.JSONDecodeError as exc:
        line = number if number is not None else exc.lineno
        yield Record(source, text, problem=_malformed(exc.msg, line, exc.colno, exc.pos >= len(text.rstrip())))
        return
    except NotJsonNumber as exc:
        where = f"line {number}: " if number is not None else ""
        yield Record(source, text, problem=Problem("", f"{where}{exc}", "malformed-json"))
        return
    except RecursionError:
        where = f"line {number}: " if number is not None else ""
        yield Record(source, text, problem=Problem("", f"{where}JSON nested too deeply", "malformed-json"))
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield Record(f"{source}#{index}", readable(item), item)
    else:
        yield Record(source, text, value)


# -- documents ------------------------------------------------------------------------------


class _Document:
    """The top-level JSON values of a character stream; top-level arrays are streamed item by item.

    `self.buffer[self.pos:]` is the text not consumed yet; `self.line`/`self.column` locate
    `self.buffer[0]` in the file, so problems can point at a line and column. Reading more text
    drops `self.buffer[:self.pos]`, so buffer indexes are only good until the next `_fill`.
    """

    def __init__(self, name: str, chunks: Iterator[str]) -> None:
        self.name = name
        self.chunks = chunks
        self.buffer = ""
        self.pos = 0
        self.line = 1
        self.column = 1
        self.eof = False
        self.failed = False  # the rest of the stream was one reject: nothing more to read
        self.resynced = False  # the last value did not read, and `pos` is at the next element
        self.stopped_at: int | None = None  # where the last parse that failed stopped (None: nested too deeply)
        self.wasted = 0  # characters parsed in vain (see `_wasteful`)
        self.dropped = 0  # characters of the stream before `buffer`

    def records(self) -> Iterator[Record]:
        values = 0
        while not self.failed and (char := self._skip_whitespace()):
            line, column = self._where(self.pos)
            located = f"{self.name}:{line}:{column}"
            if char == "[":
                yield from self._array(self.name if values == 0 else located)
            else:
                record = self._value(located, "}", self._line_column())
                if values == 0 and not self.failed and not self._skip_whitespace():
                    record = replace(record, source=self.name)
                yield record
            values += 1

    def _array(self, prefix: str) -> Iterator[Record]:
        self.pos += 1
        if self._skip_whitespace() == "]":
            self.pos += 1
            return
        index = 0
        column = self._line_column()  # of every element, when the first starts a line (pretty-printed)
        while not self.failed:
            record = self._value(f"{prefix}#{index}", ",", column)
            yield record
            index += 1
            if self.failed:
                return
            if record.problem is not None and self.resynced:
                continue  # `pos` is at the next element
            char = self._skip_whitespace()
            if char == "]":
                self.pos += 1
                return
            if char == ",":
                self.pos += 1
                self._skip_whitespace()
                continue
            # neither: what follows is rejected up to the next element (or is the rest of the stream)
            yield self._resync(f"{prefix}#{index}", self._failed_at("Expecting ',' delimiter or ']'", self.pos), ",", column)
            index += 1

    def _value(self, source: str, separator: str, column: int) -> Record:
        """The record of the JSON value at `pos`, moving past it; on failure, the reject of the text
        up to the next element that reads (`_resync`), or of the rest of the stream."""
        parsed = self._decode(self.pos)
        if isinstance(parsed, Problem):
            if self.stopped_at is None or self._wasteful(self.stopped_at - self.pos):
                return self._rest_rejected(source, parsed, separator)  # nested too deeply, or a pattern of such failures
            return self._resync(source, parsed, separator, column)
        self.resynced = False
        value, end, refused = parsed
        start, self.pos = self.pos, end
        text = self.buffer[start:end]
        bad = _UNDECODABLE.search(text)
        if bad:
            return Record(source, _printable(text), problem=self._undecodable(start + bad.start()))
        if refused is not None:
            line, column = self._where(start)
            return Record(source, text, problem=Problem("", f"line {line}, column {column}: {refused}", "malformed-json"))
        return Record(source, text, value)

    def _decode(self, at: int) -> tuple[Any, int, NotJsonNumber | None] | Problem:
        """`(value, end, refused number)` of the JSON value at buffer index `at` (filling the buffer
        while the text runs out; `pos` stays, so `at - pos` stays good), or the problem that stops it."""
        while True:
            offset = at - self.pos
            try:
                try:
                    value, end = STRICT.raw_decode(self.buffer, at)
                    refused = None
                except NotJsonNumber as exc:  # skipped whole: the next value can still be read
                    refused, (value, end) = exc, LENIENT.raw_decode(self.buffer, at)
            except json.JSONDecodeError as exc:
                ran_out = exc.msg.startswith("Unterminated string") or not self.buffer[exc.pos :].strip()
                if ran_out and self._fill():
                    at = self.pos + offset
                    continue
                self.stopped_at = exc.pos
                return self._failed_at(exc.msg, exc.pos)
            except RecursionError:
                self.stopped_at = None
                return self._failed_at("JSON nested too deeply", at)
            if end < len(self.buffer) or self.eof:
                return value, end, refused
            self._fill()  # a number at the end of the buffer may go on in the next chunk
            at = self.pos + offset

    def _failed_at(self, message: str, at: int) -> Problem:
        line, column = self._where(at)
        at_end = self.eof and not self.buffer[at:].strip()
        return _malformed(message, line, column, at_end)

    def _line_column(self) -> int:
        """Where `pos` is on its line (1 for the first character) when it is pretty-printed: only
        whitespace before it there, and a line break after its ``{``; else 0."""
        if self.buffer[self.pos + 1 : self.pos + 3].lstrip("\r")[:1] != "\n":
            return 0
        line_start = self.buffer.rfind("\n", 0, self.pos)
        if line_start >= 0:
            return self.pos - line_start if not self.buffer[line_start + 1 : self.pos].strip() else 0
        # the line began before the buffer: only the first line of the stream is known to start here
        return self.pos + 1 if self.column == 1 and not self.buffer[: self.pos].strip() else 0

    def _resync(self, source: str, problem: Problem, separator: str, column: int) -> Record:
        """The reject of the element at `pos`, which does not read: its text runs to where the next
        element starts (`pos` is moved there and `resynced` set), else to the end of the stream.

        Pretty-printed (`column`: elements start their lines there), the next element is the next
        ``{`` that starts a line at that column. Otherwise it is the next ``{`` that opens as this
        element did (``{"metadata":``, say), or one that follows `separator` where a whole value
        parses, followed by what may follow an element: ``}`` between concatenated values, ``,`` in
        an array whose bad element does not open with a key (in an array the items of a list
        inside an element follow a ``,`` too). Each ``{`` is looked at once, and after `RESYNC_ATTEMPTS` places parsed in vain
        the rest of the stream is the reject, so the work stays linear in the text, whatever it holds."""
        head = self.buffer[self.pos : self.pos + 32]
        opening = head[: head.find(":") + 1] if head.find(":") > 1 else None  # up to its first key
        search = self.pos + 1
        attempts = 0
        while attempts < RESYNC_ATTEMPTS:
            found = self.buffer.find("{", search)
            if found < 0:
                offset = len(self.buffer) - self.pos
                if not self._fill():
                    break
                search = self.pos + offset
                continue
            if column:
                start = found - column
                if start >= self.pos and self.buffer[start] == "\n" and not self.buffer[start + 1 : found].strip():
                    return self._rejected_up_to(source, problem, found, separator)
            elif opening is not None and self.buffer.startswith(opening, found):
                return self._rejected_up_to(source, problem, found, separator)
            elif (opening is None or separator == "}") and self._follows(found, separator):
                offset = found - self.pos
                parsed = self._decode(found)
                found = self.pos + offset
                if not isinstance(parsed, Problem) and self._may_follow(parsed[1], separator):
                    return self._rejected_up_to(source, problem, found, separator)
                attempts += 1
            search = found + 1
        return self._rest_rejected(source, problem, separator)

    def _wasteful(self, scanned: int) -> bool:
        """Count `scanned` characters parsed in vain: whether, with those before, they pass four
        times the text read so far (and a mebibyte). Each element that does not read is parsed up
        to where it fails, which may lie many elements on (a bracket left open): only input made
        to do so goes past this, and then the rest of the stream is one reject, not a hang."""
        self.wasted += scanned
        return self.wasted > 4 * (self.dropped + self.pos) + (1 << 20)

    def _rest_rejected(self, source: str, problem: Problem, separator: str) -> Record:
        """The reject of everything from `pos` to the end of the stream: nothing after it can be trusted."""
        self.failed = True
        while self._fill():
            pass
        return self._rejected_up_to(source, problem, len(self.buffer), separator)

    def _follows(self, at: int, separator: str) -> bool:
        """Whether `separator` comes before `at`, whitespace aside (which no other ``{`` shares)."""
        before = at - 1
        while before > self.pos and self.buffer[before] in _WHITESPACE:
            before -= 1
        return before > self.pos and self.buffer[before] == separator

    def _may_follow(self, end: int, separator: str) -> bool:
        """Whether what follows a value ending at `end` may follow an element: in an array a
        ``,`` or ``]``; between concatenated values another one; or the end of the stream."""
        while True:
            while end < len(self.buffer) and self.buffer[end] in _WHITESPACE:
                end += 1
            if end < len(self.buffer):
                return self.buffer[end] in (",]" if separator == "," else "{[")
            offset = end - self.pos
            if not self._fill():
                return True
            end = self.pos + offset

    def _rejected_up_to(self, source: str, problem: Problem, end: int, separator: str) -> Record:
        """The reject of the text from `pos` to `end`; `pos` moves to `end`."""
        start, self.pos = self.pos, end
        text = self.buffer[start:end]
        if not self.failed:  # up to the next element: without the separator and space between them
            text = text.rstrip(_WHITESPACE)
            if separator == "," and text.endswith(","):
                text = text[:-1].rstrip(_WHITESPACE)
        self.resynced = not self.failed
        bad = _UNDECODABLE.search(text)
        if bad:
            return Record(source, _printable(text), problem=self._undecodable(start + bad.start()))
        return Record(source, text, problem=problem)

    def _undecodable(self, at: int) -> Problem:
        line, column = self._where(at)
        return Problem("", f"line {line}, column {column}: bytes that are not UTF-8", "undecodable")

    def _skip_whitespace(self) -> str:
        """The next character that is not whitespace (`pos` moved to it), or "" at the end."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._fill():
                return ""

    def _fill(self) -> bool:
        """Drop the consumed text and read at least as much again; False at the end of the stream."""
        if self.eof:
            return False
        consumed = self.buffer[: self.pos]
        self.dropped += self.pos
        newlines = consumed.count("\n")
        if newlines:
            self.line += newlines
            self.column = len(consumed) - consumed.rfind("\n")
        else:
            self.column += len(consumed)
        pending = [self.buffer[self.pos :]]
        wanted = max(CHUNK, len(pending[0]))
        size = 0
        while size < wanted:
            chunk = next(self.chunks, None)
            if chunk is None:
                self.eof = True
                break
            pending.append(chunk)
            size += len(chunk)
        self.buffer = "".join(pending)
        self.pos = 0
        return size > 0

    def _where(self, at: int) -> tuple[int, int]:
        newline = self.buffer.rfind("\n", 0, at)
        line = self.line + self.buffer.count("\n", 0, at)
        return line, (at - newline if newline >= 0 else self.column + at)


# -- text helpers ---------------------------------------------------------------------------


def _malformed(message: str, line: int, column: int, at_end: bool) -> Problem:
    """`at_end`: the parser ran out of text; so it did inside a string (JSON strings hold no newline)."""
    cut = " (the text ends there: truncated?)" if at_end or message.startswith("Unterminated string") else ""
    return Problem("", f"malformed JSON at line {line}, column {column}: {message}{cut}", "malformed-json")


def _decode(line: bytes) -> str:
    return line.decode("utf-8", "surrogateescape").removeprefix("\ufeff")


def _decoded(chunks: Iterable[bytes]) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    first = True
    for chunk in chunks:
        text = decoder.decode(chunk)
        if first and text:
            text, first = text.removeprefix("\ufeff"), False
        if text:
            yield text
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail


def _printable(text: str) -> str:
    """`text` with undecodable bytes as U+FFFD, so it can be written out as UTF-8."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


class _TextAsBytes(io.RawIOBase):
    """A text stream (e.g. `io.StringIO` in tests) seen as UTF-8 bytes."""

    def __init__(self, text: IO[str]) -> None:
        self._text = text
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._pending:
            chunk = self._text.read(CHUNK)
            if not chunk:
                return 0
            self._pending = chunk.encode("utf-8", "surrogateescape")
        size = min(len(target), len(self._pending))
        target[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def _binary(stream: IO[Any]) -> IO[bytes]:
    if hasattr(stream, "buffer"):
        return stream.buffer
    if isinstance(stream, io.TextIOBase):
        return io.BufferedReader(_TextAsBytes(stream))
    return stream
