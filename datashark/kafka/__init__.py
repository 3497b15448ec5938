"""dataShark's own Kafka direct stream (PySpark has had no Kafka DStream since Spark 3)."""
