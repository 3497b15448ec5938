"""How a use case with ``input = syslog`` reads acquisition records: as ``format = syslog`` events.

The record's ``raw`` message is read as ``format = syslog`` reads a line (record.py), the
``[in_syslog]`` selection skips what the use case did not ask for (selection.py), and the
conf's ``grok_pattern`` adds the fields it finds in the message, as with ``format = syslog``.
"""

from __future__ import annotations

from typing import Any

from datashark.acquisition.record import ADDED_FIELDS, RecordError, syslog_event
from datashark.acquisition.selection import Selection
from datashark.events.readers import EventError, ReaderOptions, SkippedEventError, SyslogReader, parse_json


class AcquiredSyslogReader(SyslogReader):
    """Reads one acquisition record (JSON) into a syslog event; picklable.

    rsyslog copies a sender's bytes into the record as they came: bytes that are not UTF-8 are
    read as U+FFFD (``lenient_utf8``), so the event keeps the rest of its message.
    """

    lenient_utf8 = True

    def __init__(self, options: ReaderOptions, selection: Selection) -> None:
        super().__init__(options)
        self.selection = None if selection.selects_all else selection
        self.fields = (self.fields or frozenset()) | frozenset(ADDED_FIELDS)

    def __call__(self, raw: str) -> dict[str, Any]:
        try:
            event = syslog_event(parse_json(raw))
        except RecordError as err:
            raise EventError(str(err)) from None
        if self.selection is not None and not self.selection(event):
            raise SkippedEventError("not selected")
        return self.with_message_fields(event)
