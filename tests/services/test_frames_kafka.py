"""DataFrame use cases on Spark's own Kafka source (``api = dataframe``, Structured Streaming).

In-process: JSON messages become rows, a message that is not JSON a dead letter, and the use
case's progress reaches its consumer group. Through ./start.sh, beside an RDD use case on the
same topic: a driver killed with SIGKILL and restarted loses nothing, replays at most one batch
with the rows it had, and both flavours get every event (locally and on the standalone cluster).
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.services.test_kafka_restart import ROW_PER_EVENT
from tests.support.kafka_helpers import (
    committed,
    end_offsets,
    ids_in,
    in_rounds,
    json_events,
    new_topic,
    produce,
    reading_from_start,
    run_until,
)
from tests.support.production_helpers import LATE_ACK_OUTPUT, killed_and_restarted, on_the_cluster
from tests.support.servers.kafka import KafkaBroker

PARTITIONS = 3
CAP = 100  # max.records.per.partition: a batch holds at most CAP * PARTITIONS messages
ROUNDS, PER_ROUND = 15, 100
BATCH_SECONDS = 3
FRAME_ROW_PER_EVENT = """
from pyspark.sql import functions as sf


def load(events):
    return events.select(sf.col("id").alias("key"), sf.lit(1).alias("score"))
"""
SCHEMA = "id STRING, kind STRING"


def frames_usecase(folder: Path, *, name: str, output: str, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "frames.py").write_text(textwrap.dedent(FRAME_ROW_PER_EVENT))
    conf = folder / "frames.conf"
    conf.write_text(
        f"name = {name}\ntype = streaming\nenabled = true\ncode = frames.py\napi = dataframe\n"
        f'format = json\nschema = "{SCHEMA}"\n{extra}\n{output}\n'
    )
    return conf


def test_messages_become_rows_dead_letters_and_group_progress(
    spark_context, kafka: KafkaBroker, tmp_path: Path
) -> None:
    topic = new_topic(kafka.bootstrap_servers, partitions=2)
    settings = reading_from_start(tmp_path, kafka.bootstrap_servers, topic)
    out = tmp_path / "out.csv"
    conf = frames_usecase(
        tmp_path / "uc", name="Frames Kafka", output=f"output = csv\n[out_csv]\npath = {out}\nmode = append\n"
    )
    produce(kafka.bootstrap_servers, topic, [*json_events(40, kind="dns"), "not json at all", '{"id": 5'])

    run_until(spark_context, settings, [conf], lambda: len(ids_in(out)) >= 40, timeout=120)

    assert set(ids_in(out)) == {f"e{n}" for n in range(40)}
    letters = [
        json.loads(line)
        for path in (settings.deadletter_dir / "frames-kafka").glob("*.jsonl")
        for line in path.read_text().splitlines()
    ]
    assert sorted(letter["event"] for letter in letters) == sorted(['{"id": 5', "not json at all"])
    assert {letter["stage"] for letter in letters} == {"input"}
    group = f"g-{topic}-frames-kafka"
    assert committed(kafka.bootstrap_servers, group, topic) == end_offsets(kafka.bootstrap_servers, topic)
    # the RDD flavour's group is the direct stream's: a DataFrame use case leaves it alone
    assert set(committed(kafka.bootstrap_servers, f"g-{topic}", topic).values()) == {None}


PRUNED = """
from pyspark.sql import functions as sf


def load(events):
    return events.select(sf.col("id").alias("key"), sf.col("n").alias("score"))
