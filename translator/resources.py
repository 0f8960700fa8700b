"""Where the shipped data (schemas/, mappings/) lives.

In a wheel the data sits inside the package (`translator/_data/`); in a source checkout it sits at
the repository root. Both layouts are supported so tests run against the working tree.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """Return the directory of shipped data `name` ("schemas" or "mappings")."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"shipped data directory {name!r} not found next to {_PACKAGE}")
