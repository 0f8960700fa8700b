"""Live receiver benchmark (issue 18): signed events/s accepted with fsync on, latency, converter lag.

Starts `translator serve` as its own process (pinned to CPU 0 when the machine has more than one),
serves a JWKS from this process, signs N distinct Canvas events (corpus examples from ../shared,
each with its own event_time) with RS256, and posts them over C keep-alive connections from a
small asyncio HTTP/1.1 client (pinned to the other CPUs), after `--warmup` untimed events that
let every event type plan its conversion. Every 202 is fsynced in the spool
before it is sent (group commit). Prints:

  accepted      signed events/s answered 202, over the posting phase
  latency       p50 / p99 / max of one POST, as the client sees it
  server CPU    the server's CPU time per accepted event, in the event loop's thread (receiving)
                and in the others (spool writer, converter): what one idle core would accept
  fsync         group commits and events per fsync, from the server's /metrics
  converter lag how long after the last 202 the worker had converted (or rejected) every event
  load          the load average before and after: on a shared machine the figures are indicative

`--stalled-sink` sends the converted events to a Caliper endpoint that never answers, so the
worker converts one batch and then waits in its backoff: what the receiver accepts alone.
`--ceiling` first runs the same client against a bare asyncio server on the server's CPU that
answers 202 without doing anything: the client's own ceiling, which the figure must stay well
under to mean anything. `--profile FILE` records the server with py-spy during the posting
phase (only the thread holding the GIL, every thread; `.txt` for py-spy's raw collapsed stacks,
anything else a flame graph).

A script, not a test: it prints figures and checks nothing but that every event was answered.

    .venv/bin/python bench/bench_live.py --events 20000 --connections 64 [--ceiling] [--profile prof.svg]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from collections.abc import Callable
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


async def answer_only(port: int) -> None:
    """The ceiling's server: reads each request and answers 202, nothing else."""
    answer = b'HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: 21\r\n\r\n{"status":"accepted"}'

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                await reader.readexactly(int(re.search(rb"(?i)content-length: *(\d+)", head).group(1)))  # type: ignore[union-attr]
                writer.write(answer)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    print("ready", flush=True)
    await server.serve_forever()


def ceiling(port: int, tokens: list[bytes], connections: int, pin: Callable[[], None] | None) -> float:
    """Requests/s of the client against a server that does nothing but answer 202."""
    server = subprocess.Popen([sys.executable, __file__, "--answer-only", str(port)], stdout=subprocess.PIPE, preexec_fn=pin)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == b"ready"
        _, statuses, seconds = asyncio.run(post_all(port, tokens, connections))
    finally:
        server.terminate()
        server.wait(30)
    return statuses.get(202, 0) / seconds


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time (user + system) of process `pid`'s main thread, and of its other threads together."""
    tick = os.sysconf("SC_CLK_TCK")
    main = rest = 0.0
    for task in os.listdir(f"/proc/{pid}/task"):
        fields = Path(f"/proc/{pid}/task/{task}/stat").read_text().rsplit(")", 1)[1].split()
        seconds = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        if int(task) == pid:
            main += seconds
        else:
            rest += seconds
    return main, rest


def load() -> str:
    return "load average " + ", ".join(f"{value:.2f}" for value in os.getloadavg())


def metric(text: str, name: str) -> float:
    return sum(float(value) for value in re.findall(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+]+)$", text, re.M))


def progress(port: int) -> dict[str, float]:
    """The server's counts so far: events done (converted, rejected or dropped as duplicates), fsyncs."""
    text = scrape(port)
    return {
        "done": sum(metric(text, f"translator_{name}_total") for name in ("converted", "rejected", "duplicates")),
        "fsyncs": metric(text, "translator_spool_fsync_seconds_count"),
        "fsync_seconds": metric(text, "translator_spool_fsync_seconds_sum"),
    }


def wait_converted(port: int, count: float) -> float:
    """Until `count` events are done (at most 10 minutes); how many are."""
    for _ in range(6000):
        done = progress(port)["done"]
        if done >= count:
            break
        time.sleep(0.1)
    return done


