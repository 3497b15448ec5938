"""Benchmark use case, DataFrame flavour: filtered Zeek DNS events counted per client, query and
query type; key = the client, score = the count, metadata = the query and its type. The same
rows as dns_counts.py's, from the JVM (the batch benchmark reads files with it too)."""

from pyspark.sql import functions as sf


def load(events):
    return events.groupBy(sf.col("`id.orig_h`").alias("key"), "query", "qtype_name").agg(
        sf.count("*").alias("score")
    )
