"""Kafka throughput: dataShark's two pipelines next to a raw consumer, on the same topic, same run.

A real Kafka 4 broker (the test suite's, fetched into .cache/services) gets ``--events`` Zeek DNS
events (bench/zeek_dns.json repeated) on ``--partitions`` partitions. Then, per round, alternating:

- **raw consumer** (the ceiling), per client library: two processes (one per core) read every
  partition's offset range with dataShark's range reader (the executors' code: client + UTF-8
  decoding), no Spark;
- **DStream**, per client library: ``bench/kafka_usecase/dns_counts.conf`` on local[2]: the direct
  stream, the JSON parse and ``[log_filter]``, a count per client, query and query type, a no-op
  output and the offset commits;
- **DataFrame**: its twin ``dns_counts_frames.conf`` (``api = dataframe``): Spark's Kafka source,
  ``from_json`` of the fields the count reads, the filter as Spark SQL, a stateful groupBy
  (``output.mode = update``), the same no-op output through ``foreachBatch``, the unparsed
  records counted, and the progress commits to the group ``<group>-dns-counts-frames``;
- with ``--profile``, plain PySpark queries on the same SparkContext (no dataShark; see
  ``PROFILE``): the stages one by one, what a second dead-letter query would cost, the shuffle
  partitions.

Every Spark side is timed from outside, through Kafka: a watcher polls the group's committed
offsets. ``events/s`` counts the events committed after the first commit the watcher saw, over
the time from it to the commit that reaches the end of the topic; for the DStream that first
commit is the start of its first batch (the figure earlier runs recorded), for the DataFrame
and plain queries it is the end of their first batch. ``steady`` is the same count from the
first commit past the topic's start (the end of the first delivered batch) on every side: the
figure the sides are compared by. A batch holds at most ``--max-records-per-partition`` events
per partition and a new one starts every ``--batch-interval`` seconds at most, so no side can
go faster than their ratio (``cap`` in the output): raise the first for fast sides.

    python bench/kafka_bench.py [--events 1000000] [--partitions 4] [--runs 3] [--profile]
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import multiprocessing
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from datashark.config.usecase import folder_name, read_usecase  # noqa: E402
from datashark.kafka.client import OffsetClient  # noqa: E402
from datashark.kafka.config import KafkaConfig  # noqa: E402
from datashark.kafka.offsets import OffsetRange, Partition  # noqa: E402
from datashark.kafka.reader import RangeReader  # noqa: E402
from datashark.run.context import RunContext  # noqa: E402
from tests.support.kafka_helpers import end_offsets, new_topic  # noqa: E402
from tests.support.servers.kafka import running_broker  # noqa: E402

SAMPLE = Path(__file__).with_name("zeek_dns.json")
USECASE = Path(__file__).with_name("kafka_usecase")
DSTREAM_CONF, FRAMES_CONF = "dns_counts.conf", "dns_counts_frames.conf"
CLIENTS = ("confluent-kafka", "kafka-python")
WATCH_SECONDS = 0.05
CAP_WARNING = 0.8  # a side at this share of the cap is bound by the batch cut, not by its work


def produce_sample(bootstrap_servers: str, topic: str, count: int) -> None:
    """``count`` events, fast: confluent-kafka's producer (librdkafka) batches well."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap_servers, "linger.ms": 50, "batch.size": 1_000_000})
    lines = SAMPLE.read_text().splitlines()
    for n, line in enumerate(itertools.islice(itertools.cycle(lines), count)):
        while True:
            try:
                producer.produce(topic, line.encode())
                break
            except BufferError:
                producer.poll(0.1)
        if n % 10_000 == 0:
            producer.poll(0)
    if producer.flush(120):
        raise RuntimeError("the producer could not deliver every event")


def config_for(
    bootstrap_servers: str, topic: str, client: str, group: str = "bench", cap: int = 100_000
) -> KafkaConfig:
    return KafkaConfig((bootstrap_servers,), (topic,), group, "earliest", cap, client)


def read_range(args: tuple[RangeReader, OffsetRange]) -> int:
    reader, offset_range = args
    return sum(1 for _ in reader([offset_range]))


