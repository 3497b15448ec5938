"""ElastAlert2's own virtual environment, kept apart from dataShark's: ElastAlert2 2.19.0 (the
newest PyPI serves for Python 3.11) pins the elasticsearch 7.10.1 client, dataShark runs the 9.x
one, and one environment cannot hold both.

Made once with ``python3 -m venv`` in an ignored folder (``.cache/elastalert2/venv``) and
reused: a stamp file written after pip succeeded names what was installed, so a half-made
environment (pip cut off) or one made for other requirements is made again.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path

from datashark import console
from datashark.alerting import AlertingError

# PyPI's elastalert2 2.19.0 imports pytz without declaring it.
REQUIREMENTS = ("elastalert2==2.19.0", "pytz")
# elastalert2 2.19.0 says Python 3.9+, but uses datetime.UTC, which came with 3.11.
MIN_PYTHON = (3, 11)
STAMP = ".datashark-requirements"


def default_folder(home: Path) -> Path:
    return home / ".cache" / "elastalert2" / "venv"


def ensure_environment(folder: Path, python: str = "python3") -> Path:
    """The Python of ElastAlert2's environment in ``folder``, made first when it is missing or
    stale (minutes the first time: pip fetches ElastAlert2 and its dependencies)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two runs at once: the second waits, then finds it made
        if _stamp(folder) != _wanted():
            _make(folder, python)
    return folder / "bin" / "python"


def _wanted() -> str:
    return "\n".join(REQUIREMENTS) + "\n"


def _stamp(folder: Path) -> str | None:
    try:
        return (folder / STAMP).read_text()
    except OSError:
        return None


def _make(folder: Path, python: str) -> None:
    interpreter = shutil.which(python)
    if interpreter is None:
        raise AlertingError(f"ElastAlert2's environment: no {python} on PATH (--python names another)")
    _check_version(interpreter)
    console.to_stderr(f"[*] making ElastAlert2's environment in {folder} ({' '.join(REQUIREMENTS)})")
    shutil.rmtree(folder, ignore_errors=True)
    _run([interpreter, "-m", "venv", str(folder)], f"{interpreter} -m venv {folder}")
    pip = [str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*pip, *REQUIREMENTS], f"pip install {' '.join(REQUIREMENTS)} into {folder}")
    (folder / STAMP).write_text(_wanted())


def _check_version(interpreter: str) -> None:
    result = subprocess.run(
        [interpreter, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=False,
    )
    found = tuple(int(part) for part in result.stdout.strip().split(".")) if result.returncode == 0 else ()
    if found < MIN_PYTHON:
        wanted = ".".join(map(str, MIN_PYTHON))
        raise AlertingError(
            f"ElastAlert2 2.19.0 needs Python {wanted}+: {interpreter} is "
            f"{result.stdout.strip() or 'not runnable'} (--python names another)"
        )


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = " | ".join((result.stdout + result.stderr).strip().splitlines()[-3:])
        raise AlertingError(f"ElastAlert2's environment: {what} failed (exit {result.returncode}): {tail}")
