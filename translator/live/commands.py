"""`translator serve` and `translator consume`: their options and what they run.

The options are the settings of `config.LiveSettings` (a flag overrides the config file), plus
the conversion options of `translator convert`. Nothing here imports the `serve` extra's
libraries until a command runs, so `translator --help` works without them.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from ..errors import TranslatorError
from ..io.jws import CANVAS_ISSUER, CANVAS_JWKS_URL

S = argparse.SUPPRESS  # a flag not given leaves the config file's (or the default) value


def add_common(parser: argparse.ArgumentParser) -> None:
    """The options of both commands but the conversion's (which `translator.cli` adds, as convert's)."""
    parser.add_argument("--config", metavar="FILE", help="settings file (TOML, or YAML for .yaml/.yml); flags override it")
    parser.add_argument("--spool", metavar="DIR", default=S, help="the spool directory (default ./spool)")
    parser.add_argument("--spool-max-bytes", type=int, metavar="N", default=S, help="refuse deliveries beyond this many spooled bytes (default: no limit)")
    parser.add_argument("--out", metavar="DIR", default=S, help="where events-*.jsonl and rejects-*.jsonl go (default ./out)")
    parser.add_argument("--rotate-bytes", type=int, metavar="N", default=S, help="start a new output file at this size (default 268435456, 256 MiB)")
    parser.add_argument("--rotate-seconds", type=float, metavar="S", default=S, help="start a new output file at this age, in seconds (default 3600)")
    parser.add_argument("--gzip", action="store_true", default=S, help="gzip the output files (default: plain JSON Lines)")
    parser.add_argument("--caliper-endpoint", metavar="URL", default=S, help="POST Caliper envelopes here instead of writing files (default: files in --out)")
    parser.add_argument("--caliper-batch", type=int, metavar="N", default=S, help="events per envelope POSTed (default 100)")
    parser.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default=S, help="JSON log lines on stderr from this level (default info)")


def add_serve(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=S, help="address to listen on (default 127.0.0.1; a proxy in front terminates TLS)")
    parser.add_argument("--port", type=int, default=S, help="port to listen on (default 8080)")
    parser.add_argument("--path", default=S, help="the path Canvas POSTs to (default /events)")
    parser.add_argument("--max-body", type=int, metavar="N", default=S, help="413 above this many bytes (default 1048576, 1 MiB)")
    parser.add_argument("--allow-unsigned", action="store_true", default=S, help="accept bodies that are not signed (default: refused)")
    parser.add_argument("--jwks-url", metavar="URL", default=S, help=f"JWKS of the signing keys (default Instructure's, {CANVAS_JWKS_URL})")
    parser.add_argument("--jwt-issuer", dest="jwt_issuers", action="append", metavar="ISS", default=S, help=f"an allowed iss (repeatable; * any; default {CANVAS_ISSUER})")
    parser.add_argument("--jwt-leeway", type=float, metavar="S", default=S, help="clock leeway for exp/nbf (default 60)")
    parser.add_argument("--jwks-cooldown", type=float, metavar="S", default=S, help="seconds between JWKS fetches at least (default 60)")
    parser.add_argument("--ssl-certfile", metavar="FILE", default=S, help="serve HTTPS with this certificate (or put a proxy in front)")
    parser.add_argument("--ssl-keyfile", metavar="FILE", default=S, help="the certificate's private key")
    parser.add_argument("--backlog", type=int, metavar="N", default=S, help="connections the kernel queues before they are accepted (default 2048)")
    parser.add_argument("--limit-concurrency", type=int, metavar="N", default=S, help="answer 503 beyond this many connections and requests at once (default 1000)")


def add_consume(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sqs", metavar="QUEUE_URL", default=S, help="the queue Canvas delivers to")
    parser.add_argument("--endpoint-url", metavar="URL", default=S, help="another SQS endpoint (a local stand-in)")
    parser.add_argument("--region", default=S, help="the queue's AWS region (default: from the environment)")
    parser.add_argument("--wait-seconds", type=int, metavar="S", default=S, help="long-poll wait (default 20)")


def _settings(args: argparse.Namespace) -> Any:
    from .config import LiveSettings, load_settings

    names = set(LiveSettings.__dataclass_fields__)
    return load_settings(args.config, {name: value for name, value in vars(args).items() if name in names})


def serve(args: argparse.Namespace) -> int:
    """Run the receiver until SIGTERM/SIGINT (uvicorn's handlers: stop accepting, finish the
    requests in flight, then the lifespan's shutdown commits and flushes)."""
    import uvicorn

    from .app import build_app
    from .logs import setup_logging
    from .service import Service

    settings = _settings(args)
    setup_logging(settings.log_level)
    # The converter thread and the event loop share the GIL: when the converter holds it, the
    # loop waits up to one switch interval for it at every turn. 1 ms rather than 5 took the
    # bench's p99 from 86-112 ms to 71-84 ms, and its rate up 4-6 % (interleaved runs).
    sys.setswitchinterval(0.001)
    app = build_app(Service(settings))
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        ssl_certfile=settings.ssl_certfile,
        ssl_keyfile=settings.ssl_keyfile,
        log_config=None,
        access_log=False,
        backlog=settings.backlog,
        limit_concurrency=settings.limit_concurrency,
        lifespan="on",
        timeout_graceful_shutdown=15,
    )
    server = uvicorn.Server(config)
    # uvicorn re-raises the signal that stopped it once it is done; with a handler of ours in
    # place that re-raise is a no-op, and a graceful stop exits 0 rather than "killed by SIGTERM".
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    try:
        server.run()
    except SystemExit:  # uvicorn's way of saying it could not start (the port is taken, say)
        return 2
    return 0 if server.started else 2


def consume(args: argparse.Namespace) -> int:
    """Poll the queue until SIGTERM/SIGINT, then finish the receive in hand, flush and stop."""
    from .logs import setup_logging
    from .service import Service
    from .sqs import SqsConsumer

    settings = _settings(args)
    if not settings.sqs:
        raise TranslatorError("consume needs the queue: --sqs QUEUE_URL (or sqs = ... in the config file)")
    setup_logging(settings.log_level)
    service = Service(settings)
    consumer = SqsConsumer(
        service,
        settings.sqs,
        endpoint_url=settings.endpoint_url,
        region=settings.region,
        wait_seconds=settings.wait_seconds,
        max_messages=settings.max_messages,
    )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    service.start()
    try:
        consumer.run(stop)
    finally:
        service.stop()
    return 0
