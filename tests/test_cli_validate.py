"""`translator validate`: problems per line with where they are, a summary, and the exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import cli, conforming, jsonl


def test_conforming_events_exit_0_with_a_summary(tmp_path: Path) -> None:
    events = [conforming(name) for name in ("logged_in", "asset_accessed", "submission_created")]
    code, out, err = cli("validate", str(jsonl(tmp_path / "ok.jsonl", *events)))
    assert code == 0, err
    assert out == "3 records: 3 conform, 0 do not (0 errors, 0 warnings)\n"
    assert err == ""


def test_every_problem_has_source_event_path_severity_and_message(tmp_path: Path) -> None:
    bad = conforming("logged_in")
    bad["metadata"]["user_id"] = 123
    unknown = conforming("logged_out")
    unknown["metadata"]["event_name"] = "no_such_event"
    file = jsonl(
        tmp_path / "mixed.jsonl", conforming("logged_in"), bad, '{"metadata": {"event_name": "logged_in"', unknown
    )
    code, out, _ = cli("validate", str(file))
    assert code == 1
    lines = out.splitlines()
    assert f"{file}:2: logged_in: /metadata/user_id: error: must be string, not an integer [type]" in lines
    assert any(line.startswith(f"{file}:3: -: /: error: malformed JSON at line 3, column ") for line in lines)
    assert any(
        line.startswith(f"{file}:4: no_such_event: /metadata/event_name: warning: ") and line.endswith("[unknown-event]")
        for line in lines
    )
    assert lines[-2].startswith("4 records: 2 conform, 2 do not (2 errors, 1 warnings)")
    assert lines[-1].startswith("drift: 1 unknown event type (1 event), 0 unknown fields (0 times), 1 type failure (1 value)")


def test_warnings_are_shown_but_do_not_fail(tmp_path: Path) -> None:
    old = conforming("logged_in")
    old["metadata"]["event_time"] = "2019-11-01T19:11:01Z"
    code, out, _ = cli("validate", str(jsonl(tmp_path / "old.jsonl", old)))
    assert code == 0
    assert f"{tmp_path / 'old.jsonl'}: logged_in: /metadata/event_time: warning: " in out
    assert out.splitlines()[-1] == "1 record: 1 conform, 0 do not (0 errors, 1 warnings)"


def test_json_output_is_one_problem_per_line_and_the_summary_goes_to_stderr(tmp_path: Path) -> None:
    bad = conforming("logged_in")
    bad["metadata"]["user_id"] = "12a"
    code, out, err = cli("validate", "--json", str(jsonl(tmp_path / "bad.jsonl", bad, "[1,")))
    assert code == 1
    problems = [json.loads(line) for line in out.splitlines()]
    assert problems[0] == {
        "source": f"{tmp_path / 'bad.jsonl'}:1",
        "event_name": "logged_in",
        "path": "/metadata/user_id",
        "rule": "pattern",
        "severity": "error",
        "message": problems[0]["message"],
        "value": '"12a"',
    }
    assert problems[1]["rule"] == "malformed-json" and problems[1]["source"].endswith(":2")
    assert err.startswith("2 records: 0 conform, 2 do not")


def test_reads_stdin_arrays_and_directories(tmp_path: Path) -> None:
    events = [conforming("logged_in"), conforming("logged_out")]
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "events.json").write_text(json.dumps(events, indent=2), encoding="utf-8")
    code, out, _ = cli("validate", str(tmp_path), "-", stdin=json.dumps(events[0]) + "\n")
    assert code == 0
    assert out == "3 records: 3 conform, 0 do not (0 errors, 0 warnings)\n"


def test_a_forced_format_reports_problems_rather_than_crashing(tmp_path: Path) -> None:
    code, out, _ = cli("validate", "--format", "caliper", str(jsonl(tmp_path / "e.jsonl", conforming("logged_in"))))
    assert code == 1
    assert "error" in out


def test_caliper_profile_applies_to_caliper_events_only(tmp_path: Path) -> None:
    code, out, _ = cli("validate", "--profile", "ims", str(jsonl(tmp_path / "e.jsonl", conforming("logged_in"))))
    assert code == 0
    assert out.startswith("1 record: 1 conform")


def test_not_an_event_is_a_problem(tmp_path: Path) -> None:
    code, out, _ = cli("validate", str(jsonl(tmp_path / "e.jsonl", {"hello": 1}, 42)))
    assert code == 1
    assert "[unknown-format]" in out and "[not-an-object]" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["validate", "/no/such/file.jsonl"], "no such file or directory: /no/such/file.jsonl"),
        (["validate", "--format", "xml", "x"], "invalid choice: 'xml'"),
        (["validate"], "the following arguments are required: PATH"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["validate", "--jwks", "/no/such/jwks.json", "-"], "cannot read the JWKS"),
    ],
)
def test_usage_and_io_errors_exit_2(argv: list[str], message: str) -> None:
    code, out, err = cli(*argv)
    assert code == 2
    assert message in err
    assert out == ""


def test_help_goes_to_stdout_and_exits_0() -> None:
    code, out, _ = cli("validate", "--help")
    assert code == 0
    assert out.startswith("usage: translator validate")


def test_the_real_command(tmp_path: Path) -> None:
    bad = conforming("logged_in")
    bad["body"] = []
    file = jsonl(tmp_path / "events.jsonl", conforming("logged_in"), bad)
    done = subprocess.run(
        [sys.executable, "-m", "translator", "validate", str(file)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1, done.stderr
    [problem, summary, drift] = done.stdout.splitlines()
    assert problem.startswith(f"{file}:2: logged_in: /body: error: ") and problem.endswith("[type]")
    assert summary == "2 records: 1 conform, 1 do not (1 errors, 0 warnings)"
    assert drift.startswith("drift: 0 unknown event types (0 events), 0 unknown fields (0 times), 1 type failure (1 value)")
    ok = subprocess.run(
        [sys.executable, "-m", "translator", "validate", "-"],
        input=json.dumps(conforming("logged_in")),
        capture_output=True,
        text=True,
        check=False,
    )
    assert (ok.returncode, ok.stdout) == (0, "1 record: 1 conform, 0 do not (0 errors, 0 warnings)\n")
