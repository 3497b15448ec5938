"""Syslog input: ``input = syslog`` reads the messages ``datashark acquire`` received.

``load()`` gets the dict ``format = syslog`` makes of a line (timestamp, host, program, pid,
facility, severity, msgid, structured_data, message), plus ``sender`` (the address it came from)
and ``received``; set ``format = syslog``, and ``grok_pattern`` to read fields of the message.

Keys: the Kafka keys of ``[in_kafka]`` (``bootstrap.servers``, ``topics``, default ``syslog``,
``group.id``, security keys; each defaults to datashark.conf's ``kafka.<key>``), or ``folder``:
where a standalone acquisition (``output = files``) moves its rotated files, with ``existing``
as ``[in_file]`` has it. Selectors: ``program`` and ``facility`` (comma-separated names),
``severity`` (this level or worse) and ``host`` (a regex the whole host must match).
The implementation lives in ``datashark.acquisition``; docs/acquisition.md tells the whole story.
"""

from datashark.acquisition.input import SyslogInput as Plugin

__all__ = ["Plugin"]
