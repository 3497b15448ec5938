"""Streaming use cases on the session SparkContext: files dropped into a watched folder."""

from __future__ import annotations

import dataclasses
import json
import shutil
import textwrap
import time
from pathlib import Path

import pytest

from datashark.config.usecase import read_usecase
from datashark.errors import UseCaseError
from datashark.run.prepare import prepare
from tests.conftest import REPO
from tests.integration.conftest import read_csv, settings_for, stream_while

pytestmark = pytest.mark.spark

COUNT_BY_HOST = """
def load(streamingData, trainingData, context, conf):
    known = {event["host"] for event in trainingData.collect()}
    counts = streamingData.map(lambda e: (e.get("host", "?"), 1)).reduceByKey(lambda a, b: a + b)
    return counts.map(lambda kv: (kv[0], kv[1], {"known": kv[0] in known}))
"""


def streaming_usecase(
    folder: Path, name: str, *, extra: str = "", code: str = COUNT_BY_HOST, incoming: str = "incoming"
) -> Path:
    """A streaming use case reading JSON events from ``incoming`` (default: ``folder/incoming``),
    CSV to ``folder/out.csv``."""
    folder.mkdir(parents=True)
    (folder / "uc.py").write_text(textwrap.dedent(code))
    (folder / "known.txt").write_text('{"host": "web1"}\n')
    conf = folder / "uc.conf"
    conf.write_text(
        f"name = {name}\ntype = streaming\ncode = uc.py\ntraining = known.txt\ninput = file\n"
        f"output = csv\nformat = json\n{extra}\n[in_file]\nfolder_path = {incoming}\n"
        "[out_csv]\npath = out.csv\nmode = append\n"
    )
    return conf


def drop(folder: Path, name: str, lines: list[str]) -> None:
    """Write elsewhere, then move in: the file stream sees complete files only."""
    staging = folder.parent / f".{name}"
    staging.write_text("".join(line + "\n" for line in lines))
    shutil.move(staging, folder / name)


def run_with_drops(sc, tmp_path: Path, confs: list[Path], drops: list[tuple[Path, str, list[str]]]) -> None:
    """Run the use cases for a few 1-second batches while the files are dropped in."""
    settings = dataclasses.replace(settings_for(tmp_path), batch_interval=1)
    prepared = [prepare(settings, read_usecase(conf)) for conf in confs]

    def dropper() -> None:
        time.sleep(2.5)
        for folder, name, lines in drops:
            drop(folder, name, lines)

    stream_while(sc, settings, prepared, dropper, timeout=7)


def events(*hosts: str, proto: str = "tcp") -> list[str]:
    return [json.dumps({"host": host, "proto": proto}) for host in hosts]


