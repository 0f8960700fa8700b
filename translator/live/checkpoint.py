"""The delivery worker's progress: the spool position up to which every event was delivered.

Written to a temporary file, fsynced, renamed over the old one and the directory fsynced, so a
crash at any moment leaves either the old checkpoint or the new one, never a torn one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .spool import Position, fsync_directory

NAME = "checkpoint.json"


class Checkpoint:
    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory) / NAME

    def load(self) -> Position | None:
        """The saved position; None before the first save."""
        try:
            saved = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        return Position(int(saved["segment"]), int(saved["offset"]))

    def save(self, position: Position) -> None:
        temporary = self.path.with_suffix(".tmp")
        data = json.dumps({"segment": position.segment, "offset": position.offset}).encode()
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, self.path)
        fsync_directory(self.path.parent)
