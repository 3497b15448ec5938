"""Import a user's .py file (use case or plugin) under a name of its own.

Use cases are imported by path, not through a shared ``sys.path``, so two use cases may
both ship a ``utils.py``: helpers a file imports from its own folder are taken out of
``sys.modules`` again afterwards. Everything imported from that folder is registered with
cloudpickle to travel *by value*, so executors run the same code without a copy of it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

from pyspark import cloudpickle


def unique_module_name(prefix: str, path: Path) -> str:
    """A valid, collision-free module name for ``path`` (hyphens and dots are allowed in files)."""
    stem = re.sub(r"\W", "_", path.stem)
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]
    return f"{prefix}_{stem}_{digest}"


def import_file(path: Path, module_name: str) -> ModuleType:
    """Execute ``path`` as module ``module_name``; its own folder is importable meanwhile.

    Raises whatever the file raises; the caller words the message.
    """
    folder = str(path.parent)
    known = set(sys.modules)
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:  # not a file Python can load as a module
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    finally:
        sys.path.remove(folder)
    cloudpickle.register_pickle_by_value(module)
    for name in set(sys.modules) - known - {module_name}:
        helper = sys.modules[name]
        if _is_helper_of(name, getattr(helper, "__file__", None), path.parent):
            cloudpickle.register_pickle_by_value(helper)
            del sys.modules[name]
    return module


def _is_helper_of(name: str, file: str | None, folder: Path) -> bool:
    """A module from ``folder/x.py``, or a package ``folder/x/`` and its submodules."""
    if file is None:
        return False
    file_path = Path(file).resolve()
    folder = folder.resolve()
    top = name.partition(".")[0]
    return file_path == folder / f"{top}.py" or folder / top in file_path.parents
