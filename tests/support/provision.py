"""``python -m tests.support.provision``: fetch every test server into the cache now.

The fixtures fetch on first use too; running this first (test.sh does) shows progress and
fails early with the command that failed, before any test starts.
"""

from __future__ import annotations

import sys
import time

from tests.support.cache import CACHE, progress
from tests.support.servers import server_modules


def main() -> int:
    started = time.monotonic()
    for module in server_modules():
        name = module.NAME
        try:
            module.provision()
        except Exception as err:  # report any failure as one clear line plus its output
            print(f"[X] services: provisioning {name} failed: {err}", file=sys.stderr, flush=True)
            return 1
        progress(f"{name} ready")
    progress(f"all servers provisioned in {CACHE} ({time.monotonic() - started:.0f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
