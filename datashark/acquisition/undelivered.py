"""Messages Kafka did not take in time, sent on by ``datashark acquire``.

omkafka hands each message to librdkafka, which gives up on one it could not deliver within
``message.timeout.ms`` (Kafka down). omkafka then writes it to its error file,
``kafka-undelivered.json`` in the work folder: one JSON object per line, the record in
``data``. (omkafka's own retry list, ``resubmitOnFailure``, holds such messages in memory
until rsyslogd stops: measured with rsyslog 8.2302, 14,069 messages of a 30 s outage were still
waiting there minutes after Kafka was back.) Every few seconds ``datashark acquire`` takes the
file - renames it, has rsyslogd close it (SIGHUP) - and sends its records with librdkafka
(confluent-kafka) and the acquisition's Kafka keys, deleting it once Kafka acknowledged every
one. While Kafka does not answer, the taken file stays and is tried again: these messages
arrive late (after newer ones), never lost. A file left by a stopped run is taken at the start.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from datashark import console
from datashark.acquisition.background import Every
from datashark.acquisition.rotation import holds_open
from datashark.acquisition.rsyslog_config import UNDELIVERED_FILE
from datashark.acquisition.settings import KafkaTarget

PENDING_GLOB = "kafka-undelivered-*.pending"
DELIVERY_TIMEOUT_S = 10.0
RETRY_SECONDS = 5.0
CLOSE_WAIT_SECONDS = 2.0


def read_undelivered(path: Path) -> tuple[list[bytes], int]:
    """The records of an error file omkafka wrote, and how many lines were not readable (a line
    cut short when rsyslogd was killed)."""
    found, unreadable = [], 0
    for line in path.read_bytes().splitlines():
        if not line.strip():
            continue
        try:
            entry = json.loads(line.decode("utf-8", "replace"))
            found.append(entry["data"].rstrip("\n").encode())
        except (ValueError, KeyError, TypeError, AttributeError):
            unreadable += 1
    return found, unreadable


def take(work_dir: Path, pid: int | None) -> None:
    """The error file, if it holds anything, renamed ``kafka-undelivered-<n>.pending``; with
    rsyslogd running (``pid``), it is told to close it, and given a moment to."""
    current = work_dir / UNDELIVERED_FILE
    if not current.exists() or current.stat().st_size == 0:
        return
    taken = work_dir / f"kafka-undelivered-{time.time_ns()}.pending"
    os.rename(current, taken)
    if pid is None:
        return
    os.kill(pid, signal.SIGHUP)
    deadline = time.monotonic() + CLOSE_WAIT_SECONDS
    while holds_open(pid, taken) and time.monotonic() < deadline:
        time.sleep(0.02)


class Undelivered:
    """The error files of the work folder, taken and sent to Kafka in the background."""

    def __init__(self, work_dir: Path, kafka: KafkaTarget, pid: int) -> None:
        self.work_dir = work_dir
        self.kafka = kafka
        self.pid = pid
        self.every = Every("undelivered-to-kafka", RETRY_SECONDS, self.take_and_send)

    def files(self) -> list[Path]:
        return sorted(self.work_dir.glob(PENDING_GLOB))

    def take_and_send(self) -> None:
        take(self.work_dir, self.pid)
        self.send()

    def send(self) -> int:
        """Send every pending file, deleting each once all its records are acknowledged; how
        many were delivered. A file Kafka did not take whole is kept for the next try."""
        delivered = 0
        for path in self.files():
            try:
                sent = self._send_file(path)
            except Exception as err:  # Kafka down: kept, told, tried again
                console.info(f"{path.name}: kept for a later try ({type(err).__name__}: {err})")
                return delivered
            path.unlink()
            delivered += sent
            console.info(f"{path.name}: {sent} message(s) Kafka had not taken in time sent again")
        return delivered

    def _send_file(self, path: Path) -> int:
        from confluent_kafka import Producer

        found, unreadable = read_undelivered(path)
        if unreadable:
            console.error(f"{path}: {unreadable} line(s) cut short (rsyslogd killed?) cannot be sent")
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

        for record in found:
            producer.produce(self.kafka.topic, value=record, on_delivery=delivered)
            producer.poll(0)
        left = producer.flush(DELIVERY_TIMEOUT_S + 5)
        if left or errors:
            reason = errors[0] if errors else f"{left} not acknowledged"
            raise ConnectionError(f"{len(errors) or left} of {len(found)} not delivered: {reason}")
        return len(found)
