"""dataShark: security and network event analytics on Apache Spark."""

__version__ = "2.0.0"
