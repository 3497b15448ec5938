"""The DataFrame flavour of use case (``api = dataframe``).

``load()`` gets the events as a Spark DataFrame (a streaming one for ``type = streaming``),
parsed and filtered in the JVM, and returns a DataFrame with ``key`` and ``score`` columns and
its metadata. The findings then go the way of every use case's rows: through the output plugins,
the Written line and the dead letters (``run.delivery``).

- ``schema``: the events' columns from the conf (DDL or a schema file);
- ``log_filter``: ``[log_filter]`` as Spark SQL conditions;
- ``events``: files and streams in the use case's ``format``, unparsed records set aside;
- ``findings``: load()'s DataFrame checked and turned into ``(key, score, metadata)`` rows;
- ``plan``: the fields ``load()`` reads, so that Kafka messages are parsed for those only;
- ``batch`` and ``streaming``: one run of each type; ``kafka``: Spark's Kafka source;
  ``checkpoint``: what a streaming query's checkpoint says of a batch (time, offsets, files).
"""
