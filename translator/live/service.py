"""Everything a live run needs, built from its settings: the spool, the worker and its sinks,
the JWKS cache and the metrics. `start` starts the worker; `stop` commits the group in flight,
lets the worker finish and flush its batch, and closes."""

from __future__ import annotations

import errno
from pathlib import Path

from ..batch import Converter, ConvertResult
from ..io.readers import Record
from .checkpoint import Checkpoint
from .config import LiveSettings
from .dedup import DedupWindow
from .jwks_cache import JwksCache
from .metrics import LiveMetrics
from .sinks import CaliperSink, FileSink, RotatingFiles, Sink
from .spool import Position, Spool
from .worker import Worker


class Service:
    def __init__(self, settings: LiveSettings) -> None:
        self.settings = settings
        self.metrics = LiveMetrics()
        converter = Converter(settings.convert_options())  # a bad mapping fails here, at start

        def convert(records: list[Record]) -> list[ConvertResult]:
            return list(converter.stream(records))

        checkpoint = Checkpoint(settings.spool)
        self.spool = Spool(
            settings.spool,
            after=(checkpoint.load() or Position(0, 0)).segment,
            segment_bytes=settings.segment_bytes,
            max_bytes=settings.spool_max_bytes,
            on_fsync=self.metrics.fsync_seconds.observe,
            on_error=lambda exc: self.metrics.spool_errors.labels(errno.errorcode.get(exc.errno or 0, "unknown")).inc(),
        )
        self.jwks = JwksCache(
            settings.jwks_url,
            leeway=settings.jwt_leeway,
            issuers=settings.issuers,
            max_bytes=settings.jwt_max_bytes,
            max_age=settings.jwks_max_age,
            cooldown=settings.jwks_cooldown,
            on_fetch=lambda outcome: self.metrics.jwks_fetches.labels(outcome).inc(),
        )
        out = Path(settings.out)
        files = {"max_bytes": settings.rotate_bytes, "max_seconds": settings.rotate_seconds, "gzip": settings.gzip}
        sink: Sink
        if settings.caliper_endpoint:
            sink = CaliperSink(
                settings.caliper_endpoint,
                settings.caliper_token,
                batch=settings.caliper_batch,
                backoff=settings.caliper_backoff,
                on_failure=self.metrics.forward_failures.labels("caliper").inc,
            )
        else:
            sink = FileSink(RotatingFiles(out, "events", **files))  # type: ignore[arg-type]
        self.worker = Worker(
            self.spool,
            checkpoint,
            convert,
            sink,
            RotatingFiles(out, "rejects", **files),  # type: ignore[arg-type]
            self.metrics,
            dedup=DedupWindow(settings.dedup_seconds, settings.dedup_size),
        )

    def start(self) -> None:
        self.worker.start()

    def problems(self) -> dict[str, str]:
        """What keeps the service from accepting or delivering, by part (none when healthy): a
        stopped thread, the spool's last write refused by the OS, the worker's failing batch."""
        found = {}
        if not self.spool.running:
            found["spool"] = "the spool's writer stopped"
        elif self.spool.failure is not None:
            found["spool"] = str(self.spool.failure)
        if not self.worker.running:
            found["delivery"] = "the delivery worker stopped"
        elif self.worker.failure is not None:
            found["delivery"] = self.worker.failure
        return found

    def stop(self) -> None:
        self.spool.close()
        self.worker.stop()
