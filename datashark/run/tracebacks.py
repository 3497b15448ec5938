"""Where in a use case's own code a failure happened, for the short error users see without ``-v``.

A ``load()`` that raises on an executor reaches the driver as a Spark error whose message quotes
the Python worker's traceback (``File "/path/uc.py", line 14, in parse``) inside a JVM stack; one
that raises on the driver carries its traceback as usual. Both are read here, and only the frames
of the use case's own files are kept: dataShark's, PySpark's and the JVM's are noise to its author.
"""

from __future__ import annotations

import re
import sysconfig
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

WORKER_TRACEBACK = "Traceback (most recent call last):"
FRAME_LINE = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<function>.+?)\s*$')
MAX_FRAMES = 5  # the innermost ones: a recursion must not flood the short error
MAX_SOURCE_CHARS = 100
MAX_CHAINED = 10  # causes followed from one error
# Never the use case's code, even when its folder holds them (a use case at the top of a home).
NOT_USE_CASE_CODE = (
    Path(__file__).resolve().parents[1],  # the datashark package
    *{Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")},
)
PLUGINS_FOLDER = "plugins"


@dataclass(frozen=True)
class Frame:
    """One line of a traceback: the file, line and function, and that line's source when known."""

    file: str
    line: int
    function: str
    source: str = ""

    def describe(self, folder: Path | None = None) -> str:
        """``ssh.py:14 in parse: fields[3]``; the file relative to ``folder`` when under it."""
        name = self.file
        if folder is not None and _is_under(Path(self.file), folder):
            name = str(Path(self.file).resolve().relative_to(folder.resolve()))
        source = self.source
        if len(source) > MAX_SOURCE_CHARS:
            source = source[:MAX_SOURCE_CHARS] + "..."
        return f"{name}:{self.line} in {self.function}" + (f": {source}" if source else "")


def frames_in_text(text: str) -> list[Frame]:
    """The frames of the last Python traceback quoted in ``text`` (a Spark error's message), in
    the traceback's order, innermost last; ``[]`` when it quotes none."""
    if WORKER_TRACEBACK not in text:
        return []
    lines = text.rsplit(WORKER_TRACEBACK, 1)[1].splitlines()
    frames = []
    for index, line in enumerate(lines):
        found = FRAME_LINE.match(line)
        if found:
            following = lines[index + 1] if index + 1 < len(lines) else ""
            source = "" if FRAME_LINE.match(following) else following.strip()
            frames.append(Frame(found["file"], int(found["line"]), found["function"], source))
        elif line.strip() and not line[0].isspace():
            break  # the exception's own line ends the traceback
    return frames


def frames_of(err: BaseException) -> list[Frame]:
    """Every frame ``err`` and its causes went through: each one's own traceback, then the worker
    traceback its message quotes; the first cause first, duplicates dropped."""
    seen: set[Frame] = set()
    frames = []
    for failure in reversed(list(_chain(err))):
        for frame in [*_driver_frames(failure), *frames_in_text(_text(failure))]:
            if frame not in seen:
                seen.add(frame)
                frames.append(frame)
    return frames


def own_frames(frames: list[Frame], code_file: Path) -> list[Frame]:
    """The frames in ``code_file`` or a file under its folder (helpers it imports), innermost
    ``MAX_FRAMES`` of them: not dataShark's, installed packages' nor a ``plugins/`` folder's."""
    folder = code_file.parent.resolve()
    own = [frame for frame in frames if _is_own(Path(frame.file), folder)]
    return own[-MAX_FRAMES:]


def _is_own(file: Path, folder: Path) -> bool:
    if not _is_under(file, folder) or any(_is_under(file, other) for other in NOT_USE_CASE_CODE):
        return False
    return PLUGINS_FOLDER not in file.resolve().relative_to(folder).parts[:-1]


def where_in_code(err: BaseException, code_file: Path) -> tuple[str, ...]:
    """``err``'s frames in the use case's own code, one line each (``ssh.py:14 in parse: ...``)."""
    return tuple(frame.describe(code_file.parent) for frame in own_frames(frames_of(err), code_file))


def _chain(err: BaseException) -> Iterator[BaseException]:
    """``err``, then what caused it (explicitly or while handling it), without looping."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen and len(seen) < MAX_CHAINED:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _driver_frames(err: BaseException) -> list[Frame]:
    return [
        Frame(summary.filename, summary.lineno or 0, summary.name, (summary.line or "").strip())
        for summary in traceback.extract_tb(err.__traceback__)
    ]


def _text(err: BaseException) -> str:
    """``str(err)``; a Py4J error asks the JVM, which may be gone by now."""
    try:
        return str(err)
    except Exception:  # any failure means: no text to read
        return ""


def _is_under(path: Path, folder: Path) -> bool:
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        return False
    return folder.resolve() in resolved.parents
