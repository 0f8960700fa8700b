"""What the spool holds: each delivery as it was received, and how it becomes library records.

A spooled delivery is one line of JSON (`channel`, `source`, `received`, and `signed` when its
signature was verified before it was acknowledged) followed by the raw body, byte for byte. The
worker turns it back into a `Record` for `translator.batch.convert_stream`: a verified token
into the event it carries (`jws.verified_event`: it was verified on arrival; its key may have
rotated since), an SQS message into the message itself (unwrapped by `translator.io.unwrap`),
anything else into what the reader makes of the text.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import orjson

from ..errors import Problem
from ..io.jws import verified_event
from ..io.readers import Record, parse_text, undecodable


@dataclass(frozen=True, slots=True)
class Delivery:
    channel: str  # "https" or "sqs"
    source: str  # where it came from: the client's address, the SQS message id
    body: bytes
    signed: bool = False
    received: float = 0.0

    def encode(self) -> bytes:
        meta = {"channel": self.channel, "source": self.source, "received": self.received or time.time(), "signed": self.signed}
        return orjson.dumps(meta) + b"\n" + self.body

    @classmethod
    def decode(cls, data: bytes) -> Delivery:
        head, _, body = data.partition(b"\n")
        meta = orjson.loads(head)
        return cls(meta["channel"], meta["source"], body, bool(meta.get("signed")), float(meta.get("received", 0.0)))

    def records(self) -> Iterator[Record]:
        """The record(s) to convert; a body that cannot be read is a record with its problem."""
        text = self.body.decode("utf-8", "surrogateescape")
        bad = undecodable(self.source, text)
        if bad is not None:
            yield bad
            return
        if self.signed:
            token = text.strip()
            try:
                yield Record(self.source, token, verified_event(token))
            except ValueError as exc:  # cannot happen to a token that verified; said, not raised
                yield Record(self.source, token, problem=Problem("", f"the stored token cannot be read: {exc}", "malformed-jws"))
            return
        yield from parse_text(self.source, text)
