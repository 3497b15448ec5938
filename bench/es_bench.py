"""Elasticsearch throughput: out_elasticsearch from a Spark job next to one Python bulk process.

The test suite's Elasticsearch 9 node (fetched into .cache/services) is started once; it is
secured, so both sides below speak HTTPS, verify its certificate and log in alike. Then per
round, alternating, the same ``--docs`` documents (same fields, same ``_id``s) go into a fresh
index, each timed from the first request until the last bulk answer:

- **single process** (the baseline): ``elasticsearch.helpers.bulk`` with its defaults, the
  documents built by ``datashark.documents.document`` in the same loop;
- **dataShark**: ``out_elasticsearch`` (template, then ``partition_writer`` on the executors)
  writing ``sc.range(docs)`` mapped to rows on local[2], ``--partitions`` partitions.

    python bench/es_bench.py [--docs 300000] [--runs 3] [--warmup 1] [--partitions 2] [--chunk-size 2000]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rounds import alternate, report  # noqa: E402  (bench/, the script's folder)

from datashark.config.settings import load_settings  # noqa: E402
from datashark.config.usecase import read_usecase  # noqa: E402
from datashark.events.deadletter import DeadLetters  # noqa: E402
from datashark.loading.plugin_loader import load_output_plugin  # noqa: E402
from datashark.plugin_api import OutputBatch  # noqa: E402
from datashark.run.spark import start_spark  # noqa: E402
from datashark.sinks.documents import document  # noqa: E402
from datashark.sinks.es_bulk import document_id, document_json  # noqa: E402
from tests.support.servers.elasticsearch import ElasticsearchNode, running_node  # noqa: E402

NAME, TITLE = "ES Bench", "ES Bench"
BATCH_TIME = datetime(2026, 11, 23, 12, 0, 0)


def row(n: int) -> tuple:
    """A typical anomaly row: an address, a score and a little metadata."""
    return (
        f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}",
        (n % 1000) / 10,
        {"port": n % 65536, "proto": "udp" if n % 3 else "tcp", "hits": n % 97, "host": f"web-{n % 50}"},
    )


def bench_usecase(folder: Path, node: ElasticsearchNode, index: str, chunk_size: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "uc.py").write_text("def load(batchData):\n    return batchData\n")
    (folder / "data.txt").write_text("unused\n")
    conf = folder / "uc.conf"
    conf.write_text(
        f"name = {NAME}\ntype = batch\ncode = uc.py\nfile = data.txt\noutput = elasticsearch\n"
        f"[out_elasticsearch]\n{node.output_keys()}index_name = {index}\nchunk_size = {chunk_size}\n"
    )
    return conf


def run_datashark(sc, settings, conf: Path, docs: int, partitions: int) -> float:
    """Seconds for out_elasticsearch to write ``docs`` rows made on the executors."""
    plugin = load_output_plugin(REPO, read_usecase(conf))
    dead_letters = DeadLetters(sc, settings.deadletter_dir, NAME)
    rows = sc.range(docs, numSlices=partitions).map(row)
    start = time.perf_counter()
    plugin.start()
    written = plugin.write(rows, OutputBatch(BATCH_TIME, dead_letters))
    elapsed = time.perf_counter() - start
    assert written == docs and dead_letters.flush().count == 0, (written, docs)
    return elapsed


def run_single_process(node: ElasticsearchNode, index: str, docs: int) -> float:
    """Seconds for one process to build the same documents and ``helpers.bulk`` them."""
    from elasticsearch import helpers

    utc_iso = OutputBatch(BATCH_TIME, None).utc_iso
    documents = (document(row(n), utc_iso, TITLE, "source_ip", "anomaly_score") for n in range(docs))
    with node.client(request_timeout=60) as client:
        actions = (
            {"_index": index, "_id": document_id(NAME, document_json(doc)), "_source": doc}
            for doc in documents
        )
        start = time.perf_counter()
        written, errors = helpers.bulk(client, actions)
        elapsed = time.perf_counter() - start
    assert written == docs and not errors, (written, errors)
    return elapsed


def check_and_drop(node: ElasticsearchNode, index: str, docs: int) -> None:
    with node.client(request_timeout=60) as client:
        client.indices.refresh(index=index)
        assert client.count(index=index)["count"] == docs
        client.indices.delete(index=index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=1, help="rounds run first and not counted")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="es-bench-") as tmp, running_node() as node:
        work = Path(tmp)
        settings = load_settings(REPO)
        settings = dataclasses.replace(settings, deadletter_dir=work / "deadletter")
        sc = start_spark(settings, "local[2]", "dataShark ES bench")

        def single(run: int) -> float:
            seconds = run_single_process(node, f"bench-{run}-single", args.docs)
            check_and_drop(node, f"bench-{run}-single", args.docs)
            return seconds

        def ours(run: int) -> float:
            conf = bench_usecase(work / f"bench-{run}", node, f"bench-{run}-datashark", args.chunk_size)
            seconds = run_datashark(sc, settings, conf, args.docs, args.partitions)
            check_and_drop(node, f"bench-{run}-datashark", args.docs)
            return seconds

        try:
            results = alternate(args.runs, args.warmup, args.docs, single, ours)
        finally:
            sc.stop()
    report(
        args.docs,
        results,
        f"{args.warmup} warm-up, chunk_size {args.chunk_size}, {args.partitions} partitions",
    )


if __name__ == "__main__":
    main()
