"""The SQS consumer against moto's server mode with boto3: messages end converted; a message that
cannot be spooled is not deleted, comes back after its visibility timeout, and then gets through."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from live import HOST, events, free_port, output_ids, read_jsonl, settings, wait_for
from translator.engine import event_id
from translator.live.service import Service
from translator.live.sqs import SqsConsumer

pytestmark = pytest.mark.slow  # a moto SQS server and real consume processes: `pytest -m ""` runs it (README, Tests)


@pytest.fixture(scope="module")
def sqs_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
    server.start()
    yield f"http://{HOST}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials for the local stand-in only."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)


def send(client: Any, queue: str, event: dict[str, Any]) -> None:
    """As Canvas sends: the event's JSON, with event_name and event_time attributes."""
    attributes = {
        name: {"DataType": "String", "StringValue": event["metadata"][name]} for name in ("event_name", "event_time")
    }
    client.send_message(QueueUrl=queue, MessageBody=json.dumps(event), MessageAttributes=attributes)


def visible(client: Any, queue: str) -> int:
    attributes = client.get_queue_attributes(
        QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_messages_are_spooled_before_deletion_and_failures_stay_on_the_queue(tmp_path: Path, sqs_endpoint: str) -> None:
    client = boto3.client("sqs", endpoint_url=sqs_endpoint)
    queue = client.create_queue(QueueName="canvas-live-events-test", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    good = events(12)
    without_metadata_name = json.loads(json.dumps(good[0]))
    del without_metadata_name["metadata"]["event_name"]  # the attribute fills it in
    bad = {"metadata": {**good[1]["metadata"], "event_time": "yesterday"}, "body": good[1]["body"]}
    for event in [*good[1:], bad]:
        send(client, queue, event)
    client.send_message(
        QueueUrl=queue,
        MessageBody=json.dumps(without_metadata_name),
        MessageAttributes={"event_name": {"DataType": "String", "StringValue": good[0]["metadata"]["event_name"]}},
    )
    # Room for a few messages: the rest of the first receive cannot be spooled.
    live = settings(tmp_path, sqs=queue, endpoint_url=sqs_endpoint, wait_seconds=1, spool_max_bytes=15000, segment_bytes=4096)
    service = Service(live)
    consumer = SqsConsumer(service, queue, endpoint_url=sqs_endpoint, wait_seconds=1)
    spooled, left = consumer.poll()
    assert spooled >= 1 and left >= 1 and spooled + left == 10
    assert visible(client, queue) == 13 - spooled  # the failed ones were not deleted
    service.start()
    stop = threading.Event()
    polling = threading.Thread(target=consumer.run, args=(stop,), kwargs={"max_polls": 60})
    polling.start()
    try:
        assert wait_for(lambda: len(output_ids(Path(live.out))) == 12 and len(read_jsonl(Path(live.out), "rejects")) == 1, timeout=40)
    finally:
        stop.set()
        polling.join(10)
        service.stop()
    assert sorted(output_ids(Path(live.out))) == sorted(event_id(event) for event in good)
    [reject] = read_jsonl(Path(live.out), "rejects")
    assert reject["reason"] == "invalid-input" and reject["source"].startswith("sqs:")
    assert json.loads(reject["text"])["Body"] == json.dumps(bad)
    assert visible(client, queue) == 0


def test_translator_consume_runs_until_sigterm_and_exits_cleanly(tmp_path: Path, sqs_endpoint: str) -> None:
    client = boto3.client("sqs", endpoint_url=sqs_endpoint)
    queue = client.create_queue(QueueName="canvas-live-events-cli")["QueueUrl"]
    sent = events(5, start=100)
    for event in sent:
        send(client, queue, event)
    out = tmp_path / "out"
    argv = ["consume", "--sqs", queue, "--endpoint-url", sqs_endpoint, "--wait-seconds", "1", "--spool", str(tmp_path / "spool"), "--out", str(out)]
    process = subprocess.Popen([sys.executable, "-m", "translator", *argv], stderr=subprocess.PIPE, env={**os.environ})
    try:
        assert wait_for(lambda: len(output_ids(out)) == 5, timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr.decode()
    assert sorted(output_ids(out)) == sorted(event_id(event) for event in sent)
    assert visible(client, queue) == 0
