"""Reading syslog lines into events: RFC 3164 (as files hold them) and RFC 5424.

``parse_syslog(line)`` is a dict of the line's parts, or None when the line is neither:

* ``timestamp``: the header's time as it is written (``Mar  3 10:00:01``, ``2024-03-03T10:00:01Z``);
  the event time stage makes ``@timestamp`` of it (the year of an RFC 3164 time is guessed);
* ``host``, ``program``, ``pid`` (an int), ``msgid``: None when the line has none (RFC 5424's ``-``);
* ``facility`` and ``severity``: names (``authpriv``, ``warning``) when the line starts with a
  ``<PRI>``, else None; the names are those ``out_syslog`` writes (sinks/syslog_format.py);
* ``structured_data``: RFC 5424's ``[id name="value" ...]`` elements as ``{id: {name: value}}``,
  None when the line has none;
* ``message``: the rest of the line (a leading BOM removed), None when an RFC 5424 line has none.

RFC 3164 lines are read with or without ``<PRI>``, with the traditional time (``Mmm dd
HH:MM:SS``, fractions of a second as journalctl's ``short-precise`` writes them) or an ISO 8601
one (rsyslog's ``RSYSLOG_FileFormat``, journalctl's ``short-iso``), and with or without a host:
the first word is the program when it has the ``program[pid]:`` shape. A line whose tag is not
``program:`` or ``program[pid]:`` (``last message repeated 3 times``) has no program, and its
message is everything after the host.
"""

from __future__ import annotations

import re
from typing import Any

from datashark.events.grok import HAS_POSSESSIVE, without_possessive
from datashark.sinks.syslog_format import FACILITIES, MONTHS, NILVALUE, SEVERITIES

FIELDS = (
    "timestamp",
    "host",
    "program",
    "pid",
    "facility",
    "severity",
    "msgid",
    "structured_data",
    "message",
)
MAX_PRI = 191  # facility 23, severity 7
BOM = "\ufeff"

# First name of each code in syslog_format's tables: "auth", not its alias "security".
FACILITY_NAMES: dict[int, str] = {}
for _name, _code in FACILITIES.items():
    FACILITY_NAMES.setdefault(_code, _name)
SEVERITY_NAMES: dict[int, str] = {}
for _name, _code in SEVERITIES.items():
    SEVERITY_NAMES.setdefault(_code, _name)
MONTH_NUMBERS = {name: number for number, name in enumerate(MONTHS, 1)}


def _compiled(regex: str) -> re.Pattern[str]:
    """``regex``, its possessive quantifiers made plain where Python lacks them (before 3.11)."""
    return re.compile(regex if HAS_POSSESSIVE else without_possessive(regex))


_RFC5424 = re.compile(r"<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) ?")
# Possessive: a run that ends at its delimiter is never given back, so a broken element fails at once.
_SD_ELEMENT = _compiled(r'\[([^\s\]="]++)((?: ++[^\s\]="]++="[^"\\]*+(?:\\.[^"\\]*+)*+")*+) *+\]')
_SD_PARAM = _compiled(r'([^\s\]="]++)="([^"\\]*+(?:\\.[^"\\]*+)*+)"')
_SD_ESCAPE = re.compile(r'\\(["\\\]])')
_RFC3164 = re.compile(
    r"(?:<(\d{1,3})>)?"
    r"([A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d(?:\.\d{1,9})?"
    r"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?)"
    r"(?: |$)"
)
# The tag: program, an optional [pid], a colon, then a space or the end of the line.
_TAG = re.compile(r"([^\s\[\]:]+)(?:\[(\d{1,10})\])?:(?: |$)")


def parse_syslog(line: str) -> dict[str, Any] | None:
    """The parts of an RFC 5424 or RFC 3164 line (see the module's description), or None."""
    if line.startswith("<"):
        found = _RFC5424.match(line)
        if found is not None:
            return _rfc5424(line, found)
    return _rfc3164(line)


def _rfc5424(line: str, found: re.Match[str]) -> dict[str, Any] | None:
    prival = int(found.group(1))
    if prival > MAX_PRI:
        return None
    timestamp, host, app, procid, msgid = (None if v == NILVALUE else v for v in found.groups()[1:])
    position = found.end()
    if found.group(0).endswith(" "):
        structured_data, position = _structured_data(line, position)
        if position < 0:
            return None
        if position == len(line):
            message = None
        elif line[position] == " ":
            message = line[position + 1 :]
            if message.startswith(BOM):
                message = message[1:]
        else:
            return None
    else:  # the line ends after MSGID: RFC 5424 requires STRUCTURED-DATA, be lenient
        if found.end() != len(line):
            return None
        structured_data, message = None, None
    return {
        "timestamp": timestamp,
        "host": host,
        "program": app,
        "pid": int(procid) if procid is not None and procid.isdigit() and len(procid) <= 10 else None,
        "facility": FACILITY_NAMES[prival >> 3],
        "severity": SEVERITY_NAMES[prival & 7],
        "msgid": msgid,
        "structured_data": structured_data,
        "message": message,
    }


def _structured_data(line: str, position: int) -> tuple[dict[str, dict[str, str]] | None, int]:
    """RFC 5424 STRUCTURED-DATA at ``position``: the elements and where they end; -1 if malformed."""
    if line.startswith(NILVALUE, position):
        return None, position + 1
    elements: dict[str, dict[str, str]] = {}
    while line.startswith("[", position):
        element = _SD_ELEMENT.match(line, position)
        if element is None:
            return None, -1
        params = elements.setdefault(element.group(1), {})
        for param in _SD_PARAM.finditer(element.group(2)):
            value = param.group(2)
            params[param.group(1)] = _SD_ESCAPE.sub(r"\1", value) if "\\" in value else value
        position = element.end()
    return (elements, position) if elements else (None, -1)


def _rfc3164(line: str) -> dict[str, Any] | None:
    found = _RFC3164.match(line)
    if found is None:
        return None
    pri, timestamp = found.groups()
    if pri is not None and int(pri) > MAX_PRI:
        return None
    if not timestamp[0].isdigit() and timestamp[:3] not in MONTH_NUMBERS:
        return None
    rest = line[found.end() :]
    host: str | None = None
    tag = _TAG.match(rest)
    if tag is None:
        host, _, rest = rest.partition(" ")
        tag = _TAG.match(rest)
    if tag is None:
        program, pid, message = None, None, rest
    else:
        program, pid, message = tag.group(1), tag.group(2), rest[tag.end() :]
    if message.startswith(BOM):
        message = message[1:]
    prival = int(pri) if pri is not None else None
    return {
        "timestamp": timestamp,
        "host": host or None,
        "program": program,
        "pid": int(pid) if pid is not None else None,
        "facility": FACILITY_NAMES[prival >> 3] if prival is not None else None,
        "severity": SEVERITY_NAMES[prival & 7] if prival is not None else None,
        "msgid": None,
        "structured_data": None,
        "message": message,
    }