def scrape(port: int) -> str:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=2000, help="events posted and converted before the timed run")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--port", type=int, default=18_188)
    parser.add_argument("--stalled-sink", action="store_true", help="the worker's sink never answers: the receiver alone")
    parser.add_argument("--ceiling", action="store_true", help="first measure the client against a server that does nothing")
    parser.add_argument("--profile", metavar="FILE", help="py-spy record of the server while posting (.txt: raw stacks)")
    parser.add_argument("--answer-only", type=int, metavar="PORT", help=argparse.SUPPRESS)  # the ceiling's server
    options = parser.parse_args()
    if options.answer_only:
        asyncio.run(answer_only(options.answer_only))
        return

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks, jwks_url = serve_jwks(key)
    print(f"signing {options.warmup + options.events:,} events ...", flush=True)
    tokens = [
        jwt.encode({"iss": ISSUER, **event}, key, algorithm="RS256", headers={"kid": "bench"}).encode()
        for event in corpus_events(options.shared, options.warmup + options.events)
    ]
    cpus = sorted(os.sched_getaffinity(0))
    pin = (lambda: os.sched_setaffinity(0, {cpus[0]})) if len(cpus) > 1 else None
    if len(cpus) > 1:
        os.sched_setaffinity(0, set(cpus[1:]))
    if options.ceiling:
        print(f"client ceiling: {ceiling(options.port, tokens[options.warmup :], options.connections, pin):,.0f} requests/s against a server that only answers 202", flush=True)
    before = load()
    with tempfile.TemporaryDirectory(prefix="bench-live-") as work:
        config = Path(work) / "live.toml"
        # a stalled sink logs a warning at each retry: only errors then
        sink = 'caliper_endpoint = "http://127.0.0.1:9/"\nlog_level = "error"\n' if options.stalled_sink else 'log_level = "warning"\n'
        config.write_text(
            f'port = {options.port}\nspool = "{work}/spool"\nout = "{work}/out"\njwks_url = "{jwks_url}"\n{sink}',
            encoding="utf-8",
        )
        server = subprocess.Popen([sys.executable, "-m", "translator", "serve", "--config", str(config)], cwd=ROOT, preexec_fn=pin)
        try:
            for _ in range(300):
                try:
                    scrape(options.port)
                    break
                except OSError:
                    time.sleep(0.1)
            if options.warmup:  # untimed: the first event of each type plans (and proves) its conversion
                asyncio.run(post_all(options.port, tokens[: options.warmup], options.connections))
                wait_converted(options.port, 0 if options.stalled_sink else options.warmup)
            start = progress(options.port)
            cpu_before = cpu_seconds(server.pid)
            spy = None
            if options.profile:
                kind = "raw" if options.profile.endswith(".txt") else "flamegraph"
                spy_bin = Path(sys.executable).with_name("py-spy")
                command = [str(spy_bin) if spy_bin.exists() else "py-spy", "record", "--gil", "--threads", "-r", "200", "-f", kind, "-o", options.profile, "--pid", str(server.pid)]
                spy = subprocess.Popen(command, stdout=subprocess.DEVNULL)
                time.sleep(1)  # attached before the first request
            latencies, statuses, seconds = asyncio.run(post_all(options.port, tokens[options.warmup :], options.connections))
            posted = time.perf_counter()
            cpu_after = cpu_seconds(server.pid)
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(60)
            accepted = statuses.get(202, 0)
            done = wait_converted(options.port, 0 if options.stalled_sink else start["done"] + accepted) - start["done"]
            lag = time.perf_counter() - posted
            end = progress(options.port)
            fsyncs = end["fsyncs"] - start["fsyncs"]
            fsync_time = end["fsync_seconds"] - start["fsync_seconds"]
        finally:
            server.terminate()
            server.wait(60)
            jwks.shutdown()
    latencies.sort()
    print(f"{before} before, {load()} after")
    print(f"server pinned to CPU {cpus[0]}, client on {cpus[1:] or cpus}; {options.connections} connections; {options.warmup:,} events of warm-up first")
    print(f"answers: {statuses}")
    print(f"accepted: {accepted / seconds:,.0f} signed events/s ({accepted:,} in {seconds:.2f} s, fsync on)")
    print(
        f"latency: p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.1f} ms, "
        f"max {latencies[-1] * 1000:.1f} ms"
    )
    main, rest = (after - before for after, before in zip(cpu_after, cpu_before))
    print(
        f"server CPU while posting: {(main + rest) / seconds:.0%} of a core; per accepted event {main / accepted * 1e6:,.0f} us in the "
        f"event loop's thread (receiving), {rest / accepted * 1e6:,.0f} us in the others (spool writer, converter)"
    )
    print(f"  so one core doing nothing else would accept about {accepted / (main + rest):,.0f} events/s with the converter beside it, {accepted / main:,.0f} without")
    if fsyncs:
        print(f"fsync: {fsyncs:,.0f} group commits, {accepted / fsyncs:,.1f} events per fsync, {fsync_time / fsyncs * 1000:.2f} ms each on average")
    if options.stalled_sink:
        print("converter lag: not measured (--stalled-sink: the worker waits on a sink that never answers)")
    else:
        print(f"converter lag: every event converted or rejected {lag:.2f} s after the last 202 ({done:,.0f} of {accepted:,})")


if __name__ == "__main__":
    main()
