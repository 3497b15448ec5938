"""Batch DataFrame use case vs the same job written by hand in PySpark: Zeek DNS JSON lines (and
their Parquet copy) parsed, filtered and counted per client, query and query type.

One process, one SparkContext (dataShark's ``start_spark`` on local[2]: the same settings, JVM and
warm-up for every side), run in turn, ``--runs`` rounds:

- **baseline**: ``handwritten_dns_counts.py``'s job, ``spark.read.schema(...).json`` (or
  ``.parquet``), the filter, the groupBy count, the rows counted and their counts summed in the JVM;
- **baseline + dead-letter pass** (JSON): the same, then the second pass dataShark may run over
  the files to set aside the records that did not parse, written by hand (a read with the
  corrupt-record column, the bad rows to Python);
- **dataShark DataFrame**: ``kafka_usecase/dns_counts_frames.py`` as a batch use case
  (``api = dataframe``, the same schema and ``[log_filter]``), run in-process by dataShark's
  ``run_batch``, as ``./standalone.sh`` runs it, into an output that counts the rows and sums
  their scores on the executors (``frames_batch_usecase/out_tally.py``);
- **dataShark RDD** (JSON, for reference): ``kafka_usecase/dns_counts.py`` with ``api = rdd``.

The input is generated once into bench/data/ by ``generate_zeek_dns.py`` (``--size``), its
Parquet copy written by Spark from it, and both are read once before timing (page cache).
``--warmup-runs`` rounds (default 1: JIT, Python workers, file listings) run first and are not
counted. Printed per side: wall and CPU seconds (this process and its children: the JVM, Python
workers; sampled from /proc), events/s, and the ratio baseline/side of each (>= 0.9: the
framework costs under 10%), medians of the rounds'.

    .venv/bin/python bench/frames_batch_bench.py [--size 1G] [--runs 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))

from bench.generate_text import parse_size  # noqa: E402
from bench.generate_zeek_dns import generate  # noqa: E402
from bench.handwritten_dns_counts import SCHEMA, counts, read_events, tally  # noqa: E402

DATA = BENCH / "data"
USECASE = BENCH / "kafka_usecase"
TALLY_PLUGIN = BENCH / "frames_batch_usecase" / "out_tally.py"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CORRUPT = "_corrupt_record"
SIDES = {  # name: (input format, what it is); the first of each format is that format's baseline
    "baseline": ("json", "hand-written PySpark"),
    "dataShark DataFrame": ("json", "api = dataframe, run_batch"),
    "baseline + dead-letter pass": ("json", "hand-written, plus dataShark's second job by hand"),
    "dataShark RDD": ("json", "api = rdd, run_batch (reference)"),
    "baseline, Parquet": ("parquet", "hand-written PySpark"),
    "dataShark DataFrame, Parquet": ("parquet", "api = dataframe, run_batch"),
}


class TreeCPU:
    """CPU seconds of this process and its descendants (the JVM, Spark's Python daemon and
    workers), sampled from /proc every 0.25 s; a process that exited keeps its last figure."""

    def __init__(self) -> None:
        self.latest: dict[int, float] = {}
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.done.wait(0.25):
            self.sample()

    def sample(self) -> None:
        parents: dict[int, int] = {}
        cpu: dict[int, float] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # it exited meanwhile
            fields = stat[stat.rindex(")") + 2 :].split()
            if fields[0] == "Z":
                continue
            parents[int(entry.name)] = int(fields[1])
            cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        tree = {os.getpid()}
        grew = True
        while grew:
            found = {pid for pid, parent in parents.items() if parent in tree} - tree
            tree |= found
            grew = bool(found)
        with self.lock:
            for pid in tree:
                self.latest[pid] = cpu[pid]

    def total(self) -> float:
        self.sample()
        with self.lock:
            return sum(self.latest.values())

    def stop(self) -> None:
        self.done.set()
        self.thread.join()


@dataclasses.dataclass
class Measured:
    seconds: float
    cpu_seconds: float
    rows: int
    score: int

    def __str__(self) -> str:
        return (
            f"wall {self.seconds:6.1f} s  cpu {self.cpu_seconds:6.1f} s  "
            f"{self.rows:,} rows, {self.score:,} events counted"
        )


def timed(cpu: TreeCPU, job: Callable[[], tuple[int, int]]) -> Measured:
    cpu_before, started = cpu.total(), time.perf_counter()
    rows, score = job()
    seconds = time.perf_counter() - started
    return Measured(seconds, cpu.total() - cpu_before, rows, score)


def input_files(size: int, clients: int) -> tuple[Path, Path]:
    """The JSON lines (generated when missing) and where their Parquet copy goes."""
    label = f"zeek_dns-{size >> 20}M-c{clients}"
    json_path = DATA / f"{label}.json"
    if not json_path.exists():
        started = time.perf_counter()
        written = generate(json_path, size, clients)
        print(
            f"generated {written:,} bytes into {json_path} in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
    return json_path, DATA / f"{label}.parquet"


def line_count(path: Path) -> int:
    """The file's lines (read once: it also puts the file in the page cache)."""
    lines = 0
    with open(path, "rb") as data:
        while block := data.read(1 << 24):
            lines += block.count(b"\n")
    return lines


