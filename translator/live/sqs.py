"""The SQS consumer: long-poll, spool and fsync each message, and only then delete it.

Canvas sends each live event as one message of a standard queue: the body is the event's JSON,
with string attributes `event_name` and `event_time`. A message is spooled as SQS returned it
(`MessageId`, `Body`, `MessageAttributes`), which `translator.io.unwrap` knows how to open. The
messages of one receive are deleted together (`DeleteMessageBatch`), and only those durably
spooled: one that could not be is left alone and comes back after the visibility timeout (and,
after `maxReceiveCount` receives, goes to the dead-letter queue if the queue has one).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import boto3
import botocore.exceptions
import orjson

from .deliveries import Delivery
from .logs import log
from .service import Service


class SqsConsumer:
    def __init__(
        self,
        service: Service,
        queue_url: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        wait_seconds: int = 20,
        max_messages: int = 10,
    ) -> None:
        self.service = service
        self.queue_url = queue_url
        self.wait_seconds = wait_seconds
        self.max_messages = max_messages
        self.client: Any = boto3.client("sqs", endpoint_url=endpoint_url, region_name=region)

    def run(self, stop: threading.Event, *, max_polls: int | None = None) -> None:
        """Poll until `stop` is set (or `max_polls` receives); an error of the queue is logged
        and the poll tried again after a backoff."""
        polls, delay = 0, 1.0
        while not stop.is_set() and (max_polls is None or polls < max_polls):
            polls += 1
            try:
                self.poll()
                delay = 1.0
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
                log(logging.ERROR, "SQS receive failed; retrying", queue=self.queue_url, error=str(exc), retry_in=delay)
                stop.wait(delay)
                delay = min(delay * 2, 60.0)

    def poll(self) -> tuple[int, int]:
        """One receive: (messages spooled and deleted, messages left on the queue)."""
        response = self.client.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.max_messages,
            WaitTimeSeconds=self.wait_seconds,
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        metrics = self.service.metrics
        pending = []
        for message in messages:
            metrics.received.labels("sqs").inc()
            kept = {"MessageId": message["MessageId"], "Body": message.get("Body", "")}
            if message.get("MessageAttributes"):
                kept["MessageAttributes"] = message["MessageAttributes"]
            delivery = Delivery("sqs", f"sqs:{message['MessageId']}", orjson.dumps(kept), received=time.time())
            pending.append((message, self.service.spool.append(delivery.encode())))
        spooled = []
        for message, future in pending:
            try:
                future.result()
            except OSError as exc:
                metrics.refused.labels("spool-unavailable").inc()
                log(logging.ERROR, "spool write failed; the message stays on the queue", message_id=message["MessageId"], error=str(exc))
                continue
            metrics.spooled.labels("sqs").inc()
            spooled.append(message)
        if spooled:
            entries = [{"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]} for index, message in enumerate(spooled)]
            result = self.client.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            for failure in result.get("Failed", []):  # it comes back; the dedup window drops the repeat
                log(logging.WARNING, "SQS delete failed; the message will be delivered again", error=failure.get("Message"))
        return len(spooled), len(messages) - len(spooled)
