"""The baseline of the detections benchmark: parse and count, by hand in plain PySpark, no dataShark.

For each detection's input, what a hand-written job does to read it: each line parsed into its
fields and its time, as a person writing the job would parse it (one regular expression with
named groups for the syslog or access-log line, ``datetime.strptime`` for its time, ``json.loads``
for Zeek's JSON), the event's source address read, then a count per source with ``reduceByKey``
on ``local[2]``, written as ``time,key,count`` rows of one CSV file on the driver
(``toLocalIterator(prefetchPartitions=True)``, as dataShark's CSV output does). No windows, no
signatures, no dead letters: what separates this from a detection is the detection's own logic
plus the framework. Sysmon events (OTRF's flat JSON) are counted per ``Hostname``.

    .venv/bin/python bench/handwritten_parse_count.py ssh-brute-force bench/data/x.log bench/results/x.csv
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from handwritten_wordcount import write_csv
from pyspark import SparkContext

YEAR = 2025  # the generated syslog lines are of March 2025 and carry no year
SYSLOG = re.compile(
    r"(?P<timestamp>\w{3} [ \d]\d \d\d:\d\d:\d\d) (?P<host>\S+) (?P<program>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?: "
    r"(?P<message>.*)"
)
# Where sshd names the client in its messages: "from ADDRESS port", "ADDRESS port P", "by ADDRESS".
SSH_SOURCE = re.compile(r"(?:from|by|user \S+) (\d[\d.]*|[0-9a-f:]*:[0-9a-f:]+) port \d+")
ACCESS = re.compile(
    r'(?P<clientip>\S+) (?P<ident>\S+) (?P<auth>\S+) \[(?P<timestamp>[^\]]+)\] "(?P<request>[^"]*)" '
    r'(?P<response>\d{3}|-) (?P<bytes>\d+|-)(?: "(?P<referrer>[^"]*)" "(?P<agent>[^"]*)")?'
)
KEY_VALUE = re.compile(r"([A-Z]+)=(\S*)")


def syslog_event(line: str) -> dict | None:
    """A syslog line's fields and its time (a UTC datetime), or None for another line."""
    found = SYSLOG.match(line)
    if found is None:
        return None
    event = found.groupdict()
    when = datetime.strptime(f"{YEAR} {event['timestamp']}", "%Y %b %d %H:%M:%S")
    event["@timestamp"] = when.replace(tzinfo=timezone.utc)
    return event


def ssh_sources(line: str) -> list[tuple[str, int]]:
    event = syslog_event(line)
    if event is None or event["program"] != "sshd":
        return []
    found = SSH_SOURCE.search(event["message"])
    return [(found[1], 1)] if found else []


def access_clients(line: str) -> list[tuple[str, int]]:
    found = ACCESS.match(line)
    if found is None:
        return []
    event = found.groupdict()
    event["@timestamp"] = datetime.strptime(event["timestamp"], "%d/%b/%Y:%H:%M:%S %z")
    return [(event["clientip"], 1)]


def packet_sources(line: str) -> list[tuple[str, int]]:
    event = syslog_event(line)
    if event is None or event["program"] != "kernel":
        return []
    fields = dict(KEY_VALUE.findall(event["message"]))
    return [(fields["SRC"], 1)] if "SRC" in fields and "DPT" in fields else []


def zeek_clients(line: str) -> list[tuple[str, int]]:
    try:
        record = json.loads(line)
    except ValueError:
        return []
    if not isinstance(record, dict) or not isinstance(record.get("id.orig_h"), str):
        return []
    record["@timestamp"] = datetime.fromtimestamp(record["ts"], timezone.utc)
    return [(record["id.orig_h"], 1)]


def windows_hosts(line: str) -> list[tuple[str, int]]:
    try:
        record = json.loads(line)
    except ValueError:
        return []
    if not isinstance(record, dict) or not isinstance(record.get("Hostname"), str):
        return []
    record["@timestamp"] = datetime.fromisoformat(record["@timestamp"].replace("Z", "+00:00"))
    return [(record["Hostname"], 1)]


PARSERS: dict[str, Callable[[str], list[tuple[str, int]]]] = {
    "ssh-brute-force": ssh_sources,
    "web-attacks": access_clients,
    "port-scan": packet_sources,
    "threat-intel": zeek_clients,
    "dns-analytics": zeek_clients,
    "beaconing": zeek_clients,
    "sysmon-hunt": windows_hosts,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("detection", choices=sorted(PARSERS), help="whose input this is")
    parser.add_argument("input", help="the generated log file")
    parser.add_argument("output", type=Path, help="CSV file to (over)write")
    args = parser.parse_args(argv)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers run this Python, as dataShark's
    sc = SparkContext("local[2]", f"handwritten parse and count: {args.detection}")
    try:
        counts = sc.textFile(args.input).flatMap(PARSERS[args.detection]).reduceByKey(lambda a, b: a + b)
        count = write_csv(counts.toLocalIterator(prefetchPartitions=True), args.output)
    finally:
        sc.stop()
    print(f"Written {count} rows to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