"""


def test_only_the_fields_load_reads_are_parsed(spark_context, kafka: KafkaBroker, tmp_path: Path) -> None:
    """``size`` is in the schema but not read: a message whose size does not fit is a finding;
    one whose ``n`` does not fit, or that is not JSON, is a dead letter with its text."""
    topic = new_topic(kafka.bootstrap_servers, partitions=2)
    settings = reading_from_start(tmp_path, kafka.bootstrap_servers, topic)
    out = tmp_path / "out.csv"
    folder = tmp_path / "pruned"
    folder.mkdir()
    (folder / "pruned.py").write_text(PRUNED)
    conf = folder / "pruned.conf"
    conf.write_text(
        "name = Pruned\ntype = streaming\nenabled = true\ncode = pruned.py\napi = dataframe\nformat = json\n"
        'schema = "id STRING, n INT, size INT"\n'
        f"output = csv\n[out_csv]\npath = {out}\nmode = append\n"
    )
    bad = ['{"id": "c", "n": "many"}', "not json"]
    good = ['{"id": "a", "n": 1, "size": 2}', '{"id": "b", "n": 2, "size": "big"}']
    produce(kafka.bootstrap_servers, topic, [*good, *bad])
    letters_dir = settings.deadletter_dir / "pruned"

    def done() -> bool:
        return len(ids_in(out)) >= 2 and len(list(letters_dir.glob("*.jsonl"))) > 0

    run_until(spark_context, settings, [conf], done, timeout=120)

    assert set(ids_in(out)) == {"a", "b"}
    letters = [
        json.loads(line) for path in letters_dir.glob("*.jsonl") for line in path.read_text().splitlines()
    ]
    assert sorted(letter["event"] for letter in letters) == sorted(bad)


def both_flavours_home(tmp_path: Path, bootstrap_servers: str, topic: str) -> Path:
    """A dataShark folder with an RDD use case on the global stream and a DataFrame use case
    reading the same topic, both writing through an output that acknowledges late."""
    home = tmp_path / "home"
    shutil.copytree(REPO / "plugins", home / "plugins")
    (home / "lib").mkdir()
    for jar in (REPO / "lib").glob("*.jar"):
        (home / "lib" / jar.name).symlink_to(jar)
    (home / "plugins" / "output" / "out_lateack.py").write_text(LATE_ACK_OUTPUT)
    (home / "datashark.conf").write_text(
        f"kafka.bootstrap.servers = {bootstrap_servers}\nkafka.topics = {topic}\nkafka.group.id = g-{topic}\n"
        f"kafka.starting.offsets = earliest\nkafka.max.records.per.partition = {CAP}\n"
        f"batch.interval = {BATCH_SECONDS}\n"
    )
    events = home / "conf" / "events"
    events.mkdir(parents=True)
    (events / "events.py").write_text(ROW_PER_EVENT)
    (events / "events.conf").write_text(
        "name = Events\ntype = streaming\nenabled = true\ncode = events.py\n"
        f"output = lateack\nformat = json\n[out_lateack]\npath = {events / 'out.csv'}\n"
    )
    frames = home / "conf" / "frames"
    frames_usecase(
        frames, name="Frames", output=f"output = lateack\n[out_lateack]\npath = {frames / 'out.csv'}\n"
    )
    return home


@pytest.mark.parametrize(
    "where", ["local", pytest.param("cluster", marks=[pytest.mark.spark_cluster, pytest.mark.hdfs])]
)
def test_sigkill_and_restart_beside_an_rdd_use_case(
    kafka: KafkaBroker, tmp_path: Path, where: str, request: pytest.FixtureRequest
) -> None:
    topic = new_topic(kafka.bootstrap_servers, partitions=PARTITIONS)
    home = both_flavours_home(tmp_path, kafka.bootstrap_servers, topic)
    if where == "cluster":
        on_the_cluster(home, request.getfixturevalue("spark_cluster"), request.getfixturevalue("hdfs"))
    frames_out = home / "conf" / "frames" / "out.csv"
    events_out = home / "conf" / "events" / "out.csv"
    log = tmp_path / "start.log"
    every = {f"e{n}" for n in range(ROUNDS * PER_ROUND)}

    # Killed once the DataFrame use case wrote its second batch, before acknowledging it.
    written_before_kill = killed_and_restarted(
        home,
        log,
        in_rounds(kafka.bootstrap_servers, topic, ROUNDS, PER_ROUND),
        kill_when=lambda: sum(ids_in(frames_out).values()) > CAP * PARTITIONS,
        done_when=lambda: set(ids_in(frames_out)) == every and set(ids_in(events_out)) == every,
        measure=lambda: sum(ids_in(frames_out).values()),
    )

    seen = ids_in(frames_out)
    duplicates = sum(seen.values()) - len(seen)
    assert duplicates <= CAP * PARTITIONS, f"{duplicates} duplicates: more than the one batch in flight"
    assert duplicates < written_before_kill, "the restart read the topic from the beginning again"
    rows = frames_out.read_text().splitlines()
    assert len(set(rows)) == len(seen), "a replayed row differs from its first delivery (batch time)"
    group = f"g-{topic}-frames"
    assert committed(kafka.bootstrap_servers, group, topic) == end_offsets(kafka.bootstrap_servers, topic)
