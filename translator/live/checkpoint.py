"""The delivery worker's progress: the spool position up to which every event was delivered.

Written to a temporary file, fsynced, renamed over the old one and the directory fsynced, so a
crash at any moment leaves either the old checkpoint or the new one, never a torn one. It may
also say how far past that position the rejects are already written (`rejected`), when a batch's
rejects went out and its events could not.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .spool import Position, fsync_directory

NAME = "checkpoint.json"


class Checkpoint:
    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory) / NAME

    def _saved(self) -> dict[str, Any] | None:
        try:
            return dict(json.loads(self.path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None

    def load(self) -> Position | None:
        """The saved position; None before the first save."""
        saved = self._saved()
        return None if saved is None else Position(int(saved["segment"]), int(saved["offset"]))

    def rejected(self) -> Position | None:
        """Up to where past the position the rejects were already written, if a delivery that
        wrote them failed afterwards (see `save`)."""
        saved = self._saved()
        noted = saved.get("rejected_to") if saved else None
        return None if noted is None else Position(int(noted[0]), int(noted[1]))

    def save(self, position: Position, rejected_to: Position | None = None) -> None:
        """`rejected_to`: the rejects of the entries up to there are written though the events
        are not, so that a restart delivers the events without writing those rejects again."""
        temporary = self.path.with_suffix(".tmp")
        saved: dict[str, Any] = {"segment": position.segment, "offset": position.offset}
        if rejected_to is not None:
            saved["rejected_to"] = list(rejected_to)
        data = json.dumps(saved).encode()
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, self.path)
        fsync_directory(self.path.parent)
