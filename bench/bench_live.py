"""Live receiver benchmark (issue 18): signed events/s accepted with fsync on, latency, converter lag.

Starts `translator serve` as its own process (pinned to CPU 0 when the machine has more than one),
serves a JWKS from this process, signs N distinct Canvas events (corpus examples from ../shared,
each with its own event_time) with RS256, and posts them over C keep-alive connections from a
small asyncio HTTP/1.1 client (pinned to the other CPUs). Every 202 is fsynced in the spool
before it is sent (group commit). Prints:

  accepted      signed events/s answered 202, over the posting phase
  latency       p50 / p99 / max of one POST, as the client sees it
  fsync         group commits and events per fsync, from the server's /metrics
  converter lag how long after the last 202 the worker had converted (or rejected) every event

A script, not a test: it prints figures and checks nothing but that every event was answered.

    .venv/bin/python bench/bench_live.py --events 20000 --connections 32
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parents[1]
ISSUER = "https://live-events.canvas.instructure.com"


def corpus_events(shared: Path, count: int) -> list[dict[str, Any]]:
    sys.path.insert(0, str(ROOT))
    from translator.engine import default_translator

    examples = []
    for file in sorted((shared / "corpus" / "canvas-lms" / "canvas" / "event-types").glob("*.json")):
        for example in json.loads(file.read_text(encoding="utf-8"))["examples"]:
            try:
                default_translator().translate(example["payload"], to="caliper")
            except ValueError:
                continue
            examples.append(example["payload"])
    made = []
    for number in range(count):
        event = json.loads(json.dumps(examples[number % len(examples)]))
        seconds, millis = divmod(number, 1000)
        event["metadata"]["event_time"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1_767_225_600 + seconds)) + f".{millis:03d}Z"
        made.append(event)
    return made


def serve_jwks(key: rsa.RSAPrivateKey) -> tuple[ThreadingHTTPServer, str]:
    document = json.dumps({"keys": [{**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())), "kid": "bench", "alg": "RS256", "use": "sig"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/jwks"


async def post_all(port: int, tokens: list[bytes], connections: int) -> tuple[list[float], dict[int, int], float]:
    """POST every token over `connections` keep-alive connections: (latencies, statuses, seconds)."""
    queue = list(reversed(tokens))
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while queue:
            token = queue.pop()
            request = (
                b"POST /events HTTP/1.1\r\nHost: bench\r\nContent-Type: application/jwt\r\n"
                + b"Content-Length: " + str(len(token)).encode() + b"\r\n\r\n" + token
            )
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            status = int(head.split(b" ", 2)[1])
            statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    return latencies, statuses, time.perf_counter() - started


def metric(text: str, name: str) -> float:
    return sum(float(value) for value in re.findall(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+]+)$", text, re.M))


def scrape(port: int) -> str:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--port", type=int, default=18_188)
    options = parser.parse_args()

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks, jwks_url = serve_jwks(key)
    print(f"signing {options.events:,} events ...", flush=True)
    tokens = [
        jwt.encode({"iss": ISSUER, **event}, key, algorithm="RS256", headers={"kid": "bench"}).encode()
        for event in corpus_events(options.shared, options.events)
    ]
    cpus = sorted(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="bench-live-") as work:
        config = Path(work) / "live.toml"
        config.write_text(
            f'port = {options.port}\nspool = "{work}/spool"\nout = "{work}/out"\njwks_url = "{jwks_url}"\nlog_level = "warning"\n',
            encoding="utf-8",
        )
        pin = (lambda: os.sched_setaffinity(0, {cpus[0]})) if len(cpus) > 1 else None
        server = subprocess.Popen([sys.executable, "-m", "translator", "serve", "--config", str(config)], cwd=ROOT, preexec_fn=pin)
        try:
            for _ in range(300):
                try:
                    scrape(options.port)
                    break
                except OSError:
                    time.sleep(0.1)
            if len(cpus) > 1:
                os.sched_setaffinity(0, set(cpus[1:]))
            latencies, statuses, seconds = asyncio.run(post_all(options.port, tokens, options.connections))
            posted = time.perf_counter()
            accepted = statuses.get(202, 0)
            done = 0.0
            for _ in range(6000):  # at most 10 minutes
                text = scrape(options.port)
                done = metric(text, "translator_converted_total") + metric(text, "translator_rejected_total") + metric(text, "translator_duplicates_total")
                if done >= accepted:
                    break
                time.sleep(0.1)
            lag = time.perf_counter() - posted
            fsyncs = metric(text, "translator_spool_fsync_seconds_count")
            fsync_time = metric(text, "translator_spool_fsync_seconds_sum")
        finally:
            server.terminate()
            server.wait(60)
            jwks.shutdown()
    latencies.sort()
    print(f"server pinned to CPU {cpus[0]}, client on {cpus[1:] or cpus}; {options.connections} connections")
    print(f"answers: {statuses}")
    print(f"accepted: {accepted / seconds:,.0f} signed events/s ({accepted:,} in {seconds:.2f} s, fsync on)")
    print(
        f"latency: p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.1f} ms, "
        f"max {latencies[-1] * 1000:.1f} ms"
    )
    if fsyncs:
        print(f"fsync: {fsyncs:,.0f} group commits, {accepted / fsyncs:,.1f} events per fsync, {fsync_time / fsyncs * 1000:.2f} ms each on average")
    print(f"converter lag: every event converted or rejected {lag:.2f} s after the last 202 ({done:,.0f} of {accepted:,})")


if __name__ == "__main__":
    main()
