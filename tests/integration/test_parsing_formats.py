"""``format = syslog`` with a ``grok_pattern``, run as a batch use case on Spark: sshd's lines of
tests/data/auth.log become events with fields and an ``@timestamp``, the other lines are counted."""

from __future__ import annotations

import json
import re
import textwrap
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.integration.conftest import read_csv, settings_for
from tests.support.runs import run_conf

pytestmark = pytest.mark.spark

AUTH_LOG = REPO / "tests" / "data" / "auth.log"
LINES = 400  # of auth.log: five attackers and the office users
GROK = "Failed password for (?:invalid user )?%{USERNAME:user} from %{IP:src_ip} port %{INT:port:int}"
CODE = """
def load(batchData):
    def row(item):
        ip, events = item
        times = sorted(event["@timestamp"] for event in events)
        return ip, float(len(events)), {
            "users": len({event["user"] for event in events}),
            "first": times[0].isoformat(),
            "program": sorted({event["program"] for event in events})[0],
            "port_type": type(events[0]["port"]).__name__,
        }

    return batchData.map(lambda event: (event["src_ip"], event)).groupByKey().map(
        lambda item: row((item[0], list(item[1])))
    )
"""


def expected_rows(lines: list[str]) -> dict[str, dict]:
    """What the use case should find, read with a plain regex instead of dataShark's parser."""
    failed = re.compile(
        r"(\w{3}) +(\d+) ([\d:]+) \S+ sshd\[\d+\]: "
        r"Failed password for (?:invalid user )?(\S+) from (\S+) port"
    )
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for line in lines:
        match = failed.match(line)
        if match:
            month, day, time, user, ip = match.groups()
            assert month == "Mar"
            found[ip].append((f"2024-03-{int(day):02d}T{time}+00:00", user))
    return {
        ip: {"count": len(hits), "users": len({u for _, u in hits}), "first": min(t for t, _ in hits)}
        for ip, hits in found.items()
    }


def test_syslog_with_a_grok_pattern_finds_the_failed_passwords(spark_context, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "ssh"
    folder.mkdir()
    lines = AUTH_LOG.read_text(encoding="utf-8").splitlines()[:LINES]
    (folder / "auth.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "ssh.py").write_text(textwrap.dedent(CODE))
    conf = folder / "ssh.conf"
    conf.write_text(
        "name = SSH Failures\ntype = batch\ncode = ssh.py\nfile = auth.log\noutput = csv\n"
        f"format = syslog\ngrok_pattern = '{GROK}'\nunmatched = count\nassume_year = 2024\n"
        "[out_csv]\npath = out.csv\nheader = true\n"
    )
    run_conf(spark_context, settings_for(tmp_path), conf)

    rows = read_csv(folder / "out.csv")
    header, body = rows[0], rows[1:]
    found = {}
    for row in body:
        record = dict(zip(header, row, strict=True))
        found[record["key"]] = {
            "count": int(float(record["score"])),
            "users": int(record["users"]),
            "first": record["first"],
        }
        assert (record["program"], record["port_type"]) == ("sshd", "int")
    expected = expected_rows(lines)
    assert len(expected) >= 4 and found == expected
    unmatched = LINES - sum(hits["count"] for hits in expected.values())
    output = capsys.readouterr().out
    assert f"({unmatched} unmatched)" in output, output
    assert not (tmp_path / "deadletter").exists() or not any((tmp_path / "deadletter").rglob("*.jsonl"))


def test_unmatched_lines_are_dead_letters_with_the_reason(spark_context, tmp_path: Path) -> None:
    folder = tmp_path / "ssh"
    folder.mkdir()
    lines = AUTH_LOG.read_text(encoding="utf-8").splitlines()[:20]
    (folder / "auth.log").write_text("\n".join([*lines, "garbage that is no syslog"]) + "\n")
    (folder / "ssh.py").write_text(textwrap.dedent(CODE))
    conf = folder / "ssh.conf"
    conf.write_text(
        "name = SSH Failures\ntype = batch\ncode = ssh.py\nfile = auth.log\noutput = csv\n"
        f"format = syslog\ngrok_pattern = '{GROK}'\n[out_csv]\npath = out.csv\n"
    )
    run_conf(spark_context, settings_for(tmp_path), conf)
    letters = [
        json.loads(line)
        for path in (tmp_path / "deadletter").rglob("*.jsonl")
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    reasons = sorted({letter["reason"] for letter in letters})
    assert reasons == [
        "is not a syslog line (RFC 3164 or RFC 5424)",
        "its message does not match the use case's grok_pattern",
    ]
    assert len(letters) == 21 - sum(hits["count"] for hits in expected_rows(lines).values())