def warm(path: Path) -> None:
    for part in sorted(path.rglob("*")) if path.is_dir() else [path]:
        if part.is_file():
            line_count(part)


def usecase_conf(folder: Path, name: str, data: Path, fmt: str, api: str, tally: Path) -> Path:
    """A batch copy of the streaming twins' conf (same schema and [log_filter]) reading ``data``."""
    from configobj import ConfigObj

    conf = ConfigObj(str(USECASE / "dns_counts_frames.conf"))
    conf.initial_comment = [f"# {name}: written by bench/frames_batch_bench.py"]
    conf["name"] = name
    conf["type"] = "batch"
    conf["file"] = str(data)
    conf["format"] = fmt
    conf["api"] = api
    conf["code"] = str(USECASE / ("dns_counts_frames.py" if api == "dataframe" else "dns_counts.py"))
    conf["output"] = "tally"
    del conf["output.mode"]
    if api == "rdd":
        del conf["schema"]
    conf["out_tally"] = {"path": str(tally)}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{folder.name}.conf"
    with open(path, "wb") as out:
        conf.write(out)
    return path


def datashark_job(sc, settings, conf: Path, tally_file: Path) -> Callable[[], tuple[int, int]]:
    def job() -> tuple[int, int]:
        from datashark.config.usecase import read_usecase
        from datashark.run.batch import run_batch
        from datashark.run.context import RunContext
        from datashark.run.prepare import prepare

        tally_file.unlink(missing_ok=True)
        run_batch(sc, RunContext(settings), prepare(settings, read_usecase(conf)), debug=False)
        found = json.loads(tally_file.read_text())
        return found["rows"], int(found["score"])

    return job


def baseline_job(spark, path: Path, fmt: str) -> Callable[[], tuple[int, int]]:
    return lambda: tally(counts(read_events(spark, str(path), fmt)))


def _drain(rows) -> None:
    for _ in rows:
        pass


def baseline_with_letters_job(spark, path: Path) -> Callable[[], tuple[int, int]]:
    """The baseline, then dataShark's second pass by hand: the JSON read again with the
    corrupt-record column, the records that did not parse (and one more column, which Spark
    requires) to Python."""
    from pyspark.sql import functions as sf
    from pyspark.sql.types import StringType, StructField, StructType

    schema = StructType([*StructType.fromDDL(SCHEMA).fields, StructField(CORRUPT, StringType())])

    def job() -> tuple[int, int]:
        found = tally(counts(read_events(spark, str(path), "json")))
        records = spark.read.schema(schema).option("columnNameOfCorruptRecord", CORRUPT).json(str(path))
        unparsed = records.filter(sf.col(CORRUPT).isNotNull()).select(CORRUPT, records.columns[0])
        unparsed.foreachPartition(_drain)
        return found

    return job