def raw_rate(pool, bootstrap_servers: str, topic: str, client: str, ends: dict[int, int]) -> float:
    """The range reader alone, told the broker's version as dataShark's driver tells it."""
    config = config_for(bootstrap_servers, topic, client)
    driver = OffsetClient(config)
    reader = RangeReader(config, driver.api_version)
    driver.close()
    work = [(reader, OffsetRange(topic, p, 0, end)) for p, end in ends.items()]
    started = time.perf_counter()
    read = sum(pool.map(read_range, work, chunksize=1))
    elapsed = time.perf_counter() - started
    assert read == sum(ends.values()), f"raw read {read} events"
    return read / elapsed


@dataclasses.dataclass
class Timing:
    """What the watcher saw of one group: (time, events committed) at each change."""

    commits: list[tuple[float, int]]

    def _rate(self, first: tuple[float, int] | None) -> float | None:
        end = self.commits[-1]
        if first is None or end[0] <= first[0]:
            return None
        return (end[1] - first[1]) / (end[0] - first[0])

    @property
    def rate(self) -> float | None:
        """From the first commit seen (see the module's docstring); None when that was the last."""
        return self._rate(self.commits[0])

    @property
    def steady(self) -> float | None:
        """From the end of the first delivered batch; None with fewer than two batches."""
        return self._rate(next((commit for commit in self.commits if commit[1] > 0), None))


class CommitWatcher:
    """Polls a group's committed offsets (one client, kept open) until they reach ``ends``, then
    calls ``on_end`` (from its own thread)."""

    def __init__(
        self, bootstrap_servers: str, topic: str, group: str, ends: dict[int, int], on_end: Callable[[], None]
    ):
        self.client = OffsetClient(config_for(bootstrap_servers, topic, "kafka-python", group))
        self.partitions = [Partition(topic, number) for number in sorted(ends)]
        self.ends = {Partition(topic, number): end for number, end in ends.items()}
        self.on_end = on_end
        self.commits: list[tuple[float, int]] = []
        self.finished = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        try:
            while not self.finished.wait(WATCH_SECONDS):
                stored = self.client.committed(self.partitions)
                offsets = {part: offset for part, (offset, _) in stored.items()}
                if all(offset is None for offset in offsets.values()):
                    continue
                total = sum(offset or 0 for offset in offsets.values())
                if not self.commits or total != self.commits[-1][1]:
                    self.commits.append((time.perf_counter(), total))
                if offsets == self.ends:
                    self.on_end()
                    return
        finally:
            self.client.close()

    def __enter__(self) -> CommitWatcher:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.finished.set()
        self.thread.join()

    def timing(self) -> Timing:
        if not self.commits or self.commits[-1][1] != sum(self.ends.values()):
            raise RuntimeError(f"the group's commits did not reach the end of the topic: {self.commits[-1:]}")
        return Timing(list(self.commits))


def pipeline_timing(
    sc, settings, bootstrap_servers: str, topic: str, client: str, conf: str = DSTREAM_CONF
) -> Timing:
    """One dataShark run of the use case ``conf`` over the whole topic, watched through Kafka."""
    from datashark.run.prepare import prepare
    from datashark.run.streaming import run_streaming

    group = f"bench-{client}-{time.monotonic_ns()}"
    raw = {
        **settings.kafka,
        "kafka.bootstrap.servers": bootstrap_servers,
        "kafka.topics": topic,
        "kafka.group.id": group,
        "kafka.starting.offsets": "earliest",
        "kafka.client": client,
    }
    # A checkpoint folder per run: a DataFrame use case's query resumes from its checkpoint.
    checkpoint = f"{settings.checkpoint_dir}/{group}"
    run_settings = dataclasses.replace(settings, kafka=raw, checkpoint_dir=checkpoint)
    usecase = read_usecase(settings.home / "conf" / "dns" / conf)
    prepared = [prepare(run_settings, usecase)]
    watched = f"{group}-{folder_name(usecase.name)}" if usecase.api == "dataframe" else group
    ends = end_offsets(bootstrap_servers, topic)
    with CommitWatcher(
        bootstrap_servers, topic, watched, ends, lambda: os.kill(os.getpid(), signal.SIGINT)
    ) as watcher:
        run_streaming(sc, RunContext(run_settings), prepared, debug=False, timeout=600)
    return watcher.timing()


