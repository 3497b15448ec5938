"""Benchmark output: counts the rows and sums their scores (which computes the whole result) and
writes that tally, ``{"rows": n, "score": total}``, to the JSON file ``[out_tally] path``."""

import json
from pathlib import Path

from datashark.plugin_api import OutputPlugin


def _add(left, right):
    return left[0] + right[0], left[1] + right[1]


class Plugin(OutputPlugin):
    CONFIGSPEC = ("path = string(min=1)",)

    @property
    def destination(self) -> str:
        return f"tally {self.conf['path']} (benchmark)"

    def write(self, rdd, batch) -> int:
        rows, score = rdd.map(lambda row: (1, row[1])).fold((0, 0), _add)
        Path(self.conf["path"]).write_text(json.dumps({"rows": rows, "score": score}))
        return rows
