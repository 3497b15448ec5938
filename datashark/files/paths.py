"""Locations as confs write them: a plain path, or a URI that Hadoop reads (``hdfs://nn:8020/x``)."""

from __future__ import annotations

FILE_SCHEME = "file://"


def has_scheme(location: str) -> bool:
    """A URI (``hdfs://nn/x``, ``file:///x``, ``s3a://bucket/x``) rather than a plain path."""
    return "://" in location


def is_local(location: str) -> bool:
    """On the driver's disk: a plain path or a ``file://`` URI, as opposed to one Spark reads as it is."""
    return not has_scheme(location) or location.startswith(FILE_SCHEME)


def local_path(location: str) -> str:
    """The path of a local location: ``file:///var/log/x`` -> ``/var/log/x``."""
    return location.removeprefix(FILE_SCHEME)
