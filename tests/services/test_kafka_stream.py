"""The Kafka direct stream against the real Kafka 4 broker, on the session SparkContext."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import shutil
import subprocess
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition

from datashark.errors import UseCaseError
from datashark.kafka.replay import batch_time_of
from tests.conftest import REPO
from tests.integration.conftest import run_script
from tests.support.kafka_helpers import (
    committed,
    end_offsets,
    group_of,
    ids_in,
    json_events,
    new_topic,
    produce,
    reading_from_start,
    run_until,
    usecase,
)
from tests.support.runs import run_conf
from tests.support.servers.kafka import KafkaBroker

pytestmark = pytest.mark.spark


def test_every_event_reaches_the_csv_exactly_once(spark_context, kafka: KafkaBroker, tmp_path: Path) -> None:
    topic = new_topic(kafka.bootstrap_servers, partitions=3)
    events = json_events(3000)
    produce(kafka.bootstrap_servers, topic, events)
    group = group_of(topic)
    # At most 400 per partition and batch: three batches at least, back-pressure at work.
    settings = reading_from_start(tmp_path, kafka.bootstrap_servers, topic, max_records_per_partition=400)
    conf = usecase(tmp_path / "uc", "Every Event")
    out = tmp_path / "uc" / "out.csv"
    run_until(spark_context, settings, [conf], lambda: sum(ids_in(out).values()) >= len(events))

    seen = ids_in(out)
    assert set(seen) == {json.loads(event)["id"] for event in events}
    assert max(seen.values()) == 1
    assert committed(kafka.bootstrap_servers, group, topic) == end_offsets(kafka.bootstrap_servers, topic)


def test_use_cases_filter_the_shared_global_stream_and_one_reads_its_own_topic(
    spark_context, kafka: KafkaBroker, tmp_path: Path, capsys
) -> None:
    shared_topic = new_topic(kafka.bootstrap_servers, partitions=3)
    own_topic = new_topic(kafka.bootstrap_servers, partitions=2)
    produce(
        kafka.bootstrap_servers,
        shared_topic,
        json_events(200, kind="login") + json_events(100, 200, kind="dns"),
    )
    produce(kafka.bootstrap_servers, own_topic, json_events(50, 1000, kind="proxy"))
    group = group_of(shared_topic)
    settings = reading_from_start(tmp_path, kafka.bootstrap_servers, shared_topic)
    logins = usecase(tmp_path / "logins", "Logins", sections="[log_filter]\n[[include]]\nkind = login")
    dns = usecase(tmp_path / "dns", "DNS", sections="[log_filter]\n[[exclude]]\nkind = login")
    proxy = usecase(
        tmp_path / "proxy", "Proxy", extra="input = kafka", sections=f"[in_kafka]\ntopics = {own_topic}"
    )
    outputs = [tmp_path / name / "out.csv" for name in ("logins", "dns", "proxy")]

    def all_in() -> bool:
        return [sum(ids_in(out).values()) for out in outputs] >= [200, 100, 50]

    run_until(spark_context, settings, [logins, dns, proxy], all_in)

    assert ids_in(outputs[0]) == Counter(f"e{n}" for n in range(200))
    assert ids_in(outputs[1]) == Counter(f"e{n}" for n in range(200, 300))
    assert ids_in(outputs[2]) == Counter(f"e{n}" for n in range(1000, 1050))
    console = capsys.readouterr().out
    assert f"Global Kafka Stream (topics {shared_topic}" in console
    assert f"Local Kafka Stream (topics {own_topic}" in console
    for topic in (shared_topic, own_topic):
        assert committed(kafka.bootstrap_servers, group, topic) == end_offsets(kafka.bootstrap_servers, topic)


def test_malformed_messages_are_dead_lettered_and_the_stream_goes_on(
    spark_context, kafka: KafkaBroker, tmp_path: Path
) -> None:
    topic = new_topic(kafka.bootstrap_servers, partitions=1)
    good = json_events(3, kind="ok")
    bomb, huge = "[" * 100_000, json.dumps({"kind": "ok", "pad": "x" * 200_000})
    produce(
        kafka.bootstrap_servers,
        topic,
        [good[0], "not json at all", b"\xff\xfe bad utf-8", b"", None, bomb, huge, *good[1:]],
    )
    settings = reading_from_start(tmp_path, kafka.bootstrap_servers, topic)
    conf = usecase(
        tmp_path / "uc",
        "Malformed",
        extra="max.event.bytes = 150000",
        sections="[log_filter]\n[[include]]\nkind = ok",
    )
    out = tmp_path / "uc" / "out.csv"
    run_until(spark_context, settings, [conf], lambda: sum(ids_in(out).values()) >= 3)

    assert ids_in(out) == Counter(["e0", "e1", "e2"])
    letters = [
        json.loads(line) for path in (tmp_path / "deadletter").rglob("*.jsonl") for line in path.open()
    ]
    reasons = sorted(letter["reason"].split(":")[0] for letter in letters)
    assert reasons == [
        "empty message",
        "empty message",
        f"event of {len(huge)} bytes is larger than max.event.bytes (150000)",
        "not JSON",
        "not JSON",
        "not valid UTF-8",
    ]
    assert any("nested deeper than" in letter["reason"] for letter in letters)
    assert {letter["usecase"] for letter in letters} == {"Malformed"}
    assert any(letter["event"] == "\\xff\\xfe bad utf-8" for letter in letters)


def in_flight_record(bootstrap_servers: str, group: str, topic: str) -> dict[int, list]:
    """The cut of the in-flight batches each partition's commit metadata holds (see replay)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=group, enable_auto_commit=False)
    try:
        stored = {
            number: consumer.committed(TopicPartition(topic, number), metadata=True)
            for number in sorted(consumer.partitions_for_topic(topic))
        }
    finally:
        consumer.close()
    return {
        number: json.loads(entry.metadata)["batches"] if entry.metadata else []
        for number, entry in stored.items()
    }


