"""Benchmark output: counts the rows (which computes the whole batch) and writes nothing."""

from datashark.plugin_api import OutputPlugin


class Plugin(OutputPlugin):
    @property
    def destination(self) -> str:
        return "nowhere (benchmark)"

    def write(self, rdd, batch_time: str) -> int:
        return rdd.count()
