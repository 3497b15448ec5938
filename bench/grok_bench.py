"""Grok against hand-written regexes: what ``format = grok`` costs per line.

Two workloads of generated lines (1,000,000 each by default), both parsed in one process on one
core, each parser in turn, ``--rounds`` times, the best round kept:

* access: conf/web-anomaly-detection/access_combined.log's 10,000 real lines, their client
  addresses and sizes varied, parsed with ``%{COMBINEDAPACHELOG}`` and with the hand-written
  pattern of web-anomaly-detection.conf (``format = regex``);
* syslog: sshd, CRON and kernel lines in auth.log's layout, parsed with
  ``%{SYSLOGBASE} %{GREEDYDATA:message}`` and with a hand-written regex of the same fields.

Each parser turns a line into the dict of its fields as the event stage does (``match`` then
``groupdict``). The figure is the speed ratio of the same regex written out by hand (the
expansion grok compiles, matched with ``match`` + ``groupdict``) to grok: 1.0 means grok's
machinery costs nothing, >= 0.9 less than 10%. A use case's own, looser hand-written regex is
timed too: grok's patterns check more (month names, time ranges, host names), which costs.
For scale, the lines also go through ``format = syslog`` (events/syslog_lines.py) and through
the whole EventParser with ``@timestamp``.

    .venv/bin/python bench/grok_bench.py [--lines 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import random
import re
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from configobj import ConfigObj

from datashark.errors import ConfLocation
from datashark.events.grok import compile_grok
from datashark.events.parsing import EventParser
from datashark.events.syslog_lines import parse_syslog

REPO = Path(__file__).resolve().parent.parent
ACCESS_LOG = REPO / "conf" / "web-anomaly-detection" / "access_combined.log"
ACCESS_CONF = REPO / "conf" / "web-anomaly-detection" / "web-anomaly-detection.conf"
SYSLOG_BY_HAND = (
    r"(?P<timestamp>[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d) (?P<logsource>\S+) "
    r"(?P<program>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?: (?P<message>.*)"
)
WHERE = ConfLocation("bench")
REFERENCE = datetime(2024, 3, 20, tzinfo=timezone.utc)


def access_lines(count: int, seed: int = 7) -> list[str]:
    """``count`` lines of the real sample, client address and size varied so none repeats exactly."""
    sample = [line for line in ACCESS_LOG.read_text(encoding="utf-8").splitlines() if line]
    rng = random.Random(seed)
    lines = []
    for number in range(count):
        line = sample[number % len(sample)]
        rest = line.split(" ", 1)[1]
        lines.append(f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)} {rest}")
    return lines


def syslog_lines(count: int, seed: int = 7) -> list[str]:
    """``count`` lines as /var/log/auth.log and syslog hold them: sshd, CRON, kernel."""
    rng = random.Random(seed)
    users = ["root", "admin", "oracle", "deploy", "pi", "ubuntu", "test", "git"]
    lines = []
    for number in range(count):
        stamp = f"Mar {1 + number % 28:2d} {number % 24:02d}:{number % 60:02d}:{(number * 7) % 60:02d}"
        kind = number % 10
        pid = rng.randrange(1000, 65000)
        ip = f"203.0.113.{rng.randrange(1, 255)}"
        if kind < 6:
            user = rng.choice(users)
            message = f"Failed password for {user} from {ip} port {rng.randrange(1024, 65535)} ssh2"
            lines.append(f"{stamp} bastion-01 sshd[{pid}]: {message}")
        elif kind < 8:
            message = "pam_unix(cron:session): session closed for user root"
            lines.append(f"{stamp} bastion-01 CRON[{pid}]: {message}")
        else:
            message = f"[UFW BLOCK] IN=eth0 OUT= SRC={ip} DST=10.0.0.5 PROTO=TCP DPT={rng.randrange(1, 1024)}"
            lines.append(f"{stamp} bastion-01 kernel: {message}")
    return lines


def by_regex(pattern: str) -> Callable[[str], dict | None]:
    """What ``format = regex`` does with a line: match at the start, the named groups as a dict."""
    compiled = re.compile(pattern)

    def parse(line: str) -> dict | None:
        found = compiled.match(line)
        return None if found is None else found.groupdict()

    return parse


def timed(parse: Callable[[str], object], lines: list[str]) -> tuple[float, int]:
    """Seconds to parse every line, and how many parsed."""
    started = time.perf_counter()
    parsed = 0
    for line in lines:
        if parse(line) is not None:
            parsed += 1
    return time.perf_counter() - started, parsed


def event_parser(parser: EventParser) -> Callable[[str], object]:
    def parse(line: str) -> object:
        try:
            return parser.parse(line, REFERENCE)
        except ValueError:
            return None

    return parse


def compare(name: str, lines: list[str], parsers: dict[str, Callable[[str], object]], rounds: int) -> None:
    best: dict[str, float] = {}
    counts: dict[str, int] = {}
    for _ in range(rounds):
        for label, parse in parsers.items():
            seconds, parsed = timed(parse, lines)
            best[label] = min(best.get(label, seconds), seconds)
            counts[label] = parsed
    print(f"\n{name}: {len(lines):,} lines, best of {rounds} rounds")
    for label, seconds in best.items():
        rate = len(lines) / seconds
        print(f"  {label:<44} {seconds:7.2f} s  {rate:>10,.0f} lines/s  ({counts[label]:,} parsed)")
    grok = best["grok"]
    same = best["the same regex, written out by hand"]
    print(f"  speed ratio, the same regex by hand / grok: {same / grok:.2f} (>= 0.9: grok costs under 10%)")
    hand = best["the use case's hand-written regex"]
    print(f"  speed ratio, the use case's hand-written regex / grok: {hand / grok:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    combined = compile_grok("%{COMBINEDAPACHELOG}", where=WHERE)
    access = access_lines(args.lines)
    compare(
        "access (COMBINEDAPACHELOG)",
        access,
        {
            "the use case's hand-written regex": by_regex(ConfigObj(str(ACCESS_CONF))["pattern"]),
            "grok": combined.match,
            "the same regex, written out by hand": by_regex(combined.regex.pattern),
            "format = grok, with @timestamp": event_parser(
                EventParser("grok", where=WHERE, grok_pattern="%{COMBINEDAPACHELOG}")
            ),
        },
        args.rounds,
    )
    del access

    syslog_base = compile_grok("%{SYSLOGBASE} %{GREEDYDATA:message}", where=WHERE)
    compare(
        "syslog (SYSLOGBASE + message)",
        syslog_lines(args.lines),
        {
            "the use case's hand-written regex": by_regex(SYSLOG_BY_HAND),
            "grok": syslog_base.match,
            "the same regex, written out by hand": by_regex(syslog_base.regex.pattern),
            "format = syslog (syslog_lines.parse_syslog)": parse_syslog,
            "format = syslog, with @timestamp": event_parser(EventParser("syslog", where=WHERE)),
        },
        args.rounds,
    )


if __name__ == "__main__":
    main()
