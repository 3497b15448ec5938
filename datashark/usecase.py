"""One use-case conf -> UseCase: discovery, validation, importing its code, calling load().

A conf is checked completely when it is read (keys, code file, data files), so a mistake
is reported before Spark starts instead of in the middle of a run.
"""

from __future__ import annotations

import glob
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from configobj import ConfigObj

from datashark import console
from datashark.codeimport import import_file, unique_module_name
from datashark.configspec import read_conf, spec_lines, validate_section
from datashark.configspec.hints import FILTER_SECTION, unused_sections
from datashark.errors import ConfigError, UseCaseError
from datashark.secrets import redacted

FALSE_WORDS = ("false", "no", "off", "0")  # what configobj's boolean reads as False
DATA_KEY_BY_TYPE = {"batch": "file", "streaming": "training"}
# Types whose data key may be left out: a streaming use case's load() then gets an empty trainingData.
OPTIONAL_DATA_TYPES = frozenset({"streaming"})
# How many data arguments load() receives: batchData; or streamingData, trainingData.
DATA_ARGUMENTS_BY_TYPE = {"batch": 1, "streaming": 2}


@dataclass
class UseCase:
    """A validated use-case conf; ``load()`` receives ``conf`` with its secrets redacted."""

    path: Path
    conf: ConfigObj = field(repr=False)  # holds the plugins' secrets

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def name(self) -> str:
        return self.conf["name"]

    @property
    def type(self) -> str:
        return self.conf["type"]

    @property
    def enabled(self) -> bool:
        return self.conf["enabled"]

    @property
    def output(self) -> str:
        return self.conf["output"]

    @property
    def code_path(self) -> Path:
        return self.folder / self.conf["code"]

    def resolve(self, value: str) -> str:
        """A path from the conf: URIs (``hdfs://``...) and absolute paths as they are,
        relative ones against the use case's folder."""
        if "://" in value:
            return value
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else self.folder / path)

    def data_path(self) -> str | None:
        """The input of the use case's type: ``file`` (batch) or ``training`` (streaming);
        None for a streaming use case without ``training``."""
        value = self.conf[DATA_KEY_BY_TYPE[self.type]]
        return self.resolve(value) if value else None


def read_usecase(path: Path) -> UseCase:
    """Read and check one conf; every problem is a ConfigError naming the file and key."""
    path = path.resolve()
    conf = validate_section(read_conf(path), spec_lines("usecase"), where=str(path), allow_extra=True)
    usecase = UseCase(path, conf)
    data_key = DATA_KEY_BY_TYPE[usecase.type]
    if not conf[data_key] and usecase.type not in OPTIONAL_DATA_TYPES:
        raise ConfigError(f"{path}: key '{data_key}' is required for a {usecase.type} use case")
    if not usecase.code_path.is_file():
        raise ConfigError(f"{path}: key 'code': file not found: {usecase.code_path}")
    location = usecase.data_path()
    if location is not None:
        _check_data_exists(path, data_key, location)
    _warn_of_unread_sections(usecase)
    return usecase


# Warnings about a conf's sections already printed: once per process, never reset.
_WARNED: set[str] = set()


def _warn_of_unread_sections(usecase: UseCase) -> None:
    """Once per process and conf: sections that look meant for a plugin or the filter, unread."""
    conf = usecase.conf
    used = {FILTER_SECTION, f"out_{conf['output']}", *([f"in_{conf['input']}"] if conf["input"] else [])}
    for warning in unused_sections(conf, conf.sections, used):
        line = f"[!] {usecase.path}: {warning}"
        if line not in _WARNED:
            _WARNED.add(line)
            console.to_stderr(line)


def _check_data_exists(conf_path: Path, key: str, location: str) -> None:
    """Local inputs must exist at start; Hadoop URIs are Spark's to check."""
    if "://" in location and not location.startswith("file://"):
        return
    local = location.removeprefix("file://")
    if not glob.glob(local):
        raise ConfigError(f"{conf_path}: key '{key}': no such file or directory: {local}")


@dataclass
class Discovery:
    """What discovery found: use cases to run, and one message per conf that was skipped."""

    usecases: list[UseCase]
    problems: list[str]


