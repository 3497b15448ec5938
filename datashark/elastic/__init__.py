"""Elasticsearch: reaching a cluster of major 8 or 9, for the output plugin and the source."""