def pipeline_rate(sc, settings, bootstrap_servers: str, topic: str, client: str, total: int) -> float:
    """Events per second through dataShark's DStream use case, from the first batch to the last
    commit (``total``: the topic's events, as the commits count them)."""
    timing = pipeline_timing(sc, settings, bootstrap_servers, topic, client)
    assert timing.commits[-1][1] == total and timing.rate is not None, timing.commits
    return timing.rate


# --profile: plain PySpark queries, each a variant of the DataFrame use case's work (name: what it does).
PROFILE = {
    "read": "the Kafka source alone: each message's value to a no-op sink",
    "parse": "+ from_json of every field, with the corrupt-record column as dataShark asks; to a no-op sink",
    "filter": "+ the filter (by hand: startswith, ==, isin, endswith), the kept rows to a no-op sink",
    "aggregate": "+ the groupBy count, update mode: the use case written by hand",
    "aggregate, rows through Python": "the same, its rows counted in Python (frame.rdd) as dataShark does",
    "aggregate, dataShark's filter": "the same with the [log_filter] as dataShark compiles it (two rlike)",
    "aggregate, parsed once": "the same with inline(array(from_json(...))): the filter cannot re-parse",
    "aggregate, no options": "the same, from_json without options (Spark prunes its fields)",
    "aggregate + dead letters": "the same + a second query setting aside the records that did not parse",
    "aggregate, RocksDB state": "aggregate with Spark's RocksDB state store (default: HDFS-backed)",
    "aggregate, 2 partitions": "aggregate with spark.sql.shuffle.partitions = 2",
    "aggregate, 200 partitions": "aggregate with spark.sql.shuffle.partitions = 200 (Spark's default)",
}
CORRUPT = "_corrupt_record"
STATE_PROVIDER = "spark.sql.streaming.stateStore.providerClass"
ROCKSDB_PROVIDER = "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"


class PlainBatch:
    """``foreachBatch`` of a plain query: the batch to a no-op sink (or its rows counted in Python:
    ``to_python``), then its end offsets (read from the query's offset log, as dataShark reads
    them) committed to the group."""

    def __init__(self, checkpoint: str, config: KafkaConfig, *, to_python: bool = False) -> None:
        self.checkpoint = checkpoint
        self.config = config
        self.to_python = to_python
        self.committer = None

    def __call__(self, frame, batch_id: int) -> None:
        from datashark.frames.checkpoint import offset_log
        from datashark.frames.kafka import ProgressCommitter

        if self.to_python:
            frame.rdd.map(lambda row: (row[0], row[1])).count()
        else:
            frame.write.format("noop").mode("overwrite").save()
        _, offsets = offset_log(frame.sparkSession.sparkContext, self.checkpoint, batch_id)
        if offsets is not None:
            if self.committer is None:
                self.committer = ProgressCommitter(self.config)
            self.committer.commit(offsets)


def datashark_filter(events, conf: Path):
    """The use case's [log_filter] as dataShark's DataFrame flavour compiles it."""
    from datashark.events.log_filter import LogFilter
    from datashark.frames.log_filter import filter_condition

    usecase = read_usecase(conf)
    rules = usecase.conf["log_filter"]
    log_filter = LogFilter(rules["include"], rules["exclude"], where=usecase.location)
    return filter_condition(log_filter, events, usecase.location, warn=print)


def plain_queries(spark, settings, variant: str, messages) -> tuple:
    """The DataFrame a variant's query writes, its output mode, and its dead-letter DataFrame
    (None but for ``aggregate + dead letters``)."""
    from pyspark.sql import functions as sf
    from pyspark.sql.types import StringType, StructField, StructType

    from bench.handwritten_dns_counts import SCHEMA, counts, kept

    schema = StructType([*StructType.fromDDL(SCHEMA).fields, StructField(CORRUPT, StringType())])
    options = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT}
    value = sf.col("value").cast("string")
    if variant == "aggregate, no options":
        events = messages.select(sf.from_json(value, StructType.fromDDL(SCHEMA)).alias("event")).select(
            "event.*"
        )
        return counts(events), "update", None
    if variant == "aggregate, parsed once":
        parsed = messages.select(sf.inline(sf.array(sf.from_json(value, schema, options))))
    else:
        parsed = messages.select(sf.from_json(value, schema, options).alias("event")).select("event.*")
    events = parsed.filter(sf.col(CORRUPT).isNull()).drop(CORRUPT)
    if variant == "read":
        return messages.select("value"), "append", None
    if variant == "parse":
        return parsed, "append", None
    if variant == "filter":
        return events.filter(kept(events)), "append", None
    if variant == "aggregate, dataShark's filter":
        conf = settings.home / "conf" / "dns" / FRAMES_CONF
        findings = events.filter(datashark_filter(events, conf)).groupBy(
            sf.col("`id.orig_h`").alias("key"), "query", "qtype_name"
        )
        return findings.agg(sf.count("*").alias("score")), "update", None
    unparsed = parsed.filter(sf.col(CORRUPT).isNotNull()).select(CORRUPT)
    return counts(events), "update", unparsed if variant == "aggregate + dead letters" else None