def median(values: list[float]) -> float:
    return statistics.median(values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, default=parse_size("1G"), help="JSON input, default 1G")
    parser.add_argument(
        "--clients", type=int, default=2000, help="distinct clients in the input (default 2000)"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--warmup-runs", type=int, default=1, help="rounds run first and not counted (default 1)"
    )
    parser.add_argument("--side", action="append", choices=list(SIDES), help="default: every side")
    args = parser.parse_args(argv)
    sides = [
        name
        for name in SIDES
        if not args.side or name in args.side or name in ("baseline", "baseline, Parquet")
    ]
    formats = {SIDES[name][0] for name in sides}
    if "parquet" not in formats:
        sides.remove("baseline, Parquet")

    json_path, parquet_path = input_files(args.size, args.clients)
    events = line_count(json_path)

    from datashark.config.settings import load_settings
    from datashark.frames.events import spark_session
    from datashark.run.spark import start_spark

    work = Path(tempfile.mkdtemp(prefix="frames-batch-bench-"))
    cpu = TreeCPU()
    results: dict[str, list[Measured]] = {name: [] for name in sides}
    try:
        home = work / "home"
        shutil.copytree(REPO / "plugins", home / "plugins")
        shutil.copy(TALLY_PLUGIN, home / "plugins" / "output")
        (home / "datashark.conf").write_text("")
        settings = dataclasses.replace(
            load_settings(home), deadletter_dir=work / "dl", checkpoint_dir=str(work / "ckpt")
        )
        sc = start_spark(settings, "local[2]", "frames-batch-bench")
        try:
            spark = spark_session(sc)
            if "parquet" in formats and not parquet_path.exists():
                started = time.perf_counter()
                partial = parquet_path.with_name(parquet_path.name + ".partial")
                read_events(spark, str(json_path), "json").write.mode("overwrite").parquet(str(partial))
                partial.rename(parquet_path)
                print(f"wrote {parquet_path} in {time.perf_counter() - started:.0f} s", flush=True)
            warm(json_path)
            if "parquet" in formats:
                warm(parquet_path)
            tally_file = work / "tally.json"
            jobs = {}
            for name in sides:
                fmt = SIDES[name][0]
                data = json_path if fmt == "json" else parquet_path
                if name.startswith("baseline +"):
                    jobs[name] = baseline_with_letters_job(spark, json_path)
                elif name.startswith("baseline"):
                    jobs[name] = baseline_job(spark, data, fmt)
                else:
                    api = "rdd" if "RDD" in name else "dataframe"
                    folder = home / "conf" / f"{api}-{fmt}"
                    conf = usecase_conf(folder, f"DNS Counts {api} {fmt}", data, fmt, api, tally_file)
                    jobs[name] = datashark_job(sc, settings, conf, tally_file)
            for run in range(-args.warmup_runs, args.runs):
                for name, job in jobs.items():
                    measured = timed(cpu, job)
                    if run >= 0:
                        results[name].append(measured)
                    label = f"run {run + 1}" if run >= 0 else "warm-up"
                    print(f"{label:7} {name:30} {measured}", flush=True)
        finally:
            sc.stop()
    finally:
        cpu.stop()
        shutil.rmtree(work, ignore_errors=True)

    size = json_path.stat().st_size / 2**30
    print(
        f"\n{events:,} events ({size:.2f} GiB of JSON lines, {args.clients} clients), local[2], medians "
        f"over {args.runs} runs; ratios: baseline / side, the median of the rounds' ratios"
    )
    header = (
        f"{'side':30} {'input':8} {'wall':>8} {'cpu':>8} {'events/s':>10} {'ratio wall':>11} "
        f"{'ratio cpu':>10}  rows, events counted"
    )
    print(header)
    print("-" * len(header))
    for name in sides:
        fmt = SIDES[name][0]
        base = results["baseline" if fmt == "json" else "baseline, Parquet"]
        runs = results[name]
        wall_ratio = median([b.seconds / r.seconds for b, r in zip(base, runs, strict=True)])
        cpu_ratio = median([b.cpu_seconds / r.cpu_seconds for b, r in zip(base, runs, strict=True)])
        wall = median([r.seconds for r in runs])
        same = all((r.rows, r.score) == (b.rows, b.score) for b, r in zip(base, runs, strict=True))
        print(
            f"{name:30} {fmt:8} {wall:7.1f}s {median([r.cpu_seconds for r in runs]):7.1f}s "
            f"{events / wall:>10,.0f} {wall_ratio:>11.2f} {cpu_ratio:>10.2f}  "
            f"{runs[-1].rows:,}, {runs[-1].score:,}" + ("" if same else "  (differs from the baseline!)")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
