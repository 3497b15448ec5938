"""Messages omkafka could not deliver before rsyslogd stopped, sent on by ``datashark acquire``.

When Kafka is down, librdkafka reports the messages it holds as failed; omkafka keeps them
(``keepFailedMessages``) and, as rsyslogd stops, writes them to ``kafka-failed.msgs`` in the
work folder, one per line: ``topic<TAB>[key]<TAB>record``. Every rsyslogd that loads the
configuration reads that file and deletes it, even ``rsyslogd -N1``, which only checks the
configuration and so sends nothing (measured with rsyslog 8.2302: 100 of 100 messages lost when
the configuration was checked before the restart). So ``datashark acquire`` moves the file aside
before any rsyslogd runs, and sends its messages itself, with librdkafka (confluent-kafka) and
the acquisition's Kafka keys, deleting the file once every message is acknowledged. While Kafka
does not answer, the file stays and is tried again every few seconds: these messages arrive
late (after newer ones), never lost.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from datashark import console
from datashark.acquisition.rsyslog_config import FAILED_MESSAGES_FILE
from datashark.acquisition.settings import KafkaTarget

PENDING_GLOB = "kafka-failed-*.pending"
DELIVERY_TIMEOUT_S = 10.0
RETRY_SECONDS = 5.0


def read_pending(path: Path) -> list[tuple[str, bytes | None, bytes]]:
    """(topic, key, record) of every message in a file omkafka wrote; blank lines skipped.

    The record is JSON (the acquisition template), so it holds no raw tab or line break: the
    topic is what comes before the first tab, the record what follows the last one.
    """
    messages = []
    for line in path.read_bytes().splitlines():
        if not line.strip():
            continue
        fields = line.split(b"\t")
        if len(fields) < 2:
            raise ValueError(f"{path}: a line without a topic and a tab: {line[:80]!r}")
        key = fields[1] if len(fields) > 2 and fields[1] else None
        messages.append((fields[0].decode(), key, fields[-1]))
    return messages


def set_aside(work_dir: Path) -> None:
    """Before any rsyslogd runs: its file of failed messages renamed, so rsyslogd leaves it."""
    failed = work_dir / FAILED_MESSAGES_FILE
    if failed.exists():
        failed.rename(work_dir / f"kafka-failed-{time.time_ns()}.pending")


class PendingMessages:
    """The undelivered messages of earlier runs, in the work folder, until Kafka acknowledges them."""

    def __init__(self, work_dir: Path, kafka: KafkaTarget) -> None:
        self.work_dir = work_dir
        self.kafka = kafka
        self._sender: threading.Thread | None = None
        self._next_try = 0.0

    def files(self) -> list[Path]:
        return sorted(self.work_dir.glob(PENDING_GLOB))

    def send_in_background(self) -> None:
        """Start sending the pending files, unless a sending is under way or tried just now."""
        busy = self._sender is not None and self._sender.is_alive()
        if busy or time.monotonic() < self._next_try or not self.files():
            return
        self._next_try = time.monotonic() + RETRY_SECONDS
        self._sender = threading.Thread(target=self.send, name="pending-kafka-messages", daemon=True)
        self._sender.start()

    def send(self) -> int:
        """Send every pending file, deleting each once all its messages are acknowledged; how
        many messages were delivered. A file Kafka did not take whole is kept for the next try."""
        delivered = 0
        for path in self.files():
            try:
                sent = self._send_file(path)
            except Exception as err:  # Kafka down or a bad file: kept, told, tried again
                console.info(f"{path.name}: kept for a later try ({type(err).__name__}: {err})")
                return delivered
            path.unlink()
            delivered += sent
            console.info(f"{path.name}: {sent} message(s) rsyslogd could not deliver sent to Kafka")
        return delivered

    def _send_file(self, path: Path) -> int:
        from confluent_kafka import Producer

        messages = read_pending(path)
        errors: list[Any] = []
        producer = Producer(
            {
                **self.kafka.options,
                "bootstrap.servers": ",".join(self.kafka.brokers),
                "acks": "all",
                "message.timeout.ms": str(int(DELIVERY_TIMEOUT_S * 1000)),
            }
        )

        def delivered(err: Any, message: Any) -> None:
            if err is not None:
                errors.append(err)

        for topic, key, record in messages:
            producer.produce(topic, value=record, key=key, on_delivery=delivered)
            producer.poll(0)
        left = producer.flush(DELIVERY_TIMEOUT_S + 5)
        if left or errors:
            reason = errors[0] if errors else f"{left} not acknowledged"
            raise ConnectionError(f"{len(errors) or left} of {len(messages)} not delivered: {reason}")
        return len(messages)
