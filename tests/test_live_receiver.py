"""The HTTPS receiver under uvicorn, driven by a real HTTP client, with tokens signed by test keys
and the JWKS served over HTTP: every answer the README documents, and where the events end."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from live import JwksServer, events, output_ids, read_jsonl, receiver, rsa_key, settings, sign, wait_for
from translator.engine import event_id
from translator.io.jws import CANVAS_ISSUER
from translator.live.spool import Spool

pytestmark = pytest.mark.slow  # a real uvicorn receiver: `pytest -m ""` runs it (README, Tests)


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    server = JwksServer(["previous", "current"])
    yield server
    server.close()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_signed_events_are_verified_spooled_and_converted(tmp_path: Path, jwks: JwksServer) -> None:
    live = settings(tmp_path, jwks_url=jwks.url, jwks_cooldown=0.3)
    good = events(3)
    not_convertible = {"metadata": {**good[0]["metadata"], "event_time": "yesterday"}, "body": good[0]["body"]}
    now = int(time.time())
    public_pem = rsa_key("current").public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs_input = f"{b64(json.dumps({'alg': 'HS256', 'kid': 'current'}).encode())}.{b64(json.dumps(good[0]).encode())}"
    refused = {
        "forged": (sign(good[0], key="intruder"), 401, "bad-signature"),
        "alg none": (f"{b64(json.dumps({'alg': 'none', 'kid': 'current'}).encode())}.{b64(json.dumps(good[0]).encode())}.", 401, "bad-algorithm"),
        "HS256 with the public key": (f"{hs_input}.{b64(hmac.new(public_pem, hs_input.encode(), hashlib.sha256).digest())}", 401, "bad-algorithm"),
        "jku to the intruder's keys": (
            jwt.encode({"iss": CANVAS_ISSUER, **good[0]}, rsa_key("intruder"), algorithm="RS256", headers={"kid": "current", "jku": jwks.url, "x5u": jwks.url}),
            401,
            "bad-signature",
        ),
        "expired": (sign(good[0], exp=now - 3600), 401, "expired"),
        "not yet valid": (sign(good[0], nbf=now + 3600), 401, "not-yet-valid"),
        "another issuer": (sign(good[0], iss="https://evil.example"), 401, "bad-issuer"),
        "unsigned": (json.dumps(good[0]), 401, "unsigned"),
        "too large": ("x" * (live.max_body + 1), 413, "too-large"),
    }
    with receiver(live) as (url, service), httpx.Client(base_url=url, timeout=10) as client:
        for name, (body, status, reason) in refused.items():
            answer = client.post("/events", content=body)
            assert (name, answer.status_code, answer.json()["error"]) == (name, status, reason)
        answers = [client.post("/events", content=sign(event, kid)) for event, kid in zip(good, ["current", "previous", "current"])]
        assert [answer.status_code for answer in answers] == [202, 202, 202]
        assert client.post("/events", content=sign(not_convertible, exp=now + 600)).status_code == 202
        assert wait_for(lambda: len(output_ids(Path(live.out))) == 3 and len(read_jsonl(Path(live.out), "rejects")) == 1)
        assert client.get("/healthz").json() == {"status": "ok"}
        assert (client.get("/events").status_code, client.get("/nowhere").status_code) == (405, 404)
        metrics = client.get("/metrics").text
    assert sorted(output_ids(Path(live.out))) == sorted(event_id(event) for event in good)
    [reject] = read_jsonl(Path(live.out), "rejects")
    assert reject["reason"] == "invalid-input" and reject["source"].startswith("https:127.0.0.1:")
    assert 'translator_refused_total{reason="bad-algorithm"} 2.0' in metrics
    assert 'translator_spooled_total{channel="https"} 4.0' in metrics
    assert "translator_converted_total 3.0" in metrics
    assert 'translator_rejected_total{reason="invalid-input"} 1.0' in metrics
    assert "translator_spool_fsync_seconds_count" in metrics


def test_an_unknown_kid_fetches_the_jwks_once_per_cooldown_and_finds_a_rotated_key(tmp_path: Path, jwks: JwksServer) -> None:
    live = settings(tmp_path, jwks_url=jwks.url, jwks_cooldown=1.5)
    [event] = events(1)
    tokens = [sign(event, f"junk-{junk}", key="current") for junk in range(5)]
    with receiver(live) as (url, _), httpx.Client(base_url=url, timeout=10) as client:
        assert wait_for(lambda: jwks.fetches == 1)  # fetched at start
        time.sleep(1.6)
        first = client.post("/events", content=sign(event, "next"))
        assert (first.status_code, first.json()["error"], jwks.fetches) == (401, "unknown-kid", 2)
        for token in tokens:  # junk kids within the cooldown: no fetch at all
            assert client.post("/events", content=token).status_code == 401
        assert jwks.fetches == 2
        jwks.kids.append("next")  # Instructure rotates the key in
        time.sleep(1.6)
        assert client.post("/events", content=sign(event, "next")).status_code == 202
        assert jwks.fetches == 3
        assert wait_for(lambda: output_ids(Path(live.out)) == [event_id(event)])


def test_no_jwks_means_503_and_unsigned_bodies_pass_only_when_allowed(tmp_path: Path) -> None:
    closed = JwksServer(["current"])
    closed.close()  # nothing listens there any more
    live = settings(tmp_path, jwks_url=closed.url, jwks_cooldown=0.2, allow_unsigned=True)
    [event] = events(1)
    with receiver(live) as (url, _), httpx.Client(base_url=url, timeout=10) as client:
        answer = client.post("/events", content=sign(event))
        assert (answer.status_code, answer.json()["error"], answer.headers["retry-after"]) == (503, "jwks-unavailable", "60")
        assert client.post("/events", content=json.dumps(event)).status_code == 202
        assert client.post("/events", content=b"{not json").status_code == 202  # accepted, then rejected
        assert wait_for(lambda: len(output_ids(Path(live.out))) == 1 and len(read_jsonl(Path(live.out), "rejects")) == 1)
    assert output_ids(Path(live.out)) == [event_id(event)]
    assert read_jsonl(Path(live.out), "rejects")[0]["reason"] == "malformed-json"


def test_a_full_spool_answers_503_and_loses_nothing_it_acknowledged(tmp_path: Path) -> None:
    jwks = JwksServer(["current"])
    live = settings(tmp_path, jwks_url=jwks.url, spool_max_bytes=20_000, caliper_endpoint="http://127.0.0.1:9/")
    batch = events(40)
    with receiver(live) as (url, service), httpx.Client(base_url=url, timeout=10) as client:
        statuses = [client.post("/events", content=sign(event)).status_code for event in batch]
    jwks.close()
    accepted = statuses.count(202)
    assert 0 < accepted < len(batch) and set(statuses) == {202, 503}
    # The endpoint never answers, so nothing left the spool: every acknowledged event is still there.
    spool = Spool(live.spool)
    assert len(spool.read(spool.start(), 1000)) == accepted
    spool.close()


def test_concurrent_deliveries_are_all_acknowledged_and_converted_once(tmp_path: Path, jwks: JwksServer) -> None:
    live = settings(tmp_path, jwks_url=jwks.url)
    batch = events(120)
    tokens = [sign(event) for event in batch]

    async def post_all(url: str) -> list[int]:
        limits = httpx.Limits(max_connections=24, max_keepalive_connections=24)
        async with httpx.AsyncClient(base_url=url, timeout=20, limits=limits) as client:
            answers = await asyncio.gather(*(client.post("/events", content=token) for token in tokens))
        return [answer.status_code for answer in answers]

    with receiver(live) as (url, _):
        assert asyncio.run(post_all(url)) == [202] * len(tokens)
        assert wait_for(lambda: len(output_ids(Path(live.out))) == len(batch))
        metrics = httpx.get(f"{url}/metrics", timeout=10).text
    assert sorted(output_ids(Path(live.out))) == sorted(event_id(event) for event in batch)
    assert f'translator_spooled_total{{channel="https"}} {len(batch)}.0' in metrics
