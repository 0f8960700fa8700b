"""The receiver's and worker's counters, in Prometheus format (`GET /metrics`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE


class LiveMetrics:
    """One registry per service, so several in one process (tests) do not collide."""

    content_type = CONTENT_TYPE

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = Counter("translator_received", "deliveries received", ["channel"], registry=r)
        self.verified = Counter("translator_verified", "signed payloads whose signature verified", registry=r)
        self.refused = Counter("translator_refused", "deliveries refused (not spooled), by reason", ["reason"], registry=r)
        self.spooled = Counter("translator_spooled", "deliveries durably spooled (acknowledged)", ["channel"], registry=r)
        self.converted = Counter("translator_converted", "events converted", registry=r)
        self.rejected = Counter("translator_rejected", "events rejected by the conversion, by reason", ["reason"], registry=r)
        self.duplicates = Counter("translator_duplicates", "converted events dropped as duplicates", registry=r)
        self.forwarded = Counter("translator_forwarded", "events delivered to the sink", ["sink"], registry=r)
        self.forward_failures = Counter("translator_forward_failures", "failed attempts to deliver to the sink", ["sink"], registry=r)
        self.spool_errors = Counter("translator_spool_write_errors", "spool writes the OS refused, by errno (EFBIG, ENOSPC, EACCES...)", ["errno"], registry=r)
        self.delivery_errors = Counter("translator_delivery_errors", "attempts to deliver a batch that failed (it stays in the spool and is tried again)", registry=r)
        self.spool_depth = Gauge("translator_spool_depth_bytes", "bytes in the spool not yet delivered", registry=r)
        self.jwks_fetches = Counter("translator_jwks_fetches", "JWKS fetches, by outcome", ["outcome"], registry=r)
        self.fsync_seconds = Histogram(
            "translator_spool_fsync_seconds",
            "time of one spool fsync (one group commit)",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
