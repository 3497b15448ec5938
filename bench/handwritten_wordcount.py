"""The baseline: the benchmark's wordcount written by hand in plain PySpark, no dataShark.

Same work as bench/wordcount_usecase run through standalone.sh: local[*], textFile, split,
lower, reduceByKey, then one CSV file on the driver with a ``time,key,count`` row per word.
The rows come to the driver one partition at a time (``toLocalIterator``, as a competent
programmer writes a result file that may not fit in memory) and go through ``csv.writer``
with dataShark's dialect (minimal quoting, ``\\n`` line ends), so both files hold the same rows.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from datetime import datetime
from pathlib import Path

from pyspark import SparkContext


def wordcount(sc: SparkContext, source: str):
    """(word, count) pairs: the logic of conf/wordcount/wordcount.py."""
    words = sc.textFile(source).flatMap(lambda line: line.split()).map(lambda word: (word.lower(), 1))
    return words.reduceByKey(lambda a, b: a + b)


def write_csv(rows, path: Path) -> int:
    """Stream the rows into ``path``, stamped with one batch time; returns how many."""
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        for key, value in rows:
            writer.writerow((stamp, key, value))
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", help="text file to count")
    parser.add_argument("output", type=Path, help="CSV file to (over)write")
    parser.add_argument(
        "--prefetch",
        action="store_true",
        help="toLocalIterator(prefetchPartitions=True), as dataShark's CSV plugin (for comparison)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers run this Python, as dataShark's
    sc = SparkContext("local[*]", "handwritten wordcount")
    try:
        count = write_csv(wordcount(sc, args.input).toLocalIterator(args.prefetch), args.output)
    finally:
        sc.stop()
    print(f"Written {count} rows to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
