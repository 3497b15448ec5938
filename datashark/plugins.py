"""The import path plugins use: ``from datashark.plugins import OutputPlugin, debug_print``."""

from datashark.plugin_api import InputPlugin, OutputBatch, OutputPlugin, debug_print, printable

Batch = OutputBatch  # its earlier name: plugins written against it keep working

__all__ = ["Batch", "InputPlugin", "OutputBatch", "OutputPlugin", "debug_print", "printable"]
