"""The live-delivery parts on their own: spool, checkpoint, dedup window, rotating files, settings."""

from __future__ import annotations

import asyncio
import gzip
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from translator.errors import TranslatorError
from translator.io.readers import read_records
from translator.live.checkpoint import Checkpoint
from translator.live.commit import LoopCommit
from translator.live.config import TOKEN_VARIABLE, load_settings
from translator.live.dedup import DedupWindow
from translator.live.deliveries import Delivery
from translator.live.sinks import RotatingFiles
from translator.live.spool import Position, Spool, SpoolClosed, SpoolFull


def payloads(count: int, size: int = 40) -> list[bytes]:
    return [f"{number:06d}".encode() + b"x" * size for number in range(count)]


def test_group_commit_shares_fsyncs_and_reads_back_in_order(tmp_path: Path) -> None:
    fsyncs: list[float] = []
    spool = Spool(tmp_path, segment_bytes=4096, on_fsync=fsyncs.append)
    sent = payloads(1000)
    futures = [spool.append(payload) for payload in sent]
    ends = [future.result(30) for future in futures]
    assert len(fsyncs) < len(sent)  # appends queued together shared their fsync
    assert ends == sorted(ends)
    entries = spool.read(spool.start(), 2000)
    assert [entry.payload for entry in entries] == sent
    assert [entry.end for entry in entries] == ends
    middle = entries[499].end
    assert [entry.payload for entry in spool.read(middle, 3)] == sent[500:503]
    spool.close()
    with pytest.raises(SpoolClosed):
        spool.append(b"late").result(5)


