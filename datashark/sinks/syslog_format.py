"""Syslog wire format: PRI, RFC 5424 and RFC 3164 headers, RFC 6587 TCP framing.

Pure functions, so the layouts are unit-tested without a socket; ``out_syslog`` puts a
JSON document behind the header. Facility and severity names are rsyslog's (and syslog.h's),
so ``facility = authpriv`` here lands in an ``authpriv.*`` rule on the receiver.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

FACILITIES = {
    "kern": 0,
    "user": 1,
    "mail": 2,
    "daemon": 3,
    "auth": 4,
    "security": 4,  # syslog.h's deprecated alias of auth, as rsyslog reads it
    "syslog": 5,
    "lpr": 6,
    "news": 7,
    "uucp": 8,
    "cron": 9,
    "authpriv": 10,
    "ftp": 11,
    "ntp": 12,
    "audit": 13,  # RFC 5424's "log audit": the original dataShark's facility
    "alert": 14,
    "clock": 15,
    **{f"local{n}": 16 + n for n in range(8)},
}
SEVERITIES = {
    "emerg": 0,
    "panic": 0,
    "alert": 1,
    "crit": 2,
    "err": 3,
    "error": 3,
    "warning": 4,
    "warn": 4,
    "notice": 5,
    "info": 6,
    "informational": 6,
    "debug": 7,
}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
NILVALUE = "-"
MAX_APP_NAME = 48  # RFC 5424 APP-NAME
MAX_HOSTNAME = 255  # RFC 5424 HOSTNAME
MAX_MSGID = 32  # RFC 5424 MSGID
_HEADER_FIELD = re.compile(r"[!-~]+")  # PRINTUSASCII: visible ASCII, no space
_NOT_MSGID = re.compile(r"[^A-Za-z0-9._-]+")


def level(value: str, names: dict[str, int], highest: int) -> int:
    """A facility or severity given as a number (``13``) or a name (``audit``); ValueError if neither."""
    text = value.strip().lower()
    if text.isdigit() and int(text) <= highest:
        return int(text)
    if text in names:
        return names[text]
    raise ValueError(f"{value!r} is not 0-{highest} or one of {', '.join(sorted(names))}")


def pri(facility: int, severity: int) -> int:
    """RFC 5424 PRIVAL: facility * 8 + severity."""
    return facility * 8 + severity


def header_field_problem(value: str, longest: int) -> str | None:
    """Why ``value`` cannot be a HOSTNAME/APP-NAME (1-``longest`` visible ASCII characters), or None."""
    if not _HEADER_FIELD.fullmatch(value):
        return "must be visible ASCII characters without spaces"
    if len(value) > longest:
        return f"must be at most {longest} characters"
    return None


def msgid(title: str) -> str:
    """The title as an RFC 5424 MSGID (``Brute Force SSH`` -> ``brute-force-ssh``), so a receiver
    can route each use case's messages without parsing the JSON."""
    slug = _NOT_MSGID.sub("-", title).strip("-").lower()[:MAX_MSGID]
    return slug or NILVALUE


def rfc5424_header(
    prival: int, time: datetime, hostname: str, app_name: str, procid: str, msg_id: str
) -> str:
    """``<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - `` (no structured data), MSG follows.

    TIMESTAMP is UTC with ``Z``, to the second: equal to the document's ``@timestamp``.
    """
    stamp = time.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"<{prival}>1 {stamp} {hostname} {app_name} {procid} {msg_id} {NILVALUE} "


def rfc3164_header(prival: int, time: datetime, hostname: str, tag: str) -> str:
    """``<PRI>Mmm dd hh:mm:ss HOSTNAME TAG: ``, MSG follows.

    RFC 3164 has local time without year or zone; the month is English whatever the locale.
    """
    local = time.astimezone()
    return f"<{prival}>{MONTHS[local.month - 1]} {local.day:2d} {local:%H:%M:%S} {hostname} {tag}: "


def frame(message: bytes, framing: str) -> bytes:
    """RFC 6587 TCP framing: ``octet-counting`` (``LEN SP MSG``) or ``newline`` (``MSG LF``)."""
    if framing == "octet-counting":
        return b"%d %s" % (len(message), message)
    return message + b"\n"