def test_a_failing_output_commits_nothing_and_the_restarts_replay_the_same_cut(
    spark_context, kafka: KafkaBroker, tmp_path: Path
) -> None:
    topic = new_topic(kafka.bootstrap_servers, partitions=3)
    produce(kafka.bootstrap_servers, topic, json_events(300))
    group = group_of(topic)
    settings = reading_from_start(tmp_path, kafka.bootstrap_servers, topic, max_records_per_partition=50)
    blocker = tmp_path / "uc" / "results"
    conf = usecase(tmp_path / "uc", "Flaky Output", out="results/out.csv")
    blocker.write_text("a file where the output's folder should be\n")

    def failing_run() -> None:
        with pytest.raises(UseCaseError, match=r"streaming stopped: \(Flaky Output\) - Failed: .*results"):
            run_conf(spark_context, settings, conf, timeout=30)

    failing_run()
    assert committed(kafka.bootstrap_servers, group, topic) == {0: 0, 1: 0, 2: 0}
    cut = in_flight_record(kafka.bootstrap_servers, group, topic)
    assert all(batches for batches in cut.values()), cut
    # Failing again on the replay keeps the record whole: the replays not run yet included.
    failing_run()
    assert committed(kafka.bootstrap_servers, group, topic) == {0: 0, 1: 0, 2: 0}
    again = in_flight_record(kafka.bootstrap_servers, group, topic)
    assert {number: batches[: len(cut[number])] for number, batches in again.items()} == cut

    blocker.unlink()
    out = blocker / "out.csv"
    run_until(spark_context, settings, [conf], lambda: sum(ids_in(out).values()) >= 300)
    assert ids_in(out) == Counter(f"e{n}" for n in range(300))
    assert committed(kafka.bootstrap_servers, group, topic) == end_offsets(kafka.bootstrap_servers, topic)
    assert in_flight_record(kafka.bootstrap_servers, group, topic) == {0: [], 1: [], 2: []}
    first_times = {ms for batches in cut.values() for ms, _ in batches}
    row_times = {row.split(",")[0] for row in out.read_text().splitlines()}
    assert {batch_time_of(ms).strftime("%Y-%m-%d %H:%M:%S") for ms in first_times} <= row_times


def test_a_debug_run_prints_and_commits_nothing(
    spark_context, kafka: KafkaBroker, tmp_path: Path, capsys
) -> None:
    topic = new_topic(kafka.bootstrap_servers, partitions=2)
    produce(kafka.bootstrap_servers, topic, json_events(20))
    group = group_of(topic)
    settings = reading_from_start(tmp_path, kafka.bootstrap_servers, topic)
    conf = usecase(tmp_path / "uc", "Dry Run")
    run_conf(spark_context, settings, conf, debug=True, timeout=6)

    assert re.search(r"\('e\d+', 1, \{'kind': ''\}\)", capsys.readouterr().out), "pprint shows the rows"
    assert not (tmp_path / "uc" / "out.csv").exists()
    assert committed(kafka.bootstrap_servers, group, topic) == {0: None, 1: None}


