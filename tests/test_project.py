"""How the project is run and laid out: the README's test command is CI's and runs every test,
and test files share code only through support modules."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_test_command_is_what_ci_runs_and_it_runs_the_slow_tests_too() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [line for line in readme.splitlines() if "pytest" in line and line.startswith("python3 -m venv")]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()[-1]
    assert commands == [ci]
    assert ci.endswith('-m pytest -m ""')  # the default run (pyproject's addopts) skips `slow`


def test_no_test_file_imports_another_test_file() -> None:
    """Shared exception lists and helpers live in support modules (support.py, negatives.py, corpus.py, ...)."""
    found = {
        f"{file.name}: {line}"
        for file in sorted((ROOT / "tests").glob("*.py"))
        for line in file.read_text(encoding="utf-8").splitlines()
        if re.match(r"\s*(from (tests\.)?test_\w+ import|import (tests\.)?test_)", line)
    }
    assert found == set()
