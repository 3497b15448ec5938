"""One module per test server. Each defines:

- ``NAME``: the server's name, which is also its pytest marker and its fixture's name;
- ``provision()``: fetch or install what the server needs, into the cache (quick when cached);
- a session-scoped fixture called ``NAME`` that starts the server on free 127.0.0.1 ports,
  waits until it really serves, yields how to reach it and stops it by PID.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def server_modules() -> list[ModuleType]:
    return [importlib.import_module(f"{__name__}.{info.name}") for info in pkgutil.iter_modules(__path__)]
