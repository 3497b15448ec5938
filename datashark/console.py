"""Everything dataShark prints for people: the banner and the timestamped status lines.

The wording is part of the contract: users' log watchers match these lines, so they keep the
original dataShark's words. Every line is scrubbed of the secrets the confs hold.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime

from datashark import __version__
from datashark.config.secrets import scrub

_LOGO = r"""               __      __        _____ __               __
          ____/ /___ _/ /_____ _/ ___// /_  ____ ______/ /__
         / __  / __ `/ __/ __ `/\__ \/ __ \/ __ `/ ___/ //_/
        / /_/ / /_/ / /_/ /_/ /___/ / / / / /_/ / /  / ,<
        \__,_/\__,_/\__/\__,_//____/_/ /_/\__,_/_/  /_/|_|"""


def timestamp() -> str:
    """Local wall-clock time in the format of every console line and CSV row."""
    return datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def banner(mode: str) -> str:
    """The logo, the mode (``STANDALONE MODE``/``PRODUCTION MODE``) and the version."""
    lines = [*_LOGO.splitlines(), "", f"{mode:^60}".rstrip(), "", f"{'v' + __version__:^60}".rstrip()]
    return "\n" + "\n".join(lines) + "\n\n"


def say(message: str) -> None:
    """One line on stdout, flushed at once so it interleaves correctly with Spark's stderr."""
    print(scrub(message), flush=True)


def info(message: str) -> None:
    """A ``[*] <time> message`` progress line, as start.sh printed them."""
    say(f"[*] {timestamp()} {message}")


def to_stderr(message: str) -> None:
    """One line on stderr: notices that must not mix with results a script may capture."""
    print(scrub(message), file=sys.stderr, flush=True)


def error(message: str) -> None:
    """A ``[X] message`` line on stderr."""
    to_stderr(f"[X] {message}")


def written(
    title: str, count: int, destination: str, dead_letters: str = "", *, rejected: int = 0, where: str = ""
) -> None:
    """The per-batch result line users grep for, with the batch's dead letters when there are any
    (``dead_letters`` as text: ``4 Dead Letters``; empty when none). ``rejected`` rows of the
    batch's were dead-lettered instead of written, to ``where``: when that was every one of them,
    the line says so rather than ``No RDD Data Received``, which means no rows at all."""
    dead = f" ({dead_letters})" if dead_letters else ""
    if count:
        say(f"{timestamp()} - ({title}) - Written {count} Documents to {destination}{dead}")
    elif rejected:
        say(
            f"{timestamp()} - ({title}) - 0 of {rejected} rows written to {destination}: "
            f"all dead-lettered{dead}, see {where}"
        )
    else:
        say(f"{timestamp()} - ({title}) - No RDD Data Received{dead}")


def warn_if_root() -> None:
    """One line when dataShark runs as root: it runs use cases' code, and works as root (CI and
    containers run so), but a compromised conf folder should not get root with it."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        to_stderr(
            "[!] running as root: use cases' code runs with root's rights; "
            "an ordinary user is enough (see README, Security)"
        )