def plain_timing(sc, settings, variant: str, bootstrap_servers: str, topic: str, partitions: int) -> Timing:
    """One plain query (``PROFILE[variant]``) over the whole topic, watched through Kafka."""
    from datashark.frames.events import spark_session

    spark = spark_session(sc)
    shuffle_partitions = spark.conf.get("spark.sql.shuffle.partitions")
    state_provider = spark.conf.get(STATE_PROVIDER)
    group = f"plain-{time.monotonic_ns()}"
    base = f"{settings.checkpoint_dir}/{group}"
    cap = settings.kafka["kafka.max.records.per.partition"]
    trigger = f"{settings.batch_interval} seconds"
    messages = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap_servers)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .option("failOnDataLoss", "false")
        .option("maxOffsetsPerTrigger", str(cap * partitions))
        .load()
    )
    result, mode, unparsed = plain_queries(spark, settings, variant, messages)
    ends = end_offsets(bootstrap_servers, topic)
    done = threading.Event()
    queries = []
    # Fixed in a query's checkpoint at its start: set for this query only.
    wanted = variant.split(", ")[-1].split()[0] if variant.endswith(" partitions") else shuffle_partitions
    spark.conf.set("spark.sql.shuffle.partitions", wanted)
    spark.conf.set(STATE_PROVIDER, ROCKSDB_PROVIDER if "RocksDB" in variant else state_provider)
    try:
        with CommitWatcher(bootstrap_servers, topic, group, ends, done.set) as watcher:
            config = config_for(bootstrap_servers, topic, "kafka-python", group)
            writer = (
                result.writeStream.queryName("plain")
                .outputMode(mode)
                .trigger(processingTime=trigger)
                .option("checkpointLocation", f"{base}/query")
                .foreachBatch(PlainBatch(f"{base}/query", config, to_python="Python" in variant))
            )
            queries.append(writer.start())
            if unparsed is not None:
                letters = (
                    unparsed.writeStream.queryName("plain-unparsed")
                    .trigger(processingTime=trigger)
                    .option("checkpointLocation", f"{base}/unparsed")
                    .foreachBatch(lambda frame, _: frame.foreachPartition(_drain))
                )
                queries.append(letters.start())
            while not done.wait(0.5):
                for query in queries:
                    if query.exception() is not None:
                        raise RuntimeError(f"{variant}: {query.exception()}")
    finally:
        for query in queries:  # as dataShark stops: the batch in flight first
            while query.isActive and query.status.get("isTriggerActive"):
                time.sleep(0.2)
            query.stop()
        spark.conf.set("spark.sql.shuffle.partitions", shuffle_partitions)
        spark.conf.set(STATE_PROVIDER, state_provider)
    return watcher.timing()


def _drain(rows) -> None:
    """The dead-letter query's rows reach Python, as dataShark's do (there are none here)."""
    for _ in rows:
        pass


