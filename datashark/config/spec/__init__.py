"""Reading conf files against configobj specs, with errors that name file, section and key.

Values are parsed with ``list_values=False`` and unquoted here, because configobj's default
turns any unquoted comma into a list: a regex such as ``\\d{1,3}`` would arrive as
``['\\d{1', '3}']``. Quotes are still stripped, so ``separator = ','`` means a comma.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from configobj import ConfigObj, ConfigObjError, Section, flatten_errors, get_extra_values
from validate import ValidateError, Validator

from datashark.config.secrets import is_secret_key, resolve_secrets
from datashark.config.spec.hints import did_you_mean
from datashark.errors import ConfigError, ConfLocation

_QUOTES = ("'", '"')
_QUOTED = re.compile(r"[\'\"]([^\'\"]*)[\'\"]")
_OPTIONS = re.compile(r"option\((.*?)(?:,\s*default=.*)?\)$")
_ECHOED_LINE = re.compile(r"Invalid line \(.*\)(?= \(matched)")


def spec_lines(name: str) -> list[str]:
    """The lines of a spec shipped in this folder, e.g. ``spec_lines("usecase")``."""
    return resources.files(__package__).joinpath(f"{name}.spec").read_text().splitlines()


def read_conf(path: Path) -> ConfigObj:
    """Parse ``path`` without validating it; a missing or malformed file is a ConfigError."""

    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    try:
        conf = ConfigObj(str(path), list_values=False, interpolation=False, encoding="utf-8")
    except (ConfigObjError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot be parsed: {_without_echo(err)}") from None
    _unquote(conf)
    resolve_secrets(conf, path)
    return conf


def validate_section(section: Section, spec: list[str], *, where: ConfLocation, allow_extra: bool) -> Section:
    """Validate ``section`` in place against ``spec`` (defaults filled, values typed).

    ``where`` is the section's location (the file, and the section when it is a plugin's).
    All problems go into one ConfigError, one line, so a user fixes them in one go.
    Unknown keys are errors unless ``allow_extra``: a misspelt plugin key should not be ignored.
    """

    holder = ConfigObj(list_values=False, interpolation=False)
    holder.merge(section.dict() if isinstance(section, Section) else dict(section))
    holder.configspec = ConfigObj(spec, list_values=False, _inspec=True)
    result = holder.validate(Validator(), preserve_errors=True)
    problems = []
    extra = get_extra_values(holder)
    if result is not True:
        for sections, key, error in flatten_errors(holder, result):
            check = _spec_of(holder.configspec, sections, key)
            problem = _describe(where.section(*sections), key, error, check)
            if error is False and key is not None:  # missing: perhaps written with a typo
                problem += did_you_mean(key, [name for at, name in extra if list(at) == list(sections)])
            problems.append(problem)
    if not allow_extra:
        for sections, key in extra:
            hint = did_you_mean(key, _spec_keys(holder.configspec, sections))
            problems.append(f"{where.section(*sections).at(key).place} is not a known key{hint}")
    if problems:
        raise ConfigError(f"{where.file}: {'; '.join(problems)}")
    return holder


def _describe(section: ConfLocation, key: str | None, error: object, check: str) -> str:
    place = (section.at(key) if key is not None else section).place
    if error is False:
        return f"{place} is required but missing"
    detail = _first_line(error) if isinstance(error, ValidateError) and str(error) else "invalid"
    if key is not None and is_secret_key(key):
        detail = f"invalid ({type(error).__name__})"  # validate's messages quote the value
    allowed = _OPTIONS.match(check)
    if allowed:
        detail += f" (allowed: {', '.join(_QUOTED.findall(allowed[1]))})"
    return f"{place}: {detail}"


def _spec_of(spec: Section, sections: list[str], key: str | None) -> str:
    for name in sections:
        spec = spec.get(name) or spec.get("__many__") or {}
    value = spec.get(key, "") if key else ""
    return value if isinstance(value, str) else ""


def _spec_keys(spec: Section, sections: list[str]) -> list[str]:
    for name in sections:
        spec = spec.get(name) or spec.get("__many__") or {}
    return [key for key in spec if key != "__many__"]


def _unquote(section: Section) -> None:
    for key in section.scalars:
        value = section[key]
        if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] in _QUOTES:
            section[key] = value[1:-1]
    for name in section.sections:
        _unquote(section[name])


def _without_echo(err: BaseException) -> str:
    """configobj's parse error without the offending line it quotes, which may hold a password."""
    return _ECHOED_LINE.sub("Invalid line", _first_line(err))


def _first_line(err: BaseException) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
