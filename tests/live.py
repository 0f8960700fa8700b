"""Real parts for the live-delivery tests: keys, a JWKS server, a receiver under uvicorn, events.

Every wait here is bounded in time and count; every server listens on 127.0.0.1 only.
"""

from __future__ import annotations

import copy
import gzip
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa

from corpus import canvas_examples
from translator.engine import default_translator
from translator.io.jws import CANVAS_ISSUER
from translator.live.app import build_app
from translator.live.config import LiveSettings, load_settings
from translator.live.service import Service

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def wait_for(condition: Callable[[], bool], timeout: float = 15.0, interval: float = 0.05) -> bool:
    """True once `condition()` holds; False after `timeout` seconds (at most timeout/interval tries)."""
    for _ in range(int(timeout / interval) + 1):
        if condition():
            return True
        time.sleep(interval)
    return condition()


# -- keys and tokens ------------------------------------------------------------------------


@cache
def rsa_key(name: str) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(kid: str) -> dict[str, Any]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key(kid).public_key()))
    return {**public, "kid": kid, "use": "sig", "alg": "RS256"}


def sign(event: dict[str, Any], kid: str = "current", *, key: str | None = None, **claims: Any) -> str:
    """Signed as Canvas signs a live event: RS256, `kid` in the header, Canvas's issuer."""
    payload = {"iss": CANVAS_ISSUER, "iat": int(time.time()), **event, **claims}
    return jwt.encode(payload, rsa_key(key or kid), algorithm="RS256", headers={"kid": kid})


class JwksServer:
    """Serves a JWKS document over HTTP, counting the fetches; `kids` can be changed (rotation)."""

    def __init__(self, kids: list[str]) -> None:
        self.kids = list(kids)
        self.fetches = 0
        served = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the standard library's name
                served.fetches += 1
                body = json.dumps({"keys": [jwk(kid) for kid in served.kids]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.server.server_address[1]}/jwks"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- events ---------------------------------------------------------------------------------


@cache
def _convertible() -> tuple[dict[str, Any], ...]:
    found = []
    for example in canvas_examples():
        try:
            default_translator().translate(example.payload, to="caliper")
        except ValueError:
            continue
        found.append(example.payload)
    return tuple(found)


def events(count: int, start: int = 0) -> list[dict[str, Any]]:
    """`count` distinct conforming Canvas events (corpus examples, each with its own event_time)."""
    examples = _convertible()
    made = []
    for number in range(start, start + count):
        event = copy.deepcopy(examples[number % len(examples)])
        seconds, millis = divmod(number, 1000)
        minutes, seconds = divmod(seconds, 60)
        hours, minutes = divmod(minutes, 60)
        event["metadata"]["event_time"] = f"2026-01-{1 + hours // 24:02d}T{hours % 24:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"
        made.append(event)
    return made


def read_jsonl(directory: Path, prefix: str) -> list[dict[str, Any]]:
    """Every record of the `prefix`-*.jsonl[.gz] files in `directory`."""
    records = []
    for path in sorted(directory.glob(f"{prefix}-*.jsonl*")):
        data = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
        records.extend(json.loads(line) for line in data.splitlines() if line.strip())
    return records


def output_ids(directory: Path) -> list[str]:
    return [envelope["data"][0]["id"] for envelope in read_jsonl(directory, "events")]


# -- the receiver under uvicorn -------------------------------------------------------------


def settings(tmp: Path, **values: Any) -> LiveSettings:
    base = {"spool": str(tmp / "spool"), "out": str(tmp / "out"), "port": free_port(), "log_level": "warning"}
    return load_settings(None, {**base, **values})


@contextmanager
def receiver(live: LiveSettings) -> Iterator[tuple[str, Service]]:
    """The app under uvicorn on a free port, in a thread; yields its base URL and its service."""
    service = Service(live)
    server = uvicorn.Server(uvicorn.Config(build_app(service), host=HOST, port=live.port, log_config=None, access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: server.started, timeout=20), "uvicorn did not start"
        yield f"http://{HOST}:{live.port}", service
    finally:
        server.should_exit = True
        thread.join(30)


# -- `translator serve` in a process of its own ---------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def write_config(path: Path, port: int, tmp: Path, jwks_url: str, **extra: Any) -> Path:
    """A `serve` config file: spool and out under `tmp`, warnings and errors logged."""
    values = {"port": port, "spool": str(tmp / "spool"), "out": str(tmp / "out"), "jwks_url": jwks_url, "log_level": "warning", **extra}
    path.write_text("".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items()), encoding="utf-8")
    return path


def start_serve(
    config: Path, port: int, log: Path, preexec_fn: Callable[[], None] | None = None, wrapper: tuple[str, ...] = ()
) -> subprocess.Popen[bytes]:
    """`translator serve --config config` (run by `wrapper`, if any), started once /healthz
    answers. Its stderr reaches `log` through a pipe copied by this process, so limits put on
    the server's files (RLIMIT_FSIZE by `preexec_fn`, another user) do not apply to its log."""
    process = subprocess.Popen(
        [*wrapper, sys.executable, "-m", "translator", "serve", "--config", str(config)],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        preexec_fn=preexec_fn,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )

    def copy() -> None:
        with open(log, "ab") as stream:
            for line in process.stderr:  # type: ignore[union-attr]
                stream.write(line)
                stream.flush()

    threading.Thread(target=copy, daemon=True).start()

    def up() -> bool:
        try:
            return httpx.get(f"http://{HOST}:{port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return process.poll() is not None

    assert wait_for(up, timeout=30), "the server did not start"
    assert process.poll() is None, log.read_text()
    return process