class BatchDurations:
    """A StreamingQueryListener (``--profile``): per query, the batches, their input rows, the sum of
    each of Spark's per-batch durations (``durationMs``: addBatch is the foreachBatch, walCommit
    and commitOffsets the checkpoint's logs...) and the state stores' commit time."""

    def __init__(self) -> None:
        from pyspark.sql.streaming import StreamingQueryListener

        durations: dict[str, Counter] = {}
        self.durations = durations

        class Listener(StreamingQueryListener):
            def onQueryStarted(self, event) -> None:  # noqa: N802 (Spark's name)
                pass

            def onQueryProgress(self, event) -> None:  # noqa: N802 (Spark's name)
                progress = event.progress
                sums = durations.setdefault(progress.name or "unnamed", Counter())
                sums["batches"] += 1
                sums["rows"] += progress.numInputRows
                sums.update({key: value for key, value in progress.durationMs.items()})
                sums["state commit"] += sum(op.commitTimeMs for op in progress.stateOperators)

            def onQueryIdle(self, event) -> None:  # noqa: N802 (Spark's name)
                pass

            def onQueryTerminated(self, event) -> None:  # noqa: N802 (Spark's name)
                pass

        self.listener = Listener()

    def report(self) -> list[str]:
        """One line per query seen since the last report (the bus delivers late: wait a little)."""
        time.sleep(1)
        lines = []
        for name, sums in sorted(self.durations.items()):
            trigger = sums.pop("triggerExecution", 0)
            batches, rows = sums.pop("batches"), sums.pop("rows")
            head = f"    {name}: {batches} batches, {rows:,} rows, {trigger / 1000:.1f} s"
            parts = [f"{key} {value / 1000:.1f}" for key, value in sums.most_common() if value >= 50]
            lines.append(f"{head}: " + ", ".join(parts))
        self.durations.clear()
        return lines


def bench_home(
    folder: Path,
    batch_interval: int,
    max_records_per_partition: int | None = None,
    shuffle_partitions: int | None = None,
) -> Path:
    """A dataShark folder with the repo's plugins and jars, the no-op output and the use cases."""
    shutil.copytree(REPO / "plugins", folder / "plugins")
    shutil.copy(USECASE / "out_noop.py", folder / "plugins" / "output")
    shutil.copytree(USECASE, folder / "conf" / "dns", ignore=shutil.ignore_patterns("out_noop.py"))
    (folder / "lib").mkdir()
    for jar in (REPO / "lib").glob("*.jar"):  # Spark's Kafka source, for the DataFrame use case
        (folder / "lib" / jar.name).symlink_to(jar)
    conf = f"batch.interval = {batch_interval}\n"
    if max_records_per_partition is not None:
        conf += f"kafka.max.records.per.partition = {max_records_per_partition}\n"
    if shuffle_partitions is not None:
        conf += f"[spark_config]\nspark.sql.shuffle.partitions = {shuffle_partitions}\n"
    (folder / "datashark.conf").write_text(conf)
    return folder


def quiet(sc, name: str) -> None:
    """Spark's logger ``name`` at ERROR only."""
    jvm = sc._jvm
    jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(
        name, jvm.org.apache.logging.log4j.Level.ERROR
    )


# Spark warns at every batch that takes longer than the trigger: here, all of them (a backlog).
FALLING_BEHIND = "org.apache.spark.sql.execution.streaming.runtime.ProcessingTimeExecutor"
# ... and, with a stack, when the state stores' maintenance thread finds the context stopped.
STATE_MAINTENANCE = "org.apache.spark.sql.execution.streaming.state.StateStore"


