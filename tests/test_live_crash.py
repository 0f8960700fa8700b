"""Crash test: `translator serve` (receiver and worker, one process) is killed with SIGKILL at
random moments while clients post signed events; after a restart every event it acknowledged
(202) is in the output or the rejects file, and a SIGTERM then stops it cleanly."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from live import HOST, JwksServer, events, free_port, read_jsonl, sign, start_serve, wait_for
from translator.engine import event_id

pytestmark = pytest.mark.slow  # real serve processes, killed with SIGKILL: `pytest -m ""` runs it (README, Tests)

def test_kill_9_at_random_moments_loses_no_acknowledged_event(tmp_path: Path) -> None:
    seed = int(time.time())
    chance = random.Random(seed)
    jwks = JwksServer(["current"])
    port = free_port()
    config = tmp_path / "live.toml"
    config.write_text(
        f'port = {port}\nspool = "{tmp_path / "spool"}"\nout = "{tmp_path / "out"}"\njwks_url = "{jwks.url}"\n'
        'log_level = "warning"\nsegment_bytes = 65536\n',
        encoding="utf-8",
    )
    log = tmp_path / "serve.log"
    pool = events(3000)
    for number in range(0, len(pool), 10):  # every tenth one cannot convert: it must end in the rejects
        pool[number] = {**pool[number], "metadata": {**pool[number]["metadata"], "event_time": "yesterday"}}
    acknowledged: dict[str, str] = {}  # token -> event id
    lock = threading.Lock()
    cursor = iter(range(len(pool)))

    def post(stop: threading.Event) -> None:
        with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=5) as client:
            while not stop.is_set():
                with lock:
                    number = next(cursor, None)
                if number is None:
                    return
                token = sign(pool[number])
                try:
                    answer = client.post("/events", content=token)
                except httpx.HTTPError:
                    return  # the server is gone: this one was never acknowledged
                if answer.status_code == 202:
                    with lock:
                        acknowledged[token] = event_id(pool[number])

    try:
        for _ in range(2):
            server = start_serve(config, port, log)
            stop = threading.Event()
            clients = [threading.Thread(target=post, args=(stop,)) for _ in range(4)]
            for client in clients:
                client.start()
            before = len(acknowledged)
            wait_for(lambda: len(acknowledged) >= before + 10, timeout=20)  # however loaded the machine
            time.sleep(chance.uniform(0.0, 0.6))
            os.kill(server.pid, signal.SIGKILL)
            server.wait(10)
            stop.set()
            for client in clients:
                client.join(10)
        assert len(acknowledged) >= 20, f"too few events got through to test anything (seed {seed})"
        server = start_serve(config, port, log)
        out = tmp_path / "out"

        def delivered() -> set[str]:
            ids = {envelope["data"][0]["id"] for envelope in read_jsonl(out, "events")}
            return ids | {acknowledged.get(reject["text"], "") for reject in read_jsonl(out, "rejects")}

        wait_for(lambda: set(acknowledged.values()) <= delivered(), timeout=60, interval=0.2)
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0, log.read_text()
    finally:
        jwks.close()
    missing = set(acknowledged.values()) - delivered()
    assert not missing, f"{len(missing)} acknowledged events lost (seed {seed})"
    rejects = read_jsonl(out, "rejects")
    assert rejects and all(reject["reason"] == "invalid-input" for reject in rejects)
    assert len(list((tmp_path / "spool").glob("*.seg"))) <= 1  # delivered segments were removed
