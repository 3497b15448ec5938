"""Output plugins written for the original dataShark, run as an ``OutputPlugin``.

Such a plugin is a class ``Plugin(conf)`` with ``save(dataRDD, progType)``: its conf section comes
as the strings it was written, and it prints its own lines. A streaming one gets each batch as a
one-batch DStream (see ``one_batch_stream``), so its writes end before the batch counts as delivered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from datashark.plugin_api import OutputBatch, OutputPlugin

if TYPE_CHECKING:
    from pyspark import RDD

    from datashark.config.usecase import UseCase


class LegacyOutput(OutputPlugin):
    """An original-style output plugin behind the one interface delivery knows."""

    def __init__(self, plugin_class: type, conf: dict[str, Any], usecase: UseCase) -> None:
        self.conf = conf
        self.usecase = usecase
        self.title = str(conf.get("title") or usecase.name)
        self.debug = False
        self.plugin = plugin_class(conf)

    @property
    def destination(self) -> str:
        return f"{type(self.plugin).__module__} (an original-style plugin)"

    def write(self, rdd: RDD, batch: OutputBatch) -> None:
        """``save()`` as the original called it; the plugin prints its own report."""
        prog_type = self.usecase.type
        if prog_type == "batch":
            self.plugin.save(rdd, prog_type)
        else:
            from datashark.loading.one_batch_stream import OneBatchStream

            self.plugin.save(OneBatchStream(rdd, batch.time), prog_type)
