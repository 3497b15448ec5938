"""Benchmark use case: filtered Zeek DNS events counted per query, per batch."""


def load(streamingData):
    return streamingData.map(lambda event: (event["query"], 1)).reduceByKey(lambda a, b: a + b)
