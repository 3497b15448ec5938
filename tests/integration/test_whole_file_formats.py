"""Formats read from whole files, run as use cases on Spark: Zeek TSV logs (their ``#fields``
header), JSON files that are one array of events beside JSON-lines files, and syslog times
without a year placed by the input file's modification time."""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.integration.conftest import read_csv, settings_for
from tests.support.runs import run_conf

pytestmark = pytest.mark.spark

ZEEK = REPO / "tests" / "data" / "zeek"
# Rows: (key, 1.0, metadata) per event; metadata holds what the test checks.
CODE = """
def load(batchData):
    return batchData.map(lambda event: (KEY(event), 1.0, {"ts": event["@timestamp"].isoformat()}))
"""


def usecase(folder: Path, fmt: str, data: str, key: str, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "uc.py").write_text(textwrap.dedent(CODE).replace("KEY(event)", key))
    conf = folder / "uc.conf"
    conf.write_text(
        f"name = Whole Files\ntype = batch\ncode = uc.py\nfile = {data}\noutput = csv\nformat = {fmt}\n"
        f"{extra}[out_csv]\npath = out.csv\n"
    )
    return conf


def test_a_zeek_tsv_log_is_read_with_its_header(spark_context, tmp_path: Path) -> None:
    folder = tmp_path / "zeek"
    folder.mkdir()
    shutil.copy(ZEEK / "conn.log", folder / "conn.log")
    conf = usecase(folder, "zeek", "conn.log", 'event["id.orig_h"] + ":" + str(event["id.resp_p"])')
    run_conf(spark_context, settings_for(tmp_path), conf)

    rows = read_csv(folder / "out.csv")
    keys = sorted(row[1] for row in rows)
    assert "203.0.113.45:22" in keys and "10.20.1.15:443" in keys
    assert len(rows) == sum(1 for line in (ZEEK / "conn.log").read_text().splitlines() if line[:1] not in "#")
    first = next(row for row in rows if row[1] == "10.20.1.15:443")
    assert first[3] == "2024-03-14T08:00:00.123456+00:00"  # ts, typed as a time, is the @timestamp


PARTITION_CODE = """
def load(batchData):
    def tagged(index, events):
        for event in events:
            yield event.get("_path", "") + ":" + event["uid"], 1.0, {"partition": index}
    return batchData.mapPartitionsWithIndex(tagged)
"""


def test_zeek_json_lines_are_split_across_tasks_beside_a_tsv_log(spark_context, tmp_path: Path) -> None:
    """A Zeek JSON log is one object a line: Spark splits it as text (a busy sensor's day does not
    fit one task), while a TSV log beside it is read whole for its header."""
    folder = tmp_path / "zeek-json"
    data = folder / "logs"
    data.mkdir(parents=True)
    shutil.copy(ZEEK / "conn.log", data / "conn.log")
    records = [
        {
            "ts": 1710403200.0 + i,
            "uid": f"J{i:04d}",
            "_path": "dns",
            "id.orig_h": "10.0.0.1",
            "query": "a.example",
        }
        for i in range(2000)
    ]
    (data / "dns.json").write_text("".join(json.dumps(record) + "\n" for record in records))
    conf = usecase(folder, "zeek", "logs", "")
    (folder / "uc.py").write_text(PARTITION_CODE)
    run_conf(spark_context, settings_for(tmp_path), conf)

    rows = read_csv(folder / "out.csv")
    json_rows = [row for row in rows if row[1].startswith("dns:J")]
    assert len(json_rows) == len(records)
    assert len({row[3] for row in json_rows}) >= 2, "the JSON log was read whole, in one task"
    tsv_events = sum(1 for line in (ZEEK / "conn.log").read_text().splitlines() if line[:1] not in "#")
    assert len(rows) - len(json_rows) == tsv_events


def test_json_arrays_and_json_lines_in_one_folder(spark_context, tmp_path: Path) -> None:
    folder = tmp_path / "json"
    data = folder / "events"
    data.mkdir(parents=True)
    events = [{"host": f"h{i}", "@timestamp": f"2024-03-14T08:00:0{i}Z"} for i in range(3)]
    (data / "array.json").write_text(json.dumps(events, indent=2))  # pretty-printed: many lines
    (data / "lines.json").write_text(
        "".join(json.dumps({**e, "host": "l" + e["host"]}) + "\n" for e in events)
    )
    conf = usecase(folder, "json", "events", 'event["host"]', "time_field = @timestamp\n")
    run_conf(spark_context, settings_for(tmp_path), conf)

    assert sorted(row[1] for row in read_csv(folder / "out.csv")) == ["h0", "h1", "h2", "lh0", "lh1", "lh2"]


def test_a_syslog_year_comes_from_the_file_written_in_january(spark_context, tmp_path: Path) -> None:
    folder = tmp_path / "syslog"
    folder.mkdir()
    log = folder / "auth.log"
    log.write_text(
        "Dec 31 23:59:58 bastion sshd[1]: Connection closed by 192.0.2.1 port 1 [preauth]\n"
        "Jan  1 00:00:03 bastion sshd[2]: Connection closed by 192.0.2.2 port 2 [preauth]\n"
    )
    written = datetime(2025, 1, 1, 0, 5).timestamp()
    os.utime(log, (written, written))
    conf = usecase(folder, "syslog", "auth.log", 'event["host"] + str(event["pid"])')
    run_conf(spark_context, settings_for(tmp_path), conf)

    times = {row[1]: row[3] for row in read_csv(folder / "out.csv")}
    assert times["bastion1"].startswith("2024-12-31T")  # December's line, read in January
    assert times["bastion2"].startswith("2025-01-01T")
