"""Delivery to a Caliper endpoint: a local stand-in that fails some requests receives every event
exactly once (counted by id), in Envelopes with the Bearer token; duplicates are dropped."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from live import HOST, events, settings, wait_for
from translator.engine import CALIPER_CONTEXT, event_id
from translator.live.deliveries import Delivery
from translator.live.service import Service

pytestmark = pytest.mark.slow  # a real receiver and Caliper endpoint: `pytest -m ""` runs it (README, Tests)


class Endpoint:
    """Answers 500 or 503 to every third request; counts the ids of the events it accepted."""

    def __init__(self) -> None:
        self.requests = 0
        self.failed = 0
        self.accepted: Counter[str] = Counter()
        self.envelopes: list[dict[str, Any]] = []
        self.tokens: set[str | None] = set()
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the standard library's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with endpoint.lock:
                    endpoint.requests += 1
                    endpoint.tokens.add(self.headers.get("Authorization"))
                    failing = endpoint.requests % 3 == 1
                    if failing:
                        endpoint.failed += 1
                    else:
                        envelope = json.loads(body)
                        endpoint.envelopes.append(envelope)
                        endpoint.accepted.update(event["id"] for event in envelope["data"])
                self.send_response(503 if failing and endpoint.failed % 2 else 500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.server.server_address[1]}/caliper"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    server = Endpoint()
    yield server
    server.close()


def test_every_event_reaches_the_endpoint_exactly_once_after_retries(tmp_path: Path, endpoint: Endpoint) -> None:
    live = settings(tmp_path, caliper_endpoint=endpoint.url, caliper_token="s3cret", caliper_batch=7, caliper_backoff=0.05)
    sent = events(60)
    service = Service(live)
    service.start()
    try:
        for number, event in enumerate([*sent, *sent[:10]]):  # the last 10 are re-deliveries
            service.spool.append(Delivery("https", f"test#{number}", json.dumps(event).encode()).encode()).result(10)
        assert wait_for(lambda: sum(endpoint.accepted.values()) >= len(sent), timeout=30)
        assert wait_for(lambda: service.spool.depth(service.worker.checkpoint.load() or service.spool.start()) == 0)
    finally:
        service.stop()
    assert endpoint.accepted == Counter(event_id(event) for event in sent)  # each once, duplicates dropped
    assert endpoint.failed >= 3 and endpoint.tokens == {"Bearer s3cret"}
    assert all(len(envelope["data"]) <= 7 and envelope["dataVersion"] == CALIPER_CONTEXT for envelope in endpoint.envelopes)
    assert all(envelope["sensor"].startswith("http") for envelope in endpoint.envelopes)
    assert 'translator_forwarded_total{sink="caliper"} 60.0' in service.metrics.render().decode()