@pytest.mark.parametrize("script", ["standalone.sh", "start.sh"])
def test_the_scripts_read_an_in_kafka_override_instead_of_the_global_stream(
    kafka: KafkaBroker, tmp_path: Path, script: str
) -> None:
    """The original's production path ignored [in_kafka]; here both scripts read the override's
    topic (given with the original's key, topic) and leave the global stream's alone."""
    global_topic, own_topic = new_topic(kafka.bootstrap_servers), new_topic(kafka.bootstrap_servers)
    produce(kafka.bootstrap_servers, global_topic, json_events(40, kind="global"))
    produce(kafka.bootstrap_servers, own_topic, json_events(60, 500, kind="own"))
    group = group_of(own_topic)
    home = tmp_path / "home"
    shutil.copytree(REPO / "plugins", home / "plugins")
    (home / "datashark.conf").write_text(
        f"kafka.bootstrap.servers = {kafka.bootstrap_servers}\nkafka.topics = {global_topic}\n"
        f"kafka.group.id = {group}\nkafka.starting.offsets = earliest\nbatch.interval = 2\n"
    )
    conf = usecase(
        home / "conf" / "proxy",
        "Proxy",
        extra="enabled = true\ninput = kafka",
        sections=f"[in_kafka]\ntopic = {own_topic}",
    )
    args = ["--timeout", "15"] + ([str(conf)] if script == "standalone.sh" else [])
    result = run_script(script, *args, cwd=tmp_path, env={"DATASHARK_HOME": str(home)})
    assert result.returncode == 0, result.stderr[-3000:]

    assert ids_in(conf.parent / "out.csv") == Counter(f"e{n}" for n in range(500, 560))
    assert f"Local Kafka Stream (topics {own_topic}" in result.stdout
    assert committed(kafka.bootstrap_servers, group, own_topic) == end_offsets(
        kafka.bootstrap_servers, own_topic
    )
    assert set(committed(kafka.bootstrap_servers, group, global_topic).values()) == {None}


@contextmanager
def small_disk(folder: Path, size: str = "256k") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``folder`` (root only: CI and this suite run as root)."""
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert mounted.returncode == 0, f"mounting a tmpfs needs root: {mounted.stderr.strip()}"
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    """Write ``folder``'s file system full; returns the file that fills it."""
    filler = folder / "filler"
    with open(filler, "wb") as out, contextlib.suppress(OSError):
        while True:
            out.write(b"\0" * 65536)
            out.flush()
    return filler


def test_drill_a_full_dead_letter_disk_fails_the_batch_and_the_replay_stores_them(
    spark_context, kafka: KafkaBroker, tmp_path: Path
) -> None:
    """Drill: the dead-letter folder's disk is full. The batch fails visibly and commits
    nothing; once there is room again, the restart replays it and keeps every dead letter."""
    topic = new_topic(kafka.bootstrap_servers, partitions=1)
    bad = ["not json", '{"truncated": ', "[" * 5000]
    produce(kafka.bootstrap_servers, topic, [*json_events(20), *bad])
    group = group_of(topic)
    with small_disk(tmp_path / "dl") as disk:
        settings = dataclasses.replace(
            reading_from_start(tmp_path, kafka.bootstrap_servers, topic), deadletter_dir=disk
        )
        conf = usecase(tmp_path / "uc", "Full Disk")
        filler = fill(disk)
        with pytest.raises(UseCaseError, match=r"\(Full Disk\) - Failed: .*No space left on device"):
            run_conf(spark_context, settings, conf, timeout=30)
        assert committed(kafka.bootstrap_servers, group, topic) == {0: 0}, "nothing committed past it"

        filler.unlink()
        run_until(
            spark_context,
            settings,
            [conf],
            lambda: (
                committed(kafka.bootstrap_servers, group, topic)
                == end_offsets(kafka.bootstrap_servers, topic)
            ),
        )
        letters = [json.loads(line) for path in disk.rglob("*.jsonl") for line in path.open()]
    assert sorted(letter["event"] for letter in letters) == sorted(event[:4096] for event in bad)
    assert ids_in(tmp_path / "uc" / "out.csv").keys() == {f"e{n}" for n in range(20)}


SLOW_ROWS = """
import time

def load(streamingData, trainingData):
    def slow(event):
        time.sleep(0.02)
        return (event["id"], 1)
    return streamingData.map(slow)
"""


def test_a_time_limit_stops_within_a_batch_of_it_and_the_backlog_waits_for_the_next_start(
    spark_context, kafka: KafkaBroker, tmp_path: Path
) -> None:
    """Batches that take longer than the interval queue up; at the time limit only the batch in
    flight finishes. The queued ones are read again at the next start, which delivers them all."""
    topic = new_topic(kafka.bootstrap_servers, partitions=2)
    produce(kafka.bootstrap_servers, topic, json_events(3000))
    group = group_of(topic)
    settings = dataclasses.replace(
        reading_from_start(tmp_path, kafka.bootstrap_servers, topic, max_records_per_partition=100),
        batch_interval=1,
    )
    conf = usecase(tmp_path / "uc", "Slow")
    (tmp_path / "uc" / "uc.py").write_text(textwrap.dedent(SLOW_ROWS))
    started = time.monotonic()
    run_conf(spark_context, settings, conf, timeout=8)
    elapsed = time.monotonic() - started
    # Each batch takes ~2 s (200 events x 20 ms on 2 cores), so batches queue behind the limit.
    assert elapsed < 8 + 10, f"the stop took {elapsed - 8:.0f} s past the limit"
    assert committed(kafka.bootstrap_servers, group, topic) != end_offsets(kafka.bootstrap_servers, topic)

    out = tmp_path / "uc" / "out.csv"
    run_until(
        spark_context,
        settings,
        [conf],
        lambda: set(ids_in(out)) >= {f"e{n}" for n in range(3000)},
        timeout=300,
    )
    assert set(ids_in(out)) == {f"e{n}" for n in range(3000)}
