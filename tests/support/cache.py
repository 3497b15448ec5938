"""Where downloaded servers live: an ignored folder in the checkout, reused across runs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.conftest import REPO

CACHE = Path(os.environ.get("DATASHARK_TEST_CACHE", REPO / ".cache" / "services"))


def progress(message: str) -> None:
    """Provisioning can take minutes the first time: say what is happening."""
    print(f"[*] services: {message}", flush=True)


def run_checked(command: list[str], *, what: str, **kwargs) -> subprocess.CompletedProcess:
    """Run a provisioning command; on failure raise with the command and its output's tail."""
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise RuntimeError(f"{what} failed (exit {result.returncode}): {' '.join(command)}\n{tail}")
    return result


def apt_install(*packages: str) -> None:
    """Install Debian packages as root (``apt-get update`` once per cache); a clear error otherwise."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise RuntimeError(f"the test servers need Debian's {' '.join(packages)}: install it, then rerun")
    progress(f"installing Debian's {' '.join(packages)}")
    stamp = CACHE / "apt-updated"
    if not stamp.exists():
        run_checked(["apt-get", "-o", "DPkg::Lock::Timeout=300", "update", "-qq"], what="apt-get update")
        CACHE.mkdir(parents=True, exist_ok=True)
        stamp.touch()
    command = [
        "apt-get",
        "-o",
        "DPkg::Lock::Timeout=300",
        "install",
        "-y",
        "-qq",
        "--no-install-recommends",
        *packages,
    ]
    run_checked(
        command,
        what=f"installing {' '.join(packages)}",
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
