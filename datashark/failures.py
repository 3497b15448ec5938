"""Failures raised on Spark's callback threads, kept in dataShark's own words.

Spark hands them to ``awaitTermination`` wrapped in JVM errors whose text is a stack trace;
the streaming engine reports the first one recorded here instead. Module level, because the
functions that record them are pickled by checkpointing and must not carry state.
"""

from __future__ import annotations

from datashark.errors import DataSharkError

# The failures of the current streaming run, oldest first; run_streaming clears it as a run starts.
_RECORDED: list[DataSharkError] = []


def record(failure: DataSharkError) -> DataSharkError:
    _RECORDED.append(failure)
    return failure


def first() -> DataSharkError | None:
    return _RECORDED[0] if _RECORDED else None


def clear() -> None:
    _RECORDED.clear()
