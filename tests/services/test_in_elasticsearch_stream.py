"""A streaming use case on ``input = elasticsearch`` (the real 9.x node): documents indexed
while it runs reach ``load()`` once each; a batch holds at most ``max_documents``; and after
SIGKILL and a restart nothing is lost, the replay is bounded, and replayed rows are identical.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import helpers

from datashark.config.usecase import read_usecase
from datashark.elastic.stream import STATE_NAME
from datashark.errors import ConfigError
from datashark.run.context import RunContext
from datashark.run.prepare import prepare
from datashark.run.streaming import run_streaming
from tests.conftest import REPO
from tests.integration.conftest import settings_for
from tests.support.kafka_helpers import ids_in
from tests.support.production_helpers import LATE_ACK_OUTPUT, killed_and_restarted
from tests.support.servers.elasticsearch import ElasticsearchNode

pytestmark = pytest.mark.spark

ROW_PER_DOCUMENT = """
def load(streamingData, trainingData, context, conf):
    return streamingData.map(lambda event: (event["id"], 1))
"""
FRAME_ROW_PER_DOCUMENT = """
from pyspark.sql import functions as sf


def load(events):
    return events.select(sf.col("id").alias("key"), sf.lit(1).alias("score"))
"""
MAPPING = {"properties": {"@timestamp": {"type": "date"}, "id": {"type": "keyword"}}}


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_index(node: ElasticsearchNode, docs: list[dict[str, Any]] = ()) -> str:  # type: ignore[assignment]
    index = f"stream-{uuid.uuid4().hex[:8]}"
    with node.client() as client:
        client.indices.create(index=index, mappings=MAPPING, settings={"number_of_shards": 2})
    add(node, index, docs)
    return index


def add(node: ElasticsearchNode, index: str, docs: list[dict[str, Any]]) -> None:
    """Index ``docs`` searchable at once (as a refresh interval of 1 s would, a second later)."""
    if docs:
        with node.client() as client:
            helpers.bulk(client, ({"_index": index, "_source": doc} for doc in docs), refresh=True)


def doc(number: int, moment: datetime) -> dict[str, Any]:
    return {"@timestamp": stamp(moment), "id": f"d{number}"}


def streaming_conf(
    folder: Path, node: ElasticsearchNode, keys: str, *, output: str = "csv", api: str = "rdd"
) -> Path:
    """A streaming use case on ``input = elasticsearch`` writing a row per document (``api``:
    ``rdd`` or ``dataframe``, the latter with the index mapping's columns)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "uc.py").write_text(ROW_PER_DOCUMENT if api == "rdd" else FRAME_ROW_PER_DOCUMENT)
    mode = "mode = append\n" if output == "csv" else ""
    conf = folder / "uc.conf"
    conf.write_text(
        f"name = Stream\ntype = streaming\nenabled = true\ncode = uc.py\napi = {api}\ninput = elasticsearch\n"
        f"format = json\noutput = {output}\n[out_{output}]\npath = {folder / 'out.csv'}\n{mode}"
        f"[in_elasticsearch]\n{node.output_keys()}{keys}"
    )
    return conf


def run_until(
    tmp_path: Path, conf: Path, done: Callable[[], bool], spark_context, timeout: float = 120
) -> None:
    settings = dataclasses.replace(settings_for(tmp_path), batch_interval=1)
    prepared = prepare(settings, read_usecase(conf))
    run_streaming(
        spark_context,
        RunContext(settings),
        [prepared],
        debug=False,
        timeout=timeout,
        stop_when=lambda: "all read" if done() else None,
    )


@pytest.mark.parametrize("api", ["rdd", "dataframe"])
def test_documents_indexed_while_it_runs_reach_load_once_each(
    spark_context, elasticsearch: ElasticsearchNode, tmp_path: Path, api: str
) -> None:
    """An hour of history read from ``from = now-2h``, then documents as they arrive; none
    older than ``from``; one row per document. The RDD stream's state file records where it
    stands; the DataFrame stream's offsets are times, in the query's checkpoint."""
    now = datetime.now(timezone.utc)
    history = [doc(n, now - timedelta(minutes=60 - n)) for n in range(60)]
    too_old = [doc(1000 + n, now - timedelta(hours=3, minutes=n)) for n in range(5)]
    index = new_index(elasticsearch, history + too_old)
    conf = streaming_conf(
        tmp_path / "uc", elasticsearch, f"index = {index}\nfrom = now-2h\ndelay = 1s\n", api=api
    )
    out = tmp_path / "uc" / "out.csv"

    def feed() -> None:
        for round_ in range(5):
            time.sleep(1.5)
            add(
                elasticsearch,
                index,
                [doc(100 + 10 * round_ + n, datetime.now(timezone.utc)) for n in range(10)],
            )

    feeder = threading.Thread(target=feed)
    feeder.start()
    try:
        run_until(tmp_path, conf, lambda: not feeder.is_alive() and len(ids_in(out)) >= 110, spark_context)
    finally:
        feeder.join()
    seen = ids_in(out)
    assert set(seen) == {f"d{n}" for n in [*range(60), *range(100, 150)]}
    assert max(seen.values()) == 1
    if api == "rdd":
        state = json.loads((tmp_path / "ckpt" / "stream" / STATE_NAME).read_text())
        assert state["read_up_to"] >= now.timestamp() * 1000
        assert (tmp_path / "ckpt" / "stream" / STATE_NAME).stat().st_mode & 0o777 == 0o600
    else:
        offsets = (tmp_path / "ckpt" / "stream" / "query" / "offsets").glob("[0-9]*")
        last = max(offsets, key=lambda path: int(path.name))
        assert json.loads(last.read_text().splitlines()[-1])["upper"] >= now.timestamp() * 1000
        checkpoint = "".join(
            p.read_text(errors="replace") for p in (tmp_path / "ckpt").rglob("*") if p.is_file()
        )
        assert elasticsearch.password not in checkpoint


def test_a_batch_holds_at_most_max_documents(
    spark_context, elasticsearch: ElasticsearchNode, tmp_path: Path
) -> None:
    """A backlog of 500 documents over ten minutes is read in batches of at most 120, all of it."""
    now = datetime.now(timezone.utc)
    index = new_index(elasticsearch, [doc(n, now - timedelta(seconds=600 - n)) for n in range(500)])
    conf = streaming_conf(
        tmp_path / "uc",
        elasticsearch,
        f"index = {index}\nfrom = now-15m\ndelay = 1s\nmax_documents = 120\n",
        output="csv",
    )
    out = tmp_path / "uc" / "out.csv"
    run_until(tmp_path, conf, lambda: len(ids_in(out)) >= 500, spark_context)
    rows = [line.split(",") for line in out.read_text().splitlines() if not line.startswith("time")]
    per_batch = Counter(row[0] for row in rows)
    assert len(rows) == 500 and len(per_batch) >= 5, per_batch
    assert max(per_batch.values()) <= 120, per_batch


def test_an_8_x_cluster_is_streamed_too(
    spark_context, elasticsearch8: ElasticsearchNode, tmp_path: Path
) -> None:
    now = datetime.now(timezone.utc)
    index = new_index(elasticsearch8, [doc(n, now - timedelta(seconds=60 - n)) for n in range(40)])
    conf = streaming_conf(tmp_path / "uc", elasticsearch8, f"index = {index}\nfrom = now-5m\ndelay = 1s\n")
    out = tmp_path / "uc" / "out.csv"
    run_until(tmp_path, conf, lambda: len(ids_in(out)) >= 40, spark_context)
    assert ids_in(out) == Counter({f"d{n}": 1 for n in range(40)})


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("to = now\n", "[in_elasticsearch], key 'to': a stream has no end"),
        ("from = yesterday\n", "[in_elasticsearch], key 'from': 'yesterday': a stream starts at now"),
        ("delay = soon\n", "[in_elasticsearch], key 'delay': 'soon' is not a duration"),
    ],
)
def test_stream_keys_that_cannot_work_are_one_line_naming_the_key(
    elasticsearch: ElasticsearchNode, tmp_path: Path, keys: str, message: str
) -> None:
    conf = streaming_conf(tmp_path / "uc", elasticsearch, f"index = x\n{keys}")
    with pytest.raises(ConfigError) as refused:
        prepare(settings_for(tmp_path), read_usecase(conf))
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