def test_two_use_cases_share_a_folder_each_with_its_own_filter(spark_context, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    include = "[log_filter]\n[[include]]\nproto = tcp"
    tcp = streaming_usecase(tmp_path / "tcp", "TCP", extra=include, incoming=str(shared))
    exclude = "[log_filter]\n[[exclude]]\nhost = web2"
    not_web2 = streaming_usecase(tmp_path / "udp", "Not web2", extra=exclude, incoming=str(shared))
    lines = [*events("web1", "web1", "web2"), *events("web3", proto="udp"), "not json", '{"proto": "tcp"}']
    run_with_drops(spark_context, tmp_path, [tcp, not_web2], [(shared, "a.log", lines)])

    tcp_rows = {row[1]: row[2:] for row in read_csv(tmp_path / "tcp" / "out.csv")}
    assert tcp_rows == {"web1": ["2", "True"], "web2": ["1", "False"], "?": ["1", "False"]}
    other_rows = {row[1]: row[2:] for row in read_csv(tmp_path / "udp" / "out.csv")}
    assert other_rows == {"web1": ["2", "True"], "web3": ["1", "False"], "?": ["1", "False"]}


TWO_BRANCHES = """
def load(streamingData, trainingData, context, conf):
    hosts = streamingData.map(lambda e: (e["host"], 1, {}))
    return hosts.union(streamingData.map(lambda e: (e["host"] + "/again", 1, {})))
"""


def test_a_load_that_reads_its_stream_twice_sees_every_event_in_both_branches(
    spark_context, tmp_path: Path
) -> None:
    """Each branch gets the batch's events: the input cuts a batch once, not once per branch."""
    conf = streaming_usecase(tmp_path / "uc", "Two Branches", code=TWO_BRANCHES)
    incoming = tmp_path / "uc" / "incoming"
    run_with_drops(spark_context, tmp_path, [conf], [(incoming, "a.log", events("web1", "web2"))])

    keys = sorted(row[1] for row in read_csv(tmp_path / "uc" / "out.csv"))
    assert keys == ["web1", "web1/again", "web2", "web2/again"]


def test_garbage_goes_to_dead_letters_and_the_stream_goes_on(spark_context, tmp_path: Path, capsys) -> None:
    extra = "max.event.bytes = 150000\n[log_filter]\n[[include]]\nproto = tcp"
    conf = streaming_usecase(tmp_path / "uc", "Garbage", extra=extra)
    incoming = tmp_path / "uc" / "incoming"
    incoming.mkdir()
    bomb, huge = "[" * 100_000, json.dumps({"host": "big", "proto": "tcp", "pad": "x" * 200_000})
    run_with_drops(
        spark_context,
        tmp_path,
        [conf],
        [
            (incoming, "1.log", ["garbage", "[1, 2]", bomb, *events("web1")]),
            (incoming, "2.log", [huge, *events("web4")]),
        ],
    )
    assert sorted(row[1] for row in read_csv(tmp_path / "uc" / "out.csv")) == ["web1", "web4"]
    records = [
        json.loads(line) for path in (tmp_path / "deadletter").rglob("*.jsonl") for line in path.open()
    ]
    reasons = {record["event"][:10]: record["reason"] for record in records}
    assert sorted(reasons) == sorted(["[1, 2]", "garbage", bomb[:10], huge[:10]])
    assert "nested deeper than" in reasons[bomb[:10]]
    assert reasons[huge[:10]] == f"event of {len(huge)} bytes is larger than max.event.bytes (150000)"
    assert {record["stage"] for record in records} == {"input"}
    assert all(record["usecase"] == "Garbage" for record in records)
    assert "(4 Dead Letters)" in capsys.readouterr().out


def test_bad_rows_from_load_are_dead_letters(spark_context, tmp_path: Path) -> None:
    code = "def load(s, t):\n    return s.map(lambda e: (e['host'], {'bad': 'x'}.get(e['host'], 1)))\n"
    conf = streaming_usecase(tmp_path / "uc", "Rows", code=code)
    incoming = tmp_path / "uc" / "incoming"
    incoming.mkdir()
    run_with_drops(spark_context, tmp_path, [conf], [(incoming, "1.log", events("ok", "bad"))])
    assert [row[1] for row in read_csv(tmp_path / "uc" / "out.csv")] == ["ok"]
    (record,) = [
        json.loads(line) for path in (tmp_path / "deadletter").rglob("*.jsonl") for line in path.open()
    ]
    assert record["stage"] == "output" and "score is str" in record["reason"]


def test_a_failing_batch_stops_the_stream_with_the_use_case_named(spark_context, tmp_path: Path) -> None:
    code = "def load(stream, training):\n    return stream.map(lambda e: (e['missing'], 1))\n"
    conf = streaming_usecase(tmp_path / "uc", "Broken", code=code)
    incoming = tmp_path / "uc" / "incoming"
    incoming.mkdir()
    with pytest.raises(UseCaseError, match=r"\(Broken\) - Failed: KeyError: 'missing'"):
        run_with_drops(spark_context, tmp_path, [conf], [(incoming, "1.log", events("x"))])
    left = [path.name for path in (tmp_path / "ckpt").glob("*")]
    assert left == ["broken"], "the run's checkpoint is removed; what in_file read is kept"


ORIGINAL_STREAMING_PLUGIN = """
class Plugin:
    def __init__(self, conf):
        self.path = conf.get("path", "legacy.txt")
        self.fail = conf.get("fail", "false") == "true"

    def save(self, dataRDD, progType):
        if progType == "streaming":
            dataRDD.map(lambda row: row[:2]).foreachRDD(lambda s: self.__write(s, progType))
        else:
            self.__write(dataRDD, progType)

    def __write(self, rdd, progType):
        if self.fail:
            raise RuntimeError("disk full")
        with open(self.path, "a") as out:
            for key, score in rdd.collect():
                out.write("%s %s %s\\n" % (progType, key, score))
"""


def legacy_streaming_usecase(tmp_path: Path, extra: str = "") -> tuple[Path, Path]:
    """A streaming use case whose output is a plugin in the original's style (a home of its own
    with dataShark's plugins plus ``out_legacy``); returns the conf and the home."""
    home = tmp_path / "home"
    shutil.copytree(REPO / "plugins", home / "plugins")
    (home / "plugins" / "output" / "out_legacy.py").write_text(textwrap.dedent(ORIGINAL_STREAMING_PLUGIN))
    conf = streaming_usecase(tmp_path / "uc", "Legacy")
    conf.write_text(
        conf.read_text()
        .replace("output = csv", "output = legacy")
        .replace(
            "[out_csv]\npath = out.csv\nmode = append",
            f"[out_legacy]\npath = {tmp_path / 'legacy.txt'}\n{extra}",
        )
    )
    (tmp_path / "uc" / "incoming").mkdir()
    return conf, home


def run_legacy(sc, tmp_path: Path, conf: Path, home: Path) -> None:
    incoming = conf.parent / "incoming"
    settings = dataclasses.replace(settings_for(tmp_path, home), batch_interval=1)

    def dropper() -> None:
        time.sleep(2.5)
        drop(incoming, "1.log", events("web1", "web1"))
        time.sleep(2)
        drop(incoming, "2.log", events("web2"))

    stream_while(sc, settings, [prepare(settings, read_usecase(conf))], dropper, timeout=8)


def test_an_original_streaming_plugin_registers_foreachrdd_on_each_batch(
    spark_context, tmp_path: Path
) -> None:
    """The original handed save() a DStream; its plugins map it and call foreachRDD on it."""
    conf, home = legacy_streaming_usecase(tmp_path)
    run_legacy(spark_context, tmp_path, conf, home)
    assert sorted((tmp_path / "legacy.txt").read_text().splitlines()) == [
        "streaming web1 2",
        "streaming web2 1",
    ]


def test_an_original_streaming_plugin_that_fails_fails_its_batch(spark_context, tmp_path: Path) -> None:
    """Its foreachRDD runs inside the batch's delivery: a failure stops the stream, named."""
    conf, home = legacy_streaming_usecase(tmp_path, extra="fail = true")
    with pytest.raises(UseCaseError, match=r"\(Legacy\) - Failed: RuntimeError: disk full"):
        run_legacy(spark_context, tmp_path, conf, home)
    assert not (tmp_path / "legacy.txt").exists()


HOOK_CALLS: list[tuple[str, str, object]] = []  # (hook, use case, batch time), in call order


class RecordingInput:
    """An input that notes the delivery hooks the engine calls, around the real file input."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def batch_generated(self, consumer: str, batch_time) -> None:
        HOOK_CALLS.append(("generated", consumer, batch_time))

    def batch_time(self, batch_time):  # the engine asks it as the output begins
        HOOK_CALLS.append(("output", "", batch_time))
        return batch_time

    def batch_delivered(self, consumer: str, batch_time) -> None:
        HOOK_CALLS.append(("delivered", consumer, batch_time))


def drop_one_event_later(shared: Path) -> None:
    time.sleep(2.5)
    drop(shared, "1.log", events("web1"))


def test_every_output_of_a_batch_is_announced_before_any_of_them_runs(spark_context, tmp_path: Path) -> None:
    """With concurrent jobs (start.sh runs one per streaming use case), an input may acknowledge
    a batch only once nothing earlier is outstanding: so every use case's output of a batch is
    announced while Spark generates it, before any output of that batch (or a later one) runs."""
    shared = tmp_path / "shared"
    shared.mkdir()
    confs = [streaming_usecase(tmp_path / name, name, incoming=str(shared)) for name in ("A", "B")]
    settings = dataclasses.replace(settings_for(tmp_path), batch_interval=1)
    prepared = [prepare(settings, read_usecase(conf)) for conf in confs]
    prepared = [dataclasses.replace(item, source=RecordingInput(item.source)) for item in prepared]
    jvm_conf = spark_context._jsc.sc().conf()
    jvm_conf.set("spark.streaming.concurrentJobs", "2")
    HOOK_CALLS.clear()
    try:
        stream_while(spark_context, settings, prepared, lambda: drop_one_event_later(shared), timeout=6)
    finally:
        jvm_conf.remove("spark.streaming.concurrentJobs")

    batches = sorted({when for hook, _, when in HOOK_CALLS if hook == "output"})
    assert len(batches) >= 3
    for when in batches:
        announced = [i for i, (hook, _, t) in enumerate(HOOK_CALLS) if hook == "generated" and t == when]
        begun = [i for i, (hook, _, t) in enumerate(HOOK_CALLS) if hook == "output" and t >= when]
        delivered = {name for hook, name, t in HOOK_CALLS if hook == "delivered" and t == when}
        assert len(announced) == 2 and max(announced) < min(begun), (when, HOOK_CALLS)
        assert delivered == {"A", "B"}
    assert (
        sorted(row[1] for name in ("A", "B") for row in read_csv(tmp_path / name / "out.csv")) == ["web1"] * 2
    )
