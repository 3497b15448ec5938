"""A windowed streaming use case stopped and started again, end to end through run_streaming and
``input = file``: the open windows are saved under the use case's state folder, and the rows of
the two runs are the rows one batch run gives."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.integration.conftest import read_csv
from tests.integration.test_in_file import later, move_in, run
from tests.support.runs import run_conf

pytestmark = pytest.mark.spark

CODE = """
from datetime import timedelta

from datashark.detect.measures import count, distinct
from datashark.detect.windows import Window, per_entity


def load(streamingData, trainingData, context, conf):
    rows = per_entity(
        streamingData, key="src", window=Window(timedelta(minutes=10)),
        measures={"events": count(), "users": distinct("user")}, name="logins",
    )
    return rows.map(lambda w: (w.entity, float(w.values["events"]), w.metadata()))
"""


def events(minutes: list[int], src: str = "203.0.113.9") -> bytes:
    """One JSON event a line at 08:MM of 14 March 2024, a different user each."""
    return "".join(
        json.dumps({"src": src, "user": f"u{i}", "@timestamp": f"2024-03-14T08:{m:02d}:00Z"}) + "\n"
        for i, m in enumerate(minutes)
    ).encode()


def usecase(folder: Path, kind: str) -> Path:
    (folder / "incoming").mkdir(parents=True, exist_ok=True)
    (folder / "uc.py").write_text(textwrap.dedent(CODE))
    conf = folder / "uc.conf"
    source = "input = file\n" if kind == "streaming" else "file = incoming\n"
    conf.write_text(
        f"name = Logins\ntype = {kind}\ncode = uc.py\n{source}output = csv\nformat = json\n"
        "time_field = @timestamp\n[in_file]\nfolder_path = incoming\n"
        "[out_csv]\npath = out.csv\nmode = append\n"
    )
    return conf


def windows_of(path: Path) -> dict[str, tuple[str, str]]:
    """window_start -> (score, users) of the CSV's rows: time, key, score, then the metadata by
    key (events, users, window_end, window_start)."""
    return {row[6]: (row[2], row[4]) for row in read_csv(path)}


def dropping(folder: Path, name: str, content: bytes):
    """What a run does beside the stream: move a file in after two seconds."""
    return later(2, lambda: move_in(folder / "incoming", name, content))


def test_a_window_open_at_the_stop_is_completed_after_the_restart(spark_context, tmp_path: Path) -> None:
    first, second = events([1, 2, 12]), events([13, 14, 25])
    stream = tmp_path / "stream"
    conf = usecase(stream, "streaming")
    # Run 1: 08:00 closes (08:12 passed its end); 08:10 stays open over the stop.
    run(
        spark_context,
        tmp_path,
        conf,
        later(2, lambda: move_in(stream / "incoming", "a.json", first)),
        timeout=6,
    )
    assert list(windows_of(stream / "out.csv")) == ["2024-03-14T08:00:00+00:00"]
    assert list((tmp_path / "ckpt" / "logins").glob("windows-*/current.json")), "open windows saved"
    # Run 2: the saved 08:10 window gets 08:13 and 08:14, and closes when 08:25 arrives.
    run(
        spark_context,
        tmp_path,
        conf,
        later(2, lambda: move_in(stream / "incoming", "b.json", second)),
        timeout=6,
    )

    batch = tmp_path / "batch"
    batch_conf = usecase(batch, "batch")
    (batch / "incoming" / "all.json").write_bytes(first + second)
    run_conf(spark_context, run_settings(tmp_path), batch_conf)
    expected = windows_of(batch / "out.csv")
    expected.pop("2024-03-14T08:20:00+00:00")  # still open in the stream: nothing passed its end
    assert (
        windows_of(stream / "out.csv")
        == expected
        == {
            "2024-03-14T08:00:00+00:00": ("2.0", "2"),
            "2024-03-14T08:10:00+00:00": ("3.0", "3"),
        }
    )


def run_settings(tmp_path: Path):
    from tests.integration.conftest import settings_for

    return settings_for(tmp_path / "batch-run")
