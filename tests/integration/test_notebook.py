"""``datashark.notebook`` on the session's SparkContext: batch findings as pandas (both flavours),
dead letters, errors a notebook shows, and a streaming DataFrame use case's live table."""

from __future__ import annotations

import json
import shutil
import textwrap
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from datashark import notebook
from datashark.errors import ConfigError, UseCaseError
from datashark.frames.events import spark_session
from tests.conftest import REPO

pytestmark = pytest.mark.spark

DNS = REPO / "conf" / "dns-analytics"
DNS_SAMPLE = DNS / "sample" / "dns.json.log"
FRAMES_CONF = DNS / "dns-query-counts-frames.conf"
ARROW = "spark.sql.execution.arrow.pyspark.enabled"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A dataShark home of the test's own, so dead letters land in its folder; streams tick
    every second."""
    folder = tmp_path / "home"
    folder.mkdir()
    (folder / "datashark.conf").write_text("batch.interval = 1\n")
    monkeypatch.setenv("DATASHARK_HOME", str(folder))
    return folder


def dead_letters(home: Path) -> list[dict]:
    return [json.loads(line) for path in sorted(home.glob("deadletter/*/*.jsonl")) for line in path.open()]


def dns_table(lines: list[str]) -> dict[tuple[str, str, str], dict]:
    """The frames conf's expected table, computed from Zeek's JSON records with plain Python:
    per (client, query, qtype_name), the count, the NXDOMAIN answers, the first and last time."""
    table: dict[tuple[str, str, str], dict] = {}
    for line in lines:
        record = json.loads(line)
        if not record.get("query") or record["query"].endswith(".local"):
            continue
        key = (record["id.orig_h"], record["query"], record["qtype_name"])
        row = table.setdefault(key, {"score": 0, "nxdomain": 0, "times": []})
        row["score"] += 1
        row["nxdomain"] += record.get("rcode_name") == "NXDOMAIN"
        row["times"].append(record["ts"])
    return table


def found_table(frame) -> dict[tuple[str, str, str], dict]:
    return {
        (row.key, row.query, row.qtype_name): {
            "score": row.score,
            "nxdomain": row.nxdomain,
            "first_seen": row.first_seen,
            "last_seen": row.last_seen,
        }
        for row in frame.itertuples()
    }


def assert_dns_table(frame, lines: list[str]) -> None:
    expected = dns_table(lines)
    found = found_table(frame)
    assert len(frame) == len(expected)
    assert set(found) == set(expected)
    for key, row in expected.items():
        assert found[key]["score"] == row["score"], key
        assert found[key]["nxdomain"] == row["nxdomain"], key
        for column, moment in (("first_seen", min(row["times"])), ("last_seen", max(row["times"]))):
            seen = found[key][column].to_pydatetime().astimezone(timezone.utc)  # Spark's local time
            assert abs(seen - datetime.fromtimestamp(moment, timezone.utc)).total_seconds() < 1e-3, key


def test_an_rdd_use_case_gives_its_rows_as_pandas(spark_context, home: Path) -> None:
    expected = Counter(
        word.lower() for line in (REPO / "conf/wordcount/wordcount.txt").open() for word in line.split()
    )
    table = notebook.run(REPO / "conf/wordcount/wordcount.conf", spark=spark_context)
    assert list(table.columns) == ["key", "score"]
    assert str(table["score"].dtype) == "float64"
    assert dict(zip(table["key"], table["score"], strict=True)) == expected
    assert dead_letters(home) == []


def test_the_frames_conf_gives_the_zat_table(spark_context, home: Path) -> None:
    session = spark_session(spark_context)
    before = session.conf.get(ARROW, "false")
    table = notebook.run(FRAMES_CONF)  # the session's SparkContext is the active one
    assert list(table.columns) == [
        "key",
        "score",
        "query",
        "qtype_name",
        "nxdomain",
        "first_seen",
        "last_seen",
    ]
    assert_dns_table(table, DNS_SAMPLE.read_text().splitlines())
    assert table["score"].sum() == 50
    assert session.conf.get(ARROW, "false") == before, "Arrow's setting is the session's again"
    assert dead_letters(home) == []


def test_relative_paths_resolve_against_the_folder_then_the_home(
    spark_context, home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(REPO)
    assert notebook.conf_path("conf/wordcount/wordcount.conf") == REPO / "conf/wordcount/wordcount.conf"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with pytest.raises(ConfigError, match=r"conf/wordcount/wordcount.conf: file not found in "):
        notebook.conf_path("conf/wordcount/wordcount.conf")
    monkeypatch.setenv("DATASHARK_HOME", str(REPO))
    table = notebook.run("conf/dns-analytics/dns-query-counts-frames.conf", spark=spark_context)
    assert len(table) == len(dns_table(DNS_SAMPLE.read_text().splitlines()))


def frames_copy(folder: Path, data: str) -> Path:
    """The frames use case in ``folder``, reading ``data``."""
    folder.mkdir(parents=True)
    shutil.copy(DNS / "dns-query-counts-frames.py", folder)
    (folder / "dns.json.log").write_text(data)
    conf = folder / "dns-query-counts-frames.conf"
    conf.write_text(FRAMES_CONF.read_text().replace("file = sample/dns.json.log", "file = dns.json.log"))
    return conf


def batch_usecase(folder: Path, name: str, code: str, data: str, *, frames: bool = False) -> Path:
    """A batch use case in ``folder`` with the given code and data (text lines); CSV output."""
    folder.mkdir(parents=True)
    (folder / "uc.py").write_text(textwrap.dedent(code))
    (folder / "data.txt").write_text(data)
    api = "api = dataframe\nformat = text\n" if frames else ""
    conf = folder / "uc.conf"
    head = f"name = {name}\ntype = batch\ncode = uc.py\nfile = data.txt\noutput = csv\n"
    conf.write_text(f"{head}{api}[out_csv]\npath = out.csv\n")
    return conf


def test_unparsed_events_and_refused_rows_are_dead_letters(
    spark_context, home: Path, tmp_path: Path, capsys
) -> None:
    lines = DNS_SAMPLE.read_text().splitlines()
    mdns = json.dumps({**json.loads(lines[2]), "query": "printer.local"})  # left out by [log_filter]
    lines.insert(3, mdns)
    conf = frames_copy(tmp_path / "dns", "\n".join([lines[0], "not json at all", *lines[1:]]) + "\n")
    table = notebook.run(conf, spark=spark_context)
    assert_dns_table(table, lines)
    assert "printer.local" not in set(table["query"])
    letters = dead_letters(home)
    assert [(letter["stage"], letter["event"]) for letter in letters] == [("input", "not json at all")]
    assert "(DNS Query Counts (DataFrame)) - 1 Dead Letters in " in capsys.readouterr().out

    # Rows an output refuses: a NULL key (DataFrame), a score that is no number (RDD).
    frames_code = """
        from pyspark.sql import functions as sf

        def load(events):
            key = sf.when(sf.col("value") != "b", sf.col("value"))
            return events.select(key.alias("key"), sf.lit(1).alias("score"), sf.col("value").alias("line"))
    """
    frames = batch_usecase(
        tmp_path / "refused-frames", "Refused Frames", frames_code, "a\nb\nc\n", frames=True
    )
    table = notebook.run(frames, spark=spark_context)
    assert sorted(table["key"]) == ["a", "c"] and list(table.columns) == ["key", "score", "line"]
    refused = [letter for letter in dead_letters(home) if letter["usecase"] == "Refused Frames"]
    assert [(letter["stage"], letter["reason"]) for letter in refused] == [
        ("output", "load() returned a bad row: key is NoneType, not str")
    ]
    assert "'line': 'b'" in refused[0]["event"]

    rdd_code = """
        def load(batchData):
            return batchData.map(lambda line: (line, "many" if line == "b" else 2, {"seen": line}))
    """
    rdd = batch_usecase(tmp_path / "refused-rdd", "Refused Rows", rdd_code, "a\nb\n")
    table = notebook.run(rdd, spark=spark_context)
    assert table.to_dict("records") == [{"key": "a", "score": 2.0, "seen": "a"}]
    refused = [letter for letter in dead_letters(home) if letter["usecase"] == "Refused Rows"]
    assert [letter["reason"] for letter in refused] == [
        "load() returned a bad row: score is str, not a number"
    ]
    assert not (rdd.parent / "out.csv").exists(), "the use case's output is not called"


NESTED_METADATA = {
    "struct": 'sf.struct(sf.col("value").alias("line"), sf.length("value").alias("size"))',
    "map": 'sf.create_map(sf.lit("size"), sf.length("value").cast("string"), sf.lit("line"), value)',
}


@pytest.mark.parametrize("kind", sorted(NESTED_METADATA))
def test_one_metadata_column_is_spread_into_its_fields(
    spark_context, home: Path, tmp_path: Path, kind: str
) -> None:
    code = f"""
        from pyspark.sql import functions as sf

        def load(events):
            value = sf.col("value")
            metadata = {NESTED_METADATA[kind]}
            return events.select(value.alias("key"), sf.lit(2).alias("score"), metadata.alias("metadata"))
    """
    conf = batch_usecase(tmp_path / "nested", "Nested", code, "a\nbb\n", frames=True)
    table = notebook.run(conf, spark=spark_context)
    assert list(table.columns) == ["key", "score", "line", "size"]  # a map's keys sorted
    rows = {row.key: (row.score, row.line, int(row.size)) for row in table.itertuples()}
    assert rows == {"a": (2.0, "a", 1), "bb": (2.0, "bb", 2)}


def test_a_broken_conf_is_a_config_error_of_one_line(spark_context, home: Path, tmp_path: Path) -> None:
    conf = frames_copy(tmp_path / "dns", DNS_SAMPLE.read_text())
    conf.write_text(conf.read_text().replace("type = batch", "type = sometimes"))
    with pytest.raises(ConfigError) as raised:
        notebook.run(conf, spark=spark_context)
    assert str(raised.value).startswith(f"{conf}: ") and "'type'" in str(raised.value)
    assert "\n" not in str(raised.value)

    conf.write_text(FRAMES_CONF.read_text().replace("file = sample/dns.json.log", "file = dns.json.log"))
    conf.write_text(conf.read_text().replace("ts DOUBLE, uid STRING", "ts DOUBLE, uid STRINGY"))
    with pytest.raises(ConfigError, match=r"key 'schema' is not a Spark DDL schema") as raised:
        notebook.run(conf, spark=spark_context)
    assert "\n" not in str(raised.value)


def test_a_failing_load_is_a_use_case_error_without_the_jvm_stack(
    spark_context, home: Path, tmp_path: Path
) -> None:
    code = """
        def load(batchData):
            return batchData.map(lambda line: (line, 1 / 0))
    """
    conf = batch_usecase(tmp_path / "failing", "Failing", code, "a\n")
    with pytest.raises(UseCaseError) as raised:
        notebook.run(conf, spark=spark_context)
    assert str(raised.value) == "(Failing) - Failed: ZeroDivisionError: division by zero"
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


LIVE_CONF = """\
name = Live DNS
type = streaming
code = {code}
output = csv
api = dataframe
format = json
schema = "{schema}"
time_field = ts
output.mode = complete
input = file
[in_file]
folder_path = {folder}
existing = read
[out_csv]
path = out.csv
"""


def live_conf(folder: Path, incoming: Path) -> Path:
    schema = next(line for line in FRAMES_CONF.read_text().splitlines() if line.startswith("schema = "))
    conf = folder / "live.conf"
    folder.mkdir(parents=True, exist_ok=True)
    conf.write_text(
        LIVE_CONF.format(
            code=DNS / "dns-query-counts-frames.py",
            schema=schema.split('"')[1],
            folder=incoming,
        )
    )
    return conf


def test_a_live_table_fills_while_the_stream_runs_and_stops_cleanly(
    spark_context, home: Path, tmp_path: Path
) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    lines = DNS_SAMPLE.read_text().splitlines()
    (incoming / "first.json").write_text("\n".join(lines[:20]) + "\n")
    live = notebook.stream(live_conf(tmp_path / "live", incoming), spark=spark_context)
    scratch = live.scratch
    try:
        assert scratch.is_dir() and live.status["isActive"]
        live.catch_up()
        assert_dns_table(live.table(), lines[:20])
        (incoming / "second.json").write_text("\n".join(lines[20:]) + "\n")
        live.catch_up()
        assert_dns_table(live.table(), lines)
    finally:
        live.stop()
    assert not scratch.exists(), "the temporary checkpoint is removed at stop"
    assert not live.status["isActive"]
    assert_dns_table(live.table(), lines)  # still readable after the stop
    assert not (home / "ckpt").exists(), "nothing in the production checkpoint folder"
    live.stop()  # again: nothing to do


def test_a_live_table_as_a_context_manager(spark_context, home: Path, tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    shutil.copy(DNS_SAMPLE, incoming / "dns.json")
    with notebook.stream(live_conf(tmp_path / "live", incoming), spark=spark_context) as live:
        live.catch_up()
        assert live.table()["score"].sum() == 50
        scratch = live.scratch
    assert not scratch.exists() and not live.status["isActive"]


def test_a_live_table_needs_a_streaming_dataframe_use_case(spark_context, home: Path, tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    conf = live_conf(tmp_path / "live", incoming)
    conf.write_text(
        conf.read_text().replace("api = dataframe", "api = rdd").replace("output.mode = complete\n", "")
    )
    with pytest.raises(ConfigError, match=r"key 'api' is rdd: a live table needs api = dataframe"):
        notebook.stream(conf, spark=spark_context)
    with pytest.raises(ConfigError, match=r"key 'type' is batch: notebook.stream needs type = streaming"):
        notebook.stream(FRAMES_CONF, spark=spark_context)
    with pytest.raises(ConfigError, match=r"key 'type' is streaming: notebook.run runs batch use cases"):
        notebook.run(live_conf(tmp_path / "live", incoming), spark=spark_context)
