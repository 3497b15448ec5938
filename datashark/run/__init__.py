"""Running use cases: the SparkContext, batch and streaming runs, delivery, failures, ./start.sh."""
