"""Reading a YAML file a person wrote (test cases, alert rules): what is wrong with it in one
line naming the file, and the line of a syntax error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from datashark.errors import ConfigError


def read_yaml(path: Path) -> Any:
    """The document of ``path``; ConfigError: ``<path>: cannot be parsed: line 3: <problem>``."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: is not UTF-8 text") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ConfigError(f"{path}: cannot be parsed: {where}{problem}") from None
