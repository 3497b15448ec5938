"""What a new user trips on in the first hour (issue 13), on a real local SparkContext."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from datashark.config.usecase import read_usecase
from datashark.run.prepare import prepare
from tests.integration.conftest import read_csv, settings_for, stream_while
from tests.integration.test_batch import make_usecase, run
from tests.integration.test_streaming import drop

pytestmark = pytest.mark.spark


def test_overwrite_with_no_valid_rows_leaves_the_header_alone(spark_context, tmp_path: Path) -> None:
    """Every row dead-lettered (key and score swapped): the old result goes, the header stays."""
    conf = make_usecase(
        tmp_path / "empty",
        """
        def load(batchData):
            return batchData.map(lambda ip: (25, ip, {"user": "root"}))
        """,
        "10.0.0.1\n10.0.0.2\n",
        out="header = true\nmode = overwrite\n",
    )
    out = tmp_path / "empty" / "out.csv"
    out.write_text("time,key,score,user\n2024-01-01 00:00:00,10.9.9.9,3,root\n")
    run(spark_context, conf)
    assert out.read_text() == "time,key,score\n"


NO_TRAINING = """
def load(streamingData, trainingData, context, conf):
    known = set(trainingData.map(lambda event: event).collect())
    total = trainingData.count()
    return streamingData.map(lambda event: (event, total, {"known": event in known}))
"""


def test_a_streaming_use_case_needs_no_training(spark_context, tmp_path: Path) -> None:
    """Without ``training``, trainingData is an empty RDD: collect(), map() and count() still work."""
    folder = tmp_path / "uc"
    (folder / "incoming").mkdir(parents=True)
    (folder / "uc.py").write_text(NO_TRAINING)
    conf = folder / "uc.conf"
    conf.write_text(
        "name = No Training\ntype = streaming\ncode = uc.py\ninput = file\noutput = csv\n"
        "[in_file]\nfolder_path = incoming\n[out_csv]\npath = out.csv\n"
    )
    settings = dataclasses.replace(settings_for(tmp_path), batch_interval=1)
    prepared = [prepare(settings, read_usecase(conf))]

    def dropper() -> None:
        time.sleep(2.5)
        drop(folder / "incoming", "a.log", ["sshd failed", "sshd accepted"])

    stream_while(spark_context, settings, prepared, dropper, timeout=7)
    rows = sorted(row[1:] for row in read_csv(folder / "out.csv"))
    assert rows == [["sshd accepted", "0", "False"], ["sshd failed", "0", "False"]]


SSHD_PATTERN = r"\S+ +\d+ [\d:]+ \S+ sshd\[\d+\]: Failed password for (?P<user>\S+) from (?P<ip>\S+)"
MIXED_SYSLOG = (
    "Mar  3 10:00:01 host sshd[42]: Failed password for root from 10.0.0.1 port 22 ssh2\n"
    "Mar  3 10:00:02 host CRON[7]: (root) CMD (run-parts /etc/cron.hourly)\n"
    "Mar  3 10:00:03 host kernel: [UFW BLOCK] IN=eth0\n"
    "Mar  3 10:00:04 host sshd[43]: Failed password for root from 10.0.0.1 port 22 ssh2\n"
)
COUNT_BY_IP = """
def load(batchData):
    return batchData.map(lambda event: (event["ip"], 1)).reduceByKey(lambda a, b: a + b)
"""


@pytest.mark.parametrize(("unmatched", "said"), [("count", " (2 unmatched)"), ("drop", "")])
def test_a_pattern_selects_lines_of_a_mixed_syslog(spark_context, tmp_path: Path, capsys, unmatched, said):
    """``unmatched = count|drop``: the other lines are no dead letters; count says how many."""
    conf = make_usecase(tmp_path / "ssh", COUNT_BY_IP, MIXED_SYSLOG)
    text = conf.read_text().replace(
        "output = csv\n", f"output = csv\nformat = regex\nunmatched = {unmatched}\n"
    )
    conf.write_text(text.replace("[out_csv]", f"pattern = '{SSHD_PATTERN}'\n[out_csv]"))
    run(spark_context, conf)
    assert [row[1:] for row in read_csv(tmp_path / "ssh" / "out.csv")] == [["10.0.0.1", "2"]]
    assert not list((tmp_path / "ssh" / "deadletter").rglob("*.jsonl"))
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.endswith(f"Written 1 Documents to CSV File {tmp_path / 'ssh' / 'out.csv'}{said}"), line