def test_a_torn_tail_ends_its_segment_and_a_restart_writes_a_new_one(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    sent = payloads(5)
    for payload in sent:
        spool.append(payload).result(5)
    spool.close()
    [segment] = spool.segments()
    with open(tmp_path / f"{segment:016d}.seg", "ab") as torn:  # a crash in the middle of a write
        torn.write(b"\x00\x00\x01\x00\xde\xad")
    again = Spool(tmp_path)
    again.append(b"after the crash").result(5)
    assert [entry.payload for entry in again.read(again.start(), 100)] == [*sent, b"after the crash"]
    assert len(again.segments()) == 2
    again.close()
    after = Spool(tmp_path / "other", after=7)  # a checkpoint at segment 7 whose files are gone
    assert after.append(b"x").result(5).segment == 8
    after.close()


def test_the_limit_refuses_what_does_not_fit_until_delivered_bytes_are_released(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=300, segment_bytes=100)
    results = []
    for payload in payloads(8):
        try:
            results.append(spool.append(payload).result(5))
        except SpoolFull as exc:
            results.append(exc)
    stored = [result for result in results if isinstance(result, Position)]
    assert len(stored) == 5 and all(isinstance(result, SpoolFull) for result in results[5:])
    spool.release(stored[-1])  # all delivered: the older segments go, nothing counts any more
    assert spool.segments() == [stored[-1].segment]
    assert spool.depth(stored[-1]) == 0
    assert isinstance(spool.append(b"fits again").result(5), Position)
    spool.close()


def test_a_write_error_fails_the_group_and_the_next_group_starts_a_new_segment(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.append(b"first").result(5)
    fd = spool._fd  # the descriptor of the segment being written, closed under the writer's feet
    assert fd is not None
    os.close(fd)
    with pytest.raises(OSError):
        spool.append(b"lost").result(5)
    assert spool.failure is not None and spool.failure.errno == 9  # EBADF, until a group is written
    spool.append(b"second").result(5)
    assert spool.failure is None
    assert [entry.payload for entry in spool.read(spool.start(), 10)] == [b"first", b"second"]
    spool.close()


def test_an_event_loops_appends_share_groups_and_each_gets_its_own_outcome(tmp_path: Path) -> None:
    fsyncs: list[float] = []
    sent = payloads(200)
    spool = Spool(tmp_path, max_bytes=150 * (8 + len(sent[0])), on_fsync=fsyncs.append)  # room for 150 frames
    commit = LoopCommit(spool)

    async def post(batch: list[bytes]) -> list[Position | BaseException]:
        return await asyncio.gather(*(commit.append(payload) for payload in batch), return_exceptions=True)

    outcomes = asyncio.run(post(sent))
    assert len(fsyncs) < 150  # requests waiting together shared their fsync
    stored = [outcome for outcome in outcomes if isinstance(outcome, Position)]
    assert stored == sorted(stored) and len(stored) == 150
    assert all(isinstance(outcome, SpoolFull) for outcome in outcomes[150:])
    assert [entry.payload for entry in spool.read(spool.start(), 500)] == sent[:150]
    spool.close()
    [closed] = asyncio.run(post([b"late"]))
    assert isinstance(closed, SpoolClosed)


@pytest.mark.parametrize("when", ["before it runs", "while it writes"])
@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")  # the spool's writer thread must not die
def test_requests_waiting_on_a_cancelled_group_commit_are_told_their_event_was_not_stored(tmp_path: Path, when: str) -> None:
    spool = Spool(tmp_path)
    commit = LoopCommit(spool)

    async def post() -> list[Position | BaseException]:
        requests = [asyncio.ensure_future(commit.append(payload)) for payload in payloads(5)]
        await asyncio.sleep(0)  # the requests wait; the group's writer task is made
        while when == "while it writes" and not commit._group:
            await asyncio.sleep(0)
        assert commit._writing is not None
        commit._writing.cancel()  # as a shutdown that cancels the loop's tasks does
        return await asyncio.wait_for(asyncio.gather(*requests, return_exceptions=True), 5)

    outcomes = asyncio.run(post())
    assert len(outcomes) == 5 and all(isinstance(outcome, SpoolClosed) for outcome in outcomes), outcomes
    assert commit._waiting == commit._group == [] and commit._writing is None
    spool.append(b"after").result(5)  # the spool's writer lives on (a cancelled waiter is no error of its own)
    assert spool.running
    spool.close()


def test_checkpoint_survives_a_reopen(tmp_path: Path) -> None:
    checkpoint = Checkpoint(tmp_path)
    assert checkpoint.load() is None
    checkpoint.save(Position(3, 1234))
    checkpoint.save(Position(4, 10))
    assert Checkpoint(tmp_path).load() == Position(4, 10)
    assert [path.name for path in tmp_path.iterdir()] == ["checkpoint.json"]


def test_dedup_window_forgets_by_age_and_by_count() -> None:
    now = [0.0]
    window = DedupWindow(seconds=10, size=3, clock=lambda: now[0])
    window.add("a")
    assert "a" in window and "b" not in window
    now[0] = 11
    assert "a" not in window
    for key in "bcde":
        window.add(key)
    assert "b" not in window and all(key in window for key in "cde")


def test_rotating_files_rotate_by_size_and_gzip_members_read_back(tmp_path: Path) -> None:
    files = RotatingFiles(tmp_path, "events", max_bytes=200, gzip=True)
    lines = [f'{{"n": {number}, "pad": "{"x" * 50}"}}\n'.encode() for number in range(30)]
    for start in range(0, 30, 5):
        for line in lines[start : start + 5]:
            files.write_line(line)
        files.flush()
    files.write_line(b"discarded\n")
    files.discard()
    files.close()
    written = sorted(tmp_path.glob("events-*.jsonl.gz"))
    assert len(written) > 1
    assert b"".join(gzip.decompress(path.read_bytes()) for path in written) == b"".join(lines)
    records = list(read_records([str(path) for path in written]))
    assert [record.payload["n"] for record in records] == list(range(30))


def test_rotating_files_rotate_by_age(tmp_path: Path) -> None:
    now = [1_000_000.0]
    files = RotatingFiles(tmp_path, "rejects", max_seconds=60, clock=lambda: now[0])
    for number in range(4):
        files.write_line(b"{}\n")
        files.flush()
        now[0] += 40  # the second flush finds the file 40 s old, the third 80 s: a new file
    files.close()
    assert [len(path.read_bytes()) for path in sorted(tmp_path.glob("rejects-*.jsonl"))] == [6, 6]


def test_deliveries_round_trip_and_become_records() -> None:
    delivery = Delivery("sqs", "sqs:m1", b'{"MessageId": "m1", "Body": "{}"}', received=1.5)
    assert Delivery.decode(delivery.encode()) == delivery
    [record] = Delivery("https", "https:x", b"\xff{}").records()
    assert record.problem is not None and record.problem.rule == "undecodable"


def test_settings_from_toml_yaml_and_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "live.toml"
    toml.write_text('port = 9000\njwt_issuers = ["https://a.example"]\ngzip = true\n', encoding="utf-8")
    settings = load_settings(str(toml), {"port": 9001})
    assert (settings.port, settings.issuers, settings.gzip, settings.to) == (9001, ("https://a.example",), True, "caliper")
    yaml_file = tmp_path / "live.yaml"
    yaml_file.write_text("to: canvas\nids: local\njwt_issuers: ['*']\n", encoding="utf-8")
    settings = load_settings(str(yaml_file))
    assert (settings.to, settings.ids, settings.issuers) == ("canvas", "local", None)
    monkeypatch.setenv(TOKEN_VARIABLE, "from-the-environment")
    assert load_settings().caliper_token == "from-the-environment"
    for values, message in [
        ({"prot": 1}, "unknown setting 'prot'"),
        ({"port": "80"}, "'port' must be int"),
        ({"gzip": 1}, "'gzip' must be bool"),
        ({"to": "xml"}, "one of caliper, canvas"),
        ({"send_time": "soon"}, "send_time must be"),
        ({"to": "canvas", "caliper_endpoint": "http://x"}, "use to = caliper"),
    ]:
        with pytest.raises(TranslatorError, match=message):
            load_settings(None, values)
    broken = tmp_path / "broken.toml"
    broken.write_text("port = \n", encoding="utf-8")
    with pytest.raises(TranslatorError, match="cannot be read"):
        load_settings(str(broken))


def test_concurrent_appends_from_threads_all_land(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    results: list[Position] = []
    lock = threading.Lock()

    def append(start: int) -> None:
        for payload in payloads(50)[start : start + 25]:
            position = spool.append(payload).result(10)
            with lock:
                results.append(position)

    threads = [threading.Thread(target=append, args=(start,)) for start in (0, 25)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(set(results)) == 50
    assert sorted(entry.payload for entry in spool.read(spool.start(), 100)) == payloads(50)
    spool.close()


def test_the_core_works_without_the_serve_extra(tmp_path: Path) -> None:
    """The serve extra is optional: without its libraries the library and `convert` work, and
    `serve` says what to install instead of failing with a traceback."""
    event = tmp_path / "event.json"
    event.write_text(
        '{"metadata": {"event_name": "logged_in", "event_time": "2019-11-01T19:11:01.335Z", "user_id": "21070000000000001", '
        '"hostname": "canvas.example.edu"}, "body": {"redirect_url": "https://canvas.example.edu/"}}',
        encoding="utf-8",
    )
    script = (
        "import io, sys\n"
        "for name in ('starlette', 'uvicorn', 'prometheus_client', 'boto3', 'httpx'):\n    sys.modules[name] = None\n"
        "from translator.cli import run\n"
        "out, err = io.StringIO(), io.StringIO()\n"
        f"assert run(['convert', '--to', 'caliper', {str(event)!r}], io.StringIO(), out, err) == 0, err.getvalue()\n"
        "assert '\"dataVersion\"' in out.getvalue()\n"
        "err = io.StringIO()\n"
        "assert run(['serve', '--port', '1'], io.StringIO(), io.StringIO(), err) == 2\n"
        "print(err.getvalue())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "pip install 'canvas-caliper-translator[serve]'" in done.stdout
