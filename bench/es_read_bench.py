"""Elasticsearch read throughput: in_elasticsearch into Spark next to one Python scan process.

The test suite's Elasticsearch 9 node (fetched into .cache/services) is started once, secured
as in the tests (HTTPS, verified certificate, a login). ``--docs`` Sysmon-like documents (about
1 KB each: process creations with command lines, hashes, parents) are indexed once into an
index of ``--shards`` shards; then per round, alternating, the whole index is read, each timed
from the first request until the last document is in hand:

- **single process** (the baseline): ``elasticsearch.helpers.scan`` (``--scan-size``, default its
  own 1000), every
  document's ``_source`` taken, as a script reading an index would;
- **dataShark**: a batch use case's ``input = elasticsearch`` (``batch_records``: a point in
  time, ``--slices`` slices read on the executors of local[2]), counted by Spark.

    python bench/es_read_bench.py [--docs 300000] [--runs 3] [--warmup 1] [--slices 2] [--shards 2]
        [--page-size 5000] [--scan-size 1000]
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rounds import alternate, report  # noqa: E402  (bench/, the script's folder)

from datashark.config.settings import load_settings  # noqa: E402
from datashark.config.usecase import read_usecase  # noqa: E402
from datashark.run.prepare import prepare  # noqa: E402
from datashark.run.spark import start_spark  # noqa: E402
from tests.support.servers.elasticsearch import ElasticsearchNode, running_node  # noqa: E402

INDEX = "bench-sysmon"
IMAGES = ("cmd.exe", "powershell.exe", "svchost.exe", "chrome.exe", "explorer.exe", "rundll32.exe")


def sysmon_event(n: int, rng: random.Random) -> dict:
    """A process creation as OTRF's flat Sysmon JSON writes it."""
    image = IMAGES[rng.randrange(len(IMAGES))]
    parent = IMAGES[rng.randrange(len(IMAGES))]
    return {
        "@timestamp": f"2026-11-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:{n * 7 % 60:02d}.{n % 1000:03d}Z",
        "EventID": 1,
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "Hostname": f"WORKSTATION{n % 40}.corp.example",
        "ProcessGuid": f"{{{rng.getrandbits(128):032x}}}",
        "ProcessId": rng.randrange(100, 60000),
        "Image": f"C:\\Windows\\System32\\{image}",
        "CommandLine": f"{image} /c "
        + " ".join(f"arg{rng.randrange(1000)}" for _ in range(rng.randrange(1, 12))),
        "CurrentDirectory": "C:\\Windows\\system32\\",
        "User": f"CORP\\user{n % 97}",
        "LogonId": f"0x{rng.getrandbits(32):x}",
        "IntegrityLevel": ("Medium", "High", "System")[n % 3],
        "Hashes": f"SHA1={rng.getrandbits(160):040X},MD5={rng.getrandbits(128):032X}",
        "ParentProcessGuid": f"{{{rng.getrandbits(128):032x}}}",
        "ParentProcessId": rng.randrange(100, 60000),
        "ParentImage": f"C:\\Windows\\System32\\{parent}",
        "ParentCommandLine": f"{parent}",
        "Message": "Process Create: " + "x" * rng.randrange(100, 300),
    }


def index_documents(node: ElasticsearchNode, docs: int, shards: int) -> None:
    from elasticsearch import helpers

    rng = random.Random(7)
    with node.client(request_timeout=120) as client:
        client.indices.create(index=INDEX, settings={"number_of_shards": shards, "number_of_replicas": 0})
        helpers.bulk(client, ({"_index": INDEX, "_source": sysmon_event(n, rng)} for n in range(docs)))
        client.indices.refresh(index=INDEX)
        client.indices.forcemerge(index=INDEX, max_num_segments=1)
        assert client.count(index=INDEX)["count"] == docs


def run_single_process(node: ElasticsearchNode, size: int) -> tuple[float, int]:
    from elasticsearch import helpers

    with node.client(request_timeout=120) as client:
        start = time.perf_counter()
        read = sum(1 for hit in helpers.scan(client, index=INDEX, size=size) if hit["_source"])
        return time.perf_counter() - start, read


def run_datashark(sc, settings, conf: Path) -> tuple[float, int]:
    prepared = prepare(settings, read_usecase(conf))
    try:
        start = time.perf_counter()
        read = prepared.input.batch_records(sc).count()
        return time.perf_counter() - start, read
    finally:
        prepared.input.close()


def bench_usecase(folder: Path, node: ElasticsearchNode, slices: int, page_size: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "uc.py").write_text("def load(batchData):\n    return batchData\n")
    conf = folder / "uc.conf"
    conf.write_text(
        "name = ES Read Bench\ntype = batch\ncode = uc.py\ninput = elasticsearch\nformat = json\n"
        f"output = csv\n[out_csv]\npath = {folder / 'out.csv'}\n"
        f"[in_elasticsearch]\n{node.output_keys()}index = {INDEX}\n"
        f"slices = {slices}\npage_size = {page_size}\n"
    )
    return conf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1, help="rounds run first and not counted")
    parser.add_argument("--slices", type=int, default=2)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--page-size", type=int, default=5000, help="dataShark's page_size")
    parser.add_argument("--scan-size", type=int, default=1000, help="the scan's size (its default)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="es-read-bench-") as tmp, running_node() as node:
        work = Path(tmp)
        started = time.perf_counter()
        index_documents(node, args.docs, args.shards)
        print(f"indexed {args.docs:,} documents in {time.perf_counter() - started:.0f} s", flush=True)
        settings = dataclasses.replace(load_settings(REPO), deadletter_dir=work / "deadletter")
        sc = start_spark(settings, "local[2]", "dataShark ES read bench")
        conf = bench_usecase(work / "uc", node, args.slices, args.page_size)

        def single(run: int) -> float:
            seconds, read = run_single_process(node, args.scan_size)
            assert read == args.docs, read
            return seconds

        def ours(run: int) -> float:
            seconds, read = run_datashark(sc, settings, conf)
            assert read == args.docs, read
            return seconds

        try:
            results = alternate(args.runs, args.warmup, args.docs, single, ours)
        finally:
            sc.stop()
    report(
        args.docs,
        results,
        f"{args.warmup} warm-up, {args.shards} shards, {args.slices} slices of pages of {args.page_size}, "
        f"scan size {args.scan_size}",
    )


if __name__ == "__main__":
    main()