def show(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def ratio(values: list[float | None], bases: list[float | None]) -> str:
    """The median of the rounds' ratios (rounds missing either side are left out)."""
    pairs = [v / b for v, b in zip(values, bases, strict=True) if v is not None and b]
    return f"{statistics.median(pairs):.2f}" if pairs else "-"


def median(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-interval", type=int, default=2)
    parser.add_argument("--max-records-per-partition", type=int, default=100_000)
    parser.add_argument(
        "--shuffle-partitions", type=int, help="spark.sql.shuffle.partitions (default: dataShark's, 8)"
    )
    parser.add_argument("--client", action="append", choices=CLIENTS, help="default: both")
    parser.add_argument("--no-frames", action="store_true", help="leave out the DataFrame use case")
    parser.add_argument("--profile", action="store_true", help="also the plain PySpark queries of PROFILE")
    parser.add_argument(
        "--variant", action="append", choices=list(PROFILE), help="with --profile; default: all"
    )
    args = parser.parse_args()
    clients = tuple(args.client or CLIENTS)
    cap_events = args.max_records_per_partition * args.partitions
    cap = cap_events / args.batch_interval
    if args.events < 2 * cap_events:
        print(f"[!] {args.events:,} events make fewer than two batches of {cap_events:,}: no steady figure")

    work = Path(tempfile.mkdtemp(prefix="kafka-bench-"))
    pool = multiprocessing.get_context("fork").Pool(2)  # forked before the JVM starts
    rates: dict[str, list[float | None]] = {}
    steady: dict[str, list[float | None]] = {}

    def record(name: str, run: int, rate: float | None, steady_rate: float | None) -> None:
        rates.setdefault(name, []).append(rate)
        steady.setdefault(name, []).append(steady_rate)
        capped = not name.startswith("raw") and max(rate or 0, steady_rate or 0) > CAP_WARNING * cap
        bound = " (at the cap: raise --max-records-per-partition)" if capped else ""
        print(
            f"run {run + 1} {name:38} {show(rate):>10} ev/s, steady {show(steady_rate):>10}{bound}",
            flush=True,
        )

    try:
        with running_broker(work / "broker") as broker:
            servers = broker.bootstrap_servers
            topic = new_topic(servers, partitions=args.partitions, prefix="bench")
            started = time.perf_counter()
            produce_sample(servers, topic, args.events)
            print(
                f"produced {args.events} events on {args.partitions} partitions in "
                f"{time.perf_counter() - started:.1f} s; batches of at most {cap_events:,} events "
                f"every {args.batch_interval} s: cap {cap:,.0f} ev/s",
                flush=True,
            )
            ends = end_offsets(servers, topic)

            from datashark.config.settings import load_settings
            from datashark.run.spark import start_spark

            home = bench_home(
                work / "home", args.batch_interval, args.max_records_per_partition, args.shuffle_partitions
            )
            settings = dataclasses.replace(
                load_settings(home), deadletter_dir=work / "dl", checkpoint_dir=str(work / "ckpt")
            )
            sc = start_spark(settings, "local[2]", "kafka-bench")
            quiet(sc, FALLING_BEHIND)
            durations = BatchDurations() if args.profile else None
            if durations is not None:
                from datashark.frames.events import spark_session

                spark_session(sc).streams.addListener(durations.listener)
            try:
                for run in range(args.runs):
                    for client in clients:
                        raw = raw_rate(pool, servers, topic, client, ends)
                        record(f"raw {client}", run, raw, raw)
                        timing = pipeline_timing(sc, settings, servers, topic, client)
                        record(f"DStream {client}", run, timing.rate, timing.steady)
                    if not args.no_frames:
                        timing = pipeline_timing(sc, settings, servers, topic, "confluent-kafka", FRAMES_CONF)
                        record("DataFrame", run, timing.rate, timing.steady)
                        if durations is not None:
                            print("\n".join(durations.report()), flush=True)
                    if args.profile:
                        for variant in args.variant or PROFILE:
                            timing = plain_timing(sc, settings, variant, servers, topic, args.partitions)
                            record(f"plain: {variant}", run, timing.rate, timing.steady)
                            if durations is not None:
                                print("\n".join(durations.report()), flush=True)
            finally:
                quiet(sc, STATE_MAINTENANCE)
                sc.stop()
    finally:
        pool.terminate()
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"\nmedians over {args.runs} runs, {args.events:,} events, {args.partitions} partitions, "
        f"batches of {cap_events:,} every {args.batch_interval} s (cap {cap:,.0f} ev/s), 2 cores"
    )
    print(f"{'client':16} {'raw consumer':>14} {'DStream':>12} {'DStream/raw':>12}")
    for client in clients:
        raw, ours = rates[f"raw {client}"], rates[f"DStream {client}"]
        print(f"{client:16} {show(median(raw)):>14} {show(median(ours)):>12} {ratio(ours, raw):>12}")
    base = f"DStream {clients[0]}"
    raw_base = "raw confluent-kafka" if "confluent-kafka" in clients else f"raw {clients[0]}"
    print("\nsteady events/s (from the end of each side's first batch); ratios: medians of the rounds'")
    print(f"{'side':40} {'events/s':>10} {'/ ' + base:>26} {'/ ' + raw_base:>24}")
    for name, values in steady.items():
        versus = ratio(values, steady[base]), ratio(values, steady[raw_base])
        print(f"{name:40} {show(median(values)):>10} {versus[0]:>26} {versus[1]:>24}")
    if args.profile:
        print("\nplain queries:")
        for variant in args.variant or PROFILE:
            print(f"  {variant:31} {PROFILE[variant]}")


if __name__ == "__main__":
    main()
