"""The acquisition record: one received syslog message as rsyslog writes it to Kafka or a file.

rsyslog fills it (``PROPERTIES``: JSON key → rsyslog property); ``syslog_event`` turns it into
the event ``load()`` receives. That event is what ``format = syslog`` makes of the message as
sent (``raw``), read by dataShark's own parser (events/syslog_lines.py), so a detection moves
from files to the acquisition by changing its ``input`` alone, and the fields do not depend on
how rsyslog's parsers read a header. Two keys are added: ``sender``, the address the message
came from (a header's host is whatever the sender wrote), and ``received``, when rsyslog got it.

A message that is no RFC 3164 or RFC 5424 line (Python's ``SysLogHandler`` sends ``<12>text``
without time or host) still becomes an event with what can be read: the facility and severity
of its ``<PRI>``, a leading ``program[pid]:`` tag, the time it was received, the sender as host,
and the rest as ``message``.
"""

from __future__ import annotations

import re
from typing import Any

from datashark.events.syslog_lines import FACILITY_NAMES, MAX_PRI, SEVERITY_NAMES, parse_syslog

# JSON key -> rsyslog property (timestamps in RFC 3339). The parsed keys are rsyslog's reading
# of the header, for other consumers of the topic; syslog_event reads ``raw``.
PROPERTIES = {
    "timestamp": "timereported",
    "received": "timegenerated",
    "host": "hostname",
    "sender": "fromhost-ip",
    "program": "app-name",
    "pid": "procid",
    "msgid": "msgid",
    "facility": "syslogfacility-text",
    "severity": "syslogseverity-text",
    "structured_data": "structured-data",
    "message": "msg",
    "raw": "rawmsg",
}
TIME_PROPERTIES = ("timereported", "timegenerated")
# Added to format = syslog's fields.
ADDED_FIELDS = ("sender", "received")

_PRI = re.compile(r"<(\d{1,3})>")
# RFC 3164's TAG without the header before it: ``<12>app[42]: text``, as Python's SysLogHandler
# (with an ident) and many devices send.
_TAG = re.compile(r"(?P<program>[A-Za-z0-9_.\-/]{1,48})(?:\[(?P<pid>\d{1,10})\])?: ")


class RecordError(ValueError):
    """This is not an acquisition record; the message says why."""


def syslog_event(record: dict[str, Any]) -> dict[str, Any]:
    """The event of one record: ``format = syslog``'s fields of ``raw``, plus sender and received."""
    raw = record.get("raw")
    if not isinstance(raw, str):
        raise RecordError(
            "not an acquisition record: no 'raw' text (is this topic written by datashark acquire?)"
        )
    event = parse_syslog(raw) or _headerless(raw, record)
    event["sender"] = _text(record.get("sender"))
    event["received"] = _text(record.get("received"))
    return event


def _headerless(raw: str, record: dict[str, Any]) -> dict[str, Any]:
    """What can be read of a message without a syslog header: its PRI, if any, and the rest."""
    pri = _PRI.match(raw)
    prival = int(pri.group(1)) if pri is not None else None
    if prival is not None and prival > MAX_PRI:
        prival, pri = None, None
    rest = raw[pri.end() :] if pri is not None else raw
    tag = _TAG.match(rest) if pri is not None else None
    return {
        "timestamp": _text(record.get("received")),
        "host": _text(record.get("sender")),
        "program": tag.group("program") if tag else None,
        "pid": int(tag.group("pid")) if tag and tag.group("pid") else None,
        "facility": FACILITY_NAMES[prival >> 3] if prival is not None else None,
        "severity": SEVERITY_NAMES[prival & 7] if prival is not None else None,
        "msgid": None,
        "structured_data": None,
        "message": rest[tag.end() :] if tag else rest,
    }


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value and value != "-" else None
