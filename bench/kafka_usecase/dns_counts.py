"""Benchmark use case: filtered Zeek DNS events counted per client, query and query type, per
batch (the zat notebook's table); key = the client, metadata = the query and its type."""


def load(streamingData):
    keyed = streamingData.map(
        lambda event: ((event.get("id.orig_h"), event.get("query"), event.get("qtype_name")), 1)
    )
    return keyed.reduceByKey(lambda a, b: a + b).map(
        lambda pair: (pair[0][0], pair[1], {"query": pair[0][1], "qtype_name": pair[0][2]})
    )
