"""Structured logs: one JSON object per line on stderr, for a log shipper to read as it is."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import IO, Any

LOGGER = logging.getLogger("translator.live")
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({key: value for key, value in record.__dict__.items() if key not in _STANDARD})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def setup_logging(level: str = "info", stream: IO[str] | None = None) -> None:
    """Our loggers and uvicorn's, as JSON lines on `stream` (stderr by default)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("translator.live", "uvicorn", "uvicorn.error", "uvicorn.access", "botocore", "httpx"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False
        logger.setLevel(level.upper() if name.startswith(("translator", "uvicorn")) else logging.WARNING)


def log(level: int, message: str, **fields: Any) -> None:
    LOGGER.log(level, message, extra=fields)
