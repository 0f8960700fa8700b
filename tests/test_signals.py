"""A real `translator convert` on a file mixing every attack of issue 15 with valid events (and
documents with a bad element in the middle): every record is converted or rejected, the output
is valid, the summary is printed; the same when SIGTERM (or a Ctrl-C to the process group) stops
it at several points, on 1 and 4 workers. `validate` and `drift` stop on a signal the same way."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import pytest

from support import BAD_LINES, BROKEN, JWS, LINE, PRETTY

pytestmark = pytest.mark.slow  # real translator convert processes, signalled: `pytest -m ""` runs it (README, Tests)

SUMMARY = re.compile(r"translator convert: (\d+) records? read, (\d+) converted, (\d+) rejected")
ATTACKS = [b"{broken", b"{broken", JWS.encode(), *(case[1] for case in BAD_LINES), LINE.replace('"logged_in"', '["logged_in"]').encode()]
REPEAT = 400  # the attacks and 10 valid events, this many times: about 10,000 records


def mixed_lines() -> list[bytes]:
    block = [*ATTACKS, *[LINE.encode()] * 10]
    return [line for _ in range(REPEAT) for line in block]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A directory: the mixed JSON Lines, a copy gzipped, one cut short; with the records it holds."""
    root = tmp_path_factory.mktemp("attacks")
    lines = mixed_lines()
    data = b"\n".join(lines) + b"\n"
    (root / "mixed.jsonl").write_bytes(data)
    (root / "mixed.jsonl.gz").write_bytes(gzip.compress(data, mtime=0))
    cut = gzip.compress(b"\n".join(lines[:100]) + b"\n", mtime=0)
    (root / "cut.jsonl.gz").write_bytes(cut[: len(cut) // 2])
    # a pretty-printed array and a Firehose document, each with a bad element in the middle: 3 records each
    (root / "pretty.json").write_text("[\n" + ",\n".join([PRETTY, BROKEN, PRETTY]) + "\n]\n")
    (root / "firehose.json").write_text(LINE + LINE.replace('"logged_in"', "logged_in") + LINE)
    return root, 2 * len(lines) + 6  # records in the whole files; the cut one adds what it has and one reject


def start(*argv: str, stdin: Any = subprocess.DEVNULL, session: bool = False) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "translator", "convert", "--to", "caliper", *argv]
    return subprocess.Popen(command, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=session)


def handles_sigterm(process: subprocess.Popen[bytes]) -> bool:
    """Whether the process has its SIGTERM handler installed (Linux: SigCgt in /proc)."""
    try:
        status = Path(f"/proc/{process.pid}/status").read_text()
    except OSError:
        return False
    caught = int(re.search(r"SigCgt:\s*([0-9a-f]+)", status).group(1), 16)  # type: ignore[union-attr]
    return bool(caught & (1 << (signal.SIGTERM - 1)))


def wait_for_handler(process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while not handles_sigterm(process):
        assert process.poll() is None, process.communicate()[1].decode()
        assert time.monotonic() < deadline
        time.sleep(0.02)


def output_records(path: Path) -> list[Any]:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    if path.name.removesuffix(".gz").endswith(".json"):
        return json.loads(data)  # type: ignore[no-any-return]
    assert data == b"" or data.endswith(b"\n")
    return [json.loads(line) for line in data.splitlines()]


def check_accounted(process: subprocess.Popen[bytes], out: Path, rejects: Path) -> tuple[int, int, int, str]:
    _, err_bytes = process.communicate(timeout=120)
    err = err_bytes.decode()
    assert "Traceback" not in err and "Error" not in err, err
    summary = SUMMARY.search(err)
    assert summary, err
    read, converted, rejected = map(int, summary.groups())
    assert converted + rejected == read
    assert len(output_records(out)) == converted
    assert len(rejects.read_text().splitlines()) == rejected
    return process.returncode, read, converted, err


@pytest.mark.parametrize("workers", ["1", "4"])
def test_every_attack_mixed_with_valid_events_is_accounted_for(tmp_path: Path, inputs: tuple[Path, int], workers: str) -> None:
    root, lines = inputs
    out, rejects = tmp_path / "out.jsonl", tmp_path / "rejects.jsonl"
    process = start(str(root), "-o", str(out), "--rejects", str(rejects), "--workers", workers)
    code, read, converted, err = check_accounted(process, out, rejects)
    assert code == 1
    assert converted >= 2 * 10 * REPEAT  # every valid event of both whole files (and some of the cut one's)
    assert read > lines  # every line of both whole files, and the cut file's lines and its one reject
    assert "rejected by reason:" in err


def feed(stdin: IO[bytes], lines: list[bytes]) -> None:
    try:
        stdin.write(b"\n".join(lines) + b"\n")
        stdin.flush()
    except BrokenPipeError:  # the run stopped reading, as it should
        pass


def signal_while_feeding(process: subprocess.Popen[bytes], lines: list[bytes], at: int, number: int) -> None:
    """`at` lines written to the process's stdin, then the signal, then the rest."""
    assert process.stdin is not None
    first = threading.Thread(target=feed, args=(process.stdin, lines[:at]))
    first.start()
    wait_for_handler(process)
    first.join()
    time.sleep(0.2)
    process.send_signal(number)
    rest = threading.Thread(target=feed, args=(process.stdin, lines[at:]))
    rest.start()
    rest.join(timeout=120)  # the run stops reading: the pipe breaks, or takes it all


@pytest.mark.parametrize("workers", ["1", "4"])
@pytest.mark.parametrize("at, layout", [(0, "out.jsonl"), (2_000, "out.json.gz"), (6_000, "out.json")])
def test_sigterm_mid_run_loses_nothing_and_closes_the_output(tmp_path: Path, workers: str, at: int, layout: str) -> None:
    """`at` lines are written to stdin, the run is signalled, then the rest is written: the run
    stops reading soon after, and what it read is all in the output or the rejects."""
    lines = mixed_lines()
    out, rejects = tmp_path / layout, tmp_path / "rejects.jsonl"
    process = start("-", "-o", str(out), "--rejects", str(rejects), "--workers", workers, stdin=subprocess.PIPE)
    signal_while_feeding(process, lines, at, signal.SIGTERM)
    code, read, _, err = check_accounted(process, out, rejects)
    assert code == 143, err
    assert read < len(lines)
    assert "interrupted by SIGTERM" in err


@pytest.mark.parametrize("workers", ["1", "4"])
def test_sigterm_stops_a_run_waiting_on_a_pipe_that_stays_open(tmp_path: Path, workers: str) -> None:
    out, rejects = tmp_path / "out.jsonl", tmp_path / "rejects.jsonl"
    process = start("-", "-o", str(out), "--rejects", str(rejects), "--workers", workers, stdin=subprocess.PIPE)
    assert process.stdin is not None
    process.stdin.write(b"\n".join(mixed_lines()[:300]) + b"\n")
    process.stdin.flush()  # and no more, nor the end of the input
    wait_for_handler(process)
    time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)  # stdin still open: communicate() would close it
    code, read, _, err = check_accounted(process, out, rejects)
    assert code == 143, err
    assert read <= 300


def test_sigterm_while_converting_a_file(tmp_path: Path, inputs: tuple[Path, int]) -> None:
    root, _ = inputs
    out, rejects = tmp_path / "out.json.gz", tmp_path / "rejects.jsonl"
    process = start(str(root), "-o", str(out), "--rejects", str(rejects), "--workers", "4")
    wait_for_handler(process)
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    code, _, _, err = check_accounted(process, out, rejects)
    assert code in (143, 1), err  # 1: it had finished before the signal came


def children_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def running(pid: int) -> bool:
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()  # a zombie has ended
    except OSError:
        return False


def test_workers_end_when_the_calling_process_is_killed(tmp_path: Path) -> None:
    """SIGKILL leaves no handler to stop the workers: they end on their own, as the task pipe closes."""
    process = start("--workers", "2", "-", "-o", str(tmp_path / "out.jsonl"), stdin=subprocess.PIPE)
    assert process.stdin is not None
    wait_for_handler(process)
    process.stdin.write(LINE.encode() + b"\n")  # workers started, waiting for more on a pipe that stays open
    process.stdin.flush()
    deadline = time.monotonic() + 60
    while len(workers := children_of(process.pid)) < 2:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    process.kill()
    process.wait()
    deadline = time.monotonic() + 20
    try:
        while alive := [pid for pid in workers if running(pid)]:
            assert time.monotonic() < deadline, f"workers {alive} outlived the killed calling process"
            time.sleep(0.05)
    finally:
        process.stdin.close()
        for pid in workers:  # none left when it passes
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_ctrl_c_to_the_process_group_stops_workers_without_tracebacks(tmp_path: Path) -> None:
    lines = mixed_lines()
    out, rejects = tmp_path / "out.jsonl", tmp_path / "rejects.jsonl"
    process = start("-", "-o", str(out), "--rejects", str(rejects), "--workers", "4", stdin=subprocess.PIPE, session=True)
    assert process.stdin is not None
    writer = threading.Thread(target=feed, args=(process.stdin, lines[:3_000]))
    writer.start()
    wait_for_handler(process)
    writer.join()
    time.sleep(0.3)
    os.killpg(process.pid, signal.SIGINT)
    code, _, _, err = check_accounted(process, out, rejects)
    assert code == 130, err
    assert "interrupted by SIGINT" in err


# -- validate and drift ---------------------------------------------------------------------

CHECKED = re.compile(r"^(\d+) records?: (\d+) conform, (\d+) do not", re.MULTILINE)


def start_command(command: str, out: IO[bytes], *argv: str) -> subprocess.Popen[bytes]:
    """The command reading stdin, its stdout to `out` (a file: a pipe nobody reads would stop it)."""
    return subprocess.Popen([sys.executable, "-m", "translator", command, *argv, "-"], stdin=subprocess.PIPE, stdout=out, stderr=subprocess.PIPE)


@pytest.mark.parametrize("number, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
@pytest.mark.parametrize("at", [0, 300, 3_000])
def test_a_signal_stops_validate_with_the_summary_of_what_was_checked(tmp_path: Path, at: int, number: int, code: int) -> None:
    """`at` lines on stdin, then the signal, then the rest: validate stops reading, prints one
    line per problem of what it read, the summary counting exactly those records, and exits 128 + signal."""
    lines = mixed_lines()
    printed = tmp_path / "problems.jsonl"
    with printed.open("wb") as out:
        process = start_command("validate", out, "--json")
    signal_while_feeding(process, lines, at, number)
    _, err_bytes = process.communicate(timeout=120)
    err = err_bytes.decode()
    assert process.returncode == code, err
    assert "Traceback" not in err and f"interrupted by {signal.Signals(number).name}" in err
    summary = CHECKED.search(err)
    assert summary, err
    read, conform, failing = map(int, summary.groups())
    assert conform + failing == read < len(lines)
    problems = [json.loads(line) for line in printed.read_text().splitlines()]
    failing_sources = {problem["source"] for problem in problems if problem["severity"] == "error"}
    assert len(failing_sources) == failing  # every record counted as failing said why, and no more was read


def test_sigterm_stops_drift_on_a_pipe_that_stays_open(tmp_path: Path) -> None:
    report = tmp_path / "drift.txt"
    with report.open("wb") as out:
        process = start_command("drift", out)
    assert process.stdin is not None
    process.stdin.write(b"\n".join(mixed_lines()[:300]) + b"\n")
    process.stdin.flush()
    wait_for_handler(process)
    time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    err = process.stderr.read().decode()  # type: ignore[union-attr]
    assert process.returncode == 143, err
    assert "Traceback" not in err and "translator drift: interrupted by SIGTERM" in err
    assert "logged_in" in report.read_text()  # the report of what was read
