"""The zat notebook's DNS query table as a DataFrame use case: how many queries each client sent
per query name and query type, from Zeek's dns.log read as a DataFrame. A table for hunting and
baselining, not a detection: key = the client address, score = its query count, metadata = the
query, its type, the NXDOMAIN answers among them, the first and last time. See README.md."""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as sf

NAME = "dns-query-counts-frames"


def least_queries(conf: Any) -> int:
    """``min_queries`` of the conf: a whole number, 1 or more (1 when not set)."""
    value = conf.get("min_queries") if hasattr(conf, "get") else None
    try:
        least = int(1 if value is None or value == "" else value)
    except (TypeError, ValueError):
        raise ValueError(f"{NAME}: min_queries must be a whole number, not {value!r}") from None
    if least < 1:
        raise ValueError(f"{NAME}: min_queries must be 1 or more, not {value!r}")
    return least


def load(events: DataFrame, conf) -> DataFrame:
    """One row per (client, query, query type) with ``min_queries`` queries or more. Records
    without a query (Zeek logs a bare reply so) are not counted."""
    query = sf.col("query")
    asked = events.filter(query.isNotNull() & (query != "") & sf.col("`id.orig_h`").isNotNull())
    table = asked.groupBy(sf.col("`id.orig_h`").alias("key"), "query", "qtype_name").agg(
        sf.count("*").alias("score"),
        sf.count_if(sf.col("rcode_name") == "NXDOMAIN").alias("nxdomain"),
        sf.min("@timestamp").alias("first_seen"),
        sf.max("@timestamp").alias("last_seen"),
    )
    least = least_queries(conf)
    return table.filter(sf.col("score") >= least) if least > 1 else table
