"""The command line as a new user meets it (issue 16): every flag's default in its help, conflicting
flags refused, and an input that yields no record a usage error naming what was looked for."""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path
from typing import Any

import pytest

from support import cli, conforming, jsonl
from translator.cli import build_parser

COMMANDS = ("validate", "convert", "drift")


def _options() -> list[tuple[str, argparse.Action, argparse.ArgumentParser]]:
    """(command, option, its parser) for every option of every subcommand."""
    found = []
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, parser in action.choices.items():
                found += [(name, option, parser) for option in parser._actions if option.option_strings]
    return found


def _default(command: str, option: argparse.Action) -> Any:
    """The option's default: its parser's, or for serve and consume (whose flags leave the config
    file's value) the live settings'."""
    if option.default is not argparse.SUPPRESS:
        return option.default
    if command not in ("serve", "consume"):
        return None
    from translator.live.config import LiveSettings

    field = LiveSettings.__dataclass_fields__.get(option.dest)
    if field is None:
        return None
    return field.default_factory() if callable(field.default_factory) else field.default  # type: ignore[misc]


def _shown(value: Any) -> list[str]:
    if isinstance(value, float):
        return [f"{value:g}"]
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    return [] if isinstance(value, bool) else [str(value)]


def test_every_flag_says_its_default_in_its_help() -> None:
    pytest.importorskip("httpx")  # serve and consume's defaults are the live settings'
    missing = []
    for command, option, parser in _options():
        if isinstance(option, (argparse._HelpAction, argparse._VersionAction)) or option.dest == "config":
            continue
        default = _default(command, option)
        if default is None or default is False:
            continue
        text = parser._get_formatter()._expand_help(option)
        if "default" not in text or not all(shown in text for shown in _shown(default)):
            missing.append(f"{command} {option.option_strings[-1]} (default {default!r}): {text}")
    assert missing == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["mappings", "--json", "--markdown"], "argument --markdown: not allowed with argument --json"),
        (["validate", "--format", "canvas", "--profile", "ims", "x.jsonl"], "--profile ims is a Caliper profile"),
    ],
)
def test_conflicting_flags_are_refused(argv: list[str], message: str, tmp_path: Path) -> None:
    argv = [str(jsonl(tmp_path / a, conforming("logged_in"))) if a.endswith(".jsonl") else a for a in argv]
    code, out, err = cli(*argv)
    assert (code, out) == (2, "") and message in err


def _inputs(tmp_path: Path) -> dict[str, tuple[str, str]]:
    """Each input that yields no record, with what the error must say."""
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "blank.json").write_text(" \n\n")
    (tmp_path / "array.json").write_text("[]")
    (tmp_path / "empty.jsonl.gz").write_bytes(gzip.compress(b""))
    (tmp_path / "no-events").mkdir()
    (tmp_path / "no-events" / "notes.md").write_text("not an event file")
    (tmp_path / "blanks").mkdir()
    (tmp_path / "blanks" / "a.jsonl").write_text("\n")
    return {
        str(tmp_path / "empty.jsonl"): ("empty.jsonl", "no record in this file"),
        str(tmp_path / "blank.json"): ("blank.json", "no record in this file"),
        str(tmp_path / "array.json"): ("array.json", "no record in this file"),
        str(tmp_path / "empty.jsonl.gz"): ("empty.jsonl.gz", "no record in this file"),
        str(tmp_path / "no-events"): ("no-events", "no event file in this directory (looked for *.json, *.jsonl,"),
        str(tmp_path / "blanks"): ("blanks", "no record in the 1 event file below this directory"),
        str(tmp_path / "*.ndjson"): ("*.ndjson", "no file matches this pattern"),
    }


@pytest.mark.parametrize("command", COMMANDS)
def test_an_input_that_yields_no_record_is_a_usage_error_saying_what_was_looked_for(command: str, tmp_path: Path) -> None:
    good = str(jsonl(tmp_path / "good.jsonl", conforming("logged_in")))
    for path, (name, message) in _inputs(tmp_path).items():
        argv = [command, *(["--to", "caliper"] if command == "convert" else []), good, path]
        code, out, err = cli(*argv)
        assert (code, out) == (2, ""), (path, err)
        assert f"translator {command}: error: {path}: {message}" in err, err


@pytest.mark.parametrize("command", COMMANDS)
def test_a_quoted_pattern_is_expanded_like_the_shell_would(command: str, tmp_path: Path) -> None:
    (tmp_path / "day").mkdir()
    for name in ("a", "b"):
        jsonl(tmp_path / "day" / f"{name}.jsonl", conforming("logged_in"))
    argv = [command, *(["--to", "caliper", "-o", str(tmp_path / "out.jsonl")] if command == "convert" else []), str(tmp_path / "**" / "*.jsonl")]
    code, out, err = cli(*argv)
    assert code == 0, err
    if command == "validate":
        assert out.splitlines()[-1].startswith("2 records: 2 conform")
    elif command == "convert":
        assert "2 records read, 2 converted" in err