def discover(home: Path, *, enabled_only: bool) -> Discovery:
    """Every ``conf/*/*.conf`` under ``home``; a broken one is reported, the rest still load."""
    found = Discovery([], [])
    for path in sorted((home / "conf").glob("*/*.conf")):
        try:
            usecase = read_usecase(path)
        except ConfigError as err:
            if not (enabled_only and _switched_off(path)):
                found.problems.append(str(err))
            continue
        if usecase.enabled or not enabled_only:
            found.usecases.append(usecase)
    return found


def _switched_off(path: Path) -> bool:
    """A conf that says ``enabled = false`` even though it is broken elsewhere: a run of the
    enabled use cases leaves it alone (``datashark validate`` still reports it)."""
    try:
        enabled = read_conf(path).get("enabled")
    except ConfigError:
        return False
    return isinstance(enabled, str) and enabled.strip().lower() in FALSE_WORDS


def import_code(usecase: UseCase) -> ModuleType:
    """Import the use case's code file and check it has a callable ``load``."""
    try:
        module = import_file(usecase.code_path, unique_module_name("datashark_usecase", usecase.code_path))
    except Exception as err:  # the user's module may raise anything while importing
        raise UseCaseError(f"{usecase.code_path}: import failed: {type(err).__name__}: {err}") from err
    if not callable(getattr(module, "load", None)):
        raise UseCaseError(f"{usecase.code_path}: no load() function defined")
    try:
        bind_load_arguments(inspect.signature(module.load), *load_arguments(usecase, None))
    except UseCaseError as err:
        raise UseCaseError(f"{usecase.code_path}: {err}") from None
    return module


def load_arguments(usecase: UseCase, context: Any, *data: Any) -> tuple[list[Any], dict[str, Any]]:
    """The data and named values ``load()`` may take, in the original's order and names.

    The conf comes without its secrets: what ``load()``'s functions close over is shipped to
    executors and written into streaming checkpoints, and plugins get theirs on their own.
    """
    values = list(data) or [None] * DATA_ARGUMENTS_BY_TYPE[usecase.type]
    return values, {"conf": redacted(usecase.conf), "context": context}


def call_load(load: Callable[..., Any], data: list[Any], named: dict[str, Any]) -> Any:
    """Call ``load`` with what its signature accepts.

    ``data`` fills the parameters that are not named like an entry of ``named`` (``conf``,
    ``context``), in order: so ``load(batchData)``, ``load(batchData, conf)`` and the
    original's ``load(streamingData, trainingData, context, conf)`` all work.
    """
    args, kwargs = bind_load_arguments(inspect.signature(load), data, named)
    return load(*args, **kwargs)


def bind_load_arguments(
    signature: inspect.Signature, data: list[Any], named: dict[str, Any]
) -> tuple[list[Any], dict[str, Any]]:
    """The ``(args, kwargs)`` that ``call_load`` passes; a TypeError-free mapping or UseCaseError.

    Data goes positionally until a parameter has been bound by name: after that, passing more
    positionally would collide with it, so later data goes by name too.
    """
    pending = list(data)
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    unused_named = dict(named)
    for param in signature.parameters.values():
        if param.kind is param.VAR_POSITIONAL:
            if not kwargs:
                args.extend(pending)
                pending.clear()
        elif param.kind is param.VAR_KEYWORD:
            kwargs.update(unused_named)
        elif param.name in unused_named and param.kind is not param.POSITIONAL_ONLY:
            kwargs[param.name] = unused_named.pop(param.name)
        elif pending and param.kind is not param.KEYWORD_ONLY:
            if kwargs:
                kwargs[param.name] = pending.pop(0)
            else:
                args.append(pending.pop(0))
        elif param.default is param.empty:
            accepted = ", ".join([*(f"<data {i + 1}>" for i in range(len(data))), *named])
            raise UseCaseError(
                f"load() parameter '{param.name}' cannot be supplied (dataShark passes: {accepted})"
            )
    return args, kwargs


def folder_name(usecase_name: str) -> str:
    """The name of a use case's own folders (dead letters, input state): its name as a lowercase
    slug that is safe in any file system (``SSH Brute Force`` -> ``ssh-brute-force``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", usecase_name).strip("-").lower() or "usecase"
