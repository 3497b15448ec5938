"""How a failure reaches the user: one line naming the use case, the lines of its own code the
failure went through, and (``-v``) the whole traceback without the confs' secrets.

Failures raised on Spark's callback threads reach ``awaitTermination`` wrapped in JVM errors whose
text is a stack trace; the streaming runner reports the first one recorded here instead. The
record is module level because the functions that record them are pickled by checkpointing and
must not carry state.
"""

from __future__ import annotations

import re
import sys
import traceback

from datashark import console
from datashark.config.secrets import scrub
from datashark.config.usecase import UseCase
from datashark.errors import DataSharkError, UseCaseError
from datashark.run.tracebacks import where_in_code

OWN_ERROR_PREFIX = re.compile(r"^datashark(?:\.\w+)*\.\w+Error: ")

# The failures of the current streaming run, oldest first; run_streaming clears it as a run starts.
_RECORDED: list[DataSharkError] = []


def record(failure: DataSharkError) -> DataSharkError:
    _RECORDED.append(failure)
    return failure


def first() -> DataSharkError | None:
    return _RECORDED[0] if _RECORDED else None


def clear() -> None:
    _RECORDED.clear()


class UseCaseFailedError(UseCaseError):
    """A use case's one-line ``(Title) - Failed: ...`` error, with the lines of the use case's own
    code the failure went through (``ssh.py:14 in parse: ...``), innermost last."""

    def __init__(self, message: str, frames: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.frames = frames


def usecase_failure(usecase: UseCase, err: BaseException) -> UseCaseFailedError:
    """The one-line ``(Title) - Failed: ...`` error for anything a use case raised, knowing where
    in the use case's code it happened."""
    reason = str(err) if isinstance(err, DataSharkError) else summarize(err)
    return UseCaseFailedError(f"({usecase.name}) - Failed: {reason}", where_in_code(err, usecase.code_path))


def summarize(err: BaseException) -> str:
    """One line for an error that may carry a JVM stack and a Python worker traceback.

    A failing ``load()`` on an executor surfaces as a Py4J/Spark error whose message embeds the
    worker's traceback; its last line (``ZeroDivisionError: ...``) is what the user needs.
    """
    text = str(err)
    marker = "Traceback (most recent call last):"
    if marker in text:
        tail = text.split(marker)[-1]
        lines = [
            line.strip() for line in tail.splitlines() if line.strip() and not line.startswith((" ", "\t"))
        ]
        exception_lines = [line for line in lines if not line.startswith(("at ", "File "))]
        if exception_lines:
            # dataShark's own errors already read as one line (they name what failed).
            return OWN_ERROR_PREFIX.sub("", exception_lines[0])
    first = text.strip().splitlines()[0] if text.strip() else ""
    return f"{type(err).__name__}: {first}" if first else type(err).__name__


def report_failure(err: DataSharkError, *, verbose: bool) -> None:
    """A failure on stderr, its ``[X]`` line last where the eye lands: before it, with ``verbose``
    the whole traceback (JVM stack included), and the lines of the use case's own code it went
    through (``    at ssh.py:14 in parse: ...``)."""
    if verbose:
        print_traceback(err)
    for line in failure_frames(err):
        console.to_stderr(f"    at {line}")
    console.error(str(err))


def failure_frames(err: BaseException) -> tuple[str, ...]:
    """The use-case code lines of the ``UseCaseFailedError`` behind ``err``: in its causes, or the
    streaming failure recorded on Spark's thread that ``err`` reports."""
    cause: BaseException | None = err
    for _ in range(10):
        if cause is None:
            break
        if isinstance(cause, UseCaseFailedError):
            return cause.frames
        cause = cause.__cause__
    recorded = first()
    if isinstance(recorded, UseCaseFailedError) and str(recorded) in str(err):
        return recorded.frames
    return ()


def print_traceback(err: BaseException) -> None:
    """The full story behind a failure, for ``--verbose``, without the confs' secrets."""
    sys.stderr.write(scrub("".join(traceback.format_exception(err))))
    sys.stderr.flush()
