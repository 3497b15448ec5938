"""One use-case conf -> UseCase: discovery and validation.

A conf is checked completely when it is read (keys, code file, data files), so a mistake
is reported before Spark starts instead of in the middle of a run.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass, field
from pathlib import Path

from configobj import ConfigObj

from datashark import console
from datashark.config.spec import read_conf, spec_lines, validate_section
from datashark.config.spec.hints import FILTER_SECTION, unused_sections
from datashark.errors import ConfigError, ConfLocation
from datashark.files.paths import has_scheme, is_local, local_path

FALSE_WORDS = ("false", "no", "off", "0")  # what configobj's boolean reads as False
DATA_KEY_BY_TYPE = {"batch": "file", "streaming": "training"}
# The keys naming files Spark reads, by type: a batch load() may take trainingData too.
READ_KEYS_BY_TYPE = {"batch": ("file", "training"), "streaming": ("training",)}
# Types whose data key may be left out: a streaming use case's load() then gets an empty trainingData.
OPTIONAL_DATA_TYPES = frozenset({"streaming"})
FRAME_APIS = ("dataframe", "sigma")
SIGMA = "sigma"  # api = sigma: no code, the keys of sigma.spec
LOOKUPS_SECTION = "lookups"  # read by datashark.lookups when the use case is prepared


@dataclass
class UseCase:
    """A validated use-case conf; ``load()`` receives ``conf`` with its secrets redacted."""

    path: Path
    conf: ConfigObj = field(repr=False)  # holds the plugins' secrets

    @property
    def location(self) -> ConfLocation:
        """The conf file, for errors about it: ``usecase.location.at("code")``."""
        return ConfLocation(str(self.path))

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
    def api(self) -> str:
        """What ``load()`` gets: ``rdd`` (an RDD or DStream) or ``dataframe`` (a DataFrame); or
        ``sigma``: Sigma rules, with a ``load()`` of dataShark's over a DataFrame."""
        return self.conf.get("api") or "rdd"

    @property
    def reads_frames(self) -> bool:
        """Whether its events are a DataFrame (``api = dataframe`` or ``sigma``)."""
        return self.api in FRAME_APIS

    @property
    def enabled(self) -> bool:
        return self.conf["enabled"]

    @property
    def output(self) -> str:
        return self.conf["output"]

    @property
    def code_path(self) -> Path:
        """The file with ``load()``; a Sigma use case's conf itself (it has no code)."""
        return self.folder / self.conf["code"] if self.conf["code"] else self.path

    def resolve(self, value: str) -> str:
        """A path from the conf: URIs (``hdfs://``...) and absolute paths as they are,
        relative ones against the use case's folder."""
        if has_scheme(value):
            return value
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else self.folder / path)

    def data_path(self) -> str | None:
        """The input of the use case's type: ``file`` (batch) or ``training`` (streaming);
        None for a streaming use case without ``training``."""
        return self.path_of(DATA_KEY_BY_TYPE[self.type])

    def path_of(self, key: str) -> str | None:
        """The conf's ``file`` or ``training``, resolved; None when it is not set."""
        value = self.conf[key]
        return self.resolve(value) if value else None

    def read_paths(self) -> list[str]:
        """Every file location Spark reads for this use case: ``file`` and ``training`` when set."""
        return [path for key in READ_KEYS_BY_TYPE[self.type] if (path := self.path_of(key)) is not None]


def read_usecase(path: Path, *, check_data: bool = True) -> UseCase:
    """Read and check one conf; every problem is a ConfigError naming the file and key.
    ``check_data=False`` leaves out whether ``file`` and ``training`` exist, for a caller that
    replaces them (``datashark test`` gives each case's events as the ``file``)."""
    path = path.resolve()
    where = ConfLocation(str(path))
    raw = read_conf(path)
    conf = validate_section(raw, usecase_spec(raw.get("api")), where=where, allow_extra=True)
    usecase = UseCase(path, conf)
    data_key = DATA_KEY_BY_TYPE[usecase.type]
    if usecase.type == "batch" and conf["input"]:
        if conf["file"]:
            raise where.at("file").error("set either file or input, not both")
    elif not conf[data_key] and usecase.type not in OPTIONAL_DATA_TYPES:
        hint = " (or an input that reads batches: input = elasticsearch)" if usecase.type == "batch" else ""
        raise where.at(data_key).error(f"is required for a {usecase.type} use case{hint}")
    if usecase.api == SIGMA:
        if conf["code"]:
            raise where.at("code").error("is not used by api = sigma (dataShark runs the rules): remove it")
    elif not conf["code"]:
        raise where.at("code").error("is required (the Python file with load()), unless api = sigma")
    elif not usecase.code_path.is_file():
        raise where.at("code").error(f"file not found: {usecase.code_path}")
    for key in READ_KEYS_BY_TYPE[usecase.type] if check_data else ():
        location = usecase.path_of(key)
        if location is not None:
            _check_data_exists(where.at(key), location)
    _warn_of_unread_sections(usecase)
    return usecase


def usecase_spec(api: str | None) -> list[str]:
    """The spec of a use-case conf: sigma.spec's keys added for ``api = sigma`` (before the
    sections, where top-level keys go)."""
    lines = spec_lines("usecase")
    if api != SIGMA:
        return lines
    first_section = next(index for index, line in enumerate(lines) if line.startswith("["))
    return [*lines[:first_section], *spec_lines(SIGMA), *lines[first_section:]]


# Warnings about a conf's sections already printed: once per process, never reset.
_WARNED: set[str] = set()


def _warn_of_unread_sections(usecase: UseCase) -> None:
    """Once per process and conf: sections that look meant for a plugin or the filter, unread."""
    conf = usecase.conf
    used = {FILTER_SECTION, LOOKUPS_SECTION, f"out_{conf['output']}"}
    used.update([f"in_{conf['input']}"] if conf["input"] else [])
    for warning in unused_sections(conf, conf.sections, used):
        line = f"[!] {usecase.path}: {warning}"
        if line not in _WARNED:
            _WARNED.add(line)
            console.to_stderr(line)


def _check_data_exists(key: ConfLocation, location: str) -> None:
    """Local inputs must exist at start; Hadoop URIs are Spark's to check."""
    if not is_local(location):
        return
    local = local_path(location)
    if not glob.glob(local):
        raise key.error(f"no such file or directory: {local}")


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


def folder_name(usecase_name: str) -> str:
    """The name of a use case's own folders (dead letters, input state): its name as a lowercase
    slug that is safe in any file system (``SSH Brute Force`` -> ``ssh-brute-force``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", usecase_name).strip("-").lower() or "usecase"