CAP = 150  # max_documents


def stream_home(tmp_path: Path, node: ElasticsearchNode, index: str, api: str) -> Path:
    """A dataShark folder whose only use case streams ``index`` into the late-acknowledging output."""
    home = tmp_path / "home"
    shutil.copytree(REPO / "plugins", home / "plugins")
    (home / "plugins" / "output" / "out_lateack.py").write_text(LATE_ACK_OUTPUT)
    (home / "datashark.conf").write_text(f"batch.interval = 3\ncheckpoint.dir = {tmp_path / 'ckpt'}\n")
    folder = home / "conf" / "events"
    streaming_conf(
        folder,
        node,
        f"index = {index}\nfrom = now-1h\ndelay = 1s\nmax_documents = {CAP}\n",
        output="lateack",
        api=api,
    )
    return home


@pytest.mark.parametrize("api", ["rdd", "dataframe"])
def test_sigkill_mid_stream_then_restart_loses_nothing(
    elasticsearch: ElasticsearchNode, tmp_path: Path, api: str
) -> None:
    """./start.sh killed right after a batch was written, before it was acknowledged: the restart
    replays that batch under its first time (identical rows), and every document arrives."""
    rounds, per_round = 12, 100
    index = new_index(elasticsearch)
    home = stream_home(tmp_path, elasticsearch, index, api)
    out = home / "conf" / "events" / "out.csv"

    def feed() -> None:
        for round_ in range(rounds):
            moment = datetime.now(timezone.utc)
            add(elasticsearch, index, [doc(round_ * per_round + n, moment) for n in range(per_round)])
            time.sleep(1)

    written_before_kill = killed_and_restarted(
        home,
        tmp_path / "start.log",
        feed,
        kill_when=lambda: sum(ids_in(out).values()) > CAP,
        done_when=lambda: len(ids_in(out)) >= rounds * per_round,
        measure=lambda: sum(ids_in(out).values()),
    )

    seen = ids_in(out)
    assert set(seen) == {f"d{n}" for n in range(rounds * per_round)}
    duplicates = sum(seen.values()) - len(seen)
    assert 0 < duplicates <= 3 * CAP, f"{duplicates} duplicates: more than the batches in flight"
    assert duplicates < written_before_kill, "the restart read the index from `from` again"
    rows = out.read_text().splitlines()
    assert len(set(rows)) == len(seen), "a replayed row differs from its first delivery (batch time)"
    if api == "rdd":  # Spark's own checkpoint replays a DataFrame query's batch in flight
        log = (tmp_path / "start.log").read_text()
        assert re.search(r"replaying the [1-3] batch\(es\) the last run had in flight", log), log[-3000:]
