"""Where a stream of Elasticsearch documents stands: a time bound, and the batches in flight.

A streaming ``input = elasticsearch`` reads the documents of consecutive intervals of
``time_field``: each batch takes ``(lower, upper]``, where ``lower`` is where the previous one
ended and ``upper`` is the driver's clock minus ``delay`` (ms since the epoch). The bounds come
from the clock, never from a document, so documents sharing a timestamp can never fall on both
sides of a cut: every document lies in exactly one interval, whatever the field's precision
(``date`` or ``date_nanos``), and no tiebreaker is needed between batches (inside one, the
point in time's ``_shard_doc`` orders the pages). ``delay`` is how long a document may take to
become searchable after its ``time_field`` (shipping, ingest pipelines, the 1 s refresh): one
that appears later than that falls behind the cursor and is not read — point ``time_field`` at
an ingest time (``event.ingested``) where agents may send late.

A batch holding more than ``max_documents`` is cut shorter, halving its interval until it fits
(down to one millisecond, read whole whatever it holds).

The state file records the bound every reader delivered and, written ahead of each batch, the
bounds and times of the batches in flight: a restart replays exactly those, under their first
times, so their rows come out identical (Elasticsearch's ``_id`` recognises them). Pure logic.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from datashark.config.durations import duration_ms

if TYPE_CHECKING:
    from datashark.errors import ConfLocation

FORMAT = "datashark-es-cursor-1"
NOW_MINUS = re.compile(r"now(?:\s*-\s*(\d+\s*(?:ms|s|m|h|d)))?")

InFlight = list[tuple[int, int]]  # (batch time in ms since the epoch, upper bound), oldest first


@dataclasses.dataclass(frozen=True)
class Pacing:
    """How a stream advances: from where the first time, how far behind the clock, how much a batch."""

    start: int  # ms since the epoch: where the first start reads from
    delay: int  # ms: how long a document may take to become searchable
    max_documents: int  # per batch: more, and the batch reads a shorter interval


def start_ms(text: str | None, now_ms: int, where: ConfLocation) -> int:
    """Where a stream starts the first time: ``now`` (the default), ``now-<duration>``, or an
    ISO 8601 date (UTC unless it says otherwise)."""
    text = (text or "now").strip()
    found = NOW_MINUS.fullmatch(text)
    if found is not None:
        return now_ms - (duration_ms(found[1], where) if found[1] else 0)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise where.error(
            f"{text!r}: a stream starts at now, now-<duration> (now-24h) or an ISO 8601 date"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return round(moment.timestamp() * 1000)


def between(time_field: str, lower: int, upper: int) -> dict[str, Any]:
    """The range query of the interval ``(lower, upper]``."""
    return {"range": {time_field: {"gt": lower, "lte": upper, "format": "epoch_millis"}}}


def capped_upper(lower: int, upper: int, count: Callable[[int, int], int], limit: int) -> int:
    """The upper bound of a batch from ``lower`` holding at most ``limit`` documents (``count``
    of an interval), halving ``(lower, upper]`` while it holds more; one ms is read whole."""
    while upper - lower > 1 and count(lower, upper) > limit:
        upper = lower + (upper - lower) // 2
    return upper


def document(source: str, read_up_to: int, in_flight: InFlight) -> dict[str, Any]:
    """The state file's content: what it reads, the bound delivered, the batches in flight."""
    return {"format": FORMAT, "source": source, "read_up_to": read_up_to, "in_flight": in_flight}


def stored_cursor(stored: Any, source: str, where: str) -> tuple[int, InFlight] | None:
    """(bound delivered, batches in flight) of a state file, None when it records another
    ``source`` (the index, query or time field changed: the stream starts afresh)."""
    if not isinstance(stored, dict) or stored.get("format") != FORMAT:
        raise ValueError(f"{where}: not a dataShark in_elasticsearch state: delete it to start afresh")
    if stored.get("source") != source:
        return None
    try:
        read_up_to = int(stored["read_up_to"])
        in_flight = [(int(ms), int(upper)) for ms, upper in stored["in_flight"]]
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{where}: unreadable in_elasticsearch state: delete it to start afresh") from None
    uppers = [upper for _, upper in in_flight]
    if uppers != sorted(uppers) or (uppers and uppers[0] <= read_up_to):
        raise ValueError(f"{where}: unreadable in_elasticsearch state: delete it to start afresh")
    return read_up_to, in_flight
