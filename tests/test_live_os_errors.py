"""The OS refusing writes: `translator serve` in a process whose files may not grow past a limit
(RLIMIT_FSIZE, SIGXFSZ ignored, so a write fails with EFBIG as it would with ENOSPC on a full
disk), and one running as "nobody" whose spool directory stops being writable. Every delivery
answered 202 ends in the output exactly once, every one that could not be stored is answered 503,
/healthz and /metrics say why, and the log holds structured lines, not tracebacks."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from live import HOST, JwksServer, events, free_port, output_ids, read_jsonl, sign, start_serve, wait_for, write_config
from translator.engine import event_id

pytestmark = pytest.mark.slow  # real serve processes: `pytest -m ""` runs it (README, Tests)

LIMIT = 64 << 10  # bytes any file of the server may hold
NOBODY = 65534


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    server = JwksServer(["current"])
    yield server
    server.close()


def small_files() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # survives exec: writes past the limit fail instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


# Dropped by setpriv rather than by os.setgid/os.setuid in preexec_fn: on this machine the
# interpreter is pyenv's under /root (mode 0700), and the exec after a preexec_fn drop failed
# with EACCES, while setpriv's drop and exec of the same interpreter work.
AS_NOBODY = ("setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups")


def log_lines(log: Path) -> list[dict[str, object]]:
    text = log.read_text(encoding="utf-8")
    assert "Traceback" not in text, text
    return [json.loads(line) for line in text.splitlines()]  # every line is one JSON object


def metric(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def saved(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""  # none yet: the first batch stalled


def stop(server: object) -> None:
    server.send_signal(signal.SIGTERM)  # type: ignore[attr-defined]
    assert server.wait(30) == 0  # type: ignore[attr-defined]


def test_files_that_cannot_grow_get_503_and_lose_nothing_acknowledged(tmp_path: Path, jwks: JwksServer) -> None:
    port = free_port()
    # Segments larger than the limit: the spool's writes fail with EFBIG once a segment reaches
    # it, and so does the events file's (it rotates only at 256 MiB), so delivery stalls too.
    config = write_config(tmp_path / "live.toml", port, tmp_path, jwks.url, segment_bytes=1 << 20)
    log = tmp_path / "serve.log"
    pool = events(120)
    for number in range(0, len(pool), 7):  # these cannot convert: they end in the rejects
        pool[number] = {**pool[number], "metadata": {**pool[number]["metadata"], "event_time": "yesterday"}}
    tokens = {sign(event): event_id(event) for event in pool}
    bad = set(list(tokens)[::7])
    statuses: dict[str, int] = {}
    server = start_serve(config, port, log, preexec_fn=small_files)
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=10) as client:
        for token in tokens:
            answer = client.post("/events", content=token)
            statuses[token] = answer.status_code
            if answer.status_code == 503:
                assert answer.json()["error"] == "spool-unavailable" and answer.headers["retry-after"] == "60"
                health = client.get("/healthz")
                assert health.status_code == 503 and "File too large" in health.json()["spool"]
        assert wait_for(lambda: "delivery" in client.get("/healthz").json())
        checkpoint = saved(tmp_path / "spool" / "checkpoint.json")
        errors = metric(client.get("/metrics").text, "translator_delivery_errors_total")
        assert wait_for(lambda: metric(client.get("/metrics").text, "translator_delivery_errors_total") > errors)  # retried
        assert saved(tmp_path / "spool" / "checkpoint.json") == checkpoint  # and not moved past the batch
        health = client.get("/healthz").json()
        metrics = client.get("/metrics").text
        rejected = Counter(reject["text"] for reject in read_jsonl(tmp_path / "out", "rejects"))
    assert server.poll() is None  # still serving
    assert "File too large" in health["delivery"]
    assert rejected and set(rejected.values()) == {1}  # the retries did not write them again
    refused = [token for token, status in statuses.items() if status != 202]
    acknowledged = {token for token, status in statuses.items() if status == 202}
    assert refused and set(statuses.values()) == {202, 503}
    assert metric(metrics, 'translator_spool_write_errors_total{errno="EFBIG"}') == len(refused)
    assert metric(metrics, 'translator_refused_total{reason="spool-unavailable"}') == len(refused)
    assert len(output_ids(tmp_path / "out")) < len(acknowledged - bad)  # the stalled batch is not out
    assert all(path.stat().st_size <= LIMIT for path in (tmp_path / "spool").glob("*.seg"))
    stop(server)
    errors_logged = [line for line in log_lines(log) if line["level"] == "error"]
    assert {line["message"] for line in errors_logged} == {
        "spool write failed; deliveries get 503 until a write succeeds",
        "delivery failed; the batch stays in the spool and is tried again",
    }
    assert sum(line["message"].startswith("delivery failed") for line in errors_logged) == 1  # not one per retry

    server = start_serve(config, port, log)  # the limit lifted
    assert wait_for(lambda: len(output_ids(tmp_path / "out")) >= len(acknowledged - bad), timeout=30)
    stop(server)
    delivered = Counter(output_ids(tmp_path / "out"))
    assert sorted(delivered) == sorted(tokens[token] for token in acknowledged - bad)  # no cut frame read back
    assert set(delivered.values()) == {1}
    rejected = Counter(reject["text"] for reject in read_jsonl(tmp_path / "out", "rejects"))
    assert set(rejected) == acknowledged & bad
    # Not even those of the batch in hand at the stop, whose rejects were written and events
    # not (the checkpoint noted them: `Checkpoint.rejected`).
    assert set(rejected.values()) == {1}


def test_a_spool_directory_no_longer_writable_gets_503_until_it_is_again(jwks: JwksServer) -> None:
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("dropping to another user needs root and setpriv")
    port = free_port()
    with tempfile.TemporaryDirectory() as name:  # not under pytest's tmp_path, which nobody cannot enter
        root = Path(name)
        root.chmod(0o755)
        for part in ("spool", "out"):
            (root / part).mkdir()
            os.chown(root / part, NOBODY, NOBODY)
        config = write_config(root / "live.toml", port, root, jwks.url, segment_bytes=8192)
        log = root / "serve.log"
        spool = root / "spool"
        pool = iter(events(60))
        statuses: dict[str, int] = {}
        server = start_serve(config, port, log, wrapper=AS_NOBODY)
        with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=10) as client:

            def post() -> int:
                event = next(pool)
                statuses[event_id(event)] = status = client.post("/events", content=sign(event)).status_code
                return status

            assert [post() for _ in range(10)] == [202] * 10
            assert wait_for(lambda: len(output_ids(root / "out")) == 10)
            spool.chmod(0o500)
            assert 503 in (post() for _ in range(10))  # at the latest when the segment is full
            assert [post() for _ in range(5)] == [503] * 5
            health = client.get("/healthz")
            assert health.status_code == 503 and "Permission denied" in health.json()["spool"]
            metrics = client.get("/metrics").text
            assert metric(metrics, 'translator_spool_write_errors_total{errno="EACCES"}') == 6
            spool.chmod(0o700)
            assert [post() for _ in range(5)] == [202] * 5
            acknowledged = [key for key, status in statuses.items() if status == 202]
            assert wait_for(lambda: sorted(output_ids(root / "out")) == sorted(acknowledged))
            assert wait_for(lambda: client.get("/healthz").json() == {"status": "ok"})
        assert server.poll() is None
        stop(server)
        lines = log_lines(log)
        delivered = Counter(output_ids(root / "out"))
    assert set(delivered.values()) == {1}
    assert not set(delivered) & {key for key, status in statuses.items() if status == 503}
    spool_errors = [line for line in lines if line["message"].startswith("spool write failed")]
    assert len(spool_errors) == 1 and spool_errors[0]["errno"] == "EACCES"
    assert any(line["message"] == "spool writable again; accepting deliveries" for line in lines)
