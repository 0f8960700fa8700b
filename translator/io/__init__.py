"""Reading, unwrapping and writing live-event records: files, archives and delivery wrappers."""

from __future__ import annotations

from .jws import JwksVerifier, JwsRejected
from .readers import Lines, Record, read_records
from .unwrap import Item, unwrap
from .writers import JsonWriter, RejectsWriter

__all__ = ["Item", "JsonWriter", "JwksVerifier", "JwsRejected", "Lines", "Record", "RejectsWriter", "read_records", "unwrap"]
